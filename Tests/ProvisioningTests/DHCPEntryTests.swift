import AgentCore
import Foundation
import PeerHarness
import Provisioning
import Testing

@Suite struct DHCPEntryTests {
    func decode(_ json: String) throws -> DHCPEntryRequest {
        try JSONDecoder().decode(JSONValue.self, from: Data(json.utf8)).decode(as: DHCPEntryRequest.self, at: "")
    }

    @Test func macNotations() {
        for text in ["52:54:00:12:34:56", "52-54-00-12-34-56", "5254.0012.3456", "525400123456", "52:54:00:12:34:56".uppercased()] {
            #expect(MACAddress(text)?.description == "52:54:00:12:34:56", "\(text)")
        }
        for bad in ["52:54:00:12:34", "52:54:00:12:34:5g", "52:54:00:12:34:56:78", "5254:0012:3456", "52:54:00:12:34:56\n"] {
            #expect(MACAddress(bad) == nil, "\(bad)")
        }
        #expect(MACAddress("00:50:56:86:E1:A3")?.compact == "00505686e1a3")
    }

    @Test func theIssuesExampleDecodes() throws {
        let request = try decode("""
            {"serverId": 61, "hostname": "node-61", "ipv4": {"ip": "10.10.10.30", "cidr": 24, "gateway": "10.10.10.1"},
             "ipv6": {"ip": "2001:db8::30", "cidr": 64, "gateway": "2001:db8::1"}, "dns": ["10.10.10.2"],
             "permanent": true, "keepMinutes": null, "pxe": true, "bootFiles": {"bios": null, "efi": null}}
            """)
        let entry = request.entry(mac: MACAddress("52:54:00:12:34:56")!)
        #expect(entry.serverId == "61" && entry.pxe && entry.permanent && entry.expiresAt == nil)
        #expect(entry.ipv6?.gateway == "2001:db8::1")
        let temporary = try decode(#"{"hostname": "n", "ipv4": {"ip": "10.0.0.5", "cidr": 24}, "permanent": 0, "keepMinutes": "30", "pxe": "1"}"#)
            .entry(mac: MACAddress("52:54:00:12:34:56")!, now: Date(timeIntervalSince1970: 0))
        #expect(temporary.expiresAt == Date(timeIntervalSince1970: 1800))
        #expect(temporary.pxe)
    }

    @Test func badValuesNameTheField() {
        let cases: [(String, String)] = [
            (#"{"hostname": "node\nreboot", "ipv4": {"ip": "10.0.0.5", "cidr": 24}}"#, "hostname"),
            (#"{"hostname": "node;reboot", "ipv4": {"ip": "10.0.0.5", "cidr": 24}}"#, "hostname"),
            (#"{"hostname": "node 61", "ipv4": {"ip": "10.0.0.5", "cidr": 24}}"#, "hostname"),
            (#"{"hostname": "n", "ipv4": {"ip": "10.0.0.300", "cidr": 24}}"#, "ipv4.ip"),
            (#"{"hostname": "n", "ipv4": {"ip": "2001:db8::1", "cidr": 24}}"#, "ipv4.ip"),
            (#"{"hostname": "n", "ipv4": {"ip": "10.0.0.0", "cidr": 24}}"#, "ipv4.ip"),
            (#"{"hostname": "n", "ipv4": {"ip": "10.0.0.255", "cidr": 24}}"#, "ipv4.ip"),
            (#"{"hostname": "n", "ipv4": {"ip": "10.0.0.5", "cidr": 33}}"#, "ipv4.cidr"),
            (#"{"hostname": "n", "ipv4": {"ip": "10.0.0.5", "cidr": 24, "gateway": "10.0.1.1"}}"#, "ipv4.gateway"),
            (#"{"hostname": "n", "ipv4": {"ip": "10.0.0.5", "cidr": 24}, "dns": ["10.0.0.2", "dns;x"]}"#, "dns[1]"),
            (#"{"hostname": "n", "ipv4": {"ip": "10.0.0.5", "cidr": 24}, "permanent": false}"#, "keepMinutes"),
            (#"{"hostname": "n", "ipv4": {"ip": "10.0.0.5", "cidr": 24}, "keepMinutes": 6001}"#, "keepMinutes"),
            (#"{"hostname": "n", "ipv4": {"ip": "10.0.0.5", "cidr": 24}, "bootFiles": {"bios": "../../etc/shadow"}}"#, "bootFiles.bios"),
            (#"{"hostname": "n", "ipv4": {"ip": "10.0.0.5", "cidr": 24}, "bootFiles": {"efi": "http://x/a b"}}"#, "bootFiles.efi"),
            (#"{"hostname": "n"}"#, "ipv4"),
        ]
        for (json, field) in cases {
            do {
                _ = try decode(json)
                Issue.record("accepted \(json)")
            } catch let error as AgentError {
                #expect(error.details["field"] == .string(field), "\(json): \(error)")
                #expect(error.status == .badRequest)
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
    }

    @Test func gateDecision() {
        let mac = MACAddress("52:54:00:12:34:56")!
        let entry = DHCPEntry(mac: mac, hostname: "n", ipv4: .init(ip: "10.0.0.5", cidr: 24, gateway: nil), pxe: true)
        #expect(PXEGate.mayPXEBoot(entry))
        var off = entry
        off.pxe = false
        #expect(!PXEGate.mayPXEBoot(off))
        var expired = entry
        expired.expiresAt = Date(timeIntervalSince1970: 0)
        #expect(!PXEGate.mayPXEBoot(expired))
        #expect(!PXEGate.mayPXEBoot(nil))
        #expect(PXEGate.localBootScript(mac: mac, architecture: .bios, reason: "r").contains("sanboot --no-describe --drive 0x80"))
        #expect(PXEGate.localBootScript(mac: mac, architecture: .efi, reason: "r").hasSuffix("exit\n"))
        #expect(BootArchitecture(query: "pcbios") == .bios && BootArchitecture(query: "efi") == .efi && BootArchitecture(query: nil) == .unknown)
    }
}

/// The byte parser against the Character-based parser it replaced (kept here as the oracle): the same strings are
/// accepted, as the same address, and the same refused, over generated notations, near misses and Unicode.
@Suite struct MACAddressParserTests {
    static func previousParser(_ text: String) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let pairs = [2, 2, 2, 2, 2, 2]
        switch (trimmed.contains(":"), trimmed.contains("-"), trimmed.contains(".")) {
        case (true, false, false): guard trimmed.split(separator: ":", omittingEmptySubsequences: false).map(\.count) == pairs else { return nil }
        case (false, true, false): guard trimmed.split(separator: "-", omittingEmptySubsequences: false).map(\.count) == pairs else { return nil }
        case (false, false, true): guard trimmed.split(separator: ".", omittingEmptySubsequences: false).map(\.count) == [4, 4, 4] else { return nil }
        case (false, false, false): guard trimmed.count == 12 else { return nil }
        default: return nil
        }
        let hex = trimmed.filter { $0 != ":" && $0 != "-" && $0 != "." }
        guard hex.count == 12, hex.allSatisfy(\.isHexDigit) else { return nil }
        var bytes: [String] = []
        var index = hex.startIndex
        for _ in 0..<6 {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(String(format: "%02x", byte))
            index = next
        }
        return bytes.joined(separator: ":")
    }

    @Test func acceptsAndRefusesWhatThePreviousParserDid() {
        var generator = SplitMix(seed: 48)
        let pieces = ["0", "9", "a", "F", "e", "g", ":", "-", ".", " ", "\t", "\n", "\u{00A0}", "\u{FF10}", "\u{FF46}", "é", "e\u{0301}"]
        let forms = ["52:54:00:ab:CD:ef", "52-54-00-ab-cd-ef", "5254.00ab.cdef", "525400abcdef"]
        var accepted = 0
        for _ in 0..<20_000 {
            var text: String
            if generator.below(2) == 0 {
                // A valid form with one or two characters changed, inserted or removed, or spaces around it.
                var characters = Array(forms[generator.below(forms.count)])
                for _ in 0...generator.below(2) {
                    let place = generator.below(characters.count + 1)
                    switch generator.below(4) {
                    case 0 where place < characters.count: characters[place] = Character(pieces[generator.below(pieces.count)])
                    case 1: characters.insert(Character(pieces[generator.below(pieces.count)]), at: place)
                    case 2 where place < characters.count: characters.remove(at: place)
                    default: characters = Array(" \t") + characters + Array("\u{00A0}")
                    }
                }
                text = String(characters)
            } else {
                text = (0..<(10 + generator.below(10))).map { _ in pieces[generator.below(pieces.count)] }.joined()
            }
            let parsed = MACAddress(text)?.description
            #expect(parsed == Self.previousParser(text), "\(text.debugDescription)")
            if parsed != nil { accepted += 1 }
        }
        #expect(accepted > 1_000, "the generated strings should include many valid ones, \(accepted)")
    }
}
