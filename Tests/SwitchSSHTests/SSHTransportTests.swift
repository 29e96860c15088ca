import AgentCore
import Foundation
import PeerHarness
import SwitchSSH
import Testing

/// libssh2 against OpenSSH: exec channels with exit status, authentication, host-key policies, a hung device.
@Suite struct SSHTransportTests {
    static let arista = DialectCase.all.first { $0.emulator == "arista" }!

    @Test func execChannelReturnsOutputAndExitStatus() async throws {
        let peer = try await Self.arista.peer()
        defer { peer.stop() }
        let fixture = try SwitchFixture()
        defer { fixture.remove() }
        let target = SwitchFixture.target(peer, vendor: "aristaSsh")
        let version = try await fixture.service.exec(target, command: "show version | json")
        #expect(version.exitStatus == 0)
        #expect(version.standardOutput.contains("\"modelName\": \"vEOS-lab\""))
        let refused = try await fixture.service.exec(target, command: "reload now")
        #expect(refused.exitStatus == 1)
        #expect(refused.standardOutput.contains("% Invalid input"))
    }

    @Test func aWrongPasswordIsAuthenticationFailed() async throws {
        let peer = try await Self.arista.peer()
        defer { peer.stop() }
        let fixture = try SwitchFixture()
        defer { fixture.remove() }
        do {
            _ = try await fixture.service.interface(SwitchFixture.target(peer, vendor: "aristaSsh", password: "wrong-password"), name: "Ethernet1")
            Issue.record("a wrong password must fail")
        } catch let error as SwitchError {
            guard case .authenticationFailed(_, let methods) = error else { throw error }
            #expect(methods.contains("password"))
            #expect(error.agentError.code == "authentication_failed")
        }
        #expect(peer.commandLog.isEmpty)
    }

    @Test func publicKeyAuthentication() async throws {
        let keys = try TemporaryDirectory(prefix: "sshkey")
        defer { keys.remove() }
        let (status, output) = try await PeerTools.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", keys.file("id_ed25519")])
        try #require(status == 0, "\(output)")
        let publicKey = try String(contentsOfFile: keys.file("id_ed25519.pub"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let privateKey = try String(contentsOfFile: keys.file("id_ed25519"), encoding: .utf8)
        let peer = try await SSHSwitchPeer(dialect: "arista", state: SSHSwitchPeer.initialState(dialect: "arista", interfaces: ["Ethernet1"]), authorizedKey: publicKey)
        defer { peer.stop() }
        let fixture = try SwitchFixture()
        defer { fixture.remove() }
        let target = SwitchTarget(deviceId: "sw1", host: "127.0.0.1", port: peer.port, user: SSHSwitchPeer.user,
                                  credential: .privateKey(Secret(privateKey), passphrase: nil), vendor: "aristaSsh", pinnedHostKey: nil)
        #expect(try await fixture.service.interface(target, name: "Ethernet1").enabled)
    }

    @Test func hostKeysAreTrustedOnFirstUseAndAChangeIsRefused() async throws {
        let state = SSHSwitchPeer.initialState(dialect: "arista", interfaces: ["Ethernet1"])
        let first = try await SSHSwitchPeer(dialect: "arista", state: state)
        let port = first.port
        let fixture = try SwitchFixture()
        defer { fixture.remove() }
        let target = SwitchFixture.target(first, vendor: "aristaSsh")
        _ = try await fixture.service.interface(target, name: "Ethernet1")
        let recorded = try await fixture.service.store.hostKey("sw1")
        let firstKey = try await first.hostKeyFingerprint()
        #expect(recorded?.fingerprint == firstKey)
        await first.terminate()
        fixture.service.pool.closeAll()

        // The "switch" comes back on the same address with another key.
        let replaced = try await SSHSwitchPeer(dialect: "arista", state: state, port: port)
        defer { replaced.stop() }
        let replacedKey = try await replaced.hostKeyFingerprint()
        await #expect(throws: SwitchError.hostKeyMismatch(device: target.label, expected: recorded?.fingerprint ?? "", presented: replacedKey)) {
            try await fixture.service.interface(target, name: "Ethernet1")
        }
        #expect(replaced.commandLog.isEmpty, "nothing was sent to the impostor")

        // Pinning the new key (or forgetting the old one) lets it in; a wrong pin does not.
        var pinned = target
        pinned.pinnedHostKey = replacedKey
        #expect(try await fixture.service.interface(pinned, name: "Ethernet1").enabled)
        fixture.service.pool.closeAll()
        pinned.pinnedHostKey = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        await #expect(throws: SwitchError.self) { try await fixture.service.interface(pinned, name: "Ethernet1") }
        #expect(try await fixture.service.store.forgetHostKey("sw1"))
        #expect(try await fixture.service.interface(target, name: "Ethernet1").enabled)
    }

    @Test func thePinnedPolicyNeedsAPin() async throws {
        let peer = try await Self.arista.peer()
        defer { peer.stop() }
        let fixture = try SwitchFixture { $0.hostKeyPolicy = .pinned }
        defer { fixture.remove() }
        await #expect(throws: SwitchError.hostKeyNotPinned(device: "sw1 (127.0.0.1:\(peer.port))")) {
            try await fixture.service.interface(SwitchFixture.target(peer, vendor: "aristaSsh"), name: "Ethernet1")
        }
        let pinned = SwitchFixture.target(peer, vendor: "aristaSsh", pinned: try await peer.hostKeyFingerprint() + "=")
        #expect(try await fixture.service.interface(pinned, name: "Ethernet1").enabled)
    }

    @Test func aHungDeviceTimesOutAndTheSessionIsTornDown() async throws {
        let peer = try await Self.arista.peer()
        defer { peer.stop() }
        let fixture = try SwitchFixture { $0.commandTimeoutSeconds = 2 }
        defer { fixture.remove() }
        let target = SwitchFixture.target(peer, vendor: "aristaSsh")
        _ = try await fixture.service.interface(target, name: "Ethernet1")
        #expect(fixture.service.pool.openSessions == 1)
        try peer.update { $0["hang"] = ["show interfaces"] }
        let started = ContinuousClock.now
        do {
            _ = try await fixture.service.interface(target, name: "Ethernet1")
            Issue.record("a hung device must time out")
        } catch let error as SwitchError {
            guard case .timeout = error else { throw error }
            #expect(error.agentError.status == .gatewayTimeout)
        }
        #expect(ContinuousClock.now - started < .seconds(6))
        #expect(fixture.service.pool.openSessions == 0, "the hung session is closed, not reused")
        try peer.update { $0["hang"] = [] }
        #expect(try await fixture.service.interface(target, name: "Ethernet1").enabled, "the next action opens a fresh session")
        #expect(fixture.service.pool.connectionsOpened == 2)
    }

    @Test func idleSessionsAreClosed() async throws {
        let peer = try await Self.arista.peer()
        defer { peer.stop() }
        let fixture = try SwitchFixture { $0.idleCloseSeconds = 30 }
        defer { fixture.remove() }
        _ = try await fixture.service.interface(SwitchFixture.target(peer, vendor: "aristaSsh"), name: "Ethernet1")
        #expect(fixture.service.pool.closeIdle(now: .now) == 0)
        #expect(fixture.service.pool.closeIdle(now: .now + .seconds(31)) == 1)
        #expect(fixture.service.pool.openSessions == 0)
    }
}
