import AgentCore
import Foundation
import SwitchSSH
import Testing

/// Struct that answers each command from a table (captured output), for the pure read paths.
struct CapturedCLI: CLICommandRunner {
    let answers: [String: String]

    func run(_ command: String) async throws -> String {
        guard let answer = answers[command] else { throw SwitchError.commandRejected(device: "captured", command: command, message: "% Invalid input") }
        return answer
    }
}

/// Parsers on output in the platforms' published formats, planners on small diffs, validation on bad values.
@Suite struct DialectParsingTests {
    @Test func aristaSwitchportJSON() async throws {
        let cli = CapturedCLI(answers: [
            "show version | json": #"{"modelName": "DCS-7050SX3-48YC8", "version": "4.28.3M"}"#,
            "show interfaces Ethernet35 | json": #"""
                {"interfaces": {"Ethernet35": {"name": "Ethernet35", "description": "to-host", "interfaceStatus": "connected",
                 "lineProtocolStatus": "up", "forwardingModel": "bridged", "mtu": 9214}}}
                """#,
            "show interfaces Ethernet35 switchport | json": #"""
                {"switchports": {"Ethernet35": {"enabled": true, "switchportInfo": {"mode": "trunk", "accessVlanId": 1,
                 "trunkingNativeVlanId": 3001, "trunkAllowedVlans": "14,16,25-26,29", "macLearning": true}}}}
                """#,
        ])
        let interface = try await AristaEOSDialect().readInterface("Ethernet35", using: cli)
        #expect(interface == SwitchInterface(name: "Ethernet35", enabled: true, description: "to-host", mode: .trunk, accessVlan: 1, nativeVlan: 3001,
                                             trunkVlans: [14, 16, 25, 26, 29]))
    }

    @Test func nxosRowsAsObjectOrArray() async throws {
        let cli = CapturedCLI(answers: [
            "show version | json": #"{"nxos_ver_str": "9.3(8)"}"#,
            "show interface Ethernet1/5 | json": #"{"TABLE_interface": {"ROW_interface": [{"interface": "Ethernet1/5", "state": "down", "state_rsn_desc": "Administratively down", "admin_state": "down", "desc": "spare"}]}}"#,
            "show interface Ethernet1/5 switchport | json": #"""
                {"TABLE_interface": {"ROW_interface": {"interface": "Ethernet1/5", "switchport": "Enabled", "oper_mode": "access", "access_vlan": "10",
                 "access_vlan_name": "VLAN0010", "native_vlan": "1", "native_vlan_name": "default", "trunk_vlans": "1-4094"}}}
                """#,
        ])
        let interface = try await CiscoNXOSDialect().readInterface("Ethernet1/5", using: cli)
        #expect(interface == SwitchInterface(name: "Ethernet1/5", enabled: false, description: "spare", mode: .access, accessVlan: 10, nativeVlan: 1, trunkVlans: nil))
    }

    @Test func iosRunningConfigWithAddContinuation() async throws {
        let cli = CapturedCLI(answers: [
            "show running-config interface GigabitEthernet1/0/3": """
                Building configuration...

                Current configuration : 260 bytes
                !
                interface GigabitEthernet1/0/3
                 description uplink
                 switchport trunk native vlan 99
                 switchport trunk allowed vlan 10,20,100-105
                 switchport trunk allowed vlan add 200
                 switchport mode trunk
                 shutdown
                end
                """,
        ])
        let interface = try await CiscoIOSDialect().readInterface("GigabitEthernet1/0/3", using: cli)
        #expect(interface.mode == .trunk && !interface.enabled && interface.description == "uplink" && interface.nativeVlan == 99)
        #expect(interface.trunkVlans == [10, 20, 100, 101, 102, 103, 104, 105, 200])
    }

    @Test func iosVLANTableAndSVIs() async throws {
        let cli = CapturedCLI(answers: [
            "show vlan brief": """

                VLAN Name                             Status    Ports
                ---- -------------------------------- --------- -------------------------------
                1    default                          active    Gi1/0/1, Gi1/0/2, Gi1/0/4, Gi1/0/5
                                                                Gi1/0/6, Gi1/0/7
                30   backend                          active    Gi1/0/3
                1002 fddi-default                     act/unsup
                """,
            "show running-config | section interface Vlan": """
                interface Vlan30
                 ip address 10.10.11.1 255.255.255.0 secondary
                 ip address 10.10.10.1 255.255.255.0
                """,
        ])
        let vlans = try await CiscoIOSDialect().readVLANs(using: cli)
        #expect(vlans == [SwitchVLAN(id: 1, name: "default"), SwitchVLAN(id: 30, name: "backend", l3Ips: ["10.10.10.1/24", "10.10.11.1/24"])])
    }

    @Test func junosXMLReadsLikeJSON() async throws {
        let json = #"""
            {"configuration": {"interfaces": {"interface": [{"name": "ge-0/0/1", "description": "db", "disable": [null], "native-vlan-id": 5,
             "unit": [{"name": 0, "family": {"ethernet-switching": {"interface-mode": "trunk", "vlan": {"members": ["10", "servers"]}}}}]}]}}}
            """#
        let xml = """
            <rpc-reply xmlns:junos="http://xml.juniper.net/junos/12.3R12/junos">
                <configuration junos:commit-seconds="1700000000">
                    <interfaces>
                        <interface>
                            <name>ge-0/0/1</name>
                            <description>db</description>
                            <disable/>
                            <native-vlan-id>5</native-vlan-id>
                            <unit>
                                <name>0</name>
                                <family><ethernet-switching><port-mode>trunk</port-mode><vlan><members>10</members><members>servers</members></vlan></ethernet-switching></family>
                            </unit>
                        </interface>
                    </interfaces>
                </configuration>
            </rpc-reply>
            """
        let vlans = [SwitchVLAN(id: 20, name: "servers")]
        let fromJSON = try JunosDialect.parseInterface(name: "ge-0/0/1", configuration: try JSONCoding.decoder.decode(JSONValue.self, from: Data(json.utf8)), vlans: vlans)
        let fromXML = try JunosDialect.parseInterface(name: "ge-0/0/1", configuration: try JunosDialect.xmlConfiguration(xml, command: "show"), vlans: vlans)
        let expected = SwitchInterface(name: "ge-0/0/1", enabled: false, description: "db", mode: .trunk, accessVlan: 1, nativeVlan: 5, trunkVlans: [10, 20])
        #expect(fromJSON == expected)
        #expect(fromXML == expected)
    }

    /// Junos trunk members may be ranges (`100-103`); a member that is none of id, range or VLAN name is an error.
    @Test func junosMemberRangesExpand() throws {
        func configuration(_ members: [String], mode: String = "trunk") throws -> JSONValue {
            let list = members.map { "\"\($0)\"" }.joined(separator: ", ")
            let json = """
                {"configuration": {"interfaces": {"interface": [{"name": "ge-0/0/2",
                 "unit": [{"name": 0, "family": {"ethernet-switching": {"interface-mode": "\(mode)", "vlan": {"members": [\(list)]}}}}]}]}}}
                """
            return try JSONCoding.decoder.decode(JSONValue.self, from: Data(json.utf8))
        }
        let vlans = [SwitchVLAN(id: 20, name: "servers")]
        let trunk = try JunosDialect.parseInterface(name: "ge-0/0/2", configuration: try configuration(["10", "100-103", "servers"]), vlans: vlans)
        #expect(trunk.trunkVlans == [10, 20, 100, 101, 102, 103])
        let everything = try JunosDialect.parseInterface(name: "ge-0/0/2", configuration: try configuration(["1-4094"]), vlans: vlans)
        #expect(everything.mode == .trunk && everything.trunkVlans == nil)
        for bad in ["5-x", "200-100", "0-3", "storage"] {
            #expect(throws: SwitchError.self, "\(bad)") {
                _ = try JunosDialect.parseInterface(name: "ge-0/0/2", configuration: try configuration([bad]), vlans: vlans)
            }
        }
        #expect(throws: SwitchError.self) {
            _ = try JunosDialect.parseInterface(name: "ge-0/0/2", configuration: try configuration(["100-101"], mode: "access"), vlans: vlans)
        }
    }

    /// Every abbreviation platforms print names the same interface as the full name.
    @Test func interfaceNamesInEveryAbbreviation() {
        let same: [(String, String)] = [
            ("Et1", "Ethernet1"), ("Eth1/1", "Ethernet1/1"), ("Gi1/0/1", "GigabitEthernet1/0/1"), ("Gig1/0/1", "GigabitEthernet1/0/1"),
            ("Te1/1/1", "TenGigabitEthernet1/1/1"), ("Ten1/1/1", "TenGigabitEthernet1/1/1"), ("TenGigE0/0/0/1", "TenGigabitEthernet0/0/0/1"),
            ("Tw1/0/1", "TwoGigabitEthernet1/0/1"), ("Twe1/0/1", "TwentyFiveGigE1/0/1"), ("Fo1/1/1", "FortyGigabitEthernet1/1/1"),
            ("Fi1/0/1", "FiveGigabitEthernet1/0/1"), ("Fif1/0/1", "FiftyGigE1/0/1"), ("Hu1/0/49", "HundredGigE1/0/49"), ("Fa0/1", "FastEthernet0/1"), ("Po10", "Port-channel10"),
            ("Port-ch10", "Port-Channel10"), ("Vl100", "Vlan100"), ("Lo0", "Loopback0"), ("Tu1", "Tunnel1"), ("Ma1", "Management1"),
            ("Ethernet 1", "Ethernet1"), ("mgmt0", "mgmt0"),
        ]
        for (short, full) in same {
            #expect(InterfaceName.canonical(short) == InterfaceName.canonical(full), "\(short) vs \(full)")
        }
        #expect(InterfaceName.canonical("Gi1/0/1") != InterfaceName.canonical("Te1/0/1"))
        #expect(InterfaceName.canonical("Tw1/0/1") != InterfaceName.canonical("Twe1/0/1"))
        #expect(InterfaceName.canonical("Fo1/1") != InterfaceName.canonical("Fi1/1"))
        #expect(InterfaceName.canonical("Fi1/1") != InterfaceName.canonical("FiftyGigE1/1"))
        #expect(InterfaceName.canonical("ge-0/0/1") == "ge-0/0/1")
    }

    /// A read-back must never check the wrong port or assume a field: a document about another interface, or one
    /// missing the state field, is an error.
    @Test func readBackRefusesAnotherInterfaceOrAMissingField() async throws {
        let aristaStatus = #"{"interfaces": {"Ethernet2": {"name": "Ethernet2", "description": "", "interfaceStatus": "disabled"}}}"#
        let aristaSwitchport = #"{"switchports": {"Ethernet2": {"enabled": true, "switchportInfo": {"mode": "access", "accessVlanId": 1, "trunkingNativeVlanId": 1, "trunkAllowedVlans": "ALL"}}}}"#
        #expect(throws: SwitchError.self, "Ethernet2's state read as Ethernet1's") {
            _ = try AristaEOSDialect.parseInterface(name: "Ethernet1", status: aristaStatus, switchport: aristaSwitchport)
        }
        #expect(throws: SwitchError.self, "no interfaceStatus read as enabled") {
            _ = try AristaEOSDialect.parseInterface(
                name: "Ethernet2", status: #"{"interfaces": {"Ethernet2": {"name": "Ethernet2", "description": ""}}}"#, switchport: aristaSwitchport)
        }
        // The abbreviation still finds its own interface.
        let abbreviated = try AristaEOSDialect.parseInterface(name: "Et2", status: aristaStatus, switchport: aristaSwitchport)
        #expect(abbreviated.name == "Ethernet2" && !abbreviated.enabled)

        let nxosStatus = #"{"TABLE_interface": {"ROW_interface": [{"interface": "Ethernet1/2", "admin_state": "down", "desc": ""}]}}"#
        let nxosSwitchport = #"{"TABLE_interface": {"ROW_interface": {"interface": "Ethernet1/2", "switchport": "Enabled", "oper_mode": "access", "access_vlan": "1", "native_vlan": "1"}}}"#
        #expect(throws: SwitchError.self, "the first row read as Ethernet1/1") {
            _ = try CiscoNXOSDialect.parseInterface(name: "Ethernet1/1", status: nxosStatus, switchport: nxosSwitchport)
        }
        #expect(throws: SwitchError.self, "no admin_state read as up") {
            _ = try CiscoNXOSDialect.parseInterface(
                name: "Ethernet1/2", status: #"{"TABLE_interface": {"ROW_interface": {"interface": "Ethernet1/2", "desc": ""}}}"#, switchport: nxosSwitchport)
        }
        #expect(throws: SwitchError.self, "no access_vlan read as 1") {
            _ = try CiscoNXOSDialect.parseInterface(
                name: "Ethernet1/2", status: nxosStatus,
                switchport: #"{"TABLE_interface": {"ROW_interface": {"interface": "Ethernet1/2", "switchport": "Enabled", "oper_mode": "access"}}}"#)
        }

        let os10 = """
            <?xml version="1.0"?><rpc-reply><data><interfaces><interface><name>ethernet1/1/2</name><enabled>false</enabled></interface></interfaces></data></rpc-reply>
            """
        #expect(throws: SwitchError.self, "ethernet1/1/2 read as ethernet1/1/1") {
            _ = try DellOS10Dialect.parseInterface(name: "ethernet1/1/1", xml: os10, configuration: "interface ethernet1/1/1\n switchport access vlan 1")
        }
        #expect(throws: SwitchError.self, "ios output about another interface") {
            _ = try CiscoIOSDialect.parseInterface(name: "GigabitEthernet1/0/1", configuration: "interface GigabitEthernet1/0/2\n shutdown\nend")
        }
        let junos: JSONValue = ["configuration": ["interfaces": ["interface": [
            ["name": "ge-0/0/1", "unit": [["name": "0", "family": ["ethernet-switching": ["interface-mode": "access", "vlan": ["members": ["ghosts"]]]]]]],
        ]]]]
        #expect(throws: SwitchError.self, "an unknown VLAN member read as VLAN 1") {
            _ = try JunosDialect.parseInterface(name: "ge-0/0/1", configuration: junos, vlans: [SwitchVLAN(id: 20, name: "servers")])
        }
    }

    /// A processing instruction without data (`<?pi?>`) crashed the process inside Foundation's XML parser (found by
    /// the switch-os10 fuzz target): every XML answer is read without its processing instructions, and one with a
    /// document type (whose declarations crash the parser the same way) is refused.
    @Test func xmlWithAnEmptyProcessingInstruction() throws {
        let xml = """
            <?xml version="1.0"?><rpc-reply><?pi?><data><interfaces><interface><name>ethernet1/1/2</name><?x?>\
            <enabled>true</enabled></interface></interfaces></data></rpc-reply>
            """
        let read = try DellOS10Dialect.parseInterface(name: "ethernet1/1/2", xml: xml, configuration: "interface ethernet1/1/2\n switchport access vlan 30")
        #expect(read.enabled && read.accessVlan == 30)
        let junos = try JunosDialect.xmlConfiguration("<rpc-reply><?pi?><configuration><system><host-name>sw1</host-name></system></configuration></rpc-reply>",
                                                      command: "show configuration | display xml")
        #expect(junos["configuration"]?["system"]?["host-name"] == "sw1", "\(junos.jsonText)")
        #expect(throws: SwitchError.self, "an unterminated one is still refused") {
            _ = try JunosDialect.xmlConfiguration("<rpc-reply><?pi</rpc-reply>", command: "show configuration | display xml")
        }
        #expect(throws: SwitchError.self, "a closing tag before the opening one is no document (slicing it trapped)") {
            _ = try JunosDialect.xmlConfiguration("</rpc-reply><configuration/><rpc-reply", command: "show configuration | display xml")
        }
        #expect(throws: SwitchError.self, "a document type is refused") {
            _ = try DellOS10Dialect.parseInterface(
                name: "ethernet1/1/2", xml: #"<?xml version="1.0"?><!DOCTYPE r [<!ATTLIST r b CDATA #IMPLIED>]>"# + xml.dropFirst(21), configuration: "")
        }
    }

    /// OS10's XML is read from its declaration to the end of the reply: a prompt printed after it does not make it
    /// unreadable, namespaces are ignored, a description keeps its spaces.
    @Test func os10XMLWithAPromptAfterIt() throws {
        let xml = """
            <?xml version="1.0"?>
            <rpc-reply xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><data><interfaces xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces">
            <interface><name>ethernet1/1/2</name><description> web 1 </description><enabled>false</enabled></interface>
            </interfaces></data></rpc-reply>
            OS10#
            """
        let read = try DellOS10Dialect.parseInterface(name: "ethernet1/1/2", xml: xml, configuration: "interface ethernet1/1/2\n switchport access vlan 30")
        #expect(read.enabled == false && read.description == " web 1 " && read.accessVlan == 30, "\(read)")
        #expect(throws: SwitchError.self, "a reply cut short is not read") {
            _ = try DellOS10Dialect.parseInterface(name: "ethernet1/1/2", xml: String(xml.prefix(120)), configuration: "")
        }
    }

    @Test func plansAreMinimal() {
        let eos = AristaEOSDialect()
        let current = SwitchInterface(name: "Ethernet1", description: "old")
        #expect(eos.interfaceCommands(from: current, to: current) == [])
        var desired = current
        desired.description = "new"
        #expect(eos.interfaceCommands(from: current, to: desired) == ["interface Ethernet1", "description new", "exit"])
        let trunk = InterfaceChange(trunkVlans: [10, 20]).desired(from: current)
        #expect(eos.interfaceCommands(from: current, to: trunk) == ["interface Ethernet1", "switchport mode trunk", "switchport trunk allowed vlan 10,20", "exit"])
        let junos = JunosDialect()
        #expect(junos.interfaceCommands(from: SwitchInterface(name: "ge-0/0/1"), to: SwitchInterface(name: "ge-0/0/1", enabled: false))
            == ["set interfaces ge-0/0/1 disable"])
        let os10 = DellOS10Dialect()
        let os10Trunk = SwitchInterface(name: "ethernet1/1/1", mode: .trunk, accessVlan: 1, nativeVlan: 1, trunkVlans: [10, 20])
        var fewer = os10Trunk
        fewer.trunkVlans = [20, 30]
        #expect(os10.interfaceCommands(from: os10Trunk, to: fewer)
            == ["interface ethernet1/1/1", "no switchport trunk allowed vlan 10", "switchport trunk allowed vlan 30", "exit"])
        #expect(CiscoIOSDialect().vlanCommands(from: nil, to: SwitchVLAN(id: 30, name: "web", l3Ips: ["10.0.0.1/24"]))
            == ["vlan 30", "name web", "exit", "interface Vlan30", "ip address 10.0.0.1 255.255.255.0", "no shutdown", "exit"])
    }

    /// The family's vendors share the configuration grammar and differ where their platforms do: OS10 sets a trunk's
    /// untagged VLAN as its access VLAN and names VLANs on their SVI, NX-OS enables SVIs first and saves differently,
    /// IOS writes masks.
    @Test func eachFamilyVendorPlansInItsOwnGrammar() throws {
        let port = SwitchInterface(name: "Ethernet1")
        var trunk = port
        trunk.mode = .trunk
        trunk.nativeVlan = 20
        trunk.trunkVlans = [10, 20]
        let web = SwitchVLAN(id: 30, name: "web", l3Ips: ["10.0.0.1/24"])
        let bare = SwitchVLAN(id: 30, name: "web", l3Ips: [])
        let standardTrunk = ["interface Ethernet1", "switchport mode trunk", "switchport trunk native vlan 20", "switchport trunk allowed vlan 10,20", "exit"]
        for vendor in ["aristaSsh", "ciscoNxosSsh", "ciscoIosSsh"] {
            let dialect = try #require(SwitchDialects.dialect(for: vendor))
            #expect(dialect.vendor == vendor)
            #expect(dialect.interfaceCommands(from: port, to: trunk) == standardTrunk, "\(vendor)")
            #expect(dialect.vlanCommands(from: nil, to: bare) == ["vlan 30", "name web", "exit"], "\(vendor)")
            #expect(dialect.runningConfigurationCommand == "show running-config", "\(vendor)")
            #expect(dialect.applyScript(["x"], job: "j") == ["configure terminal", "x", "end"] && dialect.abortScript == ["end"] && dialect.rollbackScript == nil,
                    "\(vendor)")
            #expect(dialect.confirmScript == (vendor == "ciscoNxosSsh" ? ["copy running-config startup-config"] : ["write memory"]), "\(vendor)")
        }
        #expect(AristaEOSDialect().vlanCommands(from: nil, to: web)
            == ["vlan 30", "name web", "exit", "interface Vlan30", "ip address 10.0.0.1/24", "no shutdown", "exit"])
        #expect(CiscoNXOSDialect().vlanCommands(from: nil, to: web)
            == ["vlan 30", "name web", "exit", "feature interface-vlan", "interface Vlan30", "ip address 10.0.0.1/24", "no shutdown", "exit"])
        #expect(CiscoNXOSDialect().confirmScript == ["copy running-config startup-config"])
        #expect(AristaEOSDialect().confirmScript == ["write memory"] && CiscoIOSDialect().confirmScript == ["write memory"])

        let os10 = try #require(SwitchDialects.dialect(for: "dellOs10Ssh"))
        var os10Port = port
        os10Port.name = "ethernet1/1/1"
        var os10Trunk = trunk
        os10Trunk.name = "ethernet1/1/1"
        #expect(os10.interfaceCommands(from: os10Port, to: os10Trunk)
            == ["interface ethernet1/1/1", "switchport mode trunk", "switchport access vlan 20", "switchport trunk allowed vlan 10,20", "exit"])
        #expect(os10.vlanCommands(from: nil, to: web) == ["interface vlan30", "description web", "ip address 10.0.0.1/24", "no shutdown", "exit"])
        #expect(os10.vlanCommands(from: nil, to: bare) == ["interface vlan30", "description web", "no shutdown", "exit"])
        #expect(os10.vlanCommands(from: web, to: web) == [])
        #expect(os10.runningConfigurationCommand == "show running-configuration" && os10.confirmScript == ["write memory"])
        // Moving the primary address removes the old list and writes the new one, primary first.
        let moved = SwitchVLAN(id: 30, name: "web", l3Ips: ["10.0.1.1/24", "10.0.0.1/24"])
        #expect(CiscoIOSDialect().vlanCommands(from: web, to: moved)
            == ["interface Vlan30", "no ip address 10.0.0.1 255.255.255.0", "ip address 10.0.1.1 255.255.255.0",
                "ip address 10.0.0.1 255.255.255.0 secondary", "exit"])
    }

    @Test func vlanLists() {
        #expect(VLANList.parse("10,20,30-32") == [10, 20, 30, 31, 32])
        #expect(VLANList.parse("ALL") == nil)
        #expect(VLANList.parse("1-4094") == nil)
        #expect(VLANList.parse("NONE") == [])
        #expect(VLANList.format([32, 10, 31, 30, 20]) == "10,20,30-32")
        #expect(VLANList.format([5, 6]) == "5,6")
        // Outside 1-4094 is not a VLAN: never expanded (the fuzzer's `100-105105` took seconds; 2^63 would exhaust memory).
        #expect(VLANList.parse("10,20,100-105105") == [10, 20] && VLANList.parse("0,4095,5") == [5])
        #expect(VLANList.parse("1-9223372036854775807") == [] && VLANList.parse("4000-4094") == Array(4000...4094))
        #expect(InterfaceChange(removeVlan: 30).desired(from: SwitchInterface(name: "x", mode: .trunk, trunkVlans: nil)).trunkVlans.map(VLANList.format) == "1-29,31-4094")
    }

    @Test func valuesThatCouldBreakACLIAreRefused() throws {
        #expect(throws: AgentError.self) { try SwitchValidation.description("x\nreload", field: "description") }
        #expect(throws: AgentError.self) { try SwitchValidation.description("a; reload", field: "description") }
        #expect(throws: AgentError.self) { try SwitchValidation.description("say \"hi\"", field: "description") }
        #expect(throws: AgentError.self) { try SwitchValidation.description(String(repeating: "x", count: 81), field: "description") }
        #expect(try SwitchValidation.description("Uplink to core (rack 4)", field: "description") == "Uplink to core (rack 4)")
        #expect(throws: AgentError.self) { try SwitchValidation.vlanId(0, field: "vlanId") }
        #expect(throws: AgentError.self) { try SwitchValidation.vlanId(4095, field: "vlanId") }
        #expect(throws: AgentError.self) { try SwitchValidation.vlanName("has space", field: "name") }
        #expect(throws: AgentError.self) { try SwitchValidation.cidr("10.10.10.0/24", field: "l3Ips[0]") }
        #expect(throws: AgentError.self) { try SwitchValidation.cidr("10.10.10.1", field: "l3Ips[0]") }
        #expect(try SwitchValidation.cidr("2001:db8::1/64", field: "l3Ips[0]") == "2001:db8::1/64")
        #expect(throws: AgentError.self) { try JunosDialect().validateInterfaceName("ge-0/0/1; rollback", field: "portId") }
        #expect(throws: AgentError.self) { try CiscoIOSDialect().validateInterfaceName("Gi1/0/1\nreload", field: "portId") }
    }
}
