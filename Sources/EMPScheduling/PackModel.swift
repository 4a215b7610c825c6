public import EMPModel

/// The scheduling constraints of a pod as the packer sees them (converted from Kubernetes by the autoscaler,
/// or read from a what-if file).
public struct PackPod: Sendable, Hashable, Codable {
    /// `namespace/name`.
    public var id: String
    /// Effective requests (Kubernetes' rule: the larger of the containers' sum and the largest init container).
    public var requests: Resources
    public var labels: [String: String]
    public var nodeSelector: [String: String]
    public var tolerations: [PackToleration]
    /// Required node affinity: the pod fits a node when any term matches (OR); a term matches when all of its
    /// requirements do (AND). Empty: no constraint.
    public var nodeAffinity: [[PackRequirement]]
    /// Required pod anti-affinity on `kubernetes.io/hostname`: no pod matching any of these label selectors may
    /// share the node.
    public var antiAffinity: [[String: String]]

    public init(
        id: String, requests: Resources, labels: [String: String] = [:], nodeSelector: [String: String] = [:],
        tolerations: [PackToleration] = [], nodeAffinity: [[PackRequirement]] = [], antiAffinity: [[String: String]] = []
    ) {
        self.id = id
        self.requests = requests
        self.labels = labels
        self.nodeSelector = nodeSelector
        self.tolerations = tolerations
        self.nodeAffinity = nodeAffinity
        self.antiAffinity = antiAffinity
    }

    enum CodingKeys: String, CodingKey { case id, requests, labels, nodeSelector, tolerations, nodeAffinity, antiAffinity }

    /// Every field but `id` and `requests` is optional in files.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        requests = try c.decode(Resources.self, forKey: .requests)
        labels = try c.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        nodeSelector = try c.decodeIfPresent([String: String].self, forKey: .nodeSelector) ?? [:]
        tolerations = try c.decodeIfPresent([PackToleration].self, forKey: .tolerations) ?? []
        nodeAffinity = try c.decodeIfPresent([[PackRequirement]].self, forKey: .nodeAffinity) ?? []
        antiAffinity = try c.decodeIfPresent([[String: String]].self, forKey: .antiAffinity) ?? []
    }
}

/// A toleration: `Exists` with no key tolerates everything; no effect matches every effect.
public struct PackToleration: Sendable, Hashable, Codable {
    public var key: String?
    /// `Equal` (default) or `Exists`.
    public var `operator`: String?
    public var value: String?
    public var effect: String?

    public init(key: String?, operator op: String? = "Equal", value: String? = nil, effect: String? = nil) {
        self.key = key
        self.operator = op
        self.value = value
        self.effect = effect
    }

    public func tolerates(_ taint: PackTaint) -> Bool {
        if let effect, !effect.isEmpty, effect != taint.effect { return false }
        let exists = self.operator == "Exists"
        guard let key, !key.isEmpty else { return exists }
        return key == taint.key && (exists || (value ?? "") == taint.value)
    }
}

/// A node taint.
public struct PackTaint: Sendable, Hashable, Codable {
    public var key: String
    public var value: String
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    public var effect: String

    public init(key: String, value: String = "", effect: String) {
        self.key = key
        self.value = value
        self.effect = effect
    }

    /// The taint every EVM node carries.
    public static let emp = PackTaint(key: Profile.taintKey, value: Profile.taintValue, effect: Profile.taintEffect)
}

/// A node selector requirement (`In`, `NotIn`, `Exists`, `DoesNotExist`, `Gt`, `Lt`).
public struct PackRequirement: Sendable, Hashable, Codable {
    public var key: String
    public var `operator`: String
    public var values: [String]

    public init(key: String, operator op: String, values: [String] = []) {
        self.key = key
        self.operator = op
        self.values = values
    }

    private enum CodingKeys: String, CodingKey { case key, `operator`, values }

