import Foundation
import Hummingbird
import Metrics

/// `emp_api_request_duration_seconds{route, method, status}`: every API answer's latency by route template (not by
/// URL, so ids do not make new series). Long polls and the console's event stream are left out: they wait by design.
struct RequestMetrics<Context: RequestContext>: RouterMiddleware {
    static var excluded: Set<String> { ["/v1/agent/hosts/{id}/desired", "/console/updates"] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let route = context.endpointPath ?? "unmatched"
        guard !Self.excluded.contains(route) else { return try await next(request, context) }
        func record(_ status: Int) {
            Metrics.Timer(
                label: "emp_api_request_duration_seconds",
                dimensions: [("route", route), ("method", request.method.rawValue), ("status", "\(status)")]
            ).record(duration: ContinuousClock.now - started)
        }
        do {
            let response = try await next(request, context)
            record(response.status.code)
            return response
        } catch {
            record((error as? any HTTPResponseError)?.status.code ?? 500)
            throw error
        }
    }
}
