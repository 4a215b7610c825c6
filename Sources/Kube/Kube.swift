/// The Kubernetes client shared by the agent, the autoscaler and the webhook (filled by the Kube/KubeSim issue).
public enum Kube {}
