import EMPTesting
import Foundation
import Kube
import KubeSim
import Testing

/// kubectl, the reference client, against KubeSim: what a user types in the seed walkthrough.
@Suite(.serialized) struct KubectlTests {
    struct Result {
        var status: Int32
        var output: String
        var errors: String
    }

    /// kubectl talks to the KubeSim in this process: wait for it without blocking a thread.
    func kubectl(_ kubeconfig: String, _ arguments: String...) async throws -> Result {
        let (status, output, errors) = try await ChildProcess.run("/usr/bin/env", ["kubectl", "--kubeconfig", kubeconfig] + arguments)
        return Result(
            status: status, output: output.joined(separator: "\n"), errors: errors.joined(separator: "\n"))
    }

    func rows(_ text: String) -> [[String]] {
        text.split(separator: "\n").dropFirst().map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
    }

    @Test func theSeedWalkthroughWithKubectl() async throws {
        var options = KubeSim.Options()
        options.nodeReadyAfter = .zero
        // `kubectl delete -f` deletes the namespace first, then the Deployment inside it; the namespace controller
        // must not have emptied the namespace in between (a loaded machine took over the default 1 s).
        options.namespaceFinalizeDelay = 30
        let sim = try KubeSim(options: options)
        try await sim.start()
        defer { Task { await sim.stop() } }
        let dir = try TemporaryDirectory()
        let config = dir.file("kubeconfig")
        try sim.writeKubeconfig(to: config, auth: .clientCertificate(user: "admin", groups: ["system:masters"]))
        let manifest = try #require(Bundle.module.path(forResource: "emp-test", ofType: "yaml", inDirectory: "Fixtures"))

        // An EVM node as the agent pre-registers it: tainted and labelled, 15 GiB allocatable.
        let client = try KubeClient(config: sim.kubeConfig())
        defer { Task { try? await client.shutdown() } }
        var node = Node(name: "pf9-demo-ehmd82")
        node.metadata.labels = ["emp.pf9.io/owned": "true", "emp.pf9.io/pool": "demo", "emp.pf9.io/host": "host-1"]
        node.spec.taints = [Taint(key: "emp.pf9.io/EMPSchedulable", value: "true", effect: "NoSchedule")]
        node.status.allocatable = ["cpu": "4", "memory": "14900Mi", "pods": "110"]
        node.status.capacity = ["cpu": "4", "memory": "16Gi", "pods": "110"]
        _ = try await client.resources(Node.self).create(node)

        let nodes = try await kubectl(config, "get", "nodes")
        #expect(nodes.status == 0, "\(nodes.errors)")
        #expect(rows(nodes.output).first?.prefix(2) == ["pf9-demo-ehmd82", "Ready"])
        let selected = try await kubectl(config, "get", "nodes", "-l", "emp.pf9.io/owned=true", "-o", "jsonpath={.items[*].metadata.name}")
        #expect(selected.output == "pf9-demo-ehmd82")

        let applied = try await kubectl(config, "apply", "-f", manifest)
        #expect(applied.status == 0, "\(applied.errors)")
        #expect(applied.output.contains("namespace/emp-test created"))
        #expect(applied.output.contains("deployment.apps/emp-test-deployment created"))

        #expect(
            try await eventually(timeout: .seconds(20)) {
                let pods = try await kubectl(config, "get", "pods", "-n", "emp-test", "-o", "wide")
                return rows(pods.output).count == 1 && rows(pods.output)[0][2] == "Running"
            })
        let wide = try await kubectl(config, "get", "pods", "-n", "emp-test", "-o", "wide")
        #expect(wide.output.split(separator: "\n").first?.contains("NODE") == true)
        let row = try #require(rows(wide.output).first)
        #expect(row[0].hasPrefix("emp-test-deployment-"))
        #expect(row[1] == "1/1")
        #expect(row.contains("pf9-demo-ehmd82"))

