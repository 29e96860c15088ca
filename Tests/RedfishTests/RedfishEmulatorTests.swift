import AgentCore
import Foundation
import Logging
import PeerHarness
import Synchronization
import Testing

@testable import Redfish

/// The Redfish client and service against real Redfish services: sushy-tools' emulator (power applied 1-11 s late,
/// Basic authentication, TLS) and redfish_bmc.py (sessions, and a BMC that misbehaves on demand).
@Suite(.serialized) struct RedfishEmulatorTests {
    static func service(
        trust: any RedfishCertificateTrust = ProcessCertificateTrust(), verifyDeadline: Double = 40, minimumGap: Double = 0.05,
        policy: CertificatePolicy = .trustOnFirstUse
    ) -> RedfishService {
        var settings = RedfishConfiguration()
        settings.verifyDeadlineSeconds = verifyDeadline
        settings.minimumGapSeconds = minimumGap
        settings.requestTimeoutSeconds = 10
        settings.certificatePolicy = policy
        return RedfishService(client: RedfishClient(transport: NIORedfishTransport(), trust: trust, settings: settings, logger: Logger(label: "test")))
    }

    static func connection(_ meta: JSONValue) throws -> RedfishConnection {
        try meta.decode(as: RedfishConnection.self, at: "connection.meta")
    }

    /// Every change is read back although the emulator applies it seconds later; a reset and a cycle are verified by
    /// the system seen off and then on again (the emulator has no PowerCycle, so a cycle is ForceOff then On).
    @Test func sushyPowerChangesAreVerifiedWhenTheyShow() async throws {
        let sushy = try await SushyEmulator()
        defer { sushy.stop() }
        let service = Self.service()
        let connection = try Self.connection(sushy.meta())
        #expect(try await service.powerStatus(connection) == .off)
        let on = try await service.setPower(.on, connection)
        #expect(on.verified && on.powerState == .online && on.resetTypes == ["On"] && on.evidence == "PowerState read back On", "\(on)")
        let reset = try await service.setPower(.reset, connection)
        #expect(reset.verified && reset.resetTypes == ["ForceRestart"] && reset.evidence?.hasSuffix("then On") == true, "\(reset)")
        let cycle = try await service.setPower(.cycle, connection)
        #expect(cycle.verified && cycle.resetTypes == ["ForceOff", "On"], "\(cycle)")
        let off = try await service.setPower(.off, connection)
        #expect(off.verified && off.powerState == .offline && off.resetTypes == ["ForceOff"], "\(off)")
        print("sushy: on \(on.seconds) s (\(on.checks) reads), reset \(reset.seconds) s, cycle \(cycle.seconds) s, off \(off.seconds) s")

        // The emulator keeps every override Continuous: the target is verified, the difference is noted.
        let boot = try await service.setBootOverride(.pxe, persistent: false, uefi: true, connection)
        #expect(boot.verified && boot.stored.target == "Pxe" && boot.stored.mode == "UEFI" && boot.note?.contains("Continuous") == true, "\(boot)")
        let disk = try await service.setBootOverride(.hdd, persistent: true, uefi: nil, connection)
        #expect(disk.verified && disk.stored.target == "Hdd" && disk.note == nil, "\(disk)")

        let inventory = try await service.inventory(connection)
        #expect(!inventory.networkInterfaces.isEmpty && inventory.networkInterfaces.allSatisfy { $0.macAddress.count == 17 }, "\(inventory.networkInterfaces)")
        #expect(inventory.system.powerState == "Off")
        #expect(try await service.testConnection(connection) == "online")
    }

    @Test func wrongPasswordIsAnAuthenticationFailureThatTouchedNothing() async throws {
        let sushy = try await SushyEmulator()
        defer { sushy.stop() }
        do {
            _ = try await Self.service().setPower(.on, try Self.connection(sushy.meta(password: "wrong-password")))
            Issue.record("a refused login reported success")
        } catch {
            let agentError = AgentError.from(error)
            #expect(agentError.code == "auth_failed" && agentError.details["deviceEffect"] == "untouched", "\(agentError)")
            #expect(!agentError.message.contains("wrong-password") && !agentError.message.contains(sushy.password))
        }
    }

