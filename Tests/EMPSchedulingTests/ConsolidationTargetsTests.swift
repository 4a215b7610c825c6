import EMPModel
import EMPTesting
import Testing

@testable import EMPScheduling

/// Consolidation finds targets through an index (issue 23): it must name the same host as trying every receiving
/// host in order, through moves and hosts that start and stop being freed.
@Suite struct ConsolidationTargetsTests {
    @Test func indexAnswersAsTheScanDoes() {
        var rng = SplitMix(seed: 23)
        var compared = 0
        for _ in 0..<300 {
            let snapshot = randomSnapshot(&rng, maxHosts: 24, maxEVMs: 90)
            var state = RebalanceState(
                hosts: snapshot.hosts, evms: snapshot.evms, inFlight: snapshot.inFlight, settings: RebalanceSettings())
            let margin = [0.0, 0.1, 0.3][rng.next(in: 0...2)]
            let order = state.hosts.indices.filter { state.hosts[$0].canReceive && !state.hosts[$0].evms.isEmpty }.sorted {
                state.hosts[$0].used.dominantShare(of: state.hosts[$0].snapshot.capacity)
                    > state.hosts[$1].used.dominantShare(of: state.hosts[$1].snapshot.capacity)
            }
            guard !order.isEmpty, !state.evms.isEmpty else { continue }
            var targets = ConsolidationTargets(order, margin: margin, state: state)
            for _ in 0..<20 {
                let evm = rng.next(in: 0...state.evms.count - 1)
                let scan = order.first {
                    state.fits(evm, on: $0, for: .consolidate, usageShare: max(0, state.hosts[$0].snapshot.highWatermark - margin))
                }
                #expect(targets.first(for: evm, state: state) == scan)
                compared += 1
                // Change the state as consolidation does: a host starts or stops being freed, or the EVM moves.
                let host = order[rng.next(in: 0...order.count - 1)]
                if rng.next(in: 0...2) == 0 {
                    state.hosts[host].freeing.toggle()
                    targets.refresh(host, state: state)
                } else if let scan {
                    let from = state.evms[evm].host
                    state.shift(evm, to: scan)
                    targets.refresh(from, state: state)
                    targets.refresh(scan, state: state)
                }
            }
            let rooms = order.reduce(Resources.zero) { sum, host in
                guard state.hosts[host].canReceive else { return sum }
                let share = max(0, state.hosts[host].snapshot.highWatermark - margin)
                return sum
                    + (state.hosts[host].snapshot.capacity.scaled(cpu: share, memory: share) - state.hosts[host].used).componentMax(.zero)
            }
            #expect(targets.totalRoom == rooms)
        }
        #expect(compared > 1000)
    }
}
