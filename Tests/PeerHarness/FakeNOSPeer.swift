import Foundation

/// fakenos (PyPI): an independent fake network OS over SSH (paramiko) with its own vendor prompts and canned
/// outputs, one host per platform on consecutive ports. Shell only (no exec channel).
public final class FakeNOSPeer: Sendable {
    public static let user = "admin"
    public static let password = "admin"
    public let ports: [String: Int]
    let process: PeerProcess
    let directory: TemporaryDirectory

    public init(platforms: [String]) async throws {
        directory = try TemporaryDirectory(prefix: "fakenos")
        var ports: [String: Int] = [:]
        for platform in platforms { ports[platform] = FreePort.tcp() }
        self.ports = ports
        let hosts = ports.map { "\"\($0.key)\": {\"port\": \($0.value), \"platform\": \"\($0.key)\"}" }.joined(separator: ", ")
        let script = """
            import signal, time
            from fakenos import FakeNOS
            inventory = {"default": {"username": "\(Self.user)", "password": "\(Self.password)",
                                     "server": {"plugin": "ParamikoSshServer", "configuration": {"address": "127.0.0.1", "timeout": 1}},
                                     "shell": {"plugin": "CMDShell", "configuration": {}}},
                         "hosts": {\(hosts)}}
            network = FakeNOS(inventory=inventory)
            network.start()
            print("FAKENOS-READY", flush=True)
            signal.signal(signal.SIGTERM, lambda *_: (network.stop(), exit(0)))
            while True:
                time.sleep(1)
            """
        let path = try directory.write("fakenos_peer.py", script)
        process = try await PeerProcess(name: "fakenos", executable: try PeerTools.venvProgram("python"), arguments: ["-u", path], logPath: directory.file("fakenos.log"))
        try await process.waitForLog(timeout: .seconds(30)) { $0.contains("FAKENOS-READY") }
        for port in ports.values { try await FreePort.waitForTCP(port) }
    }

    public func stop() {
        process.stop(grace: .seconds(2))
        directory.remove()
    }
}
