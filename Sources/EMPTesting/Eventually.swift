import Foundation

/// The one polling helper of the tests: polls `condition` every `interval` (50 ms) until it holds or `timeout`
/// passes; returns the last answer. Tests assert on it (`#expect(try await eventually { … })`) instead of sleeping
/// first.
@discardableResult
public func eventually(
    timeout: Duration = .seconds(10), interval: Duration = .milliseconds(50), _ condition: () async throws -> Bool
) async throws -> Bool {
    let end = ContinuousClock.now + timeout
    while ContinuousClock.now < end {
        if try await condition() { return true }
        try await Task.sleep(for: interval)
    }
    return try await condition()
}
