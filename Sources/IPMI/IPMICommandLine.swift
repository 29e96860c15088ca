import AgentCore

/// Builds ipmitool's argv for a connection. The password never appears: it travels in the child's
/// environment (`-E`, IPMI_PASSWORD).
public struct IPMICommandLine: Sendable {
    public let connection: IPMIConnection
    public let timeoutSeconds: Double
    public let retries: Int

    /// The least `-N` this line uses (1 for single commands; see `serialConsole`).
    let minimumPerAttemptSeconds: Int

    public init(connection: IPMIConnection, defaults: IPMIConfiguration) {
        self.connection = connection
        timeoutSeconds = connection.timeoutSeconds ?? defaults.commandTimeoutSeconds
        retries = connection.retries ?? defaults.retries
        minimumPerAttemptSeconds = 1
    }

    private init(connection: IPMIConnection, timeoutSeconds: Double, retries: Int, minimumPerAttemptSeconds: Int) {
        self.connection = connection
        self.timeoutSeconds = timeoutSeconds
        self.retries = retries
        self.minimumPerAttemptSeconds = minimumPerAttemptSeconds
    }

    /// The line for `sol activate`: at least `-N 3 -R 2`. ipmitool ends a SOL session when a packet of typed characters
    /// goes unacknowledged through its attempts, and a console must ride out a BMC (or an ipmitool on a loaded machine)
    /// that stalls for a few seconds. Measured against ipmi_sim stopped while a viewer types, ipmitool rides out about
    /// N × R seconds: `-N 2 -R 1` (a single command's line with the default 20 s timeout) ended the console at a 2.5 s
    /// stall, `-N 2 -R 2` at 5 s, `-N 3 -R 2` rode out 5 s. A BMC that never answers is still reported at activation,
    /// in ipmitool's words, within `giveUpSeconds` (18 s).
    public static func serialConsole(connection: IPMIConnection, defaults: IPMIConfiguration) -> IPMICommandLine {
        let single = IPMICommandLine(connection: connection, defaults: defaults)
        return IPMICommandLine(connection: connection, timeoutSeconds: single.timeoutSeconds, retries: max(single.retries, 2), minimumPerAttemptSeconds: 3)
    }

    /// ipmitool's `-R`: it reads 0 as "its default" (which took 20 s against a dead BMC), so at least 1.
    public var ipmitoolRetries: Int { max(1, retries) }

    /// Seconds ipmitool waits per attempt (`-N`). Against a BMC that never answers, ipmitool 1.8.19 gives up after
    /// about N × R × (R + 1) seconds (measured: -N 1 took 2, 6, 12, 20, 30 s for -R 1 ... 5). N is chosen so that
    /// this ends before the agent's own timeout kills the process: a BMC that never answered the session set-up is
    /// then reported unreachable (it never got the command, so a fallback may act), not timed out (it might have).
    public var perAttemptSeconds: Int {
        let attempts = Double(ipmitoolRetries)
        let bySetUpMessages = timeoutSeconds / ((attempts + 1) * 4)
        let byGivingUpFirst = timeoutSeconds * 0.75 / (attempts * (attempts + 1))
        return max(minimumPerAttemptSeconds, Int(min(bySetUpMessages, byGivingUpFirst)))
    }

    /// About how long ipmitool takes to give up on a BMC that never answers (N × R × (R + 1), measured above).
    public var giveUpSeconds: Int { perAttemptSeconds * ipmitoolRetries * (ipmitoolRetries + 1) }

    /// The connection options, then `command`.
    public func arguments(_ command: [String], verbose: Bool = false) -> [String] {
        var arguments = [
            "-I", connection.interface.rawValue, "-H", connection.host, "-p", String(connection.port),
            "-U", connection.username, "-E", "-L", connection.privilege.rawValue,
            "-N", String(perAttemptSeconds), "-R", String(ipmitoolRetries),
        ]
        if connection.interface == .lanplus { arguments += ["-C", String(connection.cipherSuite)] }
        if verbose { arguments.append("-v") }
        return arguments + command
    }

    /// The environment carrying the password.
    public var environment: [String: String] { ["IPMI_PASSWORD": connection.password.revealed] }
}

/// A line for an ipmitool `exec` file: tokens quoted so ipmitool's own parser splits them back exactly.
/// Used for commands that carry a secret (a new user password), which must stay off the command line.
enum ExecFileLine {
    static func render(_ tokens: [String]) throws -> String {
        try tokens.map { token in
            guard !token.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw AgentError.invalidField("params", "control characters are not allowed")
            }
            guard !token.contains("\"") else { throw AgentError.invalidField("params", "double quotes are not allowed") }
            return token.isEmpty || token.contains(" ") || token.contains("'") || token.contains("#") ? "\"\(token)\"" : token
        }.joined(separator: " ")
    }
}
