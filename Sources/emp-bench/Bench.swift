import Foundation

/// Runs `body` `iterations` times and returns operations per second.
func measure(_ iterations: Int, _ body: () async throws -> Void) async rethrows -> (seconds: Double, perSecond: Double) {
    let start = ContinuousClock.now
    for _ in 0..<iterations { try await body() }
    let elapsed = seconds(ContinuousClock.now - start)
    return (elapsed, Double(iterations) / elapsed)
}

/// One printed result row.
func report(_ name: String, _ value: Double, _ unit: String, decimals: Int = 1) {
    let padded = name.padding(toLength: max(name.count, 58), withPad: " ", startingAt: 0)
    print("  \(padded) \(String(format: "%12.\(decimals)f", value)) \(unit)")
}
