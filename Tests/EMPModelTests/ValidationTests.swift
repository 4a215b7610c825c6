import EMPModel
import Foundation
import Testing

struct ValidationTests {
    let shape = EVMShape(vcpus: 4, memoryBytes: .gibibytes(16))

    private func field(of pool: Pool) -> String? {
        do {
            try pool.validate()
            return nil
        } catch let error as ValidationError {
            return error.field
        } catch {
            return "unexpected \(error)"
        }
    }

    @Test func validPoolPasses() throws {
        try Pool(id: "pool-a", shape: shape, policy: PoolPolicy(memoryOvercommit: 1.5), createdAt: Date()).validate()
    }

    @Test(arguments: [
        (PoolPolicy(cpuOvercommit: 0.5), "policy.cpuOvercommit"),
        (PoolPolicy(memoryOvercommit: 0.5), "policy.memoryOvercommit"),
        (PoolPolicy(memoryOvercommit: .nan), "policy.memoryOvercommit"),
        (PoolPolicy(minEVMs: 5, maxEVMs: 2), "policy.minEVMs"),
        (PoolPolicy(minEVMs: -1), "policy.minEVMs"),
        (PoolPolicy(maxEVMs: -3), "policy.maxEVMs"),
        (PoolPolicy(minHosts: 3, maxHosts: 1), "policy.minHosts"),
        (PoolPolicy(highWatermark: 0), "policy.highWatermark"),
        (PoolPolicy(highWatermark: 1.2), "policy.highWatermark"),
        (PoolPolicy(highWatermark: -0.1), "policy.highWatermark"),
    ])
    func badPolicyNamesField(policy: PoolPolicy, expected: String) {
        #expect(field(of: Pool(id: "p", shape: shape, policy: policy, createdAt: Date())) == expected)
    }

    @Test(arguments: [
        (EVMShape(vcpus: 0, memoryBytes: .gibibytes(1)), "shape.vcpus"),
        (EVMShape(vcpus: 2, memoryBytes: 0), "shape.memoryBytes"),
        (EVMShape(vcpus: 2, memoryBytes: -5), "shape.memoryBytes"),
        (EVMShape(vcpus: 2, memoryBytes: 1000), "shape.memoryBytes"),
        (EVMShape(vcpus: 2, memoryBytes: .gibibytes(1), diskBytes: -1), "shape.diskBytes"),
    ])
    func badShapeNamesField(shape: EVMShape, expected: String) {
        #expect(field(of: Pool(id: "p", shape: shape, createdAt: Date())) == expected)
    }

    @Test(arguments: ["", "Pool", "-a", "a-", "a_b", String(repeating: "a", count: 64)])
    func badPoolIDNamesField(id: String) {
        #expect(field(of: Pool(id: id, shape: shape, createdAt: Date())) == "id")
    }

    @Test func messageSaysWhatIsAllowed() {
        do {
            try Pool(id: "p", shape: shape, policy: PoolPolicy(memoryOvercommit: 0.5), createdAt: Date()).validate()
            Issue.record("accepted overcommit 0.5")
        } catch let error as ValidationError {
            #expect(error.description == "policy.memoryOvercommit: must be between 1 and 16 (got 0.5)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func hostEffectiveState() {
        var host = Host(id: "h1", poolID: "p", capacity: Resources(cpuMillis: 1000, memoryBytes: 1 << 30))
        #expect(host.acceptsPlacements)
        host.cordoned = true
        #expect(host.effectiveState == .cordoned)
        host.maintenance = true
        #expect(host.effectiveState == .maintenance)
        #expect(!host.acceptsPlacements)
    }

    @Test func joinTokenUsability() {
        let now = Date(timeIntervalSince1970: 1000)
        var token = JoinToken(id: "t", poolID: "p", secretHash: "x", expiresAt: now + 60, createdAt: now)
        #expect(token.isUsable(at: now))
        #expect(!token.isUsable(at: now + 61))
        token.usedByHost = "h1"
        #expect(!token.isUsable(at: now))
    }

    @Test func contractStringsAreExact() {
        #expect(Profile.taintKey == "emp.pf9.io/EMPSchedulable")
        #expect(Profile.ownedLabel == "emp.pf9.io/owned")
        #expect(Profile.configMapName == "emp-profile-cm")
    }
}

struct CPUSampleTests {
    @Test func rateBetweenTwoSamples() {
        let start = Date(timeIntervalSince1970: 1000)
        let first = CPUSample(cpuTimeNanoseconds: 5_000_000_000, at: start)
        #expect(first.millicores(until: CPUSample(cpuTimeNanoseconds: 7_000_000_000, at: start + 10)) == 200)
        #expect(first.millicores(until: CPUSample(cpuTimeNanoseconds: 1, at: start + 10)) == nil)  // counter reset (reboot)
        #expect(first.millicores(until: CPUSample(cpuTimeNanoseconds: 6_000_000_000, at: start)) == nil)
    }
}
