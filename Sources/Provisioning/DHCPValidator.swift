import AgentCore
import Foundation

public enum DHCPError: Error, Sendable, Equatable, AgentErrorConvertible, CustomStringConvertible {
    /// The daemon's own checker refused the rendered configuration; the live one is unchanged.
    case configurationRejected(backend: String, output: String)
    /// The checker could not run (not installed).
    case validatorUnavailable(backend: String, detail: String)
    /// Writing or reloading the live configuration failed.
    case reloadFailed(backend: String, detail: String)

    public var description: String { agentError.message }

    public var agentError: AgentError {
        switch self {
        case .configurationRejected(let backend, let output):
            return AgentError(
                status: .unprocessable, code: "dhcp_config_rejected",
                message: "\(backend) refused the rendered configuration; the previous one stays in place: \(output)",
                details: ["backend": .string(backend), "validator": .string(output)])
        case .validatorUnavailable(let backend, let detail):
            return AgentError(status: .serviceUnavailable, code: "dhcp_validator_unavailable", message: "cannot validate the \(backend) configuration: \(detail)",
                              details: ["backend": .string(backend)])
        case .reloadFailed(let backend, let detail):
            return AgentError(status: .badGateway, code: "dhcp_reload_failed", message: "\(backend) did not take the new configuration: \(detail)",
                              details: ["backend": .string(backend)])
        }
    }
}

/// Runs a daemon's own configuration check on a rendered file: `dnsmasq --test`, `kea-dhcp4 -t`, `dhcpd -t -cf`.
public struct DHCPValidator: Sendable {
    let runner: any CommandRunner
    let settings: DHCPConfiguration
    let scratch: ScratchDirectory

    public init(runner: any CommandRunner, settings: DHCPConfiguration, scratch: ScratchDirectory) {
        self.runner = runner
        self.settings = settings
        self.scratch = scratch
    }

    /// Throws ``DHCPError/configurationRejected`` with the checker's message when it refuses `text`.
    public func validate(_ text: String, backend: DHCPBackendKind) async throws {
        guard backend != .none else { return }
        try await scratch.withFile("dhcp-check", contents: Data(text.utf8)) { path in
            let command: ProcessCommand
            switch backend {
            case .dnsmasq: command = ProcessCommand(settings.dnsmasqPath, ["--test", "-C", path], timeout: .seconds(20))
            case .kea: command = ProcessCommand(settings.keaPath, ["-t", path], timeout: .seconds(30))
            case .isc: command = ProcessCommand(settings.dhcpdPath, ["-t", "-cf", path], timeout: .seconds(20))
            case .none: return
            }
            let result: ProcessResult
            do {
                result = try await runner.run(command)
            } catch {
                throw DHCPError.validatorUnavailable(backend: backend.rawValue, detail: "\(error)")
            }
            guard result.succeeded else {
                throw DHCPError.configurationRejected(backend: backend.rawValue, output: Self.summary(result, path: path))
            }
        }
    }

    /// The checker's complaint, without Kea's INFO chatter and with the temporary path replaced.
    static func summary(_ result: ProcessResult, path: String) -> String {
        let lines = (result.standardError + "\n" + result.standardOutput).split(whereSeparator: \.isNewline).map(String.init)
        let relevant = lines.filter { !$0.contains(" INFO ") && !$0.hasPrefix("Config file:") && !$0.hasPrefix("Database file:") && !$0.hasPrefix("PID file:") }
        let text = (relevant.isEmpty ? lines : relevant).suffix(6).joined(separator: "\n")
        return String(text.replacingOccurrences(of: path, with: "<config>").prefix(1500))
    }
}
