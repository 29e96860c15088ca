import AgentCore
import ControllerAPI
import Foundation
import HummingbirdTesting
import Logging
import NIOCore
import PeerHarness
import Provisioning
import ServiceLifecycle
import Testing

/// The agent's background services for a test, run in a service group and shut down gracefully.
final class RunningServices: Sendable {
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    init(_ services: [any Service], logger: Logger) {
        group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) }, gracefulShutdownSignals: [], logger: logger))
        let group = self.group
        task = Task { try await group.run() }
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = await task.result
    }
}

extension DHCPServerSuites {
    @Suite(.serialized) struct DHCPNamespaceTests {
        static let clientMAC = "52:54:00:aa:bb:01"

        static func entryBody(ip: String, pxe: Bool = true) -> ByteBuffer {
            let body: JSONValue = [
                "serverId": 61, "hostname": "node-61", "ipv4": ["ip": .string(ip), "cidr": 24, "gateway": "10.231.51.1"], "dns": ["10.231.51.1"],
                "permanent": true, "pxe": .bool(pxe),
            ]
            return ByteBuffer(string: body.jsonText)
        }

        static func waitFor(_ condition: () -> Bool, timeout: Duration = .seconds(10)) async throws {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if condition() { return }
                try await Task.sleep(for: .milliseconds(100))
            }
            throw HarnessError.timeout("condition not met")
        }

        @Test func dnsmasqServesLeasesBootFilesTFTPAndScripts() async throws {
            let namespace = try await NetworkNamespace(prefix: "rd", subnet: 51, peerMAC: Self.clientMAC, addressPeer: false)
            defer { namespace.remove() }
            let bootPort = FreePort.tcp()
            let agent = try await TestAgent { configuration in
                configuration.serveDHCPWithDnsmasq(on: namespace, bootPort: bootPort)
                configuration.boot.advertisedURL = "http://\(namespace.hostAddress):\(bootPort)"
            }
            defer { agent.remove() }
            let live = try await LiveAgent(agent: agent)
            let runtime = agent.runtime
            let supervisor = try #require(runtime.dnsmasq)
            let services = RunningServices(
                [DHCPMaintenance(service: runtime.dhcp, configuration: runtime.configuration, logger: runtime.logger), supervisor], logger: runtime.logger)
            defer { Task { await services.stop(); await live.stop() } }
            try await Self.waitFor { supervisor.processIdentifier != nil }

            let headers = agent.authorization
            try await agent.withRouter { client in
                let put = try await client.execute(uri: "/v1/dhcp/entries/\(Self.clientMAC)", method: .put, headers: headers, body: Self.entryBody(ip: "10.231.51.42"))
                #expect(put.status == .created, "\(put.text)")
            }
            // dnsmasq reads new host files by itself; give it a moment.
            try await Task.sleep(for: .milliseconds(500))

            let bios = try await #require(try DHCPClient.lease(namespace: namespace), "no lease: \(supervisor.processIdentifier.map(String.init) ?? "no dnsmasq")")
            #expect(bios["ip"] == "10.231.51.42")
            #expect(bios["siaddr"] == namespace.hostAddress)
            #expect(bios["boot_file"] == "undionly.kpxe")
            #expect(bios["router"] == "10.231.51.1")
            let efi = try await #require(try DHCPClient.lease(namespace: namespace, options: ["-x", "0x5d:0007"]))
            #expect(efi["boot_file"] == "ipxe.efi")
            let ipxe = try await #require(try DHCPClient.lease(namespace: namespace, options: ["-x", "0xaf:01"]))
            #expect(ipxe["boot_file"] == "http://\(namespace.hostAddress):\(bootPort)/boot/ipxe?mac=${net0/mac}&arch=${platform}")

            // With an address the client fetches the boot file over TFTP and its script over HTTP.
            let (added, addOutput) = try await namespace.run("/usr/sbin/ip", ["addr", "add", "10.231.51.42/24", "dev", namespace.peerInterface])
            #expect(added == 0, "\(addOutput)")
            let downloaded = namespace.name + "-undionly.kpxe"
            let target = FileManager.default.temporaryDirectory.appendingPathComponent(downloaded).path
            defer { unlink(target) }
            let (tftpStatus, tftpOutput) = try await namespace.run(locateProgram("tftp") ?? "/usr/bin/tftp", ["-m", "binary", namespace.hostAddress, "-c", "get", "undionly.kpxe", target])
            #expect(tftpStatus == 0, "\(tftpOutput)")
            #expect(FileManager.default.contents(atPath: target) == FileManager.default.contents(atPath: "/usr/lib/ipxe/undionly.kpxe"))
            let scriptURL = "http://\(namespace.hostAddress):\(bootPort)/boot/ipxe?mac=\(Self.clientMAC)&arch=pcbios"
            let (curlStatus, script) = try await namespace.run("/usr/bin/curl", ["-sf", scriptURL])
            #expect(curlStatus == 0)
            #expect(script.hasPrefix("#!ipxe"))
            #expect(script.contains("sanboot --no-describe --drive 0x80"))
            _ = try await namespace.run("/usr/sbin/ip", ["addr", "flush", "dev", namespace.peerInterface])

            // PXE off: a lease, no boot file.
            try await agent.withRouter { client in
                _ = try await client.execute(uri: "/v1/dhcp/entries/\(Self.clientMAC)", method: .put, headers: headers, body: Self.entryBody(ip: "10.231.51.42", pxe: false))
            }
            try await Task.sleep(for: .milliseconds(500))
            let plain = try await #require(try DHCPClient.lease(namespace: namespace))
            #expect(plain["ip"] == "10.231.51.42")
            #expect(plain["boot_file"] == nil || plain["boot_file"] == "")

            // Removed: no offer at all (the subnet has no dynamic range).
            try await agent.withRouter { client in
                let deleted = try await client.execute(uri: "/v1/dhcp/entries/\(Self.clientMAC)", method: .delete, headers: headers)
                #expect(deleted.status == .ok)
            }
            try await Task.sleep(for: .milliseconds(500))
            await #expect(try DHCPClient.lease(namespace: namespace) == nil)
        }

