import AgentCore
import AsyncHTTPClient
import ControllerAPI
import Foundation
import NIOHTTP1
import PeerHarness
import Provisioning
import Testing

/// The real Debian installer as the client: Debian's `debian-installer-12-netboot-amd64` laid out as a mirror on
/// loopback, an installation with the stock preseed profile through the API, and qemu (TCG) booting from the network
/// in a namespace bridged to the agent's dnsmasq: with SeaBIOS and the NIC's iPXE ROM, and with OVMF whose own PXE
/// client fetches `ipxe.efi` over TFTP. The installer fetches the preseed over the installation's token URL from its
/// DHCP address and its early command reports back; the test stops there (a full install needs a full mirror). The
/// installer's rescue mode, booted as an installation of kind rescue, reports that it runs, which completes it.
///
/// The three boots run side by side, each in its own namespace and subnet with its own agent and dnsmasq (which binds
/// only its own interface, `bind-interfaces`, so the three share ports 67 and 69; outside DHCPServerSuites, whose
/// servers take turns): each is one emulated CPU (TCG is single-threaded per machine), so on two cores they take about
/// half the time one after another would. `make test-slow` runs them with nothing else beside them.
@Suite struct DebianInstallerEndToEndTests {
    static let mac = "52:54:00:e2:e0:02"
    static let installerImages = "/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64"
    /// Where the mirror keeps the netboot files: the path the preseed profile's default cache files name under
    /// `mirrorUrl` (`.../debian/dists/bookworm/`).
    static let netbootPath = "debian/dists/bookworm/main/installer-amd64/current/images/netboot/debian-installer/amd64"

    /// What one run boots.
    enum Boot: String, CaseIterable, Sendable {
        case installBIOS = "bios", installUEFI = "uefi", rescueBIOS = "rescue-bios"

        var firmware: QEMUMachine.Firmware { self == .installUEFI ? .uefi : .bios }
        var isRescue: Bool { self == .rescueBIOS }
        /// The third octet of the boot's own 10.231.x.0/24 link, so the boots can run side by side.
        var subnet: Int {
            switch self {
            case .installBIOS: 62
            case .installUEFI: 63
            case .rescueBIOS: 64
            }
        }
        /// The namespace's name prefix.
        var namespacePrefix: String {
            switch self {
            case .installBIOS: "rdb"
            case .installUEFI: "rdu"
            case .rescueBIOS: "rdr"
            }
        }
        /// The address the agent hands the machine.
        var machineAddress: String { "10.231.\(subnet).42" }
    }

    /// Minutes of emulated CPU per boot: `make test-slow` runs them after the suite, with the machine to themselves
    /// (`RACKAGENT_SLOW_TESTS=1 swift test --filter DebianInstallerEndToEndTests`).
    static let slowTestsEnabled = ProcessInfo.processInfo.environment["RACKAGENT_SLOW_TESTS"] == "1"

    @Test(.timeLimit(.minutes(12)), .enabled(if: slowTestsEnabled), arguments: Boot.allCases)
    func theDebianInstallerNetbootsAndReportsBack(boot: Boot) async throws {
        try await Self.run(boot)
    }

