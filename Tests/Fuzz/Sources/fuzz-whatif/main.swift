import EMPModel
import EMPScheduling
import Foundation
import FuzzDriver

// `empctl whatif` inputs: a snapshot through the rebalancer, a pack input through the packer (sizes bounded so an
// input is a test of correctness, not of patience).
runFuzzer { data in
    guard (try? JSONGuard.check(data)) != nil else { return }
    if let snapshot = try? JSONDecoder().decode(Snapshot.self, from: data), snapshot.hosts.count <= 64, snapshot.evms.count <= 256 {
        _ = Rebalancer(settings: RebalanceSettings()).plan(snapshot)
    }
    if let input = try? JSONDecoder().decode(PackInput.self, from: data), input.pods.count <= 256 {
        _ = PodPacker().pack(input)
    }
}
