import Foundation

extension SimulationReport {
    /// A self-contained page (no script, no external file): the table and inline SVG charts of demand, capacity,
    /// cost and pending pods over time, one line per scenario.
    public func html() -> String {
        let colours = ["cluster-autoscaler": "#d62728", "karpenter": "#ff7f0e", "emp": "#1f77b4"]
        func escape(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(
                of: ">", with: "&gt;")
        }
        var charts: [String] = []
        charts.append(
            chart(
                title: "CPU: demand (requested by every pod asked for, grey) and capacity held (cores)",
                lines: [("demand", "#888888", scenarios.first?.series.map { ($0.time, $0.demandCPU) } ?? [])]
                    + scenarios.map { ($0.name, colours[$0.name] ?? "#000", $0.series.map { ($0.time, $0.capacityCPU) }) }))
        charts.append(
            chart(
                title: "Cost so far ($)",
                lines: scenarios.map { ($0.name, colours[$0.name] ?? "#000", $0.series.map { ($0.time, $0.cost) }) }))
        charts.append(
            chart(
                title: "Pending pods",
                lines: scenarios.map { ($0.name, colours[$0.name] ?? "#000", $0.series.map { ($0.time, Double($0.pending)) }) }))
        charts.append(
            chart(
                title: "Nodes (EVMs for EMP)",
                lines: scenarios.map { ($0.name, colours[$0.name] ?? "#000", $0.series.map { ($0.time, Double($0.nodes)) }) }))
        let legend = scenarios.map { "<span style=\"color:\(colours[$0.name] ?? "#000")\">■</span> \(escape($0.name))" }
            .joined(separator: " &nbsp; ")
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>EMP what-if simulation</title>
            <style>body{font-family:system-ui,sans-serif;margin:2em;max-width:60em}pre{background:#f6f6f6;padding:1em}
            figure{margin:1.5em 0}figcaption{font-weight:600;margin-bottom:.3em}</style></head><body>
            <h1>What-if simulation</h1>
            <p>\(legend)</p>
            <pre>\(escape(table()))</pre>
            \(charts.joined(separator: "\n"))
            <p>Model, assumptions and limits: docs/simulate.md.</p>
            </body></html>

            """
    }

    private func chart(title: String, lines: [(name: String, colour: String, points: [(Int, Double)])]) -> String {
        let (width, height, margin) = (720.0, 220.0, 40.0)
        let maxTime = Double(max(1, durationSeconds))
        let maxValue = max(1e-9, lines.flatMap { $0.points.map(\.1) }.max() ?? 1)
        func x(_ time: Int) -> Double { margin + (width - 2 * margin) * Double(time) / maxTime }
        func y(_ value: Double) -> Double { height - margin + (2 * margin - height) * value / maxValue }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\">"
        svg += "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>"
        svg += "<line x1=\"\(margin)\" y1=\"\(height - margin)\" x2=\"\(width - margin)\" y2=\"\(height - margin)\" stroke=\"#999\"/>"
        svg += "<line x1=\"\(margin)\" y1=\"\(margin)\" x2=\"\(margin)\" y2=\"\(height - margin)\" stroke=\"#999\"/>"
        svg += "<text x=\"\(margin)\" y=\"\(margin - 8)\" font-size=\"11\">\(String(format: "%.1f", maxValue))</text>"
        let hours = max(1, durationSeconds / 3600)
        let tick = hours > 12 ? 3 : 1
        for hour in stride(from: 0, through: hours, by: tick) {
            svg += "<text x=\"\(String(format: "%.1f", x(hour * 3600)))\" y=\"\(height - margin + 14)\" font-size=\"10\">\(hour)h</text>"
        }
        for line in lines where !line.points.isEmpty {
            let points = line.points.map { String(format: "%.1f,%.1f", x($0.0), y($0.1)) }.joined(separator: " ")
            svg +=
                "<polyline fill=\"none\" stroke=\"\(line.colour)\" stroke-width=\"1.5\" points=\"\(points)\"><title>\(line.name)</title></polyline>"
        }
        svg += "</svg>"
        return "<figure><figcaption>\(title)</figcaption>\(svg)</figure>"
    }
}