    static func run(_ boot: Boot) async throws {
        let name = boot.rawValue
        let firmware = boot.firmware
        let namespace = try await NetworkNamespace(prefix: boot.namespacePrefix, subnet: boot.subnet, addressPeer: false)
        defer { namespace.remove() }
        try await namespace.addBridgedTap("tap0")
        let mirrorRoot = try TemporaryDirectory(prefix: "debmirror")
        try FileManager.default.createDirectory(atPath: mirrorRoot.file(Self.netbootPath), withIntermediateDirectories: true)
        for file in ["linux", "initrd.gz"] {
            try FileManager.default.createSymbolicLink(atPath: mirrorRoot.file("\(Self.netbootPath)/\(file)"), withDestinationPath: "\(Self.installerImages)/\(file)")
        }
        let mirror = try await HTTPMirror(root: mirrorRoot)
        defer {
            mirror.stop()
            mirrorRoot.remove()
        }

        let bootPort = FreePort.tcp()
        let agent = try await TestAgent { configuration in
            configuration.serveDHCPWithDnsmasq(on: namespace, bootPort: bootPort)
            configuration.provisioning.downloadTimeoutSeconds = 120
        }
        defer { agent.remove() }
        let live = try await LiveAgent(agent: agent)
        let runtime = agent.runtime
        let supervisor = try #require(runtime.dnsmasq)
        let services = RunningServices([DHCPMaintenance(service: runtime.dhcp, configuration: runtime.configuration, logger: runtime.logger), supervisor],
                                       logger: runtime.logger)
        try await DHCPServerSuites.DHCPNamespaceTests.waitFor { supervisor.processIdentifier != nil }

        let mirrorUrl: JSONValue = .string("\(mirror.baseURL)/debian/dists/bookworm/")
        let profile = boot.isRescue
            ? InstallationBodies.rescueProfile(overrides: [
                "osName": "Debian 12 rescue", "pxeType": "preseed", "mirrorUrl": mirrorUrl, "cacheDirectory": "debian12", "keep_dhcp_minutes": 30,
            ])
            : InstallationBodies.profile("preseed", overrides: ["mirrorUrl": mirrorUrl, "keep_dhcp_minutes": 30])
        let body = InstallationBodies.body(profile: profile, overrides: [
            "kind": .string(boot.isRescue ? "rescue" : "install"),
            "mac": .string(Self.mac), "installPowerAction": "noRestart", "disklayout": InstallationBodies.layout("auto_raid"),
            "ipassignments": [["ip": .string(boot.machineAddress), "primary_ip": 1, "subnetinformation": ["netmask": "255.255.255.0", "gw": .string(namespace.hostAddress)]]],
            "dns": [.string(namespace.hostAddress)],
        ])
        var machine: QEMUMachine?
        defer { machine?.stop() }
        let started = ContinuousClock.now
        do {
            try await live.withClient { client in
                let api = live.baseURL
                let token = agent.token
                let (created, prepared, text) = try await InstallationRouteTests.call(client, .PUT, "\(api)/v1/installations/62?wait=120", token: token, body: body)
                try #require(created == 201, "\(text)")
                try #require(prepared["result"]?["stepName"] == "waitingForBoot", "\(prepared.jsonText)")
                let fetched = mirror.requests().filter { $0.status == 200 }.map(\.path)
                for file in ["linux", "initrd.gz"] {
                    #expect(fetched.contains("/\(Self.netbootPath)/\(file)"), "the OS cache did not fetch \(file): \(fetched)")
                }
                try await Task.sleep(for: .milliseconds(500))
                machine = try await QEMUMachine(namespace: namespace, tap: "tap0", mac: Self.mac, memoryMB: 1024, firmware: firmware)

                let report = boot.isRescue ? "rescue: rescue mode started" : "installer: installer started"
                let reported = try await InstallationRouteTests.waitForStatus(client, live, "62", timeout: .seconds(600)) { status in
                    guard case .array(let progress)? = status["installProgress"] else { return false }
                    if boot.isRescue { return status["state"] != "running" && status["stepName"] == "finished" }
                    return status["state"] != "running" || progress.contains { $0["message"]?.stringValue?.hasPrefix(report) == true }
                }
                print("Debian installer (\(name)) netbooted through the agent to its early command: \(ContinuousClock.now - started)")
                let console = machine?.console ?? ""
                Self.keep(console, as: "debian-installer-\(name).log")
                #expect(reported["state"] == (boot.isRescue ? "completed" : "running"), "\(reported.jsonText)\nconsole:\n\(console.suffix(3000))")
                guard case .array(let progress)? = reported["installProgress"] else { throw AgentError.internalError("no progress") }
                let messages = progress.compactMap { $0["message"]?.stringValue }
                let architecture = firmware == .bios ? "bios" : "efi"
                #expect(messages.contains("boot script fetched by \(boot.machineAddress) (\(architecture))"), "\(messages)")
                #expect(messages.contains { $0.hasPrefix("answer file") && $0.hasSuffix("fetched by \(boot.machineAddress)") }, "\(messages)")
                #expect(messages.contains { $0.hasPrefix(report) }, "\(messages)")
                for failure in ["Failed to retrieve the preconfiguration file", "Bad archive mirror", "Network autoconfiguration failed"] {
                    #expect(!console.contains(failure), "the installer showed '\(failure)':\n\(console.suffix(3000))")
                }
                if !boot.isRescue {
                    let (aborted, _, abortText) = try await InstallationRouteTests.call(client, .DELETE, "\(api)/v1/installations/62", token: token)
                    #expect(aborted == 200, "\(abortText)")
                }
            }
        } catch {
            // dnsmasq and the agent stop on a failure as well: nothing of this boot outlives the test.
            await services.stop()
            await live.stop()
            throw error
        }
        await services.stop()
        await live.stop()
    }

    /// Keeps the machine's serial console under `.build/test-artifacts` for whoever reads a failed run.
    static func keep(_ console: String, as file: String) {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let directory = root.appendingPathComponent(".build/test-artifacts")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try? console.write(to: directory.appendingPathComponent(file), atomically: false, encoding: .utf8)
    }
}
