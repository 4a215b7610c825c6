import EMPWebhook
import Foundation
import Kube
import Testing

/// The webhook's answers over real AdmissionReview JSON; every patch is applied by ``IndependentPatch``.
@Suite struct MutatorTests {
    static let toleration: [String: String] = [
        "key": "emp.pf9.io/EMPSchedulable", "operator": "Equal", "value": "true", "effect": "NoSchedule",
    ]
    let handler = AdmissionHandler(state: ProfileState(WebhookProfile(namespaces: ["emp-test", "default"]), ready: true))

    /// Sends `pod` through the webhook and returns the patched pod (the pod itself when there is no patch).
    func mutate(_ pod: [String: Any], handler: AdmissionHandler? = nil, namespace: String = "emp-test") throws -> (
        pod: [String: Any], patched: Bool
    ) {
        let answer = try (handler ?? self.handler).handle(Review.body(namespace: namespace, object: pod))
        #expect(try Review.response(answer)["uid"] as? String == "0c2e5a6f-1111-4222-8333-944445555666")
        #expect(try Review.response(answer)["allowed"] as? Bool == true)
        guard let patch = try Review.patch(answer) else { return (pod, false) }
        return (try #require(try IndependentPatch.apply(patch, to: pod) as? [String: Any]), true)
    }

    func tolerations(_ pod: [String: Any]) -> [[String: String]] {
        ((pod["spec"] as? [String: Any])?["tolerations"] as? [[String: String]]) ?? []
    }

    func nodeSelector(_ pod: [String: Any]) -> [String: String]? {
        (pod["spec"] as? [String: Any])?["nodeSelector"] as? [String: String]
    }

    /// Everything except spec.tolerations and spec.nodeSelector is unchanged.
    func rest(_ pod: [String: Any]) -> NSDictionary {
        var copy = pod
        var spec = copy["spec"] as? [String: Any] ?? [:]
        spec["tolerations"] = nil
        spec["nodeSelector"] = nil
        copy["spec"] = spec
        return copy as NSDictionary
    }

    @Test func podWithNeitherFieldGetsBothCreated() throws {
        let pod = Review.pod()
        let (mutated, patched) = try mutate(pod)
        #expect(patched)
        #expect(tolerations(mutated) == [Self.toleration])
        #expect(nodeSelector(mutated) == ["emp.pf9.io/owned": "true"])
        #expect(rest(mutated) == rest(pod))
        // Applying the webhook to its own output changes nothing.
        #expect(try mutate(mutated).patched == false)
    }

    @Test func ownTolerationsAndNodeSelectorAreKeptAndAppendedTo() throws {
        let own = ["key": "dedicated", "operator": "Equal", "value": "batch", "effect": "NoSchedule"]
        let pod = Review.pod(spec: ["tolerations": [own], "nodeSelector": ["disktype": "ssd", "team/a": "x"]])
        let (mutated, _) = try mutate(pod)
        #expect(tolerations(mutated) == [own, Self.toleration])
        #expect(nodeSelector(mutated) == ["disktype": "ssd", "team/a": "x", "emp.pf9.io/owned": "true"])
        #expect(rest(mutated) == rest(pod))
    }

    @Test func anExistingOwnedSelectorIsNeverReplaced() throws {
        let (mutated, _) = try mutate(Review.pod(spec: ["nodeSelector": ["emp.pf9.io/owned": "false"]]))
        #expect(nodeSelector(mutated) == ["emp.pf9.io/owned": "false"])
        #expect(tolerations(mutated) == [Self.toleration])
    }

    @Test(arguments: [
        ["key": "emp.pf9.io/EMPSchedulable", "operator": "Equal", "value": "true", "effect": "NoSchedule"],
        ["key": "emp.pf9.io/EMPSchedulable", "operator": "Exists"],
        ["operator": "Exists"],
    ])
    func aTolerationThatAlreadyToleratesTheTaintIsEnough(existing: [String: String]) throws {
        let (mutated, _) = try mutate(Review.pod(spec: ["tolerations": [existing]]))
        #expect(tolerations(mutated) == [existing])
        #expect(nodeSelector(mutated) == ["emp.pf9.io/owned": "true"])
    }

    @Test func aTolerationForAnotherEffectDoesNotCount() throws {
        let other = ["key": "emp.pf9.io/EMPSchedulable", "operator": "Exists", "effect": "NoExecute"]
        let (mutated, _) = try mutate(Review.pod(spec: ["tolerations": [other]]))
        #expect(tolerations(mutated) == [other, Self.toleration])
    }

    @Test func daemonSetPodsGetTheTolerationOnly() throws {
        let (mutated, _) = try mutate(Review.pod(owner: "DaemonSet"))
        #expect(tolerations(mutated) == [Self.toleration])
        #expect(nodeSelector(mutated) == nil)
    }

    @Test func namespaceNotListedOrLabelMismatchIsLeftAlone() throws {
        #expect(try mutate(Review.pod(), namespace: "kube-system").patched == false)
        let labelled = AdmissionHandler(
            state: ProfileState(WebhookProfile(namespaces: ["emp-test"], labels: ["emp": "yes", "tier": "web"]), ready: true))
        #expect(try mutate(Review.pod(labels: ["emp": "yes"]), handler: labelled).patched == false)
        #expect(try mutate(Review.pod(labels: ["emp": "no", "tier": "web"]), handler: labelled).patched == false)
        #expect(try mutate(Review.pod(labels: ["emp": "yes", "tier": "web", "app": "x"]), handler: labelled).patched)
    }

    @Test(arguments: ["UPDATE", "DELETE", "CONNECT"])
    func otherOperationsAreAllowedUnchanged(operation: String) throws {
        let answer = try handler.handle(Review.body(operation: operation, object: Review.pod()))
        #expect(try Review.patch(answer) == nil)
        #expect(try Review.response(answer)["allowed"] as? Bool == true)
    }

    @Test func otherKindsAndSubresourcesAreAllowedUnchanged() throws {
        let deployment: [String: Any] = ["apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": "d"], "spec": [:]]
        for body in [
            Review.body(kind: "Deployment", group: "apps", object: deployment),
            Review.body(kind: "ConfigMap", object: ["metadata": ["name": "c"]]),
            Review.body(subResource: "ephemeralcontainers", object: Review.pod()),
        ] {
            let answer = try handler.handle(body)
            #expect(try Review.patch(answer) == nil)
            #expect(try Review.response(answer)["uid"] as? String == "0c2e5a6f-1111-4222-8333-944445555666")
        }
    }

