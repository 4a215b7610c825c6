/// `# HELP` lines for the Prometheus text format: swift-metrics' API carries no help text, so each server keeps a
/// table (metric family → one sentence) and its `/metrics` answer gets a HELP line before each family's TYPE line.
public enum MetricHelp {
    /// `exposition` with `# HELP name text` before every `# TYPE name …` whose family `help` describes.
    public static func annotate(_ exposition: String, help: [String: String]) -> String {
        var annotated = ""
        annotated.reserveCapacity(exposition.utf8.count + help.count * 80)
        for line in exposition.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# TYPE "), let name = line.dropFirst(7).split(separator: " ").first, let text = help[String(name)] {
                annotated += "# HELP \(name) \(text)\n"
            }
            annotated += line
            annotated += "\n"
        }
        if annotated.hasSuffix("\n\n") { annotated.removeLast() }
        return annotated
    }
}
