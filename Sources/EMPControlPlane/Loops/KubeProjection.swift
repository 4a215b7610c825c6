import EMPModel
import EMPScheduling
import EMPStore
import Foundation
import Kube
import Logging
import ServiceLifecycle

/// An `emp.pf9.io/v1alpha1` EVMPool object (deploy/crds): one per pool, status only.
struct EVMPoolObject: KubeResource {
    static let resourceType = ResourceType(group: "emp.pf9.io", version: "v1alpha1", kind: "EVMPool", plural: "evmpools", namespaced: false)
    var object: JSONObject
}

/// An `emp.pf9.io/v1alpha1` EVM object (deploy/crds): one per EVM, status only.
struct EVMObject: KubeResource {
    static let resourceType = ResourceType(group: "emp.pf9.io", version: "v1alpha1", kind: "EVM", plural: "evms", namespaced: false)
    var object: JSONObject
}

/// The pools and EVMs as EVMPool and EVM objects, so platform teams see them with `kubectl get evmpools,evms`
/// (issue 20). A projection: the store stays the source of truth. Each pass creates what is missing, rewrites a
/// status that differs (an edit by hand is repaired), and deletes objects whose pool or EVM is gone; the first pass
/// after start re-syncs everything. Conditions follow the API conventions: `lastTransitionTime` moves only when
/// a condition's status changes, `observedGeneration` is the object's generation.
struct KubeProjection: Service {
    struct Settings: Sendable {
        /// How often the store is compared with the cluster when nothing was written. Default 30 s.
        var resync: Duration = .seconds(30)
        /// How often a pass may run after a write (longer when passes are slow: ``PassPacing``). Default 2 s.
        var interval: Duration = .seconds(2)
        var cost = CostModel()
    }

    let client: KubeClient
    let store: any StateStore
    let settings: Settings
    let clock: any EMPClock
    let logger: Logger

