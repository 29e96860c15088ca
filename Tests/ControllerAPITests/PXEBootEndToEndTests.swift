import AgentCore
import AsyncHTTPClient
import ControllerAPI
import Foundation
import NIOHTTP1
import PeerHarness
import Provisioning
import Testing

/// A real PXE client end to end: qemu (TCG, e1000 with the iPXE ROM) in a namespace bridged to the agent's boot
/// interface; the agent's supervised dnsmasq hands out the installation's lease, iPXE fetches the agent's script
/// for a profile whose pxeConfig fetches a cached file, the answer file and the progress and done URLs. No OS is
/// installed. About a minute, most of it qemu's emulated BIOS.
extension DHCPServerSuites {
    @Suite(.serialized) struct PXEBootEndToEndTests {
        static let mac = "52:54:00:e2:e0:01"

        @Test(.timeLimit(.minutes(4))) func aMachineBootsItsInstallationScriptAndCompletes() async throws {
            let namespace = try await NetworkNamespace(prefix: "rq", subnet: 61, addressPeer: false)
            defer { namespace.remove() }
            try await namespace.addBridgedTap("tap0")
            let mirrorRoot = try TemporaryDirectory(prefix: "mirror")
            _ = try mirrorRoot.write("e2e/vmlinuz", String(repeating: "K", count: 20_000))
            _ = try mirrorRoot.write("e2e/initrd.img", String(repeating: "I", count: 30_000))
            let mirror = try await HTTPMirror(root: mirrorRoot)
            defer {
                mirror.stop()
                mirrorRoot.remove()
            }
            let controller = try await RecordingController()

            let bootPort = FreePort.tcp()
            let agent = try await TestAgent { configuration in
                configuration.serveDHCPWithDnsmasq(on: namespace, bootPort: bootPort)
                configuration.controller.url = controller.url
                configuration.controller.maxBackoffSeconds = 1
            }
            defer { agent.remove() }
            let live = try await LiveAgent(agent: agent)
            let runtime = agent.runtime
            let supervisor = try #require(runtime.dnsmasq)
            let services = RunningServices(
                [DHCPMaintenance(service: runtime.dhcp, configuration: runtime.configuration, logger: runtime.logger), supervisor]
                    + (try AgentServer.backgroundServices(runtime: runtime).filter { $0 is OutboxDeliveryService }),
                logger: runtime.logger)
            try await DHCPNamespaceTests.waitFor { supervisor.processIdentifier != nil }

            let pxeConfig = """
                #!ipxe
                echo RACKAGENT-E2E {{hostname}} ${net0/mac} ${net0/ip}
                imgfetch --name kernel {{urls.kernel}}
                imgfetch --name answer {{urls.answerFile}}
                imgfetch {{urls.progress}}?step=ipxe-e2e
                imgfetch {{urls.done}}?event=installerFinished
                imgfetch {{urls.done}}?event=firstBootBeforeScriptExecution
                imgfetch {{urls.done}}?event=firstBootAfterScriptExecution
                echo RACKAGENT-E2E-DONE
                exit

                """
            let profile = InstallationBodies.profile("kickstart", overrides: [
                "mirrorUrl": .string("\(mirror.baseURL)/e2e/"), "cacheDirectory": "e2e", "cacheFiles": ["vmlinuz", "initrd.img"],
                "pxeConfig": .string(pxeConfig), "keep_dhcp_minutes": 30,
            ])
            let body = InstallationBodies.body(profile: profile, overrides: [
                "mac": .string(Self.mac), "installPowerAction": "noRestart", "enable_permanent_dhcp": true,
                "ipassignments": [["ip": "10.231.61.42", "primary_ip": 1, "subnetinformation": ["netmask": "255.255.255.0", "gw": "10.231.61.1"]]],
                "dns": [.string(namespace.hostAddress)],
            ])
            var machine: QEMUMachine?
            defer { machine?.stop() }
            try await live.withClient { client in
                let api = live.baseURL
                let token = agent.token
                let (created, started, text) = try await InstallationRouteTests.call(client, .PUT, "\(api)/v1/installations/61?wait=60", token: token, body: body)
                try #require(created == 201, "\(text)")
                #expect(started["result"]?["stepName"] == "waitingForBoot", "\(started.jsonText)")
                // dnsmasq reads the new host file by itself; then the machine is switched on.
                try await Task.sleep(for: .milliseconds(500))
                machine = try await QEMUMachine(namespace: namespace, tap: "tap0", mac: Self.mac)

                let finished = try await InstallationRouteTests.waitForStatus(client, live, "61", timeout: .seconds(150)) {
                    // The outcome is decided before the clean-up runs; the last step is recorded after it.
                    $0["state"] != "running" && $0["stepName"] == "finished"
                }
                #expect(finished["state"] == "completed", "console:\n\(machine?.console.suffix(3000) ?? "")")
                guard case .array(let progress)? = finished["installProgress"] else { throw AgentError.internalError("no progress") }
                let steps = progress.compactMap { $0["name"]?.stringValue }
                for step in ["prepared", "caching", "dhcp", "power", "waitingForBoot", "bootScriptFetched", "installerStarted", "installing", "firstBoot", "cleanup", "finished"] {
                    #expect(steps.contains(step), "step \(step) missing: \(steps)")
                }
                let messages = progress.compactMap { $0["message"]?.stringValue }
                #expect(messages.contains { $0.hasPrefix("boot script fetched by 10.231.61.42") }, "\(messages)")
                #expect(messages.contains { $0.hasPrefix("ipxe-e2e") }, "\(messages)")

                // PXE is off: the entry stays (enable_permanent_dhcp) without boot options, and the script boots the disk.
                let (_, entry, _) = try await InstallationRouteTests.call(client, .GET, "\(api)/v1/dhcp/entries/\(Self.mac)", token: token)
                #expect(entry["result"]?["pxe"] == false && entry["result"]?["permanent"] == true, "\(entry.jsonText)")
                let (_, _, script) = try await InstallationRouteTests.call(client, .GET, "http://\(namespace.hostAddress):\(bootPort)/boot/ipxe?mac=\(Self.mac)")
                #expect(script.contains("PXE is not enabled"), "\(script)")
            }
            let console = machine?.console ?? ""
            #expect(console.contains("RACKAGENT-E2E node61.example.com 52:54:00:e2:e0:01 10.231.61.42"), "console:\n\(console.suffix(3000))")

            // The controller stub received the installation's events through the outbox.
            try await DHCPNamespaceTests.waitFor({ controller.acceptedEvents.contains { $0.type == "installation.completed" } }, timeout: .seconds(20))
            let delivered = controller.acceptedEvents.map(\.type)
            #expect(delivered.first { $0.hasPrefix("installation.") } == "installation.started")
            #expect(delivered.contains("installation.completed"))
            #expect(delivered.filter { $0 == "installation.progress" }.count >= 8)
            await services.stop()
            await live.stop()
            await controller.stop()
        }
    }
}
