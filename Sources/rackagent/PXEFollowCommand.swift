import AgentCore
import ArgumentParser
import Foundation
import Provisioning

extension PXECommand {
    /// `rackagent pxe follow SERVER`: an installation step by step, from the running agent's API, until it ends.
    struct Follow: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Follow an installation step by step until it completes, fails or is cancelled.",
            discussion: """
                Asks the running agent (GET /v1/installations/{serverId}) every --interval seconds. Each step the \
                installation reports is a line on stdout; on a terminal a live line on stderr shows the current step, the \
                time since it started and the time left to its deadline. With --json: one JSON object per reported step, \
                then the final status (the last one read when it stops early). An agent that stops answering after the \
                first look (a restart) is asked again until the limit. Exit status: 0 completed, 1 failed or cancelled \
                (or the agent refused), 2 when the limit passed first.
                """)

        @Argument(help: "The server id of the installation.") var serverId: String
        @Option(help: ArgumentHelp("Seconds between two looks.", valueName: "seconds")) var interval = 1.0
        @Option(help: ArgumentHelp("Give up after this many seconds (default: the installation's deadline plus a minute).", valueName: "seconds"))
        var timeout: Double?
        @Option(name: .customLong("api-url"), help: ArgumentHelp("The agent's API (default: from api.listen).", valueName: "https://host:port"))
        var apiURL: String?
        @OptionGroup var options: ConfigurationOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard !serverId.isEmpty, serverId.count <= 64, serverId.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
                throw ValidationError("the server id is letters, digits, '-', '_' or '.' (at most 64)")
            }
            guard interval >= 0.1, interval <= 60 else { throw ValidationError("--interval is between 0.1 and 60 seconds") }
            if let timeout, timeout <= 0 { throw ValidationError("--timeout is a positive number of seconds") }
        }

        func run() async throws {
            let api = LocalAgentAPI(configuration: try options.load(), apiURL: apiURL)
            let display = ProgressDisplay(json: output.json)
            let started = ContinuousClock.now
            var limit = timeout.map { started + .milliseconds(Int64($0 * 1000)) }
            var shown = 0
            var last: JSONValue = .null
            while true {
                let status: JSONValue
                do {
                    status = try await api.call(.GET, "/v1/installations/\(serverId)")
                } catch is AgentUnreachable where limit.map({ ContinuousClock.now < $0 }) ?? false {
                    // The agent restarts (an upgrade, a crash) while the installation goes on: keep looking until the limit.
                    display.update(line: "server \(serverId) · the agent does not answer; trying again", startedAt: started)
                    try await Task.sleep(for: .milliseconds(Int64(max(interval, 2) * 1000)))
                    continue
                } catch {
                    status = try await exitingOnFailure { throw error }
                }
                last = status
                let entries: [JSONValue]
                if case .array(let reported)? = status["installProgress"] { entries = reported } else { entries = [] }
                for entry in entries.dropFirst(shown) {
                    display.abandon()
                    print(output.json ? entry.jsonText : Self.line(entry))
                    fflush(nil)
                }
                shown = max(shown, entries.count)
                let state = status["state"]?.stringValue ?? "?"
                if state != InstallationState.running.rawValue {
                    display.abandon()
                    print(output.json ? status.jsonText : Self.outcome(status, serverId: serverId))
                    if state == InstallationState.completed.rawValue { return }
                    throw ExitCode(1)
                }
                let deadline = status["deadline"]?.stringValue.flatMap(Self.date)
                if limit == nil, let deadline {
                    limit = .now + .seconds(max(0, deadline.timeIntervalSinceNow) + 60)
                }
                if let limit, ContinuousClock.now >= limit {
                    display.abandon()
                    if output.json { print(last.jsonText) }
                    FileHandle.standardError.write(Data(
                        "stopped following server \(serverId) after \(ProgressMeter.seconds(.now - started)); the installation is still running\n".utf8))
                    throw ExitCode(2)
                }
                display.update(line: Self.current(status, serverId: serverId, following: .now - started, deadline: deadline), startedAt: started)
                try await Task.sleep(for: .milliseconds(Int64(interval * 1000)))
            }
        }

        /// `09:12:27  step 6 bootScriptFetched: the machine fetched its boot script`
        static func line(_ entry: JSONValue) -> String {
            let time = entry["at"]?.stringValue.map { String($0.dropFirst(11).prefix(8)) } ?? "--:--:--"
            return "\(time)  step \(entry["step"]?.jsonText ?? "?") \(entry["name"]?.stringValue ?? "?"): \(entry["message"]?.stringValue ?? "")"
        }

        /// The live line: `server 12 · step 5/11 waitingForBoot · following 2:03 · deadline in 57:57`.
        static func current(_ status: JSONValue, serverId: String, following: Duration, deadline: Date?) -> String {
            var parts = [
                "server \(serverId)",
                "step \(status["step"]?.jsonText ?? "?")/\(InstallationStep.allCases.count) \(status["stepName"]?.stringValue ?? "?")",
                "following \(ProgressMeter.clock(following))",
            ]
            if let deadline { parts.append("deadline in \(ProgressMeter.clock(.seconds(max(0, deadline.timeIntervalSinceNow))))") }
            return parts.joined(separator: " · ")
        }

        /// The last line: how it ended.
        static func outcome(_ status: JSONValue, serverId: String) -> String {
            let state = status["state"]?.stringValue ?? "?"
            let step = "step \(status["step"]?.jsonText ?? "?") \(status["stepName"]?.stringValue ?? "?")"
            let took = zip(status["createdAt"]?.stringValue.flatMap(date), status["finishedAt"]?.stringValue.flatMap(date)).map { created, finished in
                " in \(ProgressMeter.clock(.seconds(max(0, finished.timeIntervalSince(created)))))"
            }
            switch state {
            case InstallationState.completed.rawValue: return "server \(serverId): \(status["kind"]?.stringValue ?? "installation") completed\(took ?? "")"
            case InstallationState.failed.rawValue: return "server \(serverId): failed at \(step): \(status["error"]?.stringValue ?? "no reason given")"
            default: return "server \(serverId): \(state) at \(step)\(status["error"]?.stringValue.map { ": \($0)" } ?? "")"
            }
        }

        static func date(_ text: String) -> Date? {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            return formatter.date(from: text)
        }
    }
}

private func zip<A, B>(_ first: A?, _ second: B?) -> (A, B)? {
    guard let first, let second else { return nil }
    return (first, second)
}
