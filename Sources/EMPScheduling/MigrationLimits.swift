/// How many migrations may run at once: in one pool, leaving one host, arriving on one host. One definition for
/// both users — the planner's lane schedule reserves within it, and the store's start check (operator or loop)
/// refuses past it — so a plan never proposes what the start check would refuse.
public struct MigrationLimits: Sendable, Hashable {
    /// At most this many migrations at once per pool. Default 5.
    public var perPool: Int
    /// At most this many migrations leaving one host at once. Default 2.
    public var outboundPerHost: Int
    /// At most this many migrations arriving on one host at once. Default 2.
    public var inboundPerHost: Int

    public init(perPool: Int = 5, outboundPerHost: Int = 2, inboundPerHost: Int = 2) {
        self.perPool = perPool
        self.outboundPerHost = outboundPerHost
        self.inboundPerHost = inboundPerHost
    }

    /// A migration in flight, by its hosts.
    public struct Active: Sendable, Hashable {
        public var from: String
        public var to: String
        public init(from: String, to: String) {
            self.from = from
            self.to = to
        }
    }

    /// Why a migration `from` → `to` cannot start while `active` run (those leaving one of `poolHosts` count for
    /// the pool named `pool`); nil when it can.
    public func refusal(from: String, to: String, pool: String, poolHosts: Set<String>, active: [Active]) -> String? {
        if active.filter({ poolHosts.contains($0.from) }).count >= perPool {
            return "pool \(pool) already has \(perPool) migrations in flight"
        }
        if active.filter({ $0.from == from }).count >= outboundPerHost {
            return "host \(from) already has \(outboundPerHost) migrations leaving it"
        }
        if active.filter({ $0.to == to }).count >= inboundPerHost {
            return "host \(to) already has \(inboundPerHost) migrations arriving"
        }
        return nil
    }
}
