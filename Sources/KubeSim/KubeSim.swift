/// A Kubernetes API double for tests and the demo (filled by the Kube/KubeSim issue).
public enum KubeSim {}
