import EMPModel
import EMPTesting
import Foundation
import Testing

/// empctl as an operator uses it, against a control plane process and one agent.
@Suite struct EmpctlTests {
    func empctl(_ cluster: Cluster, _ arguments: [String]) throws -> (status: Int32, output: [String], errors: String) {
        let child = try ChildProcess(
            try BuiltProducts.executable("empctl"),
            arguments + ["--server", cluster.url, "--token", cluster.token],
            environment: ["HOME": cluster.dir.path]
        )
        let status = child.wait()
        return (status, child.output, child.errorOutput.joined(separator: "\n"))
    }

    @Test func operatorWorkflow() async throws {
        let cluster = try Cluster()
        defer { cluster.stopAll() }
        try await cluster.startControlPlane()

        let bad = try empctl(cluster, ["pool", "create", "demo", "--vcpus", "2", "--memory", "16Gi", "--memory-overcommit", "0.5"])
        #expect(bad.status != 0)
        #expect(bad.errors.contains("field: policy.memoryOvercommit"), "stderr: \(bad.errors)")
        let badQuantity = try empctl(cluster, ["pool", "create", "demo", "--vcpus", "2", "--memory", "lots"])
        #expect(badQuantity.errors.contains("field: shape.memory"))

        let created = try empctl(cluster, ["pool", "create", "demo", "--vcpus", "2", "--memory", "16Gi", "--memory-overcommit", "1.5"])
        #expect(created.status == 0)
        #expect(created.output == ["pool/demo created"])
        let pools = try empctl(cluster, ["pool", "list"])
        #expect(pools.output.first?.hasPrefix("NAME") == true)
        #expect(pools.output.contains { $0.hasPrefix("demo") && $0.contains("2 CPU, 16Gi") && $0.contains("1.5") })

        // The kubelet join goes in by update; answers never show the token's secret.
        let ca = cluster.dir.file("cluster-ca.pem")
        try Data("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".utf8).write(to: URL(fileURLWithPath: ca))
        let join = ["--api-server", "https://10.0.0.1:6443", "--cluster-ca", ca]
        let badJoin = try empctl(cluster, ["pool", "update", "demo"] + join + ["--bootstrap-token", "nope"])
        #expect(badJoin.errors.contains("field: kubelet.bootstrapToken"), "stderr: \(badJoin.errors)")
        let half = try empctl(cluster, ["pool", "update", "demo", "--api-server", "https://10.0.0.1:6443"])
        #expect(half.errors.contains("give all three"))
        let updated = try empctl(
            cluster, ["pool", "update", "demo", "--max-evms", "20"] + join + ["--bootstrap-token", "abcdef.0123456789abcdef"])
        #expect(updated.output == ["pool/demo updated"], "stderr: \(updated.errors)")
        let shown = try empctl(cluster, ["pool", "show", "demo", "-o", "json"]).output.joined()
        #expect(shown.contains("abcdef.****************") && !shown.contains("0123456789abcdef"))
        #expect(shown.contains(#""maxEVMs" : 20"#) || shown.contains(#""maxEVMs": 20"#))

        // Warm capacity and a schedule in a time zone; `pool show` prints the next start in the zone and in UTC.
        let schedule = "name=market-open;cron=45 8 * * 1-5;timeZone=Asia/Kolkata;duration=7h;minEVMs=3;warm=1"
        let badSchedule = try empctl(
            cluster, ["pool", "update", "demo", "--schedule", schedule.replacingOccurrences(of: "Kolkata", with: "Nowhere")])
        #expect(badSchedule.errors.contains("field: policy.schedules[0].timeZone"), "stderr: \(badSchedule.errors)")
        let capacity = try empctl(cluster, ["pool", "update", "demo", "--warm", "1", "--warm-mode", "paused", "--schedule", schedule])
        #expect(capacity.output == ["pool/demo updated"], "stderr: \(capacity.errors)")
        let described = try empctl(cluster, ["pool", "show", "demo"]).output
        #expect(described.contains("warm:       1 paused"), "\(described)")
        #expect(described.contains { $0.hasPrefix("kubelet:") && $0.contains("abcdef.****************") })
        let row = try #require(described.first { $0.hasPrefix("market-open") }, "\(described)")
        #expect(
            row.contains("45 8 * * 1-5") && row.contains("Asia/Kolkata") && row.contains("08:45 GMT+5:30") && row.contains("03:15 GMT"),
            "\(row)"
        )

