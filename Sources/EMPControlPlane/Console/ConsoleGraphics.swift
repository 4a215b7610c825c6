import EMPModel
import Foundation

/// Inline SVG drawn on the server: gauges and charts need no script and no asset from elsewhere. Every text that
/// goes into the markup passes through ``HTML/escape(_:)``; the rest is numbers.
enum ConsoleGraphics {
    /// A gauge of three figures: the bar's full width is the allocation limit (capacity × overcommit); the wide bar
    /// is what is allocated, the thin one what is used. The figures are also in `data-` attributes and in a caption.
    static func gauge(title: String, limit: Double, allocated: Double, used: Double, unit: (Double) -> String) -> String {
        let width = 320.0
        func share(_ value: Double) -> Double { limit > 0 ? min(1, max(0, value / limit)) : 0 }
        let allocatedWidth = (share(allocated) * width).rounded()
        let usedWidth = (share(used) * width).rounded()
        let percent = { (value: Double) in limit > 0 ? String(format: "%.0f%%", value / limit * 100) : "-" }
        let caption =
            "allocated \(unit(allocated)) (\(percent(allocated))) · used \(unit(used)) (\(percent(used))) · limit \(unit(limit))"
        return """
            <figure class="gauge" data-gauge="\(HTML.escape(title))" data-limit="\(limit)" data-allocated="\(allocated)" \
            data-used="\(used)"><figcaption><strong>\(HTML.escape(title))</strong> <span class="figures">\(HTML.escape(caption))</span></figcaption>\
            <svg viewBox="0 0 \(Int(width)) 28" width="\(Int(width))" height="28" role="img" aria-label="\(HTML.escape(title)): \(HTML.escape(caption))">\
            <rect x="0" y="0" width="\(Int(width))" height="28" rx="4" class="track"/>\
            <rect x="0" y="0" width="\(Int(allocatedWidth))" height="28" rx="4" class="allocated"/>\
            <rect x="0" y="18" width="\(Int(usedWidth))" height="10" rx="2" class="used"/></svg></figure>
            """
    }

    /// One chart line: its name, class and values.
    struct Series {
        let name: String
        let style: String
        let values: [Double]
    }

    /// A line chart over `times` (seconds since 1970, ascending); the y axis from 0 to the largest value.
    static func chart(title: String, times: [Double], series: [Series], unit: (Double) -> String) -> String {
        let width = 640.0
        let height = 160.0
        let top = series.flatMap(\.values).max() ?? 0
        guard times.count >= 2, let first = times.first, let last = times.last, last > first else {
            return "<figure class=\"chart\"><figcaption><strong>\(HTML.escape(title))</strong></figcaption>"
                + "<p class=\"empty\">No history yet: the control plane records a sample a minute.</p></figure>"
        }
        let scale = top > 0 ? top : 1
        var lines = ""
        for line in series {
            let points = zip(times, line.values).map { time, value in
                String(format: "%.1f,%.1f", (time - first) / (last - first) * width, height - value / scale * (height - 4))
            }
            lines += "<polyline class=\"\(HTML.escape(line.style))\" fill=\"none\" points=\"\(points.joined(separator: " "))\"/>"
        }
        let legend = series.map { "<span class=\"legend \(HTML.escape($0.style))\">\(HTML.escape($0.name))</span>" }.joined(separator: " ")
        let span = Self.span(last - first)
        return """
            <figure class="chart" data-chart="\(HTML.escape(title))"><figcaption><strong>\(HTML.escape(title))</strong> \
            <span class="figures">last \(span), top \(HTML.escape(unit(top)))</span> \(legend)</figcaption>\
            <svg viewBox="0 0 \(Int(width)) \(Int(height))" width="\(Int(width))" height="\(Int(height))" role="img" \
            aria-label="\(HTML.escape(title))"><rect x="0" y="0" width="\(Int(width))" height="\(Int(height))" class="plot"/>\(lines)</svg></figure>
            """
    }

    static func span(_ seconds: Double) -> String {
        seconds >= 86_400
            ? String(format: "%.1f days", seconds / 86_400)
            : seconds >= 3600
                ? String(format: "%.1f h", seconds / 3600) : String(format: "%.0f min", seconds / 60)
    }

    static func cores(_ value: Double) -> String { String(format: value < 10 ? "%.2f CPU" : "%.1f CPU", value) }
    static func gibibytes(_ value: Double) -> String { String(format: "%.1f GiB", value / Double(1 << 30)) }
    static func dollars(_ value: Double) -> String { Money.format(value) }
}

/// Escaping for text placed in HTML and attribute values.
enum HTML {
    static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
