import AgentCore
import Foundation
import PeerHarness
import Provisioning
import Testing

/// Entries covering every rendering path: PXE on and off, custom boot files, IPv6, per-host DNS and gateway.
func sampleEntries() -> [DHCPEntry] {
    [
        DHCPEntry(mac: MACAddress("52:54:00:12:34:56")!, serverId: "61", hostname: "node-61", ipv4: .init(ip: "10.10.10.30", cidr: 24, gateway: "10.10.10.1"),
                  ipv6: .init(ip: "2001:db8::30", cidr: 64, gateway: "2001:db8::1"), dns: ["10.10.10.2", "2001:db8::2"], pxe: true),
        DHCPEntry(mac: MACAddress("52:54:00:12:34:57")!, hostname: "node-62", ipv4: .init(ip: "10.10.10.31", cidr: 24, gateway: "10.10.10.1"), pxe: false),
        DHCPEntry(mac: MACAddress("52:54:00:12:34:58")!, hostname: "node-63", ipv4: .init(ip: "10.20.0.9", cidr: 16, gateway: nil), pxe: true,
                  bootFiles: .init(bios: "custom/undionly.kpxe", efi: "http://10.20.0.1/snponly.efi")),
    ]
}

func renderContext(_ entries: [DHCPEntry], configure: (inout AgentConfiguration) -> Void = { _ in }) throws -> DHCPRenderContext {
    var configuration = AgentConfiguration()
    configuration.stateDirectory = "/var/lib/rackagent"
    configuration.dhcp.serverAddress = "10.10.10.1"
    configuration.dhcp.subnets = [DHCPSubnetConfiguration(subnet: "10.10.10.0/24", range: "10.10.10.100-10.10.10.150", routers: ["10.10.10.1"], dns: ["10.10.10.2"])]
    configure(&configuration)
    let subnets = try DHCPSubnetPlan.plan(entries: entries, configured: configuration.dhcp.subnets, defaultLeaseSeconds: 3600)
    return DHCPRenderContext(entries: entries, subnets: subnets, configuration: configuration)
}

@Suite struct DHCPRenderingTests {
    let validator = DHCPValidator(
        runner: ProcessRunner(), settings: DHCPConfiguration(),
        scratch: ScratchDirectory(stateDirectory: FileManager.default.temporaryDirectory.appendingPathComponent("rackagent-render-tests").path))

