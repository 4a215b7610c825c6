/// The mutating admission webhook driven by `emp-profile-cm` (filled by the webhook issue).
public enum Webhook {}
