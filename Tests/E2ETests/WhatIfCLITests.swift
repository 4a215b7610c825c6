import EMPTesting
import Foundation
import Testing

/// `empctl whatif …` as a user runs it: the built binary, a file, its output and exit status.
@Suite struct WhatIfCLITests {
    static var repositoryRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    func run(_ arguments: [String]) throws -> (status: Int32, output: [String]) {
        let child = try ChildProcess(try BuiltProducts.executable("empctl"), arguments)
        let status = child.wait()
        return (status, child.output)
    }

    @Test func placesTheDocumentedExample() throws {
        let (status, output) = try run(["whatif", "place", "--input", "\(Self.repositoryRoot)/docs/examples/whatif-place.json"])
        #expect(status == 0)
        #expect(output.contains { $0.hasPrefix("evm-a") && $0.hasSuffix("bm-1") })
        #expect(output.contains { $0.hasPrefix("evm-b") && $0.hasSuffix("bm-1") })
        #expect(output.contains("placed 2 of 3 EVMs on 1 hosts"))
        #expect(output.contains { $0.hasPrefix("not placed: evm-c:") && $0.contains("no host has that much") })
        #expect(!output.contains { $0.contains("bm-3") }, "a host in maintenance received an EVM")
    }

    @Test func packsTheDocumentedExample() throws {
        let file = "\(Self.repositoryRoot)/docs/examples/whatif-pack.json"
        let (status, output) = try run(["whatif", "pack", "--input", file])
        #expect(status == 0)
        // One new EVM suffices: db-0 takes the existing node's room, so the two db replicas (anti-affinity) need only
        // one new EVM between them, and it has room for both deployment pods.
        #expect(output.contains("1 new EVM (0 for headroom); 4 of 6 pods placed"))
        #expect(output.contains { $0.hasPrefix("shop/db-0") && $0.hasSuffix("demo-a1b2c3") })
        #expect(output.contains { $0.hasPrefix("emp-test/emp-test-deployment-5") && $0.hasSuffix("new-1") })
        #expect(
            output.contains(
                "left out: batch/big: requests 40Gi memory; an EVM of pool demo has 15Gi allocatable (no EVM of this pool can run it)"))
        let json = try run(["whatif", "pack", "--input", file, "-o", "json"])
        let decoded = try JSONSerialization.jsonObject(with: Data(json.output.joined(separator: "\n").utf8)) as? [String: Any]
        let placements = decoded?["placements"] as? [String: String]
        #expect(placements?["shop/db-0"] != placements?["shop/db-1"])
    }

    @Test func jsonOutputIsMachineReadable() throws {
        let (status, output) = try run([
            "whatif", "place", "--input", "\(Self.repositoryRoot)/docs/examples/whatif-place.json", "-o", "json",
        ])
        #expect(status == 0)
        struct Result: Decodable {
            struct Placement: Decodable {
                let evmID: String
                let hostID: String
            }
            let placements: [Placement]
        }
        let result = try JSONDecoder().decode(Result.self, from: Data(output.joined(separator: "\n").utf8))
        #expect(result.placements.map(\.hostID) == ["bm-1", "bm-1"])
    }

    @Test func badFilesNameTheFileAndTheField() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("bad.json")
        try #"{"hosts":[{"id":"h","capacity":{"cpu":"lots"}}],"place":[]}"#.write(toFile: path, atomically: true, encoding: .utf8)
        let child = try ChildProcess(try BuiltProducts.executable("empctl"), ["whatif", "place", "--input", path])
        #expect(child.wait() != 0)
        let message = child.errorOutput.joined(separator: "\n")
        #expect(message.contains(path))
        #expect(message.contains("hosts[0].capacity"))
        #expect(message.contains("quantity \"lots\""))
        let missing = try ChildProcess(try BuiltProducts.executable("empctl"), ["whatif", "place", "--input", dir.file("nope.json")])
        #expect(missing.wait() != 0)
        #expect(missing.errorOutput.joined().contains("cannot read \(dir.file("nope.json"))"))
    }

    @Test func handWrittenMistakesAreRefusedAndJSONErrorsAreMachineReadable() throws {
        let dir = try TemporaryDirectory()
        let negative = dir.file("negative.json")
        try
            #"{"hosts": [{"id": "bm-1", "capacity": {"cpu": "64", "memory": "256Gi"}}], "place": [{"id": "e", "size": {"cpu": "-100", "memory": "-300Gi"}}]}"#
            .write(toFile: negative, atomically: true, encoding: .utf8)
        let child = try ChildProcess(try BuiltProducts.executable("empctl"), ["whatif", "place", "--input", negative])
        #expect(child.wait() == 64)
        #expect(child.errorOutput.joined().contains("\(negative): place[0].size: CPU must not be negative"))
        #expect(child.output.isEmpty, "nothing placed: \(child.output)")

        // The same with -o json: the error is a JSON object on standard output, the status still 64.
        let json = try ChildProcess(try BuiltProducts.executable("empctl"), ["whatif", "place", "--input", negative, "-o", "json"])
        #expect(json.wait() == 64)
        struct Reply: Decodable {
            struct Body: Decodable {
                let file: String?
                let field: String?
                let message: String
            }
            let error: Body
        }
        let reply = try JSONDecoder().decode(Reply.self, from: Data(json.output.joined(separator: "\n").utf8))
        #expect(reply.error.file == negative)
        #expect(reply.error.field == "place[0].size")
        #expect(reply.error.message.contains("CPU must not be negative"))

        // A decoding error and an unreadable file come out the same way.
        let broken = try ChildProcess(
            try BuiltProducts.executable("empctl"), ["whatif", "pack", "--input", dir.file("none.json"), "-o", "json"])
        #expect(broken.wait() == 64)
        let missing = try JSONDecoder().decode(Reply.self, from: Data(broken.output.joined(separator: "\n").utf8))
        #expect(missing.error.message == "cannot read \(dir.file("none.json"))")

        // plan: an EVM on a host the file does not have is an error, not silently ignored.
        let stray = dir.file("stray.json")
        try
            #"{"hosts": [{"id": "bm-1", "capacity": {"cpu": "64", "memory": "256Gi"}}], "evms": [{"id": "e", "hostID": "bm-2", "size": {"cpu": "4", "memory": "16Gi"}, "used": {}}]}"#
            .write(toFile: stray, atomically: true, encoding: .utf8)
        let plan = try ChildProcess(try BuiltProducts.executable("empctl"), ["whatif", "plan", "--input", stray])
        #expect(plan.wait() == 64)
        #expect(plan.errorOutput.joined().contains("evms[0].hostID: names host \"bm-2\", which is not in hosts"))

        // pack: duplicate pod ids are refused rather than collapsed.
        let twice = dir.file("twice.json")
        try
            #"{"shape": {"pool": "demo", "allocatable": {"cpu": "3", "memory": "15Gi"}}, "pods": [{"id": "a/b", "requests": {}}, {"id": "a/b", "requests": {}}]}"#
            .write(toFile: twice, atomically: true, encoding: .utf8)
        let pack = try ChildProcess(try BuiltProducts.executable("empctl"), ["whatif", "pack", "--input", twice])
        #expect(pack.wait() == 64)
        #expect(pack.errorOutput.joined().contains("pods[1].id: duplicate pod id \"a/b\""))
    }

    @Test func plansTheDocumentedExample() throws {
        let file = "\(Self.repositoryRoot)/docs/examples/whatif-plan.json"
        let (status, output) = try run(["whatif", "plan", "--input", file])
        #expect(status == 0)
        // bm-1 is in maintenance: its three EVMs leave; bm-2 is at 84 %: the cheapest EVM that brings it under 80 % leaves.
        #expect(output.filter { $0.contains(" bm-1 ") && $0.contains("evacuate") }.count == 3)
        #expect(output.contains { $0.contains("evm-i") && $0.contains("relieve") && $0.contains("30Gi") })
        #expect(!output.contains { $0.contains("evm-j") }, "evm-j is cooling down")
        #expect(output.contains { $0.hasPrefix("bm-1") && $0.contains("3 → 0") })
        #expect(output.contains { $0.contains("frees bm-1") })
        struct Plan: Decodable {
            struct Move: Decodable {
                let evmID: String
                let to: String
                let reason: String
            }
            let moves: [Move]
        }
        let json = try run(["whatif", "plan", "--input", file, "-o", "json"])
        let plan = try JSONDecoder().decode(Plan.self, from: Data(json.output.joined(separator: "\n").utf8))
        #expect(plan.moves.allSatisfy { $0.to != "bm-1" })
        #expect(plan.moves.prefix(3).allSatisfy { $0.reason == "evacuate" })
    }

    @Test func badPlanSettingsNameTheField() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("plan.json")
        try #"{"hosts":[],"settings":{"maxOutboundPerHost":0}}"#.write(toFile: path, atomically: true, encoding: .utf8)
        let child = try ChildProcess(try BuiltProducts.executable("empctl"), ["whatif", "plan", "--input", path])
        #expect(child.wait() != 0)
        #expect(child.errorOutput.joined().contains("settings.maxOutboundPerHost: must be at least 1"))
    }
}