    @Test func subnetsComeFromEntriesAndConfiguration() throws {
        let plans = try DHCPSubnetPlan.plan(entries: sampleEntries(), configured: [DHCPSubnetConfiguration(subnet: "10.10.10.0/24", range: "10.10.10.100-10.10.10.150")], defaultLeaseSeconds: 600)
        #expect(plans.map(\.network.description) == ["10.10.10.0/24", "2001:db8::/64", "10.20.0.0/16"])
        #expect(plans[0].rangeStart?.description == "10.10.10.100")
        #expect(plans[2].rangeStart == nil)
        #expect(throws: AgentError.self) {
            _ = try DHCPSubnetPlan.plan(entries: [], configured: [DHCPSubnetConfiguration(subnet: "10.10.10.0/24", range: "10.10.11.1-10.10.11.9")], defaultLeaseSeconds: 600)
        }
    }

    @Test func dnsmasqRendersAndDnsmasqAccepts() async throws {
        let rendered = try DnsmasqRenderer().render(try renderContext(sampleEntries()))
        #expect(rendered.hostFiles["525400123456"] == "52:54:00:12:34:56,set:h525400123456,set:pxe,10.10.10.30,[2001:db8::30],node-61\n")
        #expect(rendered.hostFiles["525400123457"] == "52:54:00:12:34:57,set:h525400123457,10.10.10.31,node-62\n")
        #expect(rendered.hostFiles["525400123458"]?.contains("set:c525400123458") == true)
        #expect(rendered.optionFiles["525400123456"]?.contains("tag:h525400123456,option6:dns-server,[2001:db8::2]") == true)
        #expect(rendered.main.contains("dhcp-range=set:s0,10.10.10.100,10.10.10.150,255.255.255.0,3600"))
        #expect(rendered.main.contains("dhcp-boot=tag:pxe,tag:!ipxe,tag:!efi64,tag:!arm64,undionly.kpxe,,10.10.10.1"))
        #expect(rendered.main.contains("dhcp-boot=tag:c525400123458,tag:!ipxe,tag:efi64,http://10.20.0.1/snponly.efi,,10.10.10.1"))
        #expect(rendered.main.contains("dhcp-boot=tag:pxe,tag:ipxe,http://10.10.10.1:8080/boot/ipxe?mac=${net0/mac}&arch=${platform}"))
        try await validator.validate(rendered.validationConfig, backend: .dnsmasq)
    }

    @Test func keaRendersAndKeaAccepts() async throws {
        let rendered = try KeaRenderer().render(try renderContext(sampleEntries()) { $0.dhcp.keaControlSocket = "/run/kea/kea4-ctrl-socket" })
        let document = try JSONDecoder().decode(JSONValue.self, from: Data(rendered.main.utf8))
        guard case .array(let subnets) = document["Dhcp4"]?["subnet4"] else {
            Issue.record("no subnets")
            return
        }
        #expect(subnets.count == 2)
        #expect(subnets[0]["pools"] == [["pool": "10.10.10.100 - 10.10.10.150"]])
        guard case .array(let reservations) = subnets[0]["reservations"] else {
            Issue.record("no reservations")
            return
        }
        #expect(reservations.first?["client-classes"] == ["PXE"])
        #expect(reservations.last?["client-classes"] == nil)
        #expect(rendered.main.contains("PXE-525400123458"))
        try await validator.validate(rendered.validationConfig, backend: .kea)
    }

    @Test func iscRendersAndDhcpdAccepts() async throws {
        let rendered = try ISCRenderer().render(try renderContext(sampleEntries()))
        #expect(rendered.main.contains("host h525400123456 { hardware ethernet 52:54:00:12:34:56; fixed-address 10.10.10.30; option host-name \"node-61\";"))
        #expect(rendered.main.contains("range 10.10.10.100 10.10.10.150;"))
        #expect(rendered.main.contains("filename \"custom/undionly.kpxe\";"))
        try await validator.validate(rendered.validationConfig, backend: .isc)
    }

    @Test func everyBackendRendersTenThousandEntriesValidly() async throws {
        let entries = tenThousandEntries()
        let context = try renderContext(entries) { $0.dhcp.subnets = [] }
        for renderer in [DnsmasqRenderer() as any DHCPRenderer, KeaRenderer(), ISCRenderer()] {
            let started = ContinuousClock.now
            let rendered = try renderer.render(context)
            #expect(ContinuousClock.now - started < .seconds(10), "\(renderer.backend)")
            try await validator.validate(rendered.validationConfig, backend: renderer.backend)
        }
    }

    /// Defence in depth: an entry that never passed the API's validation (built in code, read from an old
    /// database, brought by an installation profile) with a newline or `";` in a boot file or the host name is refused
    /// by every renderer before a single line is written.
    @Test(arguments: [
        "undionly.kpxe\ndhcp-script=/tmp/own.sh", "ipxe.efi\"; filename \"evil.efi", "http://10.0.0.1/x.efi\nenable-ra",
        "http://10.0.0.1/a b.efi", "../../etc/shadow",
    ])
    func everyRendererRefusesAnUnsafeBootFile(bootFile: String) throws {
        let poisoned = [
            DHCPEntry(mac: MACAddress("52:54:00:12:34:59")!, hostname: "node-64", ipv4: .init(ip: "10.10.10.40", cidr: 24, gateway: nil), pxe: true,
                      bootFiles: .init(bios: bootFile, efi: nil)),
            DHCPEntry(mac: MACAddress("52:54:00:12:34:5a")!, hostname: "node-65", ipv4: .init(ip: "10.10.10.41", cidr: 24, gateway: nil), pxe: true,
                      bootFiles: .init(bios: nil, efi: bootFile)),
        ]
        for (index, entry) in poisoned.enumerated() {
            let context = try renderContext(sampleEntries() + [entry])
            for renderer in [DnsmasqRenderer() as any DHCPRenderer, KeaRenderer(), ISCRenderer()] {
                #expect(throws: DHCPRenderError.self, "\(renderer.backend) rendered \(bootFile.debugDescription)") { _ = try renderer.render(context) }
                do {
                    _ = try renderer.render(context)
                } catch {
                    #expect(AgentError.from(error).details["field"] == .string("entries[\(entry.mac)].bootFiles.\(index == 0 ? "bios" : "efi")"))
                }
            }
        }
        var hostile = AgentConfiguration()
        hostile.dhcp.biosBootFile = bootFile
        #expect(throws: ConfigurationError.self) { try hostile.validate() }
    }

    /// iPXE settings in a boot URL (`${mac}`) are iPXE's to expand: every renderer writes them through untouched,
    /// and each daemon's own check accepts the result.
    @Test func iPXESettingsInABootURLAreWrittenThrough() async throws {
        let url = "http://10.10.10.1:8081/boot/${mac:hexhyp}/script.ipxe"
        #expect(Validation.isBootFile(url))
        let entry = DHCPEntry(mac: MACAddress("52:54:00:12:34:59")!, hostname: "node-64", ipv4: .init(ip: "10.10.10.40", cidr: 24, gateway: nil),
                              pxe: true, bootFiles: .init(bios: nil, efi: url))
        let context = try renderContext(sampleEntries() + [entry])
        for renderer in [DnsmasqRenderer() as any DHCPRenderer, KeaRenderer(), ISCRenderer()] {
            let rendered = try renderer.render(context)
            #expect(rendered.validationConfig.contains(url), "\(renderer.backend)")
            try await validator.validate(rendered.validationConfig, backend: renderer.backend)
        }
        for refused in ["http://10.0.0.1/${mac} x", "http://10.0.0.1/a`id`", "http://10.0.0.1/a\\b", "http://10.0.0.1/a|b"] {
            #expect(!Validation.isBootFile(refused), "\(refused)")
        }
    }

    @Test func everyRendererRefusesAnUnsafeHostName() throws {
        let entry = DHCPEntry(mac: MACAddress("52:54:00:12:34:59")!, hostname: "node\nfilename \"x\";", ipv4: .init(ip: "10.10.10.40", cidr: 24, gateway: nil))
        let context = try renderContext([entry])
        for renderer in [DnsmasqRenderer() as any DHCPRenderer, KeaRenderer(), ISCRenderer()] {
            #expect(throws: DHCPRenderError.self) { _ = try renderer.render(context) }
        }
    }

    @Test func refusedConfigurationNamesTheValidatorsComplaint() async throws {
        await #expect(throws: DHCPError.self) {
            try await validator.validate("dhcp-host=52:54:00:12:34:56,node;bad\n", backend: .dnsmasq)
        }
        do {
            try await validator.validate("{ \"Dhcp4\": { \"subnet4\": [ { \"subnet\": \"10.0.0.0/24\", \"id\": 1, \"reservations\": [ { \"hw-address\": \"52:54:00:12:34:56\", \"ip-address\": \"10.9.9.9\" } ] } ] } }", backend: .kea)
            Issue.record("kea accepted a reservation outside its subnet")
        } catch let error as DHCPError {
            #expect(error.agentError.code == "dhcp_config_rejected")
            #expect(error.agentError.message.contains("10.9.9.9"))
        }
    }
}

/// 10,000 distinct MACs and addresses in 10.40.0.0/8-style space, every other one allowed to PXE boot.
func tenThousandEntries() -> [DHCPEntry] {
    (0..<10_000).map { (index: Int) -> DHCPEntry in
        let mac = String(format: "52:54:00:%02x:%02x:%02x", (index >> 16) & 0xff, (index >> 8) & 0xff, index & 0xff)
        let third = 40 + index / 250
        let fourth = index % 250 + 1
        return DHCPEntry(
            mac: MACAddress(mac)!, hostname: "node-\(index)", ipv4: .init(ip: "10.\(third / 256).\(third % 256).\(fourth)", cidr: 8, gateway: nil),
            pxe: index % 2 == 0)
    }
}