    /// The first certificate is remembered and must be presented again; a pinned certificate must match before any
    /// request (with the credentials) is sent.
    @Test func tlsCertificatesAreTrustedOnFirstUseOrPinned() async throws {
        let sushy = try await SushyEmulator(certificate: .selfSigned)
        defer { sushy.stop() }
        let fingerprint = try #require(sushy.certificateFingerprint)
        let trust = ProcessCertificateTrust()
        let service = Self.service(trust: trust)
        let connection = try Self.connection(sushy.meta())
        #expect(try await service.powerStatus(connection) == .off)
        #expect(try await trust.remembered(for: connection.address) == fingerprint)

        let pinned = try Self.connection(sushy.meta(certificateSha256: fingerprint))
        #expect(try await Self.service(policy: .pinned).powerStatus(pinned) == .off)

        let requestsBefore = sushy.log.components(separatedBy: "GET /redfish/v1").count
        let wrongPin = try Self.connection(sushy.meta(certificateSha256: String(repeating: "0", count: 64)))
        let replaced = ProcessCertificateTrust()
        try await replaced.remember(String(repeating: "AB:", count: 31) + "AB", for: connection.address)
        for (service, connection) in [(Self.service(), wrongPin), (Self.service(trust: replaced), connection)] {
            do {
                _ = try await service.setPower(.on, connection)
                Issue.record("a certificate that does not match was accepted")
            } catch {
                let agentError = AgentError.from(error)
                #expect(agentError.code == "certificate_mismatch" && agentError.details["deviceEffect"] == "untouched", "\(agentError)")
                #expect(agentError.details["presented"] == .string(fingerprint))
            }
        }
        #expect(sushy.log.components(separatedBy: "GET /redfish/v1").count == requestsBefore, "no request reached a BMC whose certificate did not match")
        do {
            _ = try await Self.service(policy: .pinned).powerStatus(connection)
            Issue.record("an unpinned connection was used under the pinned policy")
        } catch {
            #expect(AgentError.from(error).details["field"] == "connection.meta.certificateSha256")
        }
    }

    /// Real BMCs present factory certificates that expired long ago, or leaves issued by the site's own CA; the pin (or
    /// the first-seen leaf) is the whole verdict, so both work, and another certificate still gets nothing.
    @Test(arguments: [BMCCertificateKind.expired, .issuedByPrivateCA])
    func expiredAndPrivatelyIssuedCertificatesWorkWhenTrusted(kind: BMCCertificateKind) async throws {
        let sushy = try await SushyEmulator(certificate: kind)
        defer { sushy.stop() }
        let fingerprint = try #require(sushy.certificateFingerprint)
        let trust = ProcessCertificateTrust()
        let connection = try Self.connection(sushy.meta())
        #expect(try await Self.service(trust: trust).powerStatus(connection) == .off)
        #expect(try await trust.remembered(for: connection.address) == fingerprint)
        let pinned = try Self.connection(sushy.meta(certificateSha256: fingerprint))
        let boot = try await Self.service(policy: .pinned).setBootOverride(.pxe, persistent: false, uefi: true, pinned)
        #expect(boot.verified && boot.stored.target == "Pxe", "\(boot)")

        let requestsBefore = sushy.log.components(separatedBy: "/redfish/v1").count
        do {
            _ = try await Self.service().powerStatus(try Self.connection(sushy.meta(certificateSha256: String(repeating: "0", count: 64))))
            Issue.record("a certificate that does not match the pin was accepted")
        } catch {
            #expect(AgentError.from(error).code == "certificate_mismatch", "\(AgentError.from(error))")
        }
        // The transport itself refuses in the handshake a certificate other than the one it is told to trust (one that
        // changed after the check above), before the request is written.
        let other = PresentedCertificate(der: [], fingerprint: String(repeating: "AB:", count: 31) + "AB")
        do {
            _ = try await NIORedfishTransport().send(RedfishHTTPRequest(method: .GET, path: "/redfish/v1/Systems"), to: connection, trusting: other, timeout: .seconds(5))
            Issue.record("the transport sent a request to a BMC whose certificate it was not told to trust")
        } catch RedfishError.unreachable(_, let detail) {
            #expect(detail.contains(fingerprint), "\(detail)")
        }
        #expect(sushy.log.components(separatedBy: "/redfish/v1").count == requestsBefore, "nothing reached the BMC")
    }

    /// A BMC whose web server takes the connection and never answers the TLS handshake: unreachable (nothing was sent,
    /// so failing over is safe) within the connect bound, not the request's whole timeout.
    @Test func aHandshakeThatNeverCompletesIsUnreachable() async throws {
        let silent = try TCPPortHolder()
        defer { silent.close() }
        let connection = try Self.connection([
            "ip": "127.0.0.1", "port": .integer(Int64(silent.port)), "scheme": "https", "username": "operator", "password": "bmc-test-pw",
        ])
        let trusted = PresentedCertificate(der: [], fingerprint: String(repeating: "AB:", count: 31) + "AB")
        let started = ContinuousClock.now
        do {
            _ = try await NIORedfishTransport().send(RedfishHTTPRequest(method: .GET, path: "/redfish/v1"), to: connection, trusting: trusted, timeout: .seconds(3))
            Issue.record("an answer from a socket that never spoke")
        } catch {
            guard case RedfishError.unreachable = error else {
                Issue.record("not unreachable: \(error)")
                return
            }
        }
        #expect(ContinuousClock.now - started < .seconds(6))
    }

