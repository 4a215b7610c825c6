import EMPModel
import Foundation
import Testing

@testable import EMPScheduling

/// What `empctl whatif` reads from a hand-written file: the documented defaults, and a clear refusal, naming the
/// field, of what the algorithms cannot be given.
@Suite struct WhatIfInputTests {
    func pack(_ json: String) throws -> PackInput { try JSONDecoder().decode(PackInput.self, from: Data(json.utf8)) }

    func refusal(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch let error as EMPModel.ValidationError {
            return error.description
        } catch {
            return "unexpected \(error)"
        }
    }

    static let shape = #""shape": {"pool": "demo", "allocatable": {"cpu": "3", "memory": "15Gi"}}"#

    @Test func aPackFileNeedsOnlyTheShapesPoolAndSizeAndThePods() throws {
        let input = try pack(
            #"{\#(Self.shape), "nodes": [{"name": "demo-a", "free": {"memory": "4Gi"}}], "pods": [{"id": "a/b", "requests": {"memory": "1Gi"}, "nodeSelector": {"emp.pf9.io/owned": "true"}, "tolerations": [{"operator": "Exists"}]}]}"#
        )
        #expect(input.shape.pods == 110)
        #expect(input.shape.labels == ["emp.pf9.io/owned": "true", "emp.pf9.io/pool": "demo"])
        #expect(input.shape.taints == [.emp])
        #expect(input.maxNewEVMs == PackInput.defaultMaxNewEVMs)
        // A node given without labels is an EVM node of the pool: it has the shape's, so the pod selecting
        // emp.pf9.io/owned=true goes there instead of opening a new EVM.
        #expect(input.nodes[0].labels == input.shape.labels)
        let result = PodPacker().pack(input)
        #expect(result.placements == ["a/b": "demo-a"])
        #expect(result.newEVMs.isEmpty)
        let bare = try pack(#"{\#(Self.shape), "pods": []}"#)
        #expect(bare.nodes.isEmpty)
        // Labels given are kept, even empty ones.
        let given = try pack(#"{\#(Self.shape), "nodes": [{"name": "n", "labels": {}, "free": {}}], "pods": []}"#)
        #expect(given.nodes[0].labels.isEmpty)
    }

    @Test func existsAndDoesNotExistTakeNoValues() throws {
        let input = try pack(
            #"{\#(Self.shape), "pods": [{"id": "a/b", "requests": {"memory": "1Gi"}, "tolerations": [{"operator": "Exists"}], "nodeAffinity": [[{"key": "emp.pf9.io/pool", "operator": "Exists"}, {"key": "gpu", "operator": "DoesNotExist"}]]}]}"#
        )
        try input.validate()
        #expect(PodPacker().pack(input).newEVMs.count == 1)
        let withValues = try pack(
            #"{\#(Self.shape), "pods": [{"id": "a/b", "requests": {}, "nodeAffinity": [[{"key": "k", "operator": "Exists", "values": ["x"]}]]}]}"#
        )
        #expect(refusal { try withValues.validate() } == "pods[0].nodeAffinity[0][0].values: must be empty when operator is Exists")
        let noValues = try pack(
            #"{\#(Self.shape), "pods": [{"id": "a/b", "requests": {}, "nodeAffinity": [[{"key": "k", "operator": "In"}]]}]}"#)
        #expect(refusal { try noValues.validate() } == "pods[0].nodeAffinity[0][0].values: must not be empty when operator is In")
        let gt = try pack(
            #"{\#(Self.shape), "pods": [{"id": "a/b", "requests": {}, "nodeAffinity": [[{"key": "k", "operator": "Gt", "values": ["x"]}]]}]}"#
        )
        #expect(refusal { try gt.validate() }?.hasPrefix("pods[0].nodeAffinity[0][0].values: must be one integer") == true)
        let unknown = try pack(
            #"{\#(Self.shape), "pods": [{"id": "a/b", "requests": {}, "nodeAffinity": [[{"key": "k", "operator": "Near"}]]}]}"#)
        #expect(refusal { try unknown.validate() }?.hasPrefix("pods[0].nodeAffinity[0][0].operator: must be In, NotIn") == true)
    }

    @Test func negativeSizesAndDuplicatesAreRefusedNamingTheField() throws {
        let cases: [(String, String)] = [
            (
                #"{\#(Self.shape), "pods": [{"id": "a/b", "requests": {"cpu": "-100"}}]}"#,
                "pods[0].requests: CPU must not be negative (got -100000m)"
            ),
            (
                #"{"shape": {"pool": "p", "allocatable": {"memory": "-1Gi"}}, "pods": []}"#,
                "shape.allocatable: memory must not be negative (got -1073741824 bytes)"
            ),
            (
                #"{\#(Self.shape), "nodes": [{"name": "n", "free": {"memory": "-300Gi"}}], "pods": []}"#,
                "nodes[0].free: memory must not be negative (got -322122547200 bytes)"
            ),
            (#"{\#(Self.shape), "pods": [], "maxNewEVMs": -1}"#, "maxNewEVMs: must not be negative (got -1)"),
            (#"{\#(Self.shape), "pods": [], "headroom": {"cpu": "-1"}}"#, "headroom: CPU must not be negative (got -1000m)"),
            (
                #"{\#(Self.shape), "pods": [{"id": "a/b", "requests": {}}, {"id": "a/b", "requests": {}}]}"#,
                "pods[1].id: duplicate pod id \"a/b\""
            ),
            (
                #"{\#(Self.shape), "nodes": [{"name": "n", "free": {}}, {"name": "n", "free": {}}], "pods": []}"#,
                "nodes[1].name: duplicate node name \"n\""
            ),
            (
                #"{\#(Self.shape), "pods": [{"id": "a/b", "requests": {}, "tolerations": [{"key": "k", "operator": "Exists", "value": "v"}]}]}"#,
                "pods[0].tolerations[0].value: must be empty when operator is Exists"
            ),
        ]
        for (json, expected) in cases {
            let input = try pack(json)
            #expect(refusal { try input.validate() } == expected, "\(json)")
        }
    }

    @Test func placeAndPlanFilesAreChecked() throws {
        let host = #"{"id": "bm-1", "capacity": {"cpu": "64", "memory": "256Gi"}}"#
        let hosts = try JSONDecoder().decode([HostSnapshot].self, from: Data("[\(host), \(host)]".utf8))
        #expect(refusal { try PlacementRequest.validate([], hosts: hosts) } == "hosts[1].id: duplicate host id \"bm-1\"")
        let place = [PlacementRequest(id: "e", size: Resources(cpuMillis: -100_000, memoryBytes: -(300 << 30)))]
        #expect(
            refusal { try PlacementRequest.validate(place, hosts: [hosts[0]]) }
                == "place[0].size: CPU must not be negative (got -100000000m)"
                || refusal { try PlacementRequest.validate(place, hosts: [hosts[0]]) }?.hasPrefix("place[0].size: CPU must not be negative")
                    == true
        )
        let stray = Snapshot(hosts: [hosts[0]], evms: [EVMSnapshot(id: "e", hostID: "bm-9", size: .zero)])
        #expect(refusal { try stray.validate() } == "evms[0].hostID: names host \"bm-9\", which is not in hosts")
        let twice = Snapshot(
            hosts: [hosts[0]], evms: [EVMSnapshot(id: "e", hostID: "bm-1", size: .zero), EVMSnapshot(id: "e", hostID: "bm-1", size: .zero)])
        #expect(refusal { try twice.validate() } == "evms[1].id: duplicate EVM id \"e\"")
        var negative = hosts[0]
        negative.used = Resources(cpuMillis: -1)
        #expect(refusal { try Snapshot(hosts: [negative]).validate() } == "hosts[0].used: CPU must not be negative (got -1m)")
        #expect(refusal { try Snapshot(hosts: [hosts[0]], evms: [EVMSnapshot(id: "e", hostID: "bm-1", size: .zero)]).validate() } == nil)
    }

    @Test func aPodOnlyAnExistingNodeCanRunGoesThereAndIsNotPermanent() {
        // The pod selects disk=ssd: no new EVM of the pool has that label, an existing node does.
        var ssd = PackNode(name: "evm-ssd", labels: ["disk": "ssd"], free: Resources(cpuMillis: 1000, memoryBytes: 4 << 30))
        let pod = PackPod(
            id: "a/ssd", requests: Resources(cpuMillis: 500, memoryBytes: 1 << 30), nodeSelector: ["disk": "ssd"],
            tolerations: [PackToleration(key: nil, operator: "Exists")])
        let shape = PackShape(pool: "p", allocatable: Resources(cpuMillis: 3000, memoryBytes: 15 << 30))
        let placed = PodPacker().pack(PackInput(shape: shape, nodes: [ssd], pods: [pod]))
        #expect(placed.placements == ["a/ssd": "evm-ssd"])
        #expect(placed.newEVMs.isEmpty)
        // Without room there it waits (not permanent) and still causes no EVM.
        ssd.free = Resources(cpuMillis: 100, memoryBytes: 0)
        let full = PodPacker().pack(PackInput(shape: shape, nodes: [ssd], pods: [pod]))
        #expect(full.newEVMs.isEmpty)
        #expect(full.unplaced.map(\.permanent) == [false])
        #expect(full.unplaced.first?.reason.hasPrefix("only existing EVM nodes can run it and none has room") == true)
        // A node whose labels refuse it changes nothing: permanent, as before.
        let other = PackNode(name: "evm-x", labels: [:], free: Resources(cpuMillis: 1000, memoryBytes: 4 << 30))
        #expect(PodPacker().pack(PackInput(shape: shape, nodes: [other], pods: [pod])).unplaced.map(\.permanent) == [true])
    }
}