        // Five replicas of 3 GiB do not fit in 14900Mi: four run, one is Pending.
        let scaled = try await kubectl(config, "scale", "--replicas", "5", "deployment/emp-test-deployment", "-n", "emp-test")
        #expect(scaled.status == 0, "\(scaled.errors)")
        #expect(scaled.output.contains("deployment.apps/emp-test-deployment scaled"))
        #expect(
            try await eventually(timeout: .seconds(20)) {
                let statuses = rows(try await kubectl(config, "get", "pods", "-n", "emp-test").output).map { $0[2] }
                return statuses.filter { $0 == "Running" }.count == 4 && statuses.filter { $0 == "Pending" }.count == 1
            })
        let reason = try await kubectl(
            config, "get", "pods", "-n", "emp-test", "--field-selector", "status.phase=Pending", "-o",
            "jsonpath={.items[0].status.conditions[?(@.type==\"PodScheduled\")].message}")
        #expect(reason.output == "0/1 nodes are available: 1 Insufficient memory.")

        let deleted = try await kubectl(config, "delete", "-f", manifest)
        #expect(deleted.status == 0, "\(deleted.errors)")
        #expect(deleted.output.contains("deployment.apps \"emp-test-deployment\" deleted"))
        let gone = try await kubectl(config, "get", "pods", "-n", "emp-test")
        #expect(gone.output.isEmpty)
        let missing = try await kubectl(config, "get", "deployment", "emp-test-deployment", "-n", "emp-test")
        #expect(missing.status != 0)
        #expect(missing.errors.contains("NotFound") || missing.errors.contains("not found"))
    }

    @Test func kubectlReportsServerValidationErrors() async throws {
        let sim = try KubeSim()
        try await sim.start()
        defer { Task { await sim.stop() } }
        let dir = try TemporaryDirectory()
        let config = dir.file("kubeconfig")
        try sim.writeKubeconfig(to: config)
        let manifest = dir.file("bad.yaml")
        try """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: bad}
        spec:
          selector: {matchLabels: {app: a}}
          template:
            metadata: {labels: {app: b}}
            spec: {containers: [{name: c, image: alpine}]}
        """.write(toFile: manifest, atomically: true, encoding: .utf8)
        let result = try await kubectl(config, "apply", "-f", manifest)
        #expect(result.status != 0)
        #expect(result.errors.contains("spec.template.metadata.labels"))
    }
}

extension KubectlTests {
    static var repositoryRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    /// The project's CustomResourceDefinitions (deploy/crds) through kubectl (issue 20): applied, their kinds in
    /// discovery, objects created, status written through the status subresource only, and `kubectl get` showing
    /// the printer columns from server-side tables.
    @Test func customResourcesWithPrinterColumns() async throws {
        let sim = try KubeSim()
        try await sim.start()
        defer { Task { await sim.stop() } }
        let dir = try TemporaryDirectory()
        let config = dir.file("kubeconfig")
        try sim.writeKubeconfig(to: config)
        let applied = try await kubectl(config, "apply", "-f", "\(Self.repositoryRoot)/deploy/crds/")
        #expect(applied.status == 0, "\(applied.errors)")
        let resources = try await kubectl(config, "api-resources", "--api-group", "emp.pf9.io")
        #expect(resources.output.contains("evmpools") && resources.output.contains("evmp") && resources.output.contains("EVMPool"))
        let manifest = dir.file("pool.yaml")
        try "apiVersion: emp.pf9.io/v1alpha1\nkind: EVMPool\nmetadata: {name: trading}\nspec: {}\n".write(
            toFile: manifest, atomically: true, encoding: .utf8)
        #expect(try await kubectl(config, "apply", "-f", manifest).status == 0)
        // Status is written through the status subresource; a write of the object itself does not change it.
        let status =
            #"{"status":{"shape":"4 vCPU / 16Gi","evms":{"summary":"3/4","warm":1},"hosts":2,"conditions":[{"type":"Ready","status":"True"}]}}"#
        let patched = try await kubectl(config, "patch", "evmpool", "trading", "--subresource=status", "--type=merge", "-p", status)
        #expect(patched.status == 0, "\(patched.errors)")
        _ = try await kubectl(config, "patch", "evmpool", "trading", "--type=merge", "-p", #"{"status":{"hosts":9}}"#)
        let table = try await kubectl(config, "get", "evmpools")
        let header = table.output.split(separator: "\n").first.map { $0.split(separator: " ").map(String.init) }
        #expect(header == ["NAME", "SHAPE", "EVMS", "WARM", "HOSTS", "CPU", "MEMORY", "SAVINGS", "READY", "AGE"])
        let row = rows(table.output).first ?? []
        #expect(Array(row.prefix(8)) == ["trading", "4", "vCPU", "/", "16Gi", "3/4", "1", "2"])
        #expect(row.contains("True"))
        let evms = try await kubectl(config, "get", "evms")
        #expect(evms.status == 0 && evms.errors.contains("No resources found"))
    }
}
