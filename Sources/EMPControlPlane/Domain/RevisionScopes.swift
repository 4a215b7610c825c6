/// The revision scope an agent long-polls on for its host's desired EVM set.
public enum HostRevision {
    public static func scope(_ hostID: String) -> String { "host/\(hostID)" }
}

/// The revision scope the rebalancer waits on: bumped when a host must be emptied (maintenance, interruption).
public enum RebalanceRevision {
    public static let scope = "rebalance"
}
