import EMPControlPlane
import Foundation
import Testing

/// deploy/grafana/emp-dashboard.json only asks Prometheus for metrics the control plane exports.
@Suite struct GrafanaDashboardTests {
    @Test func everyExpressionNamesAnExportedMetric() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let data = try Data(contentsOf: root.appendingPathComponent("deploy/grafana/emp-dashboard.json"))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var expressions: [String] = []
        for panel in dashboard["panels"] as? [[String: Any]] ?? [] {
            for target in panel["targets"] as? [[String: Any]] ?? [] { expressions.append(try #require(target["expr"] as? String)) }
        }
        let templating = (dashboard["templating"] as? [String: Any])?["list"] as? [[String: Any]] ?? []
        expressions += templating.compactMap { $0["query"] as? String }.filter { $0.contains("emp_") }
        #expect(expressions.count >= 20)
        let regex = try NSRegularExpression(pattern: "emp_[a-z_]+")
        var named: Set<String> = []
        for expression in expressions {
            let found = regex.matches(in: expression, range: NSRange(expression.startIndex..., in: expression)).map {
                String(expression[Range($0.range, in: expression)!])
            }
            #expect(!found.isEmpty, "\(expression) names no EMP metric")
            for name in found {
                let family = ["_bucket", "_sum", "_count"].reduce(name) { name, suffix in
                    name.hasSuffix(suffix) && MetricCatalog.help[String(name.dropLast(suffix.count))] != nil
                        ? String(name.dropLast(suffix.count)) : name
                }
                named.insert(family)
            }
        }
        let unknown = named.subtracting(MetricCatalog.help.keys)
        #expect(unknown.isEmpty, "the dashboard asks for metrics the control plane does not export: \(unknown.sorted())")
        // The pool overview and host detail cover the figures the issue lists.
        for family in [
            "emp_hosts", "emp_evms", "emp_host_cpu_used_cores", "emp_evm_cpu_steal_cores", "emp_evm_guest_swap_in_bytes",
            "emp_pool_savings_dollars", "emp_migrations_completed_total",
        ] {
            #expect(named.contains(family), "\(family) is not on the dashboard")
        }
    }
}
