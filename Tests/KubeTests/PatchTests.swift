import Foundation
import Kube
import Testing

@Suite struct PatchTests {
    // MARK: the algorithms (RFC 7386 / RFC 6902 examples)

    @Test func mergePatchFollowsRFC7386() throws {
        let target = try JSONDecoder().decode(JSONValue.self, from: Data(#"{"a":"b","c":{"d":"e","f":"g"},"l":[1,2]}"#.utf8))
        let patch = try JSONDecoder().decode(JSONValue.self, from: Data(#"{"a":"z","c":{"f":null},"l":[3]}"#.utf8))
        let result = target.mergePatched(with: patch)
        #expect(result == (try JSONDecoder().decode(JSONValue.self, from: Data(#"{"a":"z","c":{"d":"e"},"l":[3]}"#.utf8))))
    }

    @Test func jsonPatchAddsRemovesTestsAndEscapes() throws {
        let document: JSONValue = .object([
            "metadata": .object(["labels": .object(["a": .string("1")])]), "list": .array([.int(1), .int(2)]),
        ])
        let patched = try document.jsonPatched(with: [
            .add("/metadata/labels/\(JSONPatchOperation.escape("emp.pf9.io/owned"))", .string("true")),
            .add("/list/-", .int(3)),
            .add("/list/0", .int(0)),
            .remove("/metadata/labels/a"),
            .test("/list/3", .int(3)),
            .replace("/list/1", .int(10)),
        ])
        #expect(patched.value(atPath: "metadata.labels") == .object(["emp.pf9.io/owned": .string("true")]))
        #expect(patched["list"] == .array([.int(0), .int(10), .int(2), .int(3)]))
        #expect(throws: PatchError.self) { try document.jsonPatched(with: [.test("/list/0", .int(9))]) }
        #expect(throws: PatchError.self) { try document.jsonPatched(with: [.remove("/missing")]) }
        #expect(throws: PatchError.self) { try document.jsonPatched(with: [.add("/list/9", .int(1))]) }
        // All or nothing: a failing operation leaves the original value untouched (value semantics).
        #expect(document["list"] == .array([.int(1), .int(2)]))
    }

    // MARK: against the API

    @Test func theThreePatchTypesAgainstKubeSim() async throws {
        let harness = try await SimHarness.start()
        defer { Task { await harness.close() } }
        let nodes = harness.client.resources(Node.self)
        var node = Node(name: "evm-1")
        node.spec.taints = [Taint(key: "a", effect: "NoSchedule")]
        node.status.conditions = [
            Condition(type: "Ready", status: "False", reason: "KubeletNotReady"), Condition(type: "MemoryPressure", status: "False"),
        ]
        _ = try await nodes.create(node)

        // Merge: labels merge, a null removes, the taint list is replaced.
        let merged = try await nodes.patch(
            "evm-1",
            .merge(
                .object([
                    "metadata": .object(["labels": .object(["emp.pf9.io/owned": .string("true")])]),
                    "spec": .object(["taints": .array([Taint(key: "emp.pf9.io/EMPSchedulable", value: "true", effect: "NoSchedule").json])]
                    ),
                ])))
        #expect(merged.metadata.labels == ["emp.pf9.io/owned": "true"])
        #expect(merged.spec.taints.map(\.key) == ["emp.pf9.io/EMPSchedulable"])

        // Strategic merge on status: conditions merge by type (MemoryPressure stays), as the kubelet relies on.
        let ready = try await nodes.patch(
            "evm-1", .strategic(.object(["status": .object(["conditions": .array([Condition(type: "Ready", status: "True").json])])])),
            subresource: "status")
        #expect(ready.isReady)
        #expect(ready.status.conditions.map(\.type).sorted() == ["MemoryPressure", "Ready"])

        // JSON patch with a test guard: applies when the guard holds, 409 Conflict when it does not.
        let cordoned = try await nodes.patch(
            "evm-1", .json([.test("/metadata/labels/emp.pf9.io~1owned", .string("true")), .add("/spec/unschedulable", .bool(true))]))
        #expect(cordoned.spec.unschedulable)
        await #expect {
            _ = try await nodes.patch("evm-1", .json([.test("/spec/unschedulable", .bool(false)), .remove("/spec/taints")]))
        } throws: { ($0 as? KubeError)?.reason == .conflict }
        #expect(try await nodes.get("evm-1").spec.taints.count == 1)
    }

    @Test func statusAndSpecAreSeparateSubresources() async throws {
        let harness = try await SimHarness.start()
        defer { Task { await harness.close() } }
        let deployments = harness.client.resources(Deployment.self, namespace: "default")
        var deployment = Deployment(name: "web", namespace: "default")
        deployment.spec.selector = LabelSelector(matchLabels: ["app": "web"])
        deployment.spec.template.metadata.labels = ["app": "web"]
        deployment.spec.template.spec.containers = [Container(name: "c", image: "nginx")]
        deployment.spec.replicas = 0
        _ = try await deployments.create(deployment)
        // The controller writes status concurrently: read-modify-write until the update lands, as clients must.
        var afterMain: Deployment?
        while afterMain == nil {
            var current = try await deployments.get("web")
            current.status.replicas = 99
            do {
                afterMain = try await deployments.update(current)
            } catch let error as KubeError where error.reason == .conflict {}
        }
        #expect(afterMain?.status.replicas != 99)
        let scale = try await deployments.scale("web", replicas: 2)
        #expect(scale.replicas == 2)
        #expect(try await deployments.get("web").spec.replicas == 2)
    }
}
