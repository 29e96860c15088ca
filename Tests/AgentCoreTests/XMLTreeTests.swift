import AgentCore
import Foundation
import Testing

/// XML as plain values, and the markup that never reaches Foundation's parser (corelibs Foundation crashes the process
/// on it: each of these inputs killed the test process before the fix).
struct XMLTreeTests {
    @Test func elementsTextAndChildren() throws {
        let tree = try XMLTree.document(#"<?xml version="1.0"?><r xmlns:j="urn:x"><j:a>one</j:a><b><![CDATA[<two>]]></b><a>three</a></r>"#)
        #expect(tree.name == "r" && tree.children(named: "a").map(\.text) == ["one", "three"] && tree.value("b") == "<two>")
    }

    @Test func processingInstructionsAreRemovedWithoutJoiningNeighbours() throws {
        func stripped(_ text: String) -> String { String(decoding: XMLTree.withoutProcessingInstructions(text), as: UTF8.self) }
        #expect(stripped("<a><?pi?></a>") == "<a> </a>")
        #expect(stripped("<<?x?>?pi?>") == "< ?pi?>", "removing one never makes another")
        #expect(stripped("<a><?pi\nspans\nlines?></a>") == "<a>\n\n</a>", "line breaks are kept for error positions")
        #expect(stripped("<??>") == " " && stripped("<?>") == "<?>" && stripped("<a><?pi") == "<a><?pi" && stripped("é<?x?>ü") == "é ü")
        #expect(try XMLTree.document("<a><?pi?><b>x</b></a>").value("b") == "x")
    }

    @Test(arguments: [
        "<!DOCTYPE r [<!ATTLIST r b CDATA #IMPLIED>]><r/>",
        "<!DOCTYPE r [<!ATTLIST r b CDATA #REQUIRED>]><r b=\"1\"/>",
        "<!DOCTYPE r [<!NOTATION n SYSTEM \"x\">]><r/>",
        "<!DOCTYPE r [<!NOTATION n SYSTEM \"x\"><!ENTITY e SYSTEM \"u\" NDATA n>]><r/>",
    ])
    func aDocumentTypeIsRefusedBeforeTheParser(text: String) {
        #expect(XMLTree.parse(text) == nil)
        #expect(throws: XMLTree.Malformed.self) { try XMLTree.document(#"<?xml version="1.0"?>"# + text) }
    }

    @Test func malformedTextSaysWhereItFirstWentWrong() {
        do {
            _ = try XMLTree.document("<a>\n<b>\n</a>\n<c/>\n<d/>\n")
            Issue.record("a mismatched tag was read")
        } catch {
            #expect(error.description.hasPrefix("line 3,") && error.description.contains("does not match"), "\(error.description)")
        }
        #expect(XMLTree.parse("") == nil && XMLTree.parse("plain text") == nil)
    }
}
