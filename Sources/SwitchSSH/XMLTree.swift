import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// An XML document as plain values, read with Foundation's event parser: element local names (namespace prefixes
/// dropped), their text and their children. The switches' XML answers (Junos `| display xml`, OS10 `| display-xml`)
/// are read through it; it keeps no reference into the parser, unlike `XMLDocument`, whose node graph the
/// corelibs Foundation of this toolchain never frees (found by the switch fuzz targets: every parse leaked).
struct XMLTree: Sendable, Equatable {
    var name: String
    /// The element's own text (not its children's), as it appears.
    var text: String
    var children: [XMLTree]

    init(name: String, text: String = "", children: [XMLTree] = []) {
        self.name = name
        self.text = text
        self.children = children
    }

    /// The document's root element; nil when the text is not well-formed XML.
    static func parse(_ text: String) -> XMLTree? {
        let reader = Reader()
        let parser = XMLParser(data: withoutProcessingInstructions(text))
        parser.shouldProcessNamespaces = true
        parser.shouldResolveExternalEntities = false
        parser.delegate = reader
        guard parser.parse(), let root = reader.root else { return nil }
        return root
    }

    /// The text's bytes with every processing instruction (`<?target data?>`, the XML declaration too) replaced by a
    /// space: they carry nothing the agent reads, and corelibs Foundation's parser crashes the process on one without
    /// data (`<?pi?>`: it reads the NULL libxml2 hands it as a C string; found by the switch-os10 fuzz target). An
    /// unterminated one is left for the parser to refuse. One pass, linear in the text.
    static func withoutProcessingInstructions(_ text: String) -> Data {
        let bytes = Array(text.utf8)
        var kept: [UInt8] = []
        kept.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            guard bytes[index] == UInt8(ascii: "<"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "?") else {
                kept.append(bytes[index])
                index += 1
                continue
            }
            var end = index + 2
            while end + 1 < bytes.count, !(bytes[end] == UInt8(ascii: "?") && bytes[end + 1] == UInt8(ascii: ">")) { end += 1 }
            guard end + 1 < bytes.count else {
                kept.append(contentsOf: bytes[index...])
                break
            }
            kept.append(UInt8(ascii: " "))
            index = end + 2
        }
        return Data(kept)
    }

    /// Children with the local name `name`.
    func children(named name: String) -> [XMLTree] { children.filter { $0.name == name } }

    /// The text of the first child named `name`.
    func value(_ name: String) -> String? {
        children.first { $0.name == name }?.text
    }

    /// The first element named `name` in document order, this one included.
    func first(named name: String) -> XMLTree? {
        if self.name == name { return self }
        for child in children {
            if let found = child.first(named: name) { return found }
        }
        return nil
    }

    /// Every element named `name` whose parent is named `parent`, in document order.
    func elements(named name: String, under parent: String) -> [XMLTree] {
        (self.name == parent ? children(named: name) : []) + children.flatMap { $0.elements(named: name, under: parent) }
    }

    /// Builds the tree from the parser's events: a stack of open elements.
    private final class Reader: NSObject, XMLParserDelegate {
        var stack: [XMLTree] = []
        var root: XMLTree?

        func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            stack.append(XMLTree(name: elementName.split(separator: ":").last.map(String.init) ?? elementName))
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            guard !stack.isEmpty else { return }
            stack[stack.count - 1].text += string
        }

        func parser(_ parser: XMLParser, foundCDATA CDATABlock: Data) {
            guard !stack.isEmpty else { return }
            stack[stack.count - 1].text += String(decoding: CDATABlock, as: UTF8.self)
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
            guard let element = stack.popLast() else { return }
            if stack.isEmpty {
                root = element
            } else {
                stack[stack.count - 1].children.append(element)
            }
        }
    }
}
