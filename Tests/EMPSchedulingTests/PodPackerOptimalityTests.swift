import EMPModel
import EMPTesting
import Testing

@testable import EMPScheduling

/// The packer against the exact optimum (``ExactPacking``) on small instances of families that are hard for first
/// fit decreasing: what a user pays for is the number of new EVMs.
@Suite struct PodPackerOptimalityTests {
    /// The goal: at most 1.05 × the optimum on average per family and 1.25 × in the worst case.
    @Test(arguments: PackingFamily.allCases)
    func newEVMsAreNearTheOptimum(family: PackingFamily) throws {
        var worst = (ratio: 0.0, seed: 0)
        var ratios: [Double] = []
        for seed in 0..<40 {
            let input = family.instance(seed: UInt64(seed))
            let result = PodPacker().pack(input)
            let optimum = try #require(ExactPacking.minimumNewEVMs(input), "seed \(seed): the exact search found no packing")
            #expect(result.unplaced.isEmpty, "seed \(seed): \(result.unplaced)")
            #expect(
                ExactPacking.violations(of: result, for: input).isEmpty, "seed \(seed): \(ExactPacking.violations(of: result, for: input))")
            #expect(result.newEVMs.count >= optimum, "seed \(seed): fewer EVMs than the optimum means an invalid packing")
            ratios.append(optimum == 0 ? (result.newEVMs.isEmpty ? 1 : 2) : Double(result.newEVMs.count) / Double(optimum))
            if ratios.last! > worst.ratio { worst = (ratios.last!, seed) }
        }
        let mean = ratios.reduce(0, +) / Double(ratios.count)
        #expect(mean <= 1.05, "\(family): mean \(mean)")
        #expect(worst.ratio <= 1.25, "\(family): worst \(worst.ratio) at seed \(worst.seed)")
    }

    @Test func anAntiAffinityGroupPlacedLastNoLongerOpensAnEVMPerMember() {
        // Eight large pods fill four EVMs two by two, leaving 200m / 512Mi each; eight plain small pods and a
        // four-replica anti-affinity group of slightly smaller ones. Largest first puts four plain pods into those
        // gaps and four onto a fifth EVM, and then every group member needs an EVM of its own: 8. The optimum puts
        // one member in each gap and the plain pods together: 5.
        var pods = (0..<8).map { PackingFamily.pod("big-\($0)", cpu: 1900, memoryMiB: 7_680) }
        pods += (0..<8).map { PackingFamily.pod("plain-\($0)", cpu: 160, memoryMiB: 500) }
        for member in 0..<4 {
            var replica = PackingFamily.pod("db-\(member)", cpu: 150, memoryMiB: 480)
            replica.labels = ["app": "db"]
            replica.antiAffinity = [["app": "db"]]
            pods.append(replica)
        }
        let input = PackInput(shape: PackingFamily.shape, pods: pods, maxNewEVMs: 20)
        #expect(ExactPacking.minimumNewEVMs(input) == 5)
        #expect(PodPacker(improvementLimit: 0).pack(input).newEVMs.count == 8, "the first answer alone")
        let result = PodPacker().pack(input)
        #expect(result.newEVMs.count == 5)
        #expect(ExactPacking.violations(of: result, for: input).isEmpty)
    }

    @Test func theIndexedFirstFitAnswersLikeAScan() {
        // FreeRoomIndex must not change first fit's answer: compare with a plain scan on random requests.
        var random = SplitMix(seed: 7)
        var index = FreeRoomIndex(capacity: 2)
        var free: [Resources] = []
        for _ in 0..<2_000 {
            let need = Resources(cpuMillis: Int64(random.next(below: 4000)), memoryBytes: Int64(random.next(below: 16 << 10)) << 20)
            let scan = free.indices.first { need.fits(in: free[$0]) }
            let found = index.first(fitting: need) { _ in true }
            #expect(found == scan)
            if let found {
                free[found] -= need
                index.update(found, free: free[found], slots: 1)
            } else {
                free.append(Resources(cpuMillis: 4000, memoryBytes: 16 << 30) - need)
                index.append(free: free.last!, slots: 1)
            }
        }
    }
}
