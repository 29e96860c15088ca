import AgentCore

/// Builds ipmitool's argv for a connection. The password never appears: it travels in the child's
/// environment (`-E`, IPMI_PASSWORD).
public struct IPMICommandLine: Sendable {
    public let connection: IPMIConnection
    public let timeoutSeconds: Double
    public let retries: Int

    public init(connection: IPMIConnection, defaults: IPMIConfiguration) {
        self.connection = connection
        timeoutSeconds = connection.timeoutSeconds ?? defaults.commandTimeoutSeconds
        retries = connection.retries ?? defaults.retries
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
        return max(1, Int(min(bySetUpMessages, byGivingUpFirst)))
    }

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
