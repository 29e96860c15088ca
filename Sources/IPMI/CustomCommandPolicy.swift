import AgentCore

/// Decides which ipmitool subcommand lines `executeCustomCommand` may run, and splits them into tokens
/// without a shell.
public struct CustomCommandPolicy: Sendable {
    public let allowRaw: Bool

    public init(allowRaw: Bool) {
        self.allowRaw = allowRaw
    }

    /// Command groups that may run, with the subcommands refused inside them (they write or read local files,
    /// or need an interactive terminal).
    static let groups: [String: Set<String>] = [
        "chassis": [], "power": [], "mc": [], "bmc": [], "sel": ["save", "writeraw", "readraw"], "sdr": ["dump", "fill"],
        "sensor": [], "fru": ["read", "write", "upgEkey", "edit", "internaluse"], "lan": ["alert"], "user": [], "channel": [],
        "session": [], "sol": [], "dcmi": [],
    ]

    /// The `sol` subcommands that may run: reading its configuration, never an interactive console.
    static let solAllowed: Set<String> = ["info", "payload"]

    /// Splits a command line the way a shell would split plain words and quoted strings, without expanding anything.
    public static func tokenize(_ line: String) throws -> [String] {
        try Validation.noControlCharacters(line, field: "params")
        var tokens: [String] = []
        var current = ""
        var quote: Character?
        var inToken = false
        for character in line {
            if let open = quote {
                if character == open { quote = nil } else { current.append(character) }
                continue
            }
            switch character {
            case "\"", "'":
                quote = character
                inToken = true
            case " ", "\t":
                if inToken { tokens.append(current) }
                current = ""
                inToken = false
            default:
                current.append(character)
                inToken = true
            }
        }
        guard quote == nil else { throw AgentError.invalidField("params", "unterminated quote") }
        if inToken { tokens.append(current) }
        return tokens
    }

    /// Tokens for an allowed command, or ``IPMIError/commandNotAllowed``.
    public func check(_ line: String) throws -> [String] {
        let tokens = try Self.tokenize(line)
        guard let group = tokens.first?.lowercased() else { throw AgentError.missingField("params") }
        if let option = tokens.first(where: { $0.hasPrefix("-") }) {
            throw IPMIError.commandNotAllowed(command: line, reason: "options such as \(option) are set by the agent, not the command")
        }
        if group == "raw" {
            guard allowRaw else { throw IPMIError.commandNotAllowed(command: line, reason: "raw commands are disabled (ipmi.allowRawCommands)") }
            return tokens
        }
        guard let refused = Self.groups[group] else {
            throw IPMIError.commandNotAllowed(
                command: line, reason: "\(group) is not an allowed command group (\(Self.groups.keys.sorted().joined(separator: ", ")))")
        }
        let subcommand = tokens.count > 1 ? tokens[1] : ""
        if refused.contains(subcommand) {
            throw IPMIError.commandNotAllowed(command: line, reason: "\(group) \(subcommand) is not allowed")
        }
        if group == "sol", !Self.solAllowed.contains(subcommand) {
            throw IPMIError.commandNotAllowed(command: line, reason: "only sol info and sol payload status are allowed")
        }
        return tokens
    }

    /// Whether the tokens carry a secret (a password) that must not reach argv.
    static func carriesSecret(_ tokens: [String]) -> Bool {
        tokens.contains { ["password", "test"].contains($0.lowercased()) }
    }
}