    static let managedBy = ["app.kubernetes.io/managed-by": "emp-control-plane"]

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var commits = -1
            var lastPass: Duration?
            var missingLogged = false
            while !Task.isCancelled {
                let uptime = clock.uptime
                let due = lastPass.map { uptime - $0 >= settings.resync } ?? true
                var gap = settings.interval
                if store.commitCount != commits || due {
                    commits = store.commitCount
                    lastPass = uptime
                    do {
                        try await pass()
                        missingLogged = false
                    } catch let error as KubeError where error.code == 404 {
                        if !missingLogged {
                            logger.notice(
                                "EVMPool and EVM objects are not written: their CustomResourceDefinitions are not installed (kubectl apply -f deploy/crds/)"
                            )
                            missingLogged = true
                        }
                    } catch is CancellationError {
                        return
                    } catch {
                        logger.warning("projecting pools and EVMs to the cluster failed", metadata: ["error": "\(error)"])
                    }
                    gap = PassPacing.gap(after: clock.uptime - uptime, atLeast: settings.interval)
                }
                // A pass reads every pool and EVM and lists their objects: after a write it runs at most every
                // `interval`, and no oftener than the fleet's size allows (PassPacing).
                try await clock.sleep(for: gap)
            }
        }
    }

    /// One comparison of the store with the cluster.
    func pass() async throws {
        let time = clock.date
        let model = settings.cost
        let (pools, evms, hostsByPool, estimates, shortages) = try await store.read { tx in
            let pools = try tx.pools()
            var hosts: [String: [EMPModel.Host]] = [:]
            var estimates: [String: CostEstimate] = [:]
            var shortages: [String: EMPModel.Event] = [:]
            for pool in pools {
                hosts[pool.id] = try tx.hosts(pool: pool.id)
                estimates[pool.id] = try tx.costEstimate(pool, hosts: hosts[pool.id] ?? [], model: model, at: time)
                let events = try tx.events(EventFilter(object: ObjectRef(.pool, pool.id), limit: 200))
                if let short = events.last(where: { $0.reason == "ScaleUpShort" }),
                    !events.contains(where: { $0.reason == "ScaledUp" && $0.time > short.time })
                {
                    shortages[pool.id] = short
                }
            }
            return (pools, try tx.evms(EVMFilter()), hosts, estimates, shortages)
        }
        let poolObjects = client.resources(EVMPoolObject.self)
        var existingPools = Dictionary(
            try await poolObjects.listAll().items.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for pool in pools {
            let mine = evms.filter { $0.poolID == pool.id }
            let status = Self.poolStatus(
                pool, evms: mine, hosts: hostsByPool[pool.id] ?? [], estimate: estimates[pool.id], shortage: shortages[pool.id], at: time)
            try await write(status, named: pool.id, existing: existingPools.removeValue(forKey: pool.id), in: poolObjects, at: time)
        }
        for (name, object) in existingPools where object.metadata.labels["app.kubernetes.io/managed-by"] == "emp-control-plane" {
            try await poolObjects.deleteIfPresent(name)
        }
        let evmObjects = client.resources(EVMObject.self)
        var existingEVMs = Dictionary(try await evmObjects.listAll().items.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for evm in evms where evm.phase != .deleting {
            try await write(
                Self.evmStatus(evm), named: evm.id, existing: existingEVMs.removeValue(forKey: evm.id), in: evmObjects, at: time)
        }
        for (name, object) in existingEVMs where object.metadata.labels["app.kubernetes.io/managed-by"] == "emp-control-plane" {
            try await evmObjects.deleteIfPresent(name)
        }
    }

    /// Creates the object when missing, then writes its status through the status subresource when it differs.
    func write<T: KubeResource>(_ status: Status, named name: String, existing: T?, in resources: Kube.Resources<T>, at time: Date)
        async throws
    {
        var object: T
        if let existing {
            object = existing
        } else {
            var fresh = T(name: name)
            fresh.metadata.labels = Self.managedBy
            fresh.object["spec"] = .object([:])
            object = try await resources.create(fresh)
        }
        let generation = object.metadata.generation ?? 1
        let wanted = status.json(previous: object.object["status"]?.objectValue ?? [:], generation: generation, at: time)
        guard object.object["status"]?.objectValue != wanted else { return }
        object.object["status"] = .object(wanted)
        _ = try await resources.updateStatus(object)
    }

    // MARK: Status

    /// What a status holds before conditions get their transition times.
    struct Status {
        var fields: JSONObject
        var conditions: [(type: String, status: Bool, reason: String, message: String)]

        /// `fields` and the conditions, each keeping its `lastTransitionTime` from `previous` unless its status changed.
        func json(previous: JSONObject, generation: Int64, at time: Date) -> JSONObject {
            let before = Dictionary(
                (previous["conditions"]?.arrayValue ?? []).compactMap { condition -> (String, JSONValue)? in
                    condition["type"]?.stringValue.map { ($0, condition) }
                }, uniquingKeysWith: { a, _ in a })
            var result = fields
            result["conditions"] = .array(
                conditions.map { condition in
                    let status = condition.status ? "True" : "False"
                    let old = before[condition.type]
                    let since = old?["status"]?.stringValue == status ? old?["lastTransitionTime"] : nil
                    return .object([
                        "type": .string(condition.type), "status": .string(status), "reason": .string(condition.reason),
                        "message": .string(condition.message), "observedGeneration": .int(generation),
                        "lastTransitionTime": since ?? .string(KubeTime.format(time)),
                    ])
                })
            return result
        }
    }

    static func percent(_ part: Int64, of whole: Int64) -> String {
        whole > 0 ? "\(Int((Double(part) / Double(whole) * 100).rounded()))%" : "-"
    }

    static func poolStatus(
        _ pool: Pool, evms: [EVM], hosts: [EMPModel.Host], estimate: CostEstimate?, shortage: EMPModel.Event?, at time: Date
    ) -> Status {
        let live = evms.filter(\.isLive)
        let warm = live.filter { $0.warm != nil }
        let ready = live.filter { $0.warm == nil && $0.phase == .running && $0.nodeReadyAt != nil }
        let (limit, allocated, used) = CostModel.totals(pool: pool, hosts: hosts.filter { $0.state != .lost })
        let floor = CapacityCalendar.floor(pool.policy, at: time)
        let memory = "\(pool.shape.memoryBytes >> 30)Gi"
        var fields: JSONObject = [
            "shape": .string("\(pool.shape.vcpus) vCPU / \(memory)"),
            "evms": .object([
                "ready": .int(Int64(ready.count)), "total": .int(Int64(live.count - warm.count)), "warm": .int(Int64(warm.count)),
                "summary": .string("\(ready.count)/\(live.count - warm.count)"),
            ]),
            "hosts": .int(Int64(hosts.filter { $0.state != .lost }.count)),
            "cpu": .string("\(percent(allocated.cpuMillis, of: limit.cpuMillis)) / \(percent(used.cpuMillis, of: limit.cpuMillis))"),
            "memory": .string(
                "\(percent(allocated.memoryBytes, of: limit.memoryBytes)) / \(percent(used.memoryBytes, of: limit.memoryBytes))"),
        ]
        fields["savings"] = estimate?.savingPercent.map { .string("\(Int($0.rounded()))%") } ?? .string("-")
        let inUse = live.count - warm.count
        let atMax = live.count >= pool.policy.maxEVMs
        return Status(
            fields: fields,
            conditions: [
                inUse < floor.minEVMs
                    ? ("Ready", false, "BelowMinimum", "\(inUse) of the \(floor.minEVMs) EVMs the pool keeps")
                    : ready.count < inUse
                        ? ("Ready", false, "EVMsStarting", "\(ready.count) of \(inUse) EVMs ready")
                        : ("Ready", true, "EVMsReady", "\(ready.count) EVMs ready"),
                atMax
                    ? ("ScalingLimited", true, "MaxEVMs", "the pool holds maxEVMs (\(pool.policy.maxEVMs)) EVMs")
                    : ("ScalingLimited", false, "BelowMaxEVMs", "\(live.count) of at most \(pool.policy.maxEVMs) EVMs"),
                shortage.map { ("HostsShort", true, "ScaleUpShort", $0.message) }
                    ?? ("HostsShort", false, "HostsHaveRoom", "the last scale-up found room"),
            ])
    }

    static func evmStatus(_ evm: EVM) -> Status {
        var fields: JSONObject = ["pool": .string(evm.poolID), "phase": .string(evm.phase.rawValue), "nodeName": .string(evm.nodeName)]
        if let host = evm.hostID { fields["host"] = .string(host) }
        let booted = evm.phase == .running || evm.phase == .warm || evm.phase == .migrating || evm.nodeReadyAt != nil
        return Status(
            fields: fields,
            conditions: [
                evm.hostID.map { ("Placed", true, "OnHost", "placed on \($0)") } ?? ("Placed", false, "Unplaced", "not on a host"),
                evm.provisioning?.nodeRegisteredAt != nil
                    ? ("NodeRegistered", true, "Registered", "Node \(evm.nodeName) registered")
                    : ("NodeRegistered", false, "NotRegistered", "Node \(evm.nodeName) not registered yet"),
                booted
                    ? ("Booted", true, "DomainRunning", "the domain runs")
                    : ("Booted", false, "NotBooted", evm.message ?? "the domain is not running yet"),
                evm.nodeReadyAt != nil && evm.phase == .running
                    ? ("Ready", true, "NodeReady", "Node \(evm.nodeName) Ready")
                    : ("Ready", false, "NodeNotReady", "phase \(evm.phase.rawValue)"),
                evm.phase == .migrating
                    ? ("Migrating", true, "LiveMigration", "moving from \(evm.hostID ?? "?")")
                    : ("Migrating", false, "NotMigrating", "not migrating"),
            ])
    }
}