        @Test func keaServesTheRenderedConfigurationAndReloads() async throws {
            guard let kea = locateProgram("kea-dhcp4") else {
                Issue.record("kea-dhcp4 is not installed")
                return
            }
            let namespace = try await NetworkNamespace(prefix: "rk", subnet: 52, peerMAC: Self.clientMAC, addressPeer: false)
            defer { namespace.remove() }
            let work = try TemporaryDirectory(prefix: "kea")
            defer { work.remove() }
            let socket = work.file("kea4.sock")
            let agent = try await TestAgent { configuration in
                configuration.dhcp.backend = .kea
                configuration.dhcp.interface = namespace.hostInterface
                configuration.dhcp.serverAddress = namespace.hostAddress
                configuration.dhcp.keaControlSocket = socket
                configuration.dhcp.liveConfigFile = work.file("kea-dhcp4.conf")
            }
            defer { agent.remove() }
            // Kea is the operator's daemon: the agent writes its file; the first write finds no socket yet.
            await #expect(throws: DHCPError.self) { _ = try await agent.runtime.dhcp.regenerate(reason: "test start") }
            #expect(FileManager.default.fileExists(atPath: work.file("kea-dhcp4.conf")))
            let daemon = try await PeerProcess(
                name: "kea-dhcp4", executable: kea, arguments: ["-c", work.file("kea-dhcp4.conf")],
                environment: ["KEA_PIDFILE_DIR": work.path, "KEA_LOCKFILE_DIR": work.path], logPath: work.file("kea.log"))
            defer { daemon.stop() }
            try await daemon.waitForLog { $0.contains("DHCP4_STARTED") }

            let headers = agent.authorization
            try await agent.withRouter { client in
                let document: JSONValue = ["hostname": "node-61", "ipv4": ["ip": "10.231.52.42", "cidr": 24, "gateway": "10.231.52.1"], "pxe": true]
                let body = ByteBuffer(string: document.jsonText)
                let put = try await client.execute(uri: "/v1/dhcp/entries/\(Self.clientMAC)", method: .put, headers: headers, body: body)
                #expect(put.status == .created, "\(put.text)")
            }
            try await daemon.waitForLog { $0.contains("DHCP4_DYNRECONF") || $0.contains("COMMAND_RECEIVED") }
            let lease = try await #require(try DHCPClient.lease(namespace: namespace), "no lease: \(daemon.log.suffix(1500))")
            #expect(lease["ip"] == "10.231.52.42")
            #expect(lease["boot_file"] == "undionly.kpxe")
            #expect(lease["siaddr"] == namespace.hostAddress)
            let efi = try await #require(try DHCPClient.lease(namespace: namespace, options: ["-x", "0x5d:0007"]))
            #expect(efi["boot_file"] == "ipxe.efi")
            let ipxe = try await #require(try DHCPClient.lease(namespace: namespace, options: ["-x", "0x4d:69505845"]))
            #expect(ipxe["boot_file"]?.hasPrefix("http://") == true)

            func reloads() -> Int { daemon.log.components(separatedBy: "DHCP4_DYNRECONF").count + daemon.log.components(separatedBy: "COMMAND_RECEIVED").count }
            let reloadsBefore = reloads()
            try await agent.withRouter { client in
                let deleted = try await client.execute(uri: "/v1/dhcp/entries/\(Self.clientMAC)", method: .delete, headers: headers)
                #expect(deleted.status == .ok)
            }
            // Kea has taken the new configuration once it logged another reload.
            try await Self.waitFor { reloads() > reloadsBefore }
            try await Task.sleep(for: .milliseconds(300))
            await #expect(try DHCPClient.lease(namespace: namespace) == nil, "\(daemon.log.suffix(1500))")
        }

