import AgentCore
import ArgumentParser
import Foundation

/// `rackagent status`: the running agent at a glance, from its own API.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "The running agent at a glance: version, listeners, controller and outbox, jobs, devices, installations, DHCP, certificate.",
        discussion: "Asks the local daemon (GET /v1/status) with the token from the state directory. Exit 1 when the agent does not answer.")

    @Option(name: .customLong("api-url"), help: ArgumentHelp("The agent's API (default: from api.listen).", valueName: "https://host:port"))
    var apiURL: String?
    @OptionGroup var options: ConfigurationOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let configuration = try options.load()
        let status = try await exitingOnFailure { try await LocalAgentAPI(configuration: configuration, apiURL: apiURL).call(.GET, "/v1/status") }
        if output.json {
            print(status.jsonText)
            return
        }
        for line in Self.lines(status) { print(line) }
    }

    /// The human view, one fact per line.
    static func lines(_ status: JSONValue) -> [String] {
        func text(_ value: JSONValue?) -> String { value.map { $0.stringValue ?? $0.jsonText } ?? "?" }
        var lines = [
            "agent        \(text(status["agent"]?["version"])), up \(text(status["agent"]?["uptimeSeconds"])) s",
            "listeners    api \(text(status["listeners"]?["api"])), boot \(text(status["listeners"]?["boot"])), console \(text(status["listeners"]?["console"]))",
            "controller   \(status["controller"]?["url"] == .null ? "not configured (events stay in the outbox)" : text(status["controller"]?["url"]))",
            "outbox       \(text(status["controller"]?["outbox"]?["pending"])) pending, oldest \(text(status["controller"]?["outbox"]?["oldestAgeSeconds"])) s",
            "jobs         \(text(status["jobs"]?["running"])) running, \(text(status["jobs"]?["failedLastHour"])) failed in the last hour",
        ]
        if let failure = status["jobs"]?["lastFailure"], failure != .null {
            lines.append("  last failure \(text(failure["kind"])) on \(text(failure["target"])): \(text(failure["error"]))")
        }
        lines.append("devices      \(text(status["devices"]?["reachable"])) of \(text(status["devices"]?["total"])) answering")
        if case .array(let failing)? = status["devices"]?["failing"] {
            for device in failing {
                lines.append("  failing    \(text(device["id"])) (\(text(device["host"]))): \(device["lastError"] == .null ? "no answer to the last poll" : text(device["lastError"]))")
            }
        }
        if case .array(let installations)? = status["installations"] {
            lines.append("installs     \(installations.count) running")
            for installation in installations {
                lines.append("  server \(text(installation["serverId"])) \(text(installation["kind"])) at \(text(installation["step"]))")
            }
        }
        lines.append("dhcp         \(text(status["dhcp"]?["backend"])), \(text(status["dhcp"]?["entries"])) entries")
        lines.append("certificate  \(text(status["certificate"]?["status"])): \(text(status["certificate"]?["detail"]))")
        return lines
    }
}
