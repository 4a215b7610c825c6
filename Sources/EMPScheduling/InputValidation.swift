import EMPModel

// Checks of what the algorithms are given when a person writes it (the `empctl whatif` files): the algorithms
// trust their input, so a negative size or a duplicate name must be refused before they run, naming the field.

extension PackInput {
    /// Refuses negative sizes, duplicate pod ids and node names, and node affinity Kubernetes would refuse.
    public func validate() throws {
        try shape.validate("shape")
        try requireNonNegative(maxNewEVMs, "maxNewEVMs")
        if let headroom { try requireNonNegative(headroom, "headroom") }
        var names = Set<String>()
        for (index, node) in nodes.enumerated() {
            let field = "nodes[\(index)]"
            try require(!node.name.isEmpty, "\(field).name", "must not be empty")
            try require(names.insert(node.name).inserted, "\(field).name", "duplicate node name \"\(node.name)\"")
            try requireNonNegative(node.free, "\(field).free")
            try requireNonNegative(node.freePods, "\(field).freePods")
            for (t, taint) in node.taints.enumerated() { try taint.validate("\(field).taints[\(t)]") }
        }
        var ids = Set<String>()
        for (index, pod) in pods.enumerated() {
            let field = "pods[\(index)]"
            try require(!pod.id.isEmpty, "\(field).id", "must not be empty")
            try require(ids.insert(pod.id).inserted, "\(field).id", "duplicate pod id \"\(pod.id)\"")
            try requireNonNegative(pod.requests, "\(field).requests")
            for (t, toleration) in pod.tolerations.enumerated() { try toleration.validate("\(field).tolerations[\(t)]") }
            for (t, term) in pod.nodeAffinity.enumerated() {
                for (r, requirement) in term.enumerated() { try requirement.validate("\(field).nodeAffinity[\(t)][\(r)]") }
            }
        }
    }
}

extension PackShape {
    func validate(_ field: String) throws {
        try requireNonNegative(allocatable, "\(field).allocatable")
        try requireNonNegative(pods, "\(field).pods")
        for (index, taint) in taints.enumerated() { try taint.validate("\(field).taints[\(index)]") }
    }
}

extension PackTaint {
    func validate(_ field: String) throws {
        try require(!key.isEmpty, "\(field).key", "must not be empty")
        try requireEffect(effect, "\(field).effect")
    }
}

