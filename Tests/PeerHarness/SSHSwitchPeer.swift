import AgentCore
import Foundation

/// OpenSSH's sshd on 127.0.0.1 whose ForceCommand is the switch emulator (Emulators/switch_emulator.py) for one
/// dialect, with the switch state in a JSON file the test reads and changes. Exec requests answer one command;
/// shells get the vendor CLI. Runs as the test user `swtest` (created when missing, as test-peers.md describes).
public final class SSHSwitchPeer: Sendable {
    public static let user = "swtest"
    public static let password = "swpass123"

    public let directory: TemporaryDirectory
    public let port: Int
    public let dialect: String
    let process: PeerProcess

    /// - Parameters:
    ///   - hostKeyDirectory: reuse the host key of an earlier peer (same identity); nil generates a new one.
    ///   - port: listen on this port (a restarted "device"); nil picks a free one.
    public init(dialect: String, state: JSONValue, hostKeyDirectory: String? = nil, port: Int? = nil, authorizedKey: String? = nil) async throws {
        self.dialect = dialect
        try await Self.ensureUser()
        directory = try TemporaryDirectory(prefix: "sshswitch-\(dialect)")
        chmod(directory.path, 0o777)
        self.port = port ?? FreePort.tcp()
        let emulator = PeerTools.repositoryRoot + "/Tests/PeerHarness/Emulators/switch_emulator.py"
        guard let source = FileManager.default.contents(atPath: emulator) else { throw HarnessError.peerFailed("missing \(emulator)") }
        _ = try directory.write("switch_emulator.py", String(decoding: source, as: UTF8.self), mode: 0o755)
        _ = try directory.write("state.json", state.jsonText, mode: 0o666)
        let keyDirectory = hostKeyDirectory ?? directory.path
        if hostKeyDirectory == nil {
            let (status, output) = try await PeerTools.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", directory.file("hostkey_ed25519")])
            guard status == 0 else { throw HarnessError.peerFailed("ssh-keygen: \(output)") }
        }
        if let authorizedKey { _ = try directory.write("authorized_keys", authorizedKey + "\n", mode: 0o644) }
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        let configuration = """
            Port \(self.port)
            ListenAddress 127.0.0.1
            HostKey \(keyDirectory)/hostkey_ed25519
            PidFile \(directory.file("sshd.pid"))
            PasswordAuthentication yes
            KbdInteractiveAuthentication no
            PubkeyAuthentication yes
            AuthorizedKeysFile \(directory.file("authorized_keys"))
            StrictModes no
            UsePAM no
            PermitRootLogin no
            AllowUsers \(Self.user)
            ForceCommand /usr/bin/python3 \(directory.file("switch_emulator.py")) \(dialect) \(directory.file("state.json"))
            AllowTcpForwarding no
            X11Forwarding no
            PrintMotd no
            PrintLastLog no
            # The suites open many sessions at once; sshd's default (10:30:100) drops unauthenticated connections at
            # random beyond 10, which libssh2 reports as "Failed getting banner".
            MaxStartups 200
            LogLevel VERBOSE
            """
        let configPath = try directory.write("sshd_config", configuration + "\n", mode: 0o600)
        let (checked, complaint) = try await PeerTools.run("/usr/sbin/sshd", ["-t", "-f", configPath])
        guard checked == 0 else { throw HarnessError.peerFailed("sshd -t: \(complaint)") }
        process = try await PeerProcess(name: "sshd", executable: "/usr/sbin/sshd", arguments: ["-D", "-e", "-f", configPath], logPath: directory.file("sshd.log"))
        try await FreePort.waitForTCP(self.port)
    }

    /// The host key directory (to start a peer with the same identity).
    public var hostKeyDirectory: String { directory.path }

    /// `SHA256:...` of the host key, as `ssh-keygen -l` prints it.
    public func hostKeyFingerprint() async throws -> String {
        let (_, output) = try await PeerTools.run("/usr/bin/ssh-keygen", ["-l", "-E", "sha256", "-f", directory.file("hostkey_ed25519.pub")])
        return output.split(separator: " ").dropFirst().first.map(String.init) ?? ""
    }

    public var state: JSONValue {
        let data = FileManager.default.contents(atPath: directory.file("state.json")) ?? Data("{}".utf8)
        return (try? JSONCoding.decoder.decode(JSONValue.self, from: data)) ?? .null
    }

    /// Changes the switch state between commands (the emulator reads it before each one).
    public func update(_ change: (inout [String: JSONValue]) -> Void) throws {
        guard case .object(var members) = state else { return }
        change(&members)
        _ = try directory.write("state.json", JSONValue.object(members).jsonText, mode: 0o666)
    }

    /// Every command the emulator received, oldest first.
    public var commandLog: [String] {
        guard case .array(let items)? = state["log"] else { return [] }
        return items.compactMap(\.stringValue)
    }

    public var log: String { process.log }

    public func stop() {
        process.stop()
        directory.remove()
    }

    /// Stops sshd and waits until it is gone (another peer is about to listen on the same port).
    public func terminate() async {
        await process.terminate()
        directory.remove()
    }

    /// The local user sshd runs the emulator as.
    static func ensureUser() async throws {
        if getpwnam(user) != nil { return }
        let (created, output) = try await PeerTools.run("/usr/sbin/useradd", ["-m", "-s", "/bin/bash", user])
        guard created == 0 || getpwnam(user) != nil else { throw HarnessError.peerFailed("useradd \(user): \(output)") }
        let passwordFile = try TemporaryDirectory(prefix: "chpasswd")
        defer { passwordFile.remove() }
        let input = try passwordFile.write("input", "\(user):\(password)\n", mode: 0o600)
        let (changed, message) = try await PeerTools.run("/bin/sh", ["-c", "/usr/sbin/chpasswd < \(input)"])
        guard changed == 0 else { throw HarnessError.peerFailed("chpasswd: \(message)") }
    }

    // MARK: - Initial states

    /// Interfaces and VLANs in the emulator's state format for a dialect.
    public static func initialState(dialect: String, interfaces: [String]) -> JSONValue {
        if dialect == "junos" {
            var ports: [String: JSONValue] = [:]
            for name in interfaces { ports[name] = ["interface-mode": "access", "members": ["default"]] }
            return [
                "hostname": "sw1", "user": .string(user),
                "junos": ["interfaces": .object(ports), "vlans": ["default": ["vlan-id": 1], "servers": ["vlan-id": 20]], "irb": [:]],
                "log": [],
            ]
        }
        var ports: [String: JSONValue] = [:]
        for name in interfaces {
            ports[name] = ["enabled": true, "description": "", "mode": "access", "accessVlan": 1, "nativeVlan": 1,
                           "trunkVlans": dialect == "os10" ? .array([]) : nil, "routed": false]
        }
        return [
            "hostname": dialect == "os10" ? "OS10" : "sw1",
            "interfaces": .object(ports),
            "vlans": ["1": ["name": "default", "l3Ips": []], "20": ["name": "servers", "l3Ips": []]],
            "log": [],
        ]
    }
}
