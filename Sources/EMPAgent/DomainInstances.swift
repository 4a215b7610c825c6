import Foundation

/// Names each run of a domain for the control plane's CPU-time check (time may only go back on a new instance).
///
/// libvirt's domain id changes at every start, but ids can repeat after the daemon restarts; this agent process's
/// random nonce and a counter bumped whenever it sees a domain's CPU time go back make sure the agent never sends a
/// falling counter under the same instance name, whatever libvirt does. A restarted agent starts new instances, so
/// the control plane computes no rate across the restart (one report interval without a CPU figure).
struct DomainInstances {
    private let nonce = String(UInt32.random(in: 0...UInt32.max), radix: 36)
    private var seen: [String: (name: String, cpu: Int64, restarts: Int)] = [:]

    /// The instance name for a domain's reading now; nil when the domain is not running.
    mutating func instance(uuid: String, id: UInt32?, cpuTime: Int64?) -> String? {
        // An inactive domain keeps its entry: if it runs again under a reused id, its counter is seen to fall.
        guard let id else { return nil }
        var entry = seen[uuid] ?? (name: "", cpu: 0, restarts: 0)
        let base = "\(uuid)/\(id)/\(nonce)"
        if !entry.name.hasPrefix(base) {
            entry = (name: base, cpu: 0, restarts: 0)
        } else if let cpuTime, cpuTime < entry.cpu {
            entry.restarts += 1
        }
        entry.cpu = cpuTime ?? entry.cpu
        entry.name = entry.restarts == 0 ? base : "\(base)/\(entry.restarts)"
        seen[uuid] = entry
        return entry.name
    }

    /// Drops the domains no longer defined (the listing has active and inactive ones), so the table stays small.
    mutating func forget(except uuids: Set<String>) {
        seen = seen.filter { uuids.contains($0.key) }
    }
}
