import EMPControlPlane
import EMPModel
import EMPWebhook
import Foundation
import Kube

/// What a hostile body costs (issue 14, finding 9): the time to refuse it and the resident memory the process keeps
/// afterwards, for the webhook's AdmissionReview path and the control plane's body decoding, beside the parse the
/// same bytes got before the limits (JSONValue / JSONSerialization building the whole tree first).
func hostileInputBenchmark() async {
    print("hostile input: wide and deep JSON bodies, refused before parsing vs parsed (the old path)")
    let wide = Data(("{" + (0..<300_000).map { #""k\#($0)":0"# }.joined(separator: ",") + "}").utf8)  // ≈ 4.7 MB
    let deep = Data((String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)).utf8)
    let operatorBody = Data(("{\"id\":\"x\",\"shape\":{" + (0..<80_000).map { #""f\#($0)":1"# }.joined(separator: ",") + "}}").utf8)
    report("wide review size", Double(wide.count) / 1_048_576, "MiB", decimals: 2)
    let handler = AdmissionHandler(state: ProfileState(WebhookProfile(namespaces: ["default"]), ready: true))

    let rssStart = residentMiB()
    let refused = await measure(5) { _ = try? handler.handle(wide) }
    report("webhook: 300k-key review refused (ours), per review", refused.seconds / 5 * 1000, "ms", decimals: 2)
    let refusedDeep = await measure(5) { _ = try? handler.handle(deep) }
    report("webhook: 100k-deep review refused (ours), per review", refusedDeep.seconds / 5 * 1000, "ms", decimals: 2)
    report("RSS growth after 10 refused reviews (ours)", residentMiB() - rssStart, "MiB")

    let rssBaseline = residentMiB()
    let parsed = await measure(3) { _ = try? JSONValue.parse(wide) }
    report("webhook: 300k-key review parsed (baseline), per review", parsed.seconds / 3 * 1000, "ms", decimals: 2)
    report("RSS growth after 3 parsed reviews (baseline)", residentMiB() - rssBaseline, "MiB")

    let rssOperator = residentMiB()
    let strict = await measure(10) { UntrustedInput.operatorBody(operatorBody) }
    report("control plane: 80k-field pool body refused (ours), per body", strict.seconds / 10 * 1000, "ms", decimals: 2)
    report("RSS growth after 10 refused bodies (ours)", residentMiB() - rssOperator, "MiB")
    let serialization = await measure(10) { _ = try? JSONSerialization.jsonObject(with: operatorBody) }
    report("control plane: same body through JSONSerialization (baseline)", serialization.seconds / 10 * 1000, "ms", decimals: 2)
}

/// This process's resident set (VmRSS), MiB.
func residentMiB() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
    else { return 0 }
    let kilobytes = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
    return kilobytes / 1024
}
