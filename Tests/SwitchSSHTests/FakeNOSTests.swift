import AgentCore
import Foundation
import PeerHarness
import SwitchSSH
import Testing

/// Prompt detection, enable mode, paging and refusal handling against fakenos: vendor CLIs written by someone else.
@Suite(.serialized) struct FakeNOSTests {
    @Test func vendorPromptsOutputsAndRefusals() async throws {
        let cases: [(platform: String, vendor: String, expected: String)] = [
            ("cisco_ios", "ciscoIosSsh", "Cisco IOS XE Software"),
            ("arista_eos", "aristaSsh", "Software image version"),
            ("cisco_nxos", "ciscoNxosSsh", "cisco Nexus"),
        ]
        let peer = try await FakeNOSPeer(platforms: cases.map(\.platform))
        defer { peer.stop() }
        let fixture = try SwitchFixture()
        defer { fixture.remove() }
        for item in cases {
            let target = SwitchTarget(
                deviceId: item.platform, host: "127.0.0.1", port: peer.ports[item.platform]!, user: FakeNOSPeer.user,
                credential: .password(Secret(FakeNOSPeer.password)), vendor: item.vendor, pinnedHostKey: nil)
            let dialect = try SwitchService.dialect(item.vendor)
            try await fixture.service.pool.withCLI(target, dialect: dialect) { cli in
                #expect(cli.lastPrompt.hasSuffix("#"), "\(item.platform): privileged prompt after login (\(cli.lastPrompt))")
                let version = try await cli.run("show version")
                #expect(version.contains(item.expected), "\(item.platform): \(version.prefix(300))")
                #expect(!version.contains("show version"), "\(item.platform): echo stripped")
                #expect(!version.hasSuffix("#"), "\(item.platform): prompt stripped")
                do {
                    _ = try await cli.run("show rackagent-nonexistent")
                    Issue.record("\(item.platform): an unknown command must be detected as refused")
                } catch let error as SwitchError {
                    guard case .commandRejected(_, let command, let message) = error else { throw error }
                    #expect(command == "show rackagent-nonexistent")
                    #expect(message.hasPrefix("%") || message == "Unknown command", "\(message)")
                }
                let clock = try await cli.run("show clock")
                #expect(clock.contains("20"), "\(item.platform): the session carries on after a refusal: \(clock)")
            }
        }
        #expect(fixture.service.pool.openSessions == cases.count)
    }
}
