import Foundation
import Kube
import Testing

@Suite struct ClientCRUDTests {
    @Test func createGetUpdateDeleteAConfigMap() async throws {
        let harness = try await SimHarness.start()
        defer { Task { await harness.close() } }
        let maps = harness.client.resources(ConfigMap.self, namespace: "default")
        var map = ConfigMap(name: "emp-profile-cm", namespace: "default")
        map.data = ["namespaces": #"["default","my-application"]"#]
        let created = try await maps.create(map)
        #expect(created.metadata.uid != nil)
        #expect(created.metadata.resourceVersion != nil)
        var fetched = try await maps.get("emp-profile-cm")
        #expect(fetched.data["namespaces"] == #"["default","my-application"]"#)
        fetched.data["labels"] = #"{"team":"a"}"#
        let updated = try await maps.update(fetched)
        #expect(updated.data["labels"] == #"{"team":"a"}"#)
        #expect(updated.metadata.resourceVersion != fetched.metadata.resourceVersion)

        // Creating it again is AlreadyExists; updating the stale copy is Conflict.
        await #expect { _ = try await maps.create(map) } throws: { ($0 as? KubeError)?.reason == .alreadyExists }
        await #expect { _ = try await maps.update(fetched) } throws: { ($0 as? KubeError)?.reason == .conflict }

        // A delete whose precondition names another resourceVersion is refused and deletes nothing.
        await #expect {
            try await maps.delete("emp-profile-cm", options: DeleteOptions(preconditionResourceVersion: fetched.metadata.resourceVersion))
        } throws: { ($0 as? KubeError)?.reason == .conflict }
        #expect(try await maps.getIfPresent("emp-profile-cm") != nil)
        try await maps.delete("emp-profile-cm", options: DeleteOptions(preconditionUID: created.metadata.uid))
        #expect(try await maps.getIfPresent("emp-profile-cm") == nil)
        await #expect { _ = try await maps.get("emp-profile-cm") } throws: { ($0 as? KubeError)?.reason == .notFound }
    }

    @Test func fieldsWeDoNotModelSurviveAnUpdate() async throws {
        let harness = try await SimHarness.start()
        defer { Task { await harness.close() } }
        let nodes = harness.client.resources(Node.self)
        var node = Node(name: "evm-1")
        node.object["spec"] = .object(["podCIDR": .string("10.244.1.0/24"), "providerID": .string("emp://evm-1")])
        node.metadata.annotations = ["example.com/keep": "yes"]
        _ = try await nodes.create(node)
        var fetched = try await nodes.get("evm-1")
        fetched.spec.taints = [Taint(key: "emp.pf9.io/EMPSchedulable", value: "true", effect: "NoSchedule")]
        fetched.metadata.labels["emp.pf9.io/owned"] = "true"
        _ = try await nodes.update(fetched)
        let after = try await nodes.get("evm-1")
        #expect(after.object["spec"]?["podCIDR"] == .string("10.244.1.0/24"))
        #expect(after.metadata.annotations["example.com/keep"] == "yes")
        #expect(after.spec.taints.map(\.key) == ["emp.pf9.io/EMPSchedulable"])
        #expect(after.metadata.labels["emp.pf9.io/owned"] == "true")
    }

    @Test func listFiltersByLabelAndFieldAndPages() async throws {
        let harness = try await SimHarness.start()
        defer { Task { await harness.close() } }
        let pods = harness.client.resources(Pod.self, namespace: "default")
        for index in 0..<7 {
            _ = try await pods.create(pod("p\(index)", labels: ["app": index % 2 == 0 ? "even" : "odd", "tier": "web"]))
        }
        #expect(try await pods.list(ListOptions(labelSelector: "app=even")).items.count == 4)
        #expect(try await pods.list(ListOptions(labelSelector: "app in (even,odd),tier!=db")).items.count == 7)
        #expect(try await pods.list(ListOptions(labelSelector: "!app")).items.isEmpty)
        #expect(try await pods.list(ListOptions(fieldSelector: "metadata.name=p3")).items.map(\.name) == ["p3"])
        #expect(try await pods.list(ListOptions(fieldSelector: "spec.nodeName=")).items.count == 7)

        let first = try await pods.list(ListOptions(limit: 3))
        #expect(first.items.count == 3)
        #expect(first.continueToken != nil)
        let all = try await pods.listAll(pageSize: 2)
        #expect(all.items.map(\.name) == (0..<7).map { "p\($0)" })
        #expect(all.items.allSatisfy { $0.object["kind"] == .string("Pod") })

        await #expect { _ = try await pods.list(ListOptions(fieldSelector: "spec.image=alpine")) } throws: {
            ($0 as? KubeError)?.reason == .badRequest
        }
    }

    @Test func invalidObjectsAreRejectedWithTheirFields() async throws {
        let harness = try await SimHarness.start()
        defer { Task { await harness.close() } }
        var broken = Pod(name: "no-containers", namespace: "default")
        broken.spec.nodeSelector = ["a": "b"]
        await #expect { _ = try await harness.client.resources(Pod.self).create(broken) } throws: { error in
            guard let error = error as? KubeError, error.reason == .invalid else { return false }
            return error.causes.contains { $0.field == "spec.containers" }
        }
        await #expect {
            _ = try await harness.client.resources(Pod.self, namespace: "missing").create(pod("x", namespace: "missing"))
        } throws: {
            ($0 as? KubeError)?.reason == .notFound
        }
    }
}
