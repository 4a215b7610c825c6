/// The host agent: join, desired-state watch, libvirt reconcile, usage reports (filled by the control-plane/agent issue).
public enum Agent {}
