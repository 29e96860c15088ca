import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// An XML document as plain values, read with Foundation's event parser: element local names (namespace prefixes
/// dropped), their text and their children. The switches' XML answers (Junos `| display xml`, OS10 `| display-xml`)
/// and rendered Windows answer files are read through it; it keeps no reference into the parser, unlike
/// `XMLDocument`, whose node graph the corelibs Foundation of this toolchain never frees (found by the switch fuzz
/// targets: every parse leaked).
public struct XMLTree: Sendable, Equatable {
    /// The element's local name.
    public var name: String
    /// The element's own text (not its children's), as it appears.
    public var text: String
    /// Child elements in document order.
    public var children: [XMLTree]

    /// An element (tests and callers that build answers).
    public init(name: String, text: String = "", children: [XMLTree] = []) {
        self.name = name
        self.text = text
        self.children = children
    }

    /// Why a text is not read as XML: where the parser first found it malformed and what it found, or a document type
    /// declaration.
    public struct Malformed: Error, Sendable, CustomStringConvertible {
        /// In words, with the line and column of the first error.
        public var description: String
    }

    /// The document's root element; nil when the text is not well-formed XML or declares a document type.
    public static func parse(_ text: String) -> XMLTree? {
        try? document(text)
    }

    /// The document's root element, or why the text is not read.
    ///
    /// Two kinds of markup never reach Foundation's parser, because corelibs Foundation crashes the process on them
    /// (it reads a NULL that libxml2 hands its callbacks as a C string): a processing instruction without data
    /// (`<?pi?>`; found by the switch-os10 fuzz target), and declarations inside a document type (`<!ATTLIST a b CDATA
    /// #IMPLIED>`, `<!NOTATION n SYSTEM "x">`, an unparsed entity). Processing instructions carry nothing the agent
    /// reads and are removed; a document type declaration is refused (no switch answer or answer file has one).
    public static func document(_ text: String) throws(Malformed) -> XMLTree {
        let bytes = withoutProcessingInstructions(text)
        if bytes.firstRange(of: Data("<!DOCTYPE".utf8)) != nil {
            throw Malformed(description: "a document type declaration (<!DOCTYPE ...>), which is not accepted")
        }
        let reader = Reader()
        let parser = XMLParser(data: bytes)
        parser.shouldProcessNamespaces = true
        parser.shouldResolveExternalEntities = false
        parser.delegate = reader
        let parsed = parser.parse()
        guard parsed, let root = reader.root else {
            let last = parser.parserError.map { Self.reason(forCode: ($0 as NSError).code) } ?? "no root element"
            let (line, column, problem) = reader.firstError ?? (parser.lineNumber, parser.columnNumber, last)
            throw Malformed(description: "line \(line), column \(column): \(problem)")
        }
        return root
    }

    /// The text's bytes with every processing instruction (`<?target data?>`, the XML declaration too) replaced by
    /// a space, or by its line breaks when it spans lines (so error positions stay right). The replacement is never
    /// empty: removing `<?x?>` from `<<?x?>?pi?>` must not make a new `<?pi?>`. An unterminated one is left for the
    /// parser to refuse. One pass, linear in the text.
    package static func withoutProcessingInstructions(_ text: String) -> Data {
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
            let lineBreaks = bytes[index..<end].filter { $0 == UInt8(ascii: "\n") }
            kept.append(contentsOf: lineBreaks.isEmpty ? [UInt8(ascii: " ")] : lineBreaks)
            index = end + 2
        }
        return Data(kept)
    }

    /// Children with the local name `name`.
    public func children(named name: String) -> [XMLTree] { children.filter { $0.name == name } }

    /// The text of the first child named `name`.
    public func value(_ name: String) -> String? {
        children.first { $0.name == name }?.text
    }

    /// The first element named `name` in document order, this one included.
    public func first(named name: String) -> XMLTree? {
        if self.name == name { return self }
        for child in children {
            if let found = child.first(named: name) { return found }
        }
        return nil
    }

    /// Every element named `name` whose parent is named `parent`, in document order.
    public func elements(named name: String, under parent: String) -> [XMLTree] {
        (self.name == parent ? children(named: name) : []) + children.flatMap { $0.elements(named: name, under: parent) }
    }

    /// Builds the tree from the parser's events: a stack of open elements.
    private final class Reader: NSObject, XMLParserDelegate {
        var stack: [XMLTree] = []
        var root: XMLTree?
        /// Where the parser first found the text malformed (it reads on in recovery mode, so its final position says
        /// little).
        var firstError: (line: Int, column: Int, reason: String)?

        func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) {
            let code = (parseError as NSError).code
            // Namespace errors (200 and up: a prefix such as `junos:` in an answer cut from its root) are not fatal.
            guard firstError == nil, code < 200 else { return }
            firstError = (parser.lineNumber, parser.columnNumber, XMLTree.reason(forCode: code))
        }

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

    /// libxml2's error codes (Foundation's `XMLParser.ErrorCode` values) that controller templates and device answers
    /// produce most, in words.
    static func reason(forCode code: Int) -> String {
        switch code {
        case 4: return "the document is empty"
        case 5: return "extra content after the root element, or the document ends early"
        case 9: return "a character XML does not allow"
        case 23: return "an entity reference without its ;"
        case 26: return "an undeclared entity"
        case 38, 39, 40, 41, 42: return "a broken attribute"
        case 65: return "a space is required"
        case 68: return "a name is required"
        case 73: return "a tag is not closed with >"
        case 76: return "a closing tag does not match its opening tag"
        case 77: return "the document ends before every tag is closed"
        default: return "not well-formed (parser error \(code))"
        }
    }
}
