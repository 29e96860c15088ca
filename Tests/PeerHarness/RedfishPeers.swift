import AgentCore
import AsyncHTTPClient
import Foundation
import NIOCore

/// sushy-tools' Redfish emulator with its fake driver on 127.0.0.1: one system whose power changes show 1 to 11 s
/// after the reset (as real BMCs apply them), Basic authentication from an htpasswd file, and TLS with a self-signed
/// certificate when asked.
public final class SushyEmulator: Sendable {
    public let port: Int
    public let username = "admin"
    public let password = "sushy-test-pw"
    public let tls: Bool
    /// SHA-256 of the leaf certificate the emulator presents, as the agent prints it (TLS only).
    public let certificateFingerprint: String?
    let process: PeerProcess
    let directory: TemporaryDirectory

    /// Over TLS when `certificate` names the kind of certificate to present; plain http otherwise.
    public init(certificate: BMCCertificateKind? = nil) async throws {
        tls = certificate != nil
        port = FreePort.tcp()
        directory = try TemporaryDirectory(prefix: "sushy")
        let python = try PeerTools.venvProgram("python")
        let (hashStatus, hash) = try await PeerTools.run(
            python, ["-c", "import bcrypt,sys; print(bcrypt.hashpw(sys.argv[1].encode(), bcrypt.gensalt(4)).decode())", password])
        guard hashStatus == 0 else { throw HarnessError.peerFailed("bcrypt: \(hash)") }
        try directory.write("htpasswd", "\(username):\(hash.trimmingCharacters(in: .whitespacesAndNewlines))\n")
        // Its own state directory: the fake driver keeps its systems in SQLite, by default shared by every emulator on the
        // machine (the same system UUID everywhere), which would let tests running at the same time switch each other's power.
        try directory.write(
            "sushy.conf", "SUSHY_EMULATOR_AUTH_FILE = '\(directory.file("htpasswd"))'\nSUSHY_EMULATOR_STATE_DIR = '\(directory.file("state"))'\n")
        var arguments = ["--config", directory.file("sushy.conf"), "--fake", "-i", "127.0.0.1", "-p", String(port), "--feature-set", "full"]
        if let certificate {
            let made = try BMCCertificate(certificate)
            try directory.write("cert.pem", made.certificateChainPEM)
            try directory.write("key.pem", made.privateKeyPEM, mode: 0o600)
            certificateFingerprint = made.fingerprint
            arguments += ["--ssl-certificate", directory.file("cert.pem"), "--ssl-key", directory.file("key.pem")]
        } else {
            certificateFingerprint = nil
        }
        // The fake driver applies a change 1 to 11 s late, and shows a restart as Off for that long: one second is shorter
        // than a status read takes beside the whole suite (a restart then looked like nothing). Started with the delay
        // drawn from 3 to 11 s instead, still late and varying as real BMCs are.
        let launcher = """
            import random, sys
            import sushy_tools.emulator.resources.systems.fakedriver as fake
            class LateButSeen:
                randint = staticmethod(lambda low, high: random.randint(max(low, 3), high))
            fake.random = LateButSeen
            from sushy_tools.emulator.main import main
            sys.argv[0] = "sushy-emulator"
            sys.exit(main())
            """
        process = try await PeerProcess(
            name: "sushy-emulator", executable: python, arguments: ["-c", launcher] + arguments, logPath: directory.file("sushy.log"))
        try await process.waitForLog(timeout: .seconds(30)) { $0.contains("Running on") }
    }

    /// Connection meta for the emulator's system.
    public func meta(password: String? = nil, certificateSha256: String? = nil) -> JSONValue {
        var meta: [String: JSONValue] = [
            "ip": "127.0.0.1", "port": .integer(Int64(port)), "scheme": .string(tls ? "https" : "http"), "username": .string(username),
            "password": .string(password ?? self.password),
        ]
        if let certificateSha256 { meta["certificateSha256"] = .string(certificateSha256) }
        return .object(meta)
    }

    public var log: String { (try? String(contentsOfFile: process.logPath, encoding: .utf8)) ?? "" }

    public func stop() {
        process.stop()
        directory.remove()
    }
}

/// A small Redfish BMC with sessions and misbehaviour on demand (Emulators/redfish_bmc.py): session tokens that
/// expire, 503 while busy, resets accepted and never applied, restarts that leave no trace.
public final class RedfishBMCEmulator: Sendable {
    public let port: Int
    public let username: String
    public let password: String
    let process: PeerProcess
    let directory: TemporaryDirectory

    /// The BMC's login (and its account 2); the defaults differ from every other peer's.
    public init(username: String = "operator", password: String = "bmc-test-pw") async throws {
        self.username = username
        self.password = password
        port = FreePort.tcp()
        directory = try TemporaryDirectory(prefix: "redfish-bmc")
        process = try await PeerProcess(
            name: "redfish-bmc", executable: "/usr/bin/python3",
            arguments: [PeerTools.repositoryRoot + "/Tests/PeerHarness/Emulators/redfish_bmc.py", String(port), username, password],
            logPath: directory.file("bmc.log"))
        try await process.waitForLog { $0.contains("listening on \(port)") }
    }

    public func meta(password: String? = nil) -> JSONValue {
        ["ip": "127.0.0.1", "port": .integer(Int64(port)), "scheme": "http", "username": .string(username), "password": .string(password ?? self.password)]
    }

    /// Changes how the BMC behaves (see the emulator's doc string).
    public func behave(_ changes: JSONValue) async throws {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/_control/behaviour")
        request.method = .POST
        request.body = .bytes(ByteBuffer(string: changes.jsonText))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
        guard response.status.code == 204 else { throw HarnessError.peerFailed("redfish_bmc control: \(response.status)") }
    }

    public struct SeenRequest: Decodable, Sendable {
        public let method: String
        public let path: String
        /// `session`, `basic` or `none`.
        public let auth: String
        public let status: Int?
    }

    /// Every API request the BMC saw, in order.
    public func requests() async throws -> [SeenRequest] {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/_control/requests"), timeout: .seconds(5))
        return try JSONDecoder().decode([SeenRequest].self, from: Data(buffer: try await response.body.collect(upTo: 16 << 20)))
    }

    public func stop() {
        process.stop()
        directory.remove()
    }
}
