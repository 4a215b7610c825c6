import EMPModel
import Foundation
import Yams

/// Which pods the webhook mutates, as read from ConfigMap `default/emp-profile-cm`: the opted-in namespaces and,
/// optionally, the labels a pod must carry. Parsing is strict so a typo is reported instead of opting out quietly.
public struct WebhookProfile: Sendable, Hashable, Codable {
    /// Namespaces whose pods are mutated.
    public var namespaces: Set<String>
    /// When set, only pods whose labels contain every pair are mutated.
    public var labels: [String: String]?

    public init(namespaces: Set<String>, labels: [String: String]? = nil) {
        self.namespaces = namespaces
        self.labels = labels
    }

    /// No ConfigMap: every namespace is opted out.
    public static let optedOut = WebhookProfile(namespaces: [])

    /// True when a pod with `labels` in `namespace` is to be mutated.
    public func selects(namespace: String, labels podLabels: [String: String]) -> Bool {
        guard namespaces.contains(namespace) else { return false }
        return (labels ?? [:]).allSatisfy { podLabels[$0.key] == $0.value }
    }

    /// Reads the ConfigMap's `data`. `namespaces` may be a JSON array string (`["default","my-app"]`), a YAML
    /// list, or one name per line (`#` starts a comment); `labels`, when present, a JSON object of strings.
    public static func parse(_ data: [String: String]) throws(ProfileError) -> WebhookProfile {
        guard let text = data[Profile.namespacesKey] else {
            throw ProfileError(key: Profile.namespacesKey, "missing: list the namespaces to opt in")
        }
        let namespaces = try parseNamespaces(text)
        var labels: [String: String]?
        if let text = data[Profile.labelsKey], !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            labels = try parseLabels(text)
        }
        return WebhookProfile(namespaces: namespaces, labels: labels)
    }

    static func parseNamespaces(_ text: String) throws(ProfileError) -> Set<String> {
        let key = Profile.namespacesKey
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let names: [String]
        if trimmed.hasPrefix("[") {
            guard let array = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as? [Any] else {
                throw ProfileError(key: key, "starts with '[' but is not a JSON array")
            }
            guard let strings = array as? [String] else { throw ProfileError(key: key, "the JSON array must hold only strings") }
            names = strings
        } else if trimmed.split(separator: "\n").contains(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix("-") }) {
            let loaded: Any?
            do { loaded = try Yams.load(yaml: trimmed) } catch { throw ProfileError(key: key, "not a valid YAML list: \(error)") }
            guard let list = loaded as? [Any] else { throw ProfileError(key: key, "lines start with '-' but do not form a YAML list") }
            var strings: [String] = []
            for item in list {
                guard let name = item as? String else { throw ProfileError(key: key, "YAML list items must be names (got \(item))") }
                strings.append(name)
            }
            names = strings
        } else {
            names = trimmed.split(whereSeparator: \.isNewline)
                .map { String($0.prefix { $0 != "#" }).trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
        }
        for name in names {
            do {
                try DNSLabel.validate(name, field: key)
            } catch {
                throw ProfileError(key: key, "\"\(name)\" is not a namespace name (lowercase letters, digits, '-')")
            }
        }
        return Set(names)
    }

    static func parseLabels(_ text: String) throws(ProfileError) -> [String: String] {
        let key = Profile.labelsKey
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw ProfileError(key: key, "must be a JSON object such as {\"emp\": \"true\"}")
        }
        var labels: [String: String] = [:]
        for (name, value) in object {
            guard let value = value as? String else { throw ProfileError(key: key, "the value of \"\(name)\" must be a string") }
            labels[name] = value
        }
        return labels
    }
}

/// A key of `emp-profile-cm` that cannot be used; the last good profile stays in force.
public struct ProfileError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The ConfigMap key at fault (`namespaces`, `labels`).
    public let key: String
    public let message: String

    public init(key: String, _ message: String) {
        self.key = key
        self.message = message
    }

    public var description: String { "emp-profile-cm key \"\(key)\": \(message)" }
}
