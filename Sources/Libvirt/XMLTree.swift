/// A minimal XML tree that renders with correct escaping; used to build domain XML without string interpolation.
struct XMLTree: Sendable, Hashable {
    var name: String
    var attributes: [(String, String)]
    var children: [XMLTree]
    var text: String?

    init(_ name: String, attributes: [(String, String)] = [], children: [XMLTree] = [], text: String? = nil) {
        self.name = name
        self.attributes = attributes
        self.children = children
        self.text = text
    }

    static func == (lhs: XMLTree, rhs: XMLTree) -> Bool {
        lhs.name == rhs.name && lhs.attributes.elementsEqual(rhs.attributes, by: ==) && lhs.children == rhs.children
            && lhs.text == rhs.text
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        for (key, value) in attributes {
            hasher.combine(key)
            hasher.combine(value)
        }
        hasher.combine(children)
        hasher.combine(text)
    }

    /// Serializes with two-space indentation.
    func render(indent: Int = 0) -> String {
        let pad = String(repeating: "  ", count: indent)
        var out = pad + "<" + name
        for (key, value) in attributes {
            out += " \(key)=\"\(XMLTree.escape(value, quotes: true))\""
        }
        if children.isEmpty, text == nil {
            return out + "/>\n"
        }
        out += ">"
        if let text {
            out += XMLTree.escape(text, quotes: false)
        }
        if !children.isEmpty {
            out += "\n" + children.map { $0.render(indent: indent + 1) }.joined() + pad
        }
        return out + "</\(name)>\n"
    }

    static func escape(_ value: String, quotes: Bool) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for character in value {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"" where quotes: out += "&quot;"
            case "'" where quotes: out += "&apos;"
            default: out.append(character)
            }
        }
        return out
    }
}
