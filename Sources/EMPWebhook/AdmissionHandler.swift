import EMPModel
public import Foundation
import Kube
import Metrics

/// Turns an AdmissionReview request body into the response body: decoding, checks, the ``PodMutator`` decision
/// and metrics. No network I/O: the profile is read from ``ProfileState``.
public struct AdmissionHandler: Sendable {
    let state: ProfileState

    public init(state: ProfileState) { self.state = state }

    /// The AdmissionReview answer, or ``MalformedReview`` (sent as HTTP 400) when `body` is not one.
    public func handle(_ body: Data) throws(MalformedReview) -> Data {
        let start = ContinuousClock.now
        let review: AdmissionReview
        let response: AdmissionReview.Response
        do throws(MalformedReview) {
            review = try Self.decode(body)
            guard let request = review.request else { throw MalformedReview("request is missing") }
            response = try PodMutator.respond(to: request, profile: state.profile)
        } catch {
            Counter(label: "emp_webhook_admission_reviews_total", dimensions: [("result", "malformed")]).increment()
            throw error
        }
        let result = response.patchType == nil ? "unchanged" : "mutated"
        Counter(label: "emp_webhook_admission_reviews_total", dimensions: [("result", result)]).increment()
        Metrics.Timer(label: "emp_webhook_admission_duration_seconds").record(duration: ContinuousClock.now - start)
        // Serializing a tree of JSON values cannot fail; an empty object is never sent in practice.
        return (try? JSONValue.object(AdmissionReview(response: response).object).serialized()) ?? Data("{}".utf8)
    }

    /// Kubernetes objects nest deeper than EMP's own bodies; 100,000 keys is far beyond any real Pod.
    static let reviewLimits = JSONGuard.Limits(maxDepth: 64, maxElements: 100_000)

    /// A decoded `admission.k8s.io/v1` AdmissionReview with a request `uid`.
    static func decode(_ body: Data) throws(MalformedReview) -> AdmissionReview {
        // Strict syntax, bounded depth and size, and no duplicate key (a second `uid` must not win) before parsing.
        do {
            try JSONGuard.check(body, limits: reviewLimits)
        } catch {
            throw MalformedReview("body is not JSON: \(error)")
        }
        guard let value = try? JSONValue.parse(body) else { throw MalformedReview("body is not JSON") }
        guard case .object(let object) = value else { throw MalformedReview("body must be a JSON object (an AdmissionReview)") }
        guard object["kind"]?.stringValue == "AdmissionReview" else { throw MalformedReview("kind must be AdmissionReview") }
        guard object["apiVersion"]?.stringValue == AdmissionReview.apiVersion else {
            throw MalformedReview("apiVersion must be \(AdmissionReview.apiVersion) (set admissionReviewVersions: [v1])")
        }
        guard case .object(let request)? = object["request"] else { throw MalformedReview("request must be an object") }
        guard case .string(let uid)? = request["uid"], !uid.isEmpty else { throw MalformedReview("request.uid is missing") }
        for key in ["operation", "namespace"] {
            if let value = request[key], value != .null, value.stringValue == nil {
                throw MalformedReview("request.\(key) must be a string")
            }
        }
        if let kind = request["kind"], kind.objectValue == nil { throw MalformedReview("request.kind must be an object") }
        return AdmissionReview(object: object)
    }
}
