import EMPTesting
import EMPWebhook
import Foundation
import Testing

/// 100,000 seeded random and mutated inputs (50,000 AdmissionReviews, 50,000 ConfigMaps): no crash, and every answer is a valid
/// AdmissionReview echoing the uid, or a refusal (HTTP 400 at the server).
@Suite struct FuzzTests {
    static let seed: UInt64 = 20_261_122

    static func randomValue(_ rng: inout SplitMix, depth: Int = 0) -> Any {
        switch Int.random(in: 0..<(depth > 2 ? 5 : 7), using: &rng) {
        case 0: return NSNull()
        case 1: return Bool.random(using: &rng)
        case 2: return Int.random(in: -5...1_000_000, using: &rng)
        case 3: return Double.random(in: -1e6...1e6, using: &rng)
        case 4: return ["", "Pod", "CREATE", "emp-test", "emp.pf9.io/owned", "true", "~1/", "\u{0}", "é"].randomElement(using: &rng)!
        case 5: return (0..<Int.random(in: 0...3, using: &rng)).map { _ in randomValue(&rng, depth: depth + 1) }
        default:
            let keys = ["spec", "tolerations", "nodeSelector", "metadata", "labels", "ownerReferences", "kind", "uid", "object", "x"]
            var object: [String: Any] = [:]
            for _ in 0..<Int.random(in: 0...3, using: &rng) {
                object[keys.randomElement(using: &rng)!] = randomValue(&rng, depth: depth + 1)
            }
            return object
        }
    }

    /// Replaces one node of a JSON tree with a random value.
    static func mutate(_ node: Any, _ rng: inout SplitMix) -> Any {
        if var object = node as? [String: Any], !object.isEmpty, Int.random(in: 0..<4, using: &rng) != 0 {
            let key = object.keys.sorted().randomElement(using: &rng)!
            object[key] = Bool.random(using: &rng) ? mutate(object[key]!, &rng) : randomValue(&rng)
            if Int.random(in: 0..<8, using: &rng) == 0 { object[key] = nil }
            return object
        }
        if var array = node as? [Any], !array.isEmpty, Int.random(in: 0..<4, using: &rng) != 0 {
            let index = Int.random(in: 0..<array.count, using: &rng)
            array[index] = mutate(array[index], &rng)
            return array
        }
        return randomValue(&rng)
    }

    /// Valid reviews to start from: every operation, kind, namespace, owner and field combination.
    static func validReviews() -> [(body: Data, tree: Any)] {
        var bodies: [(Data, Any)] = []
        for operation in ["CREATE", "UPDATE", "DELETE"] {
            for kind in ["Pod", "ConfigMap"] {
                for namespace in ["emp-test", "default", "kube-system"] {
                    for owner in ["ReplicaSet", "DaemonSet"] {
                        for fields in 0..<4 {
                            var spec: [String: Any] = [:]
                            if fields & 1 != 0 { spec["tolerations"] = [["key": "a", "operator": "Exists"]] }
                            if fields & 2 != 0 { spec["nodeSelector"] = ["disk": "ssd"] }
                            let body = Review.body(
                                operation: operation, kind: kind, namespace: namespace,
                                object: Review.pod(labels: ["app": "x"], spec: spec, owner: owner))
                            bodies.append((body, try! JSONSerialization.jsonObject(with: body)))
                        }
                    }
                }
            }
        }
        return bodies
    }

    static func body(_ rng: inout SplitMix, from reviews: [(body: Data, tree: Any)]) -> Data {
        let (valid, tree) = reviews.randomElement(using: &rng)!
        switch Int.random(in: 0..<4, using: &rng) {
        case 0:
            return valid
        case 1:
            var bytes = [UInt8](valid)
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            if Bool.random(using: &rng) { bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &rng))) }
            return Data(bytes)
        case 2:
            return (try? JSONSerialization.data(withJSONObject: mutate(tree, &rng), options: [.fragmentsAllowed])) ?? valid
        default:
            return (try? JSONSerialization.data(withJSONObject: randomValue(&rng), options: [.fragmentsAllowed])) ?? Data()
        }
    }

    static func configMap(_ rng: inout SplitMix) -> [String: String] {
        let pieces = ["[", "]", "\"", ",", "default", "emp-test", "-", " ", "\n", "#", "{", "}", ":", "Bad_Name", "é", "\u{0}", "null"]
        func text() -> String { (0..<Int.random(in: 0...12, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined() }
        var data: [String: String] = [:]
        if Int.random(in: 0..<8, using: &rng) != 0 { data["namespaces"] = text() }
        if Bool.random(using: &rng) { data["labels"] = text() }
        return data
    }

    /// A quick in-suite sweep of 5,000 bodies (`make fuzz` runs the coverage-guided `fuzz-admission` target for a
    /// million); it yields now and then so tests waiting on in-process servers keep running.
    @Test func randomAndMutatedInputsNeverCrashAndAlwaysGetAValidAnswer() async throws {
        var rng = SplitMix(seed: Self.seed)
        let state = ProfileState(WebhookProfile(namespaces: ["emp-test", "default"]), ready: true)
        let handler = AdmissionHandler(state: state)
        var answered = 0
        var refused = 0
        var wrongUID: [Int] = []
        let reviews = Self.validReviews()
        for round in 0..<5_000 {
            if round % 100 == 0 { await Task.yield() }
            let body = Self.body(&rng, from: reviews)
            do {
                let answer = try handler.handle(body)
                let response = try Review.response(answer)
                let request = (try? JSONSerialization.jsonObject(with: body) as? [String: Any])?["request"] as? [String: Any]
                if response["uid"] as? String != request?["uid"] as? String { wrongUID.append(round) }
                if let patch = try Review.patch(answer), let pod = request?["object"] {
                    _ = try IndependentPatch.apply(patch, to: pod)
                }
                answered += 1
            } catch is MalformedReview {
                refused += 1
            }
            if let profile = try? WebhookProfile.parse(Self.configMap(&rng)) { state.set(profile) }
        }
        #expect(wrongUID.isEmpty, "rounds answered with another uid: \(wrongUID.prefix(10))")
        #expect(answered > 1_000 && refused > 1_000, "answered \(answered), refused \(refused)")
    }
}