    /// At shutdown the sessions the agent holds are ended (BMCs allow few), and a BMC that stopped answering does not
    /// hold the shutdown past its bound.
    @Test func sessionsAreEndedAtShutdownWithinABound() async throws {
        let bmc = try await RedfishBMCEmulator()
        let hung = try await RedfishBMCEmulator(username: "other", password: "other-pw")
        defer { hung.stop() }
        let service = Self.service()
        #expect(try await service.powerStatus(try Self.connection(bmc.meta())) == .off)
        #expect(try await service.powerStatus(try Self.connection(hung.meta())) == .off)
        try await hung.behave(["silent": true])
        let started = ContinuousClock.now
        await service.client.logOutAll(within: .seconds(3))
        #expect(ContinuousClock.now - started < .seconds(5), "the hung BMC held the shutdown")
        let seen = try await bmc.requests()
        #expect(seen.contains { $0.method == "DELETE" && $0.path.hasPrefix("/redfish/v1/SessionService/Sessions/") && $0.status == 204 }, "\(seen)")
        let sessionRequests = seen.count
        await service.client.logOutAll(within: .seconds(3))
        #expect(try await bmc.requests().count == sessionRequests, "a session is ended once")
        bmc.stop()
    }

    /// One login serves many requests; a session the BMC expired is replaced by one fresh login, and the request is
    /// sent again once.
    @Test func expiredSessionsLogInAgainOnce() async throws {
        let bmc = try await RedfishBMCEmulator()
        defer { bmc.stop() }
        let service = Self.service()
        let connection = try Self.connection(bmc.meta())
        for _ in 0..<3 { #expect(try await service.powerStatus(connection) == .off) }
        var seen = try await bmc.requests()
        #expect(seen.filter { $0.path == "/redfish/v1/SessionService/Sessions" }.count == 1, "\(seen.map(\.path))")
        #expect(seen.filter { $0.path.hasPrefix("/redfish/v1/Systems") }.allSatisfy { $0.auth == "session" })

        try await bmc.behave(["expireSessions": true])
        #expect(try await service.powerStatus(connection) == .off)
        seen = try await bmc.requests()
        #expect(seen.filter { $0.path == "/redfish/v1/SessionService/Sessions" }.count == 2)
        #expect(seen.filter { $0.status == 401 }.count == 1, "one refused request, then a fresh login: \(seen.map { "\($0.path) \($0.status ?? 0)" })")

        do {
            _ = try await service.powerStatus(try Self.connection(bmc.meta(password: "not-the-password")))
            Issue.record("a refused login reported success")
        } catch {
            #expect(AgentError.from(error).code == "auth_failed")
        }
        let logins = try await bmc.requests().filter { $0.path == "/redfish/v1/SessionService/Sessions" && $0.status == 401 }
        #expect(logins.count == 1, "a refused login is not tried again, and the good password's session was not used: \(logins.count)")
    }

    /// 503 is retried with backoff a bounded number of times, then reported as busy: the reset itself was refused, so the
    /// device is untouched (the reads before it were answered).
    @Test func busyBMCIsRetriedThenReported() async throws {
        let bmc = try await RedfishBMCEmulator()
        defer { bmc.stop() }
        let service = Self.service()
        let connection = try Self.connection(bmc.meta())
        #expect(try await service.powerStatus(connection) == .off)
        try await bmc.behave(["busy": 2])
        #expect(try await service.powerStatus(connection) == .off)
        try await bmc.behave(["busyResets": 50])
        let started = ContinuousClock.now
        do {
            _ = try await service.setPower(.on, connection)
            Issue.record("a busy BMC reported success")
        } catch {
            let agentError = AgentError.from(error)
            #expect(agentError.code == "bmc_busy" && agentError.details["deviceEffect"] == "untouched", "\(agentError)")
            #expect(agentError.details["attempts"] == 4)
        }
        #expect(ContinuousClock.now - started < .seconds(10))
        let resets = try await bmc.requests().filter { $0.path.hasSuffix("ComputerSystem.Reset") }
        #expect(resets.count == 4 && resets.allSatisfy { $0.status == 503 }, "four attempts, all refused: \(resets.map(\.status))")
        #expect(try await service.powerStatus(connection) == .off)
    }

    /// A BMC that carries a reset out and drops the connection before answering may have acted: `unknown`, never
    /// `untouched` (which would let another way act a second time).
    @Test func aConnectionDroppedAfterTheResetIsNotUntouched() async throws {
        let bmc = try await RedfishBMCEmulator()
        defer { bmc.stop() }
        try await bmc.behave(["dropAfterReset": true])
        let connection = try Self.connection(bmc.meta())
        do {
            _ = try await Self.service().setPower(.on, connection)
            Issue.record("an unanswered reset reported success")
        } catch {
            let agentError = AgentError.from(error)
            #expect(agentError.details["deviceEffect"] == "unknown", "\(agentError)")
        }
    }

    /// A BMC that sends headers and then nothing is given up after the request timeout, and its turn is free again.
    @Test(.timeLimit(.minutes(1))) func aStalledAnswerEndsAtTheTimeoutAndFreesTheTurn() async throws {
        let bmc = try await RedfishBMCEmulator()
        defer { bmc.stop() }
        var settings = RedfishConfiguration()
        settings.minimumGapSeconds = 0.02
        settings.requestTimeoutSeconds = 2
        let service = RedfishService(client: RedfishClient(transport: NIORedfishTransport(), trust: ProcessCertificateTrust(), settings: settings,
                                                           logger: Logger(label: "test")))
        let connection = try Self.connection(bmc.meta())
        #expect(try await service.powerStatus(connection) == .off)
        try await bmc.behave(["stallBody": true])
        let started = ContinuousClock.now
        do {
            _ = try await service.powerStatus(connection)
            Issue.record("a stalled answer was read")
        } catch {
            #expect(AgentError.from(error).code == "timeout", "\(AgentError.from(error))")
        }
        #expect(ContinuousClock.now - started < .seconds(8))
        try await bmc.behave(["stallBody": false])
        #expect(try await service.powerStatus(connection) == .off, "the BMC's turn was given back")
    }

    /// A BMC reset is verified only by the service going away and answering again; one that answers throughout is
    /// reported unverified with the reason.
    @Test func managerResetNeedsTheBMCToGoAway() async throws {
        let bmc = try await RedfishBMCEmulator()
        defer { bmc.stop() }
        var settings = RedfishConfiguration()
        settings.minimumGapSeconds = 0.02
        settings.requestTimeoutSeconds = 3
        settings.busyRetries = 0
        settings.managerResetDeadlineSeconds = 12
        let service = RedfishService(client: RedfishClient(transport: NIORedfishTransport(), trust: ProcessCertificateTrust(), settings: settings,
                                                           logger: Logger(label: "test")))
        let connection = try Self.connection(bmc.meta())
        let reset = try await service.resetManager(graceful: true, connection)
        #expect(reset.verified && reset.resetType == "GracefulRestart" && reset.evidence == "the service went away and answered again", "\(reset)")

        try await bmc.behave(["managerAwaySeconds": 0])
        settings.managerResetDeadlineSeconds = 3
        let quick = RedfishService(client: RedfishClient(transport: NIORedfishTransport(), trust: ProcessCertificateTrust(), settings: settings,
                                                         logger: Logger(label: "test")))
        let ignored = try await quick.resetManager(graceful: false, connection)
        #expect(!ignored.verified && ignored.evidence == nil && ignored.reason?.contains("answered throughout") == true, "\(ignored)")
    }

    /// A BMC that accepts a reset and does nothing: `not_verified` (accepted), never success. A restart that leaves no
    /// trace is reported unverified with the reason.
    @Test func resetsThatShowNothingAreNotVerified() async throws {
        let bmc = try await RedfishBMCEmulator()
        defer { bmc.stop() }
        let service = Self.service(verifyDeadline: 2)
        let connection = try Self.connection(bmc.meta())
        let cycle = try await service.setPower(.cycle, connection)
        #expect(cycle.verified && cycle.resetTypes == ["PowerCycle"], "PowerCycle comes from the ActionInfo: \(cycle)")

        try await bmc.behave(["hideRestarts": true])
        let hidden = try await service.setPower(.reset, connection)
        #expect(!hidden.verified && hidden.evidence == nil && hidden.reason?.contains("LastResetTime did not move") == true, "\(hidden)")

        try await bmc.behave(["ignoreResets": true])
        do {
            _ = try await service.setPower(.off, connection)
            Issue.record("an ignored reset reported success")
        } catch {
            let agentError = AgentError.from(error)
            #expect(agentError.code == "not_verified" && agentError.details["deviceEffect"] == "accepted" && agentError.details["cause"] == "verify_failed",
                    "\(agentError)")
        }
        #expect(try await service.powerStatus(connection) == .on)
    }
}

/// First-seen certificates in memory, for tests that need a fresh or a tampered trust store.
final class ProcessCertificateTrust: RedfishCertificateTrust {
    private let fingerprints = Mutex<[String: String]>([:])

    func remembered(for address: String) async throws -> String? {
        fingerprints.withLock { $0[address] }
    }

    func remember(_ fingerprint: String, for address: String) async throws {
        fingerprints.withLock { fingerprints in
            if fingerprints[address] == nil { fingerprints[address] = fingerprint }
        }
    }
}
