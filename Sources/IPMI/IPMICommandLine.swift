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

    /// Seconds ipmitool waits per attempt (`-N`): small enough that all attempts of a session set-up
    /// (several messages each) end before the agent's own timeout kills the process.
    public var perAttemptSeconds: Int {
        max(1, Int(timeoutSeconds / Double((retries + 1) * 4)))
    }

    /// The connection options, then `command`.
    public func arguments(_ command: [String], verbose: Bool = false) -> [String] {
        var arguments = [
            "-I", connection.interface.rawValue, "-H", connection.host, "-p", String(connection.port),
            "-U", connection.username, "-E", "-L", connection.privilege.rawValue,
            "-N", String(perAttemptSeconds), "-R", String(retries),
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