/// Kubernetes' taint effects.
private func requireEffect(_ effect: String, _ field: String) throws {
    try require(
        ["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(effect), field,
        "must be NoSchedule, PreferNoSchedule or NoExecute (got \"\(effect)\")")
}

extension PackToleration {
    /// Kubernetes' rules: `Equal` or `Exists`; `Exists` carries no value; an empty key only with `Exists`.
    func validate(_ field: String) throws {
        let op = self.operator ?? "Equal"
        try require(op == "Equal" || op == "Exists", "\(field).operator", "must be Equal or Exists (got \"\(op)\")")
        if op == "Exists" {
            try require((value ?? "").isEmpty, "\(field).value", "must be empty when operator is Exists")
        } else {
            try require(!(key ?? "").isEmpty, "\(field).key", "must not be empty unless operator is Exists")
        }
        if let effect, !effect.isEmpty { try requireEffect(effect, "\(field).effect") }
    }
}

extension PackRequirement {
    /// Kubernetes' rules for a node selector requirement: `In`/`NotIn` need values, `Exists`/`DoesNotExist` take
    /// none, `Gt`/`Lt` take one integer.
    func validate(_ field: String) throws {
        try require(!key.isEmpty, "\(field).key", "must not be empty")
        switch self.operator {
        case "In", "NotIn":
            try require(!values.isEmpty, "\(field).values", "must not be empty when operator is \(self.operator)")
        case "Exists", "DoesNotExist":
            try require(values.isEmpty, "\(field).values", "must be empty when operator is \(self.operator)")
        case "Gt", "Lt":
            try require(
                values.count == 1 && Int64(values[0]) != nil, "\(field).values",
                "must be one integer when operator is \(self.operator) (got \(values))")
        default:
            throw ValidationError(
                field: "\(field).operator", "must be In, NotIn, Exists, DoesNotExist, Gt or Lt (got \"\(self.operator)\")")
        }
    }
}

extension HostSnapshot {
    func validate(_ field: String) throws {
        try require(!id.isEmpty, "\(field).id", "must not be empty")
        try requireNonNegative(capacity, "\(field).capacity")
        try requireNonNegative(allocated, "\(field).allocated")
        try requireNonNegative(used, "\(field).used")
        try require(
            cpuOvercommit.isFinite && cpuOvercommit > 0, "\(field).cpuOvercommit", "must be a positive number (got \(cpuOvercommit))")
        try require(
            memoryOvercommit.isFinite && memoryOvercommit > 0, "\(field).memoryOvercommit",
            "must be a positive number (got \(memoryOvercommit))")
        try require(
            highWatermark.isFinite && highWatermark > 0 && highWatermark <= 1, "\(field).highWatermark",
            "must be in (0, 1] (got \(highWatermark))")
        if let deadlineSeconds {
            try require(
                deadlineSeconds.isFinite && deadlineSeconds >= 0, "\(field).deadlineSeconds",
                "must not be negative (got \(deadlineSeconds))")
        }
    }
}

/// Refuses duplicate host ids and bad host fields; answers the set of host ids for references to check.
func validateHosts(_ hosts: [HostSnapshot]) throws -> Set<String> {
    var ids = Set<String>()
    for (index, host) in hosts.enumerated() {
        try host.validate("hosts[\(index)]")
        try require(ids.insert(host.id).inserted, "hosts[\(index)].id", "duplicate host id \"\(host.id)\"")
    }
    return ids
}

extension PlacementRequest {
    /// Refuses duplicate EVM ids, negative sizes and uses, and EVMs that would take nothing.
    public static func validate(_ requests: [PlacementRequest], hosts: [HostSnapshot]) throws {
        _ = try validateHosts(hosts)
        var ids = Set<String>()
        for (index, request) in requests.enumerated() {
            let field = "place[\(index)]"
            try require(!request.id.isEmpty, "\(field).id", "must not be empty")
            try require(ids.insert(request.id).inserted, "\(field).id", "duplicate EVM id \"\(request.id)\"")
            try requireNonNegative(request.size, "\(field).size")
            try requireNonNegative(request.expectedUse, "\(field).expectedUse")
        }
    }
}

extension Snapshot {
    /// Refuses duplicate ids, negative figures, and EVMs or migrations that name a host the snapshot lacks.
    public func validate() throws {
        let hostIDs = try validateHosts(hosts)
        var evmIDs = Set<String>()
        for (index, evm) in evms.enumerated() {
            let field = "evms[\(index)]"
            try require(!evm.id.isEmpty, "\(field).id", "must not be empty")
            try require(evmIDs.insert(evm.id).inserted, "\(field).id", "duplicate EVM id \"\(evm.id)\"")
            try require(hostIDs.contains(evm.hostID), "\(field).hostID", "names host \"\(evm.hostID)\", which is not in hosts")
            try requireNonNegative(evm.size, "\(field).size")
            try requireNonNegative(evm.used, "\(field).used")
            if let rate = evm.dirtyBytesPerSecond { try requireNonNegative(rate, "\(field).dirtyBytesPerSecond") }
            if let seconds = evm.secondsSinceMigration {
                try require(seconds.isFinite && seconds >= 0, "\(field).secondsSinceMigration", "must not be negative (got \(seconds))")
            }
        }
        for (index, migration) in inFlight.enumerated() {
            let field = "inFlight[\(index)]"
            try require(evmIDs.contains(migration.evmID), "\(field).evmID", "names EVM \"\(migration.evmID)\", which is not in evms")
            try require(hostIDs.contains(migration.from), "\(field).from", "names host \"\(migration.from)\", which is not in hosts")
            try require(hostIDs.contains(migration.to), "\(field).to", "names host \"\(migration.to)\", which is not in hosts")
            if let seconds = migration.remainingSeconds {
                try require(seconds.isFinite && seconds >= 0, "\(field).remainingSeconds", "must not be negative (got \(seconds))")
            }
        }
        var poolIDs = Set<String>()
        for (index, pool) in pools.enumerated() {
            try require(poolIDs.insert(pool.id).inserted, "pools[\(index)].id", "duplicate pool id \"\(pool.id)\"")
            try requireNonNegative(pool.minHosts, "pools[\(index)].minHosts")
        }
    }
}

private func require(_ condition: Bool, _ field: String, _ message: @autoclosure () -> String) throws {
    if !condition { throw ValidationError(field: field, message()) }
}

private func requireNonNegative(_ value: Resources, _ field: String) throws {
    try require(value.cpuMillis >= 0, field, "CPU must not be negative (got \(value.cpuMillis)m)")
    try require(value.memoryBytes >= 0, field, "memory must not be negative (got \(value.memoryBytes) bytes)")
}

private func requireNonNegative(_ value: some BinaryInteger, _ field: String) throws {
    try require(value >= 0, field, "must not be negative (got \(value))")
}