    /// `values` may be omitted (`Exists` and `DoesNotExist` take none).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        key = try c.decode(String.self, forKey: .key)
        self.operator = try c.decode(String.self, forKey: .operator)
        values = try c.decodeIfPresent([String].self, forKey: .values) ?? []
    }

    public func matches(_ labels: [String: String]) -> Bool {
        let value = labels[key]
        switch self.operator {
        case "In": return value.map(values.contains) ?? false
        case "NotIn": return !(value.map(values.contains) ?? false)
        case "Exists": return value != nil
        case "DoesNotExist": return value == nil
        case "Gt": return Int(value ?? "").flatMap { v in values.first.flatMap(Int.init).map { v > $0 } } ?? false
        case "Lt": return Int(value ?? "").flatMap { v in values.first.flatMap(Int.init).map { v < $0 } } ?? false
        default: return false
        }
    }
}

/// An existing EVM node: its labels and taints, the room left (allocatable minus bound pods' requests; a
/// booting EVM counts with its full allocatable) and the labels of the pods on it (for anti-affinity).
public struct PackNode: Sendable, Hashable, Codable {
    public var name: String
    public var labels: [String: String]
    public var taints: [PackTaint]
    public var free: Resources
    public var freePods: Int
    public var podLabels: [[String: String]]

    public init(
        name: String, labels: [String: String], taints: [PackTaint] = [.emp], free: Resources, freePods: Int = 110,
        podLabels: [[String: String]] = []
    ) {
        self.name = name
        self.labels = labels
        self.taints = taints
        self.free = free
        self.freePods = freePods
        self.podLabels = podLabels
    }

    enum CodingKeys: String, CodingKey { case name, labels, taints, free, freePods, podLabels }

    /// A node as a file gives it, and whether the file gave its labels (``PackInput`` fills in the shape's).
    struct FileEntry: Decodable {
        var node: PackNode
        var labelsGiven: Bool

        init(from decoder: any Decoder) throws {
            node = try PackNode(from: decoder)
            labelsGiven = try decoder.container(keyedBy: CodingKeys.self).contains(.labels)
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        labels = try c.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        taints = try c.decodeIfPresent([PackTaint].self, forKey: .taints) ?? [.emp]
        free = try c.decode(Resources.self, forKey: .free)
        freePods = try c.decodeIfPresent(Int.self, forKey: .freePods) ?? 110
        podLabels = try c.decodeIfPresent([[String: String]].self, forKey: .podLabels) ?? []
    }
}

/// What a new EVM of the pool offers pods: the shape minus kube and system reserved, its labels and taints.
public struct PackShape: Sendable, Hashable, Codable {
    public var pool: String
    public var allocatable: Resources
    public var pods: Int
    public var labels: [String: String]
    public var taints: [PackTaint]

    public init(pool: String, allocatable: Resources, pods: Int = 110, labels: [String: String]? = nil, taints: [PackTaint] = [.emp]) {
        self.pool = pool
        self.allocatable = allocatable
        self.pods = pods
        self.labels = labels ?? [Profile.ownedLabel: Profile.ownedValue, Profile.poolLabel: pool]
        self.taints = taints
    }

    private enum CodingKeys: String, CodingKey { case pool, allocatable, pods, labels, taints }

    /// `pods` (110), `labels` (EMP's owned and pool labels) and `taints` (the EMP taint) may be omitted.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            pool: try c.decode(String.self, forKey: .pool), allocatable: try c.decode(Resources.self, forKey: .allocatable),
            pods: try c.decodeIfPresent(Int.self, forKey: .pods) ?? 110,
            labels: try c.decodeIfPresent([String: String].self, forKey: .labels),
            taints: try c.decodeIfPresent([PackTaint].self, forKey: .taints) ?? [.emp])
    }

    /// `shape` minus `reserved` (kubelet `kube-reserved` + `system-reserved` + eviction threshold).
    public init(pool: String, shape: EVMShape, reserved: Resources, pods: Int = 110) {
        self.init(pool: pool, allocatable: shape.resources - reserved, pods: pods)
    }
}
