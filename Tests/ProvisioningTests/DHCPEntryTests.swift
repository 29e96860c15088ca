import AgentCore
import Foundation
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
