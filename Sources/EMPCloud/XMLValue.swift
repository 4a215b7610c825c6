public import Foundation

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// An XML answer as a plain, sendable tree (element names without their namespace), so callers read AWS's
/// answers as values, sendable across tasks.
public struct XMLValue: Sendable, Equatable {
    public var name: String
    public var text: String
    public var children: [XMLValue]

    public init(name: String, text: String = "", children: [XMLValue] = []) {
        self.name = name
        self.text = text
        self.children = children
    }

    /// Parses `data` with FoundationXML's `XMLParser` (event-driven, as `Libvirt.EVMMetadata` reads XML); nil
    /// when it is not XML.
    public static func parse(_ data: Data) -> XMLValue? {
        let parser = XMLParser(data: data)
        let builder = TreeBuilder()
        parser.delegate = builder
        guard parser.parse() else { return nil }
        return builder.root
    }

    /// The first child named `name`.
    public subscript(_ name: String) -> XMLValue? { children.first { $0.name == name } }

    /// The text at a path of child names (`["instanceState", "name"]`); nil when a step is missing.
    public func text(_ path: String...) -> String? {
        var node = self
        for step in path {
            guard let next = node[step] else { return nil }
            node = next
        }
        return node.text
    }

    /// The `item` children of the child `name` (AWS's list form).
    public func items(_ name: String) -> [XMLValue] { self[name]?.children.filter { $0.name == "item" } ?? [] }

    /// Every descendant named `name`, depth first.
    public func all(_ name: String) -> [XMLValue] {
        children.flatMap { ($0.name == name ? [$0] : []) + $0.all(name) }
    }
}

/// Builds an ``XMLValue`` from `XMLParser`'s events: a stack of open elements, text kept for leaves.
private final class TreeBuilder: NSObject, XMLParserDelegate {
    var stack: [XMLValue] = []
    var root: XMLValue?

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        let local = elementName.split(separator: ":").last.map(String.init) ?? elementName
        stack.append(XMLValue(name: local))
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        guard !stack.isEmpty else { return }
        stack[stack.count - 1].text += string
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        guard var element = stack.popLast() else { return }
        if !element.children.isEmpty { element.text = "" }
        if stack.isEmpty {
            root = element
        } else {
            stack[stack.count - 1].children.append(element)
        }
    }
}