    @Test func dryRunGetsTheSameAnswer() throws {
        let wet = try handler.handle(Review.body(object: Review.pod()))
        let dry = try handler.handle(Review.body(dryRun: true, object: Review.pod()))
        #expect(try Review.response(wet)["patch"] as? String == Review.response(dry)["patch"] as? String)
    }

    @Test func aPodWithoutItsOwnNamespaceUsesTheRequestNamespace() throws {
        var pod = Review.pod()
        pod["metadata"] = ["generateName": "x-"]
        #expect(try mutate(pod).patched)
    }

    @Test(arguments: [
        (Data("not json".utf8), "not JSON"),
        (Data("[]".utf8), "JSON object"),
        (Data(#"{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"u"}}"#.utf8), "apiVersion"),
        (Data(#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#.utf8), "request"),
        (Data(#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}}"#.utf8), "uid"),
        (Review.body(object: nil), "request.object"),
        (Review.body(object: ["spec": ["tolerations": "all"]]), "tolerations"),
        (Review.body(object: ["spec": ["containers": [], "nodeSelector": ["a", "b"]]]), "nodeSelector"),
    ])
    func malformedReviewsAreRefusedWithAMessage(body: Data, mentions: String) throws {
        #expect {
            try handler.handle(body)
        } throws: { error in
            (error as? MalformedReview)?.description.contains(mentions) == true
        }
    }
}
