import Foundation

#if canImport(FoundationXML)
    import FoundationXML
#else
    import Foundation
#endif

/// The ids EMP stores in a domain's `<metadata>` so a restarted agent knows which domains are its own.
public struct EVMMetadata: Sendable, Hashable {
    /// Namespace URI of EMP's metadata element.
    public static let namespaceURI = "https://emp.pf9.io/xmlns/evm/1"
    /// The prefix used when writing it.
    public static let prefix = "emp"

    public var poolID: String
    public var evmID: String

    public init(poolID: String, evmID: String) {
        self.poolID = poolID
        self.evmID = evmID
    }

    /// The element as it goes inside `<metadata>`.
    var element: XMLTree {
        XMLTree(
            "\(Self.prefix):evm",
            attributes: [("xmlns:\(Self.prefix)", Self.namespaceURI)],
            children: [
                XMLTree("\(Self.prefix):pool", text: poolID),
                XMLTree("\(Self.prefix):id", text: evmID),
            ]
        )
    }

    /// Parses EMP's element out of XML (a whole domain description, or the element alone); nil if ids are missing.
    ///
    /// - Parameter namespaced: false for the output of `virDomainGetMetadata`, which libvirt returns with
    ///   the namespace stripped (it has already selected it by URI).
    public init?(elementXML: String, namespaced: Bool = true) {
        let reader = MetadataReader(namespace: namespaced ? EVMMetadata.namespaceURI : "")
        let parser = XMLParser(data: Data(elementXML.utf8))
        parser.shouldProcessNamespaces = true
        parser.delegate = reader
        guard parser.parse(), let pool = reader.values["pool"], let id = reader.values["id"] else { return nil }
        self.init(poolID: pool, evmID: id)
    }
}

/// Collects the text of `pool` and `id` elements in EMP's namespace.
private final class MetadataReader: NSObject, XMLParserDelegate {
    var values: [String: String] = [:]
    private let namespace: String
    private var current: String?

    init(namespace: String) { self.namespace = namespace }
    private var inEVM = false

    func parser(
        _ parser: XMLParser,
        didStartElement elementName: String,
        namespaceURI: String?,
        qualifiedName qName: String?,
        attributes attributeDict: [String: String] = [:]
    ) {
        guard (namespaceURI ?? "") == namespace else { return }
        if elementName == "evm" {
            inEVM = true
        } else if inEVM {
            current = elementName
            values[elementName] = ""
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if let current { values[current, default: ""] += string }
    }

    func parser(
        _ parser: XMLParser,
        didEndElement elementName: String,
        namespaceURI: String?,
        qualifiedName qName: String?
    ) {
        if elementName == "evm" { inEVM = false }
        current = nil
    }
}