        @Test func refusedConfigurationKeepsTheOldOneAndStoresNothing() async throws {
            let work = try TemporaryDirectory(prefix: "refuse")
            defer { work.remove() }
            // A "dnsmasq" whose checker refuses everything, as a daemon would refuse a config it cannot take.
            let fake = try work.write("dnsmasq", "#!/bin/sh\necho 'dnsmasq: bad option at line 12 of <config>' >&2\nexit 1\n", mode: 0o755)
            let agent = try await TestAgent { $0.dhcp.dnsmasqPath = fake }
            defer { agent.remove() }
            let live = "\(agent.runtime.configuration.dhcpConfigDirectory)/dnsmasq.conf"
            try FileManager.default.createDirectory(atPath: agent.runtime.configuration.dhcpConfigDirectory, withIntermediateDirectories: true)
            try "previous configuration\n".write(toFile: live, atomically: false, encoding: .utf8)
            try await agent.withRouter { client in
                let response = try await client.execute(
                    uri: "/v1/dhcp/entries/\(Self.clientMAC)", method: .put, headers: agent.authorization, body: Self.entryBody(ip: "10.231.51.42"))
                #expect(response.status == .unprocessableContent)
                #expect(response.envelope["error"]?["code"] == "dhcp_config_rejected")
                #expect(response.text.contains("bad option at line 12"))
                let injected = try await client.execute(
                    uri: "/v1/dhcp/entries/\(Self.clientMAC)", method: .put, headers: agent.authorization,
                    body: ByteBuffer(string: #"{"hostname": "node-61\ndhcp-boot=evil", "ipv4": {"ip": "10.0.0.5", "cidr": 24}}"#))
                #expect(injected.status == .badRequest)
                #expect(injected.envelope["error"]?["details"]?["field"] == "hostname")
            }
            #expect(try String(contentsOfFile: live, encoding: .utf8) == "previous configuration\n")
            #expect(try await agent.runtime.dhcp.store.all().isEmpty)
        }

        /// A dnsmasq that accepts the configuration in its checker but dies on it (as it does when its port is taken):
        /// the entry is not reported as stored, no `dhcp.regenerated` event claims it, the previous files are back.
        @Test func aDnsmasqThatDiesOnTheNewConfigurationStoresNothing() async throws {
            let work = try TemporaryDirectory(prefix: "dies")
            defer { work.remove() }
            let real = locateProgram("dnsmasq") ?? "/usr/sbin/dnsmasq"
            let fake = try work.write("dnsmasq", """
                #!/bin/sh
                [ "$1" = "--test" ] && exec \(real) "$@"
                if grep -q dhcp-range "$3" 2>/dev/null; then
                  echo "dnsmasq: failed to create listening socket for port 67: Address already in use" >&2; exit 2
                fi
                exec sleep 600

                """, mode: 0o755)
            let agent = try await TestAgent {
                $0.dhcp.dnsmasqPath = fake
                $0.dhcp.interface = "lo"
                $0.dhcp.serverAddress = "127.0.0.1"
            }
            defer { agent.remove() }
            let runtime = agent.runtime
            let supervisor = try #require(runtime.dnsmasq)
            let services = RunningServices([supervisor], logger: runtime.logger)
            // The configuration without entries has no dhcp-range: the fake runs on it.
            _ = try await runtime.dhcp.regenerate(reason: "test start")
            try await Self.waitFor { supervisor.processIdentifier != nil }
            let live = "\(runtime.configuration.dhcpConfigDirectory)/dnsmasq.conf"
            let before = try String(contentsOfFile: live, encoding: .utf8)
            let eventsBefore = try await runtime.outbox.pendingEvents().filter { $0.type == "dhcp.regenerated" }.count
            try await agent.withRouter { client in
                let put = try await client.execute(
                    uri: "/v1/dhcp/entries/\(Self.clientMAC)", method: .put, headers: agent.authorization, body: Self.entryBody(ip: "10.231.51.43"))
                #expect(put.status == .badGateway, "\(put.text)")
                #expect(put.envelope["error"]?["code"] == "dhcp_reload_failed", "\(put.text)")
                #expect(put.text.contains("Address already in use") && put.text.contains("previous configuration is back"), "\(put.text)")
                let entries = try await client.execute(uri: "/v1/dhcp/entries", method: .get, headers: agent.authorization)
                #expect(entries.envelope["result"] == [], "\(entries.text)")
            }
            #expect(try await runtime.outbox.pendingEvents().filter { $0.type == "dhcp.regenerated" }.count == eventsBefore)
            #expect(try String(contentsOfFile: live, encoding: .utf8) == before)
            try await Self.waitFor { supervisor.processIdentifier != nil }
            await services.stop()
        }

        /// Kea backend whose daemon is not there to take the reload, and an ISC restart command that fails: nothing is
        /// stored, nothing is announced, the live file is what it was.
        @Test func aReloadTheDaemonRefusesStoresNothing() async throws {
            let work = try TemporaryDirectory(prefix: "noreload")
            defer { work.remove() }
            for backend in [DHCPBackendKind.kea, .isc] {
                let agent = try await TestAgent { configuration in
                    configuration.dhcp.backend = backend
                    configuration.dhcp.keaControlSocket = work.file("no-kea.sock")
                    configuration.dhcp.iscRestartCommand = ["/bin/sh", "-c", "echo 'dhcpd: not configured to listen on any interfaces' >&2; exit 1"]
                    configuration.dhcp.liveConfigFile = work.file("\(backend.rawValue).conf")
                }
                defer { agent.remove() }
                try "previous configuration\n".write(toFile: work.file("\(backend.rawValue).conf"), atomically: false, encoding: .utf8)
                try await agent.withRouter { client in
                    let put = try await client.execute(
                        uri: "/v1/dhcp/entries/\(Self.clientMAC)", method: .put, headers: agent.authorization, body: Self.entryBody(ip: "10.231.51.44"))
                    #expect(put.status == .badGateway, "\(backend): \(put.text)")
                    #expect(put.envelope["error"]?["code"] == "dhcp_reload_failed", "\(backend): \(put.text)")
                }
                #expect(try await agent.runtime.dhcp.store.all().isEmpty, "\(backend)")
                #expect(try await agent.runtime.outbox.pendingEvents().filter { $0.type == "dhcp.regenerated" }.isEmpty, "\(backend)")
                #expect(try String(contentsOfFile: work.file("\(backend.rawValue).conf"), encoding: .utf8) == "previous configuration\n", "\(backend)")
            }
        }

        /// PHP's rawurlencode and JavaScript's encodeURIComponent send the MAC's colons as %3A: the path parameter is
        /// decoded once, for every route; a malformed encoding is a 400 naming the parameter.
        @Test func percentEncodedPathParametersAreDecoded() async throws {
            let agent = try await TestAgent { $0.dhcp.backend = .none }
            defer { agent.remove() }
            try await agent.withRouter { client in
                let encoded = "52%3A54%3A00%3A12%3A34%3A56"
                let put = try await client.execute(uri: "/v1/dhcp/entries/\(encoded)", method: .put, headers: agent.authorization, body: Self.entryBody(ip: "10.231.51.45"))
                #expect(put.status == .created, "\(put.text)")
                let get = try await client.execute(uri: "/v1/dhcp/entries/\(encoded)", method: .get, headers: agent.authorization)
                #expect(get.status == .ok && get.envelope["result"]?["mac"] == "52:54:00:12:34:56", "\(get.text)")
                let device = try await client.execute(uri: "/v1/network-devices/rack%2D12", method: .get, headers: agent.authorization)
                #expect(device.status == .notFound && device.text.contains("rack-12"), "\(device.text)")
                let malformed = try await client.execute(uri: "/v1/dhcp/entries/52%3G54", method: .get, headers: agent.authorization)
                #expect(malformed.status == .badRequest && malformed.envelope["error"]?["details"]?["field"] == "mac", "\(malformed.text)")
            }
        }

        @Test func temporaryEntriesExpireAndAreReported() async throws {
            let agent = try await TestAgent()
            defer { agent.remove() }
            let mac = MACAddress(Self.clientMAC)!
            let temporary = DHCPEntry(mac: mac, hostname: "node-61", ipv4: .init(ip: "10.0.0.5", cidr: 24, gateway: nil), permanent: false, keepMinutes: 1, pxe: true,
                                      expiresAt: Date().addingTimeInterval(-1))
            try await agent.runtime.dhcp.put(temporary)
            #expect(try await agent.runtime.pxeGate.answer(mac: mac, architecture: .bios, clientAddress: nil) == .script(
                PXEGate.localBootScript(mac: mac, architecture: .bios, reason: "PXE is not enabled for this machine")))
            let expired = try await agent.runtime.dhcp.expireEntries()
            #expect(expired.map(\.mac) == [mac])
            #expect(try await agent.runtime.dhcp.store.get(mac) == nil)
            let events = try await agent.runtime.outbox.pendingEvents()
            #expect(events.contains { $0.type == "dhcp.entries.expired" })
            #expect(events.filter { $0.type == "dhcp.regenerated" }.count == 2)
            let log = try await agent.runtime.actionLog.recent(limit: 5)
            #expect(log.first?.description == "Regenerated DHCP Configuration")
        }
    }
}

/// Suites whose DHCP servers bind port 67 in the host namespace: they take turns.
@Suite(.serialized) enum DHCPServerSuites {}

extension AgentConfiguration {
    /// The agent's dnsmasq serving the namespace's link from its host side, and the boot listener on that address.
    mutating func serveDHCPWithDnsmasq(on namespace: NetworkNamespace, bootPort: Int) {
        dhcp.backend = .dnsmasq
        dhcp.interface = namespace.hostInterface
        dhcp.serverAddress = namespace.hostAddress
        boot.listen = "\(namespace.hostAddress):\(bootPort)"
    }
}
