import EMPAgent
import EMPModel
import Foundation
import Libvirt
import Testing

func evm(_ id: String, phase: EVMPhase = .creating) -> EVM {
    EVM(
        id: id, poolID: "p", hostID: "h", shape: EVMShape(vcpus: 1, memoryBytes: 512 << 20), phase: phase, nodeName: id,
        createdAt: Date(timeIntervalSince1970: 0))
}

func ours(_ name: String, active: Bool = true) -> ReconcilePlan.Observed {
    ReconcilePlan.Observed(name: name, metadata: EVMMetadata(poolID: "p", evmID: name), active: active)
}

@Suite struct ReconcilePlanTests {
    @Test func createsMissingStartsStoppedRemovesUnwanted() {
        let plan = ReconcilePlan(
            desired: [evm("a"), evm("b"), evm("c", phase: .running), evm("d", phase: .deleting)],
            observed: [ours("b", active: false), ours("c"), ours("d"), ours("stale")]
        )
        #expect(plan.create.map(\.id) == ["a"])
        #expect(plan.start == ["b"])
        #expect(plan.remove == ["d", "stale"])
    }

    @Test func foreignDomainsAreNeverTouched() {
        let foreign = ReconcilePlan.Observed(name: "customer-vm", metadata: nil, active: true)
        let plan = ReconcilePlan(desired: [], observed: [foreign, ReconcilePlan.Observed(name: "other", metadata: nil, active: false)])
        #expect(plan.isEmpty)
    }

    @Test func convergedStateNeedsNothing() {
        #expect(ReconcilePlan(desired: [evm("a"), evm("b")], observed: [ours("a"), ours("b")]).isEmpty)
    }
}
