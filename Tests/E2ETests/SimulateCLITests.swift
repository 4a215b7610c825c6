import EMPTesting
import Foundation
import Testing

/// `empctl simulate` as a user runs it (issue 21): the documented example file, the three outputs, and a bad file
/// refused naming the line and column.
@Suite struct SimulateCLITests {
    func run(_ arguments: [String]) throws -> (status: Int32, output: [String], errors: [String]) {
        let child = try ChildProcess(try BuiltProducts.executable("empctl"), ["simulate"] + arguments)
        let status = child.wait()
        return (status, child.output, child.errorOutput)
    }

    @Test func theDocumentedExampleComparesTheThreeScenarios() throws {
        let file = "\(WhatIfCLITests.repositoryRoot)/docs/examples/trace.csv"
        let table = try run(["--trace", file])
        #expect(table.status == 0)
        #expect(table.output.first?.hasPrefix("24 h 0 min simulated in 10 s steps") == true)
        #expect(table.output.contains { $0.hasPrefix("cost ") && $0.contains("$") })
        #expect(table.output.contains { $0.hasPrefix("EMP against cluster-autoscaler:") })
        #expect(table.errors.isEmpty, "no progress indicator when standard error is not a terminal")

        let json = try run(["--trace", file, "-o", "json"])
        #expect(json.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(json.output.joined(separator: "\n").utf8)) as? [String: Any]
        let report = try #require(object?["report"] as? [String: Any])
        let names = (report["scenarios"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
        #expect(names == ["cluster-autoscaler", "karpenter", "emp"])
        #expect((object?["savings"] as? [String: Double])?.keys.sorted() == ["cluster-autoscaler", "karpenter"])

        let html = try run(["--trace", file, "-o", "html"]).output.joined(separator: "\n")
        #expect(html.hasPrefix("<!doctype html>"))
        #expect(html.components(separatedBy: "<svg").count - 1 == 4, "demand/capacity, cost, pending pods, nodes")
        #expect(!html.contains("<script"), "self-contained: no script")
    }

    @Test func aBadTraceIsRefusedNamingTheLineAndColumn() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("day.csv")
        try
            "timestamp,workload,replicas,cpu_request,memory_request,cpu_usage,memory_usage\n0,web,3,500m,1Gi,100m,1Gi\n60,web,3,500m,-1Gi,100m,1Gi\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let bad = try run(["--trace", path])
        #expect(bad.status == 64)
        #expect(bad.errors.joined() == "empctl simulate: \(path): line 3, column memory_request: \"-1Gi\" is negative")
        let warm = try run(["--trace", "flat", "--warm=-1"])
        #expect(warm.status == 64)
        #expect(warm.errors.joined() == "empctl simulate: the EMP pool's policy: warm.count: must not be negative (got -1)")
        let unknown = try run(["--trace", dir.file("nope.csv")])
        #expect(unknown.status == 64)
        #expect(unknown.errors.joined().contains("not diurnal, batch or flat"))
    }
}
