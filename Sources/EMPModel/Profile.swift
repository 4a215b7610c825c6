/// The exact Kubernetes strings of DESIGN.md's contract, defined once.
public enum Profile {
    /// Taint key every EVM node carries.
    public static let taintKey = "emp.pf9.io/EMPSchedulable"
    public static let taintValue = "true"
    public static let taintEffect = "NoSchedule"
    /// Extra taint a warm EVM's Node carries until it is claimed (same value and effect).
    public static let warmTaintKey = "emp.pf9.io/warm"
    /// Label marking EVM nodes; the webhook's nodeSelector uses it.
    public static let ownedLabel = "emp.pf9.io/owned"
    public static let ownedValue = "true"
    public static let poolLabel = "emp.pf9.io/pool"
    public static let hostLabel = "emp.pf9.io/host"
    /// The EVM id, so a Node can be matched to its domain after the EVM is gone from the desired set.
    public static let evmLabel = "emp.pf9.io/evm"
    /// The opt-in ConfigMap.
    public static let configMapName = "emp-profile-cm"
    public static let configMapNamespace = "default"
    public static let namespacesKey = "namespaces"
    public static let labelsKey = "labels"
}
