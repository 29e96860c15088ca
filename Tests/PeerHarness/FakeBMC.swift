import AgentCore
import Foundation

/// A BMC that misbehaves on purpose (Emulators/fake_bmc.py, built on PyPI pyghmi's `Bmc`): it can accept every
/// power command and change nothing, or ignore resets and cycles, and it answers Get System Restart Cause, which
/// `ipmi_sim` does not. Power state lives in a file the test can read and write.
public final class FakeBMC: Sendable {
    public enum Mode: String, Sendable {
        /// Power commands act; reset and cycle leave a restart cause behind.
        case normal
        /// Every power command is accepted and nothing changes.
        case ignorePower = "ignore-power"
        /// On and off act; reset and cycle are accepted and do nothing.
        case ignoreReset = "ignore-reset"
        /// Power commands act, but their answers are never sent (lost on the way back).
        case silentPower = "silent-power"
        /// As silentPower, and status reads go unanswered too.
        case silentChassis = "silent-chassis"
    }

    public let port: Int
    public let directory: TemporaryDirectory
    let process: PeerProcess
    public static let user = "admin"
    public static let password = "secret"

    public init(mode: Mode, initialPower: Bool = false, cycleOffSeconds: Double = 2) async throws {
        port = FreePort.udp()
        directory = try TemporaryDirectory(prefix: "fake-bmc")
        process = try await PeerProcess(
            name: "fake_bmc", executable: try PeerTools.venvProgram("python3"),
            arguments: [
                PeerTools.repositoryRoot + "/Tests/PeerHarness/Emulators/fake_bmc.py", "--port", String(port), "--state-dir", directory.path,
                "--mode", mode.rawValue, "--initial-power", initialPower ? "on" : "off", "--cycle-off-seconds", String(cycleOffSeconds),
                "--user", Self.user, "--password", Self.password,
            ],
            logPath: directory.file("fake_bmc.log"))
        try await process.waitForLog { $0.contains("fake_bmc ready on 127.0.0.1:\(port)") }
    }

    /// "1" on, "0" off, as the fake chassis holds it.
    public var powerState: String {
        ((try? String(contentsOfFile: directory.file("power.state"), encoding: .utf8)) ?? "0").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The power commands and restart-cause reads received, one per line.
    public var commands: [String] {
        ((try? String(contentsOfFile: directory.file("commands.log"), encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// The seed's ipmi connection object for this BMC.
    public var connection: JSONValue {
        ["type": "ipmi", "meta": ["ip": "127.0.0.1", "username": .string(Self.user), "password": .string(Self.password), "bmcPort": .string(String(port))]]
    }

    public func stop() {
        process.stop(grace: .zero)
        directory.remove()
    }
}