        let token = try empctl(cluster, ["host", "token", "demo"])
        #expect(token.status == 0)
        let secret = try #require(token.output.first)
        try cluster.startAgent("host-1", joinToken: secret)
        try await cluster.eventually("the host joined") { try await cluster.get([EMPModel.Host].self, "/v1/hosts").count == 1 }
        let hosts = try empctl(cluster, ["host", "list"])
        #expect(hosts.output.contains { $0.hasPrefix("host-1") && $0.contains("ready") && $0.contains("64 CPU, 256Gi") })

        let evms = try empctl(cluster, ["evm", "create", "demo", "--count", "3"])
        #expect(evms.output.count == 3)
        #expect(evms.output.allSatisfy { $0.hasPrefix("evm/demo-") && $0.hasSuffix("placed on host-1") })
        try await cluster.eventually("3 EVMs running") { try await cluster.get([EVM].self, "/v1/evms?phase=running").count == 3 }
        let listed = try empctl(cluster, ["evm", "list", "--pool", "demo", "-o", "json"])
        let decoded = try WireJSON.decoder().decode([EVM].self, from: Data(listed.output.joined(separator: "\n").utf8))
        #expect(decoded.count == 3)
        #expect(decoded.allSatisfy { $0.phase == .running })
        let seeds = try FileManager.default.contentsOfDirectory(atPath: cluster.dir.file("agent-host-1/seeds")).sorted()
        #expect(seeds == decoded.map { "\($0.id).iso" }.sorted())

        #expect(try empctl(cluster, ["host", "cordon", "host-1"]).output == ["host/host-1 cordoned"])
        let refused = try empctl(cluster, ["evm", "create", "demo"])
        #expect(refused.status != 0)
        #expect(refused.errors.contains("no host can receive EVMs"))
        #expect(try empctl(cluster, ["host", "maintenance", "host-1", "on"]).output == ["host/host-1 maintenance on"])
        #expect(try empctl(cluster, ["host", "maintenance", "host-1", "sideways"]).status != 0)

        #expect(try empctl(cluster, ["evm", "delete", decoded[0].id]).output == ["evm/\(decoded[0].id) deleting"])
        try await cluster.eventually("the deleted EVM is gone") { try await cluster.get([EVM].self, "/v1/evms").count == 2 }

        let events = try empctl(cluster, ["events", "--object", "host/host-1"])
        #expect(events.output.contains { $0.contains("host/host-1") && $0.contains("Joined") })
        #expect(events.output.contains { $0.contains("Cordoned") })
        #expect(events.output.contains { $0.contains("MaintenanceOn") })
        #expect(!events.output.contains { $0.contains("evm/") })
        #expect(try empctl(cluster, ["events", "--object", "planet/x"]).status != 0)
    }

    @Test func missingServerOrTokenIsExplained() throws {
        let dir = try TemporaryDirectory()
        let child = try ChildProcess(
            try BuiltProducts.executable("empctl"), ["pool", "list"], environment: ["HOME": dir.path, "EMP_SERVER": "", "EMP_TOKEN": ""])
        #expect(child.wait() != 0)
        #expect(child.errorOutput.joined().contains("no control plane given: use --server, EMP_SERVER or server: in"))
        let noToken = try ChildProcess(
            try BuiltProducts.executable("empctl"), ["pool", "list", "--server", "http://127.0.0.1:9"],
            environment: ["HOME": dir.path, "EMP_TOKEN": ""]
        )
        #expect(noToken.wait() != 0)
        #expect(noToken.errorOutput.joined().contains("no operator token given"))
    }
}
