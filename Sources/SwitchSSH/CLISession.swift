import AgentCore
import Foundation

/// How a vendor CLI looks on the wire: what its prompt is, how it pages, how it says no.
public struct CLIConventions: Sendable {
    /// Matches the last line of the output when the device waits for input (anchored, whole line).
    public var promptPattern: String
    /// Lines that mean the command was refused.
    public var errorPatterns: [String]
    /// Unsolicited lines a device may print at any time (syslog), removed from command output.
    public var noisePatterns: [String]
    /// Pager prompts, answered with a space when paging could not be switched off.
    public var pagerPattern: String
    /// Run once after login (paging off, width).
    public var setupCommands: [String]
    /// Sent when the prompt ends in `>` on platforms with an enable mode.
    public var enableCommand: String?

    public init(promptPattern: String, errorPatterns: [String], noisePatterns: [String] = [], pagerPattern: String = #"(--More--|<--- More --->|-- More --)\s*$"#,
                setupCommands: [String], enableCommand: String? = nil) {
        self.promptPattern = promptPattern
        self.errorPatterns = errorPatterns
        self.noisePatterns = noisePatterns
        self.pagerPattern = pagerPattern
        self.setupCommands = setupCommands
        self.enableCommand = enableCommand
    }
}

/// One line of a session's transcript (redacted before it is stored).
public struct TranscriptLine: Sendable, Codable, Equatable {
    public var sent: String
    public var received: String
}

/// A vendor CLI on an interactive shell: strict prompt detection, echo and noise stripped, refusals turned into
/// typed errors naming the command. One command at a time.
public final class CLISession: @unchecked Sendable {
    public let device: String
    let shell: SSHShellChannel
    let conventions: CLIConventions
    let prompt: NSRegularExpression
    let errors: [NSRegularExpression]
    let noise: [NSRegularExpression]
    let pager: NSRegularExpression
    public private(set) var lastPrompt = ""
    public private(set) var transcript: [TranscriptLine] = []
    /// What this session established once (``CLICommandRunner/learn(_:)``).
    var facts: Set<String> = []
    var commandTimeout: Duration

    static let escapeSequences = try! NSRegularExpression(pattern: "\u{1B}(\\[[0-9;?]*[A-Za-z]|\\][^\u{07}]*\u{07}|[()][A-Z0-9]|[=>])")

    public init(device: String, shell: SSHShellChannel, conventions: CLIConventions, commandTimeout: Duration) throws {
        self.device = device
        self.shell = shell
        self.conventions = conventions
        prompt = try NSRegularExpression(pattern: conventions.promptPattern)
        errors = try conventions.errorPatterns.map { try NSRegularExpression(pattern: $0, options: [.anchorsMatchLines, .caseInsensitive]) }
        noise = try conventions.noisePatterns.map { try NSRegularExpression(pattern: $0, options: [.anchorsMatchLines]) }
        pager = try NSRegularExpression(pattern: conventions.pagerPattern)
        self.commandTimeout = commandTimeout
    }

    /// Reads the banner up to the first prompt, enters enable mode when needed, runs the setup commands.
    public func start() async throws {
        let deadline = ContinuousClock.now + commandTimeout
        let banner = try await shell.read(until: { self.endsWithPrompt(Self.clean($0)) }, deadline: deadline, phase: "login prompt")
        lastPrompt = Self.lastLine(Self.clean(banner))
        transcript.append(TranscriptLine(sent: "", received: Self.clean(banner)))
        if let enable = conventions.enableCommand, lastPrompt.hasSuffix(">") {
            _ = try await run(enable)
        }
        // Paging and width settings differ between releases; one a release refuses is not worth failing the session.
        for command in conventions.setupCommands {
            do {
                _ = try await run(command)
            } catch SwitchError.commandRejected {
                continue
            }
        }
    }

    /// Sends `command` and returns its output without echo, prompt and noise. A refusal throws `commandRejected`.
    @discardableResult
    public func run(_ command: String, timeout: Duration? = nil) async throws -> String {
        let deadline = ContinuousClock.now + (timeout ?? commandTimeout)
        try await shell.write(command + "\r", deadline: deadline)
        var raw = ""
        while true {
            raw += try await shell.read(until: { text in
                let combined = Self.clean(raw + text)
                return self.endsWithPrompt(combined) || self.pager.firstMatch(in: combined, range: NSRange(combined.startIndex..., in: combined)) != nil
            }, deadline: deadline, phase: "`\(command.prefix(60))`")
            let cleaned = Self.clean(raw)
            if !endsWithPrompt(cleaned), pager.firstMatch(in: cleaned, range: NSRange(cleaned.startIndex..., in: cleaned)) != nil {
                raw = pager.stringByReplacingMatches(in: cleaned, range: NSRange(cleaned.startIndex..., in: cleaned), withTemplate: "")
                try await shell.write(" ", deadline: deadline)
                continue
            }
            break
        }
        let cleaned = Self.clean(raw)
        lastPrompt = Self.lastLine(cleaned)
        var lines = cleaned.components(separatedBy: "\n")
        lines.removeLast()
        if let first = lines.first, first.trimmingCharacters(in: .whitespaces).hasSuffix(command.trimmingCharacters(in: .whitespaces)) {
            lines.removeFirst()
        }
        lines = lines.filter { line in !noise.contains { $0.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)) != nil } }
        let output = lines.joined(separator: "\n")
        transcript.append(TranscriptLine(sent: command, received: output))
        for line in lines {
            for pattern in errors where pattern.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)) != nil {
                throw SwitchError.commandRejected(device: device, command: command, message: line.trimmingCharacters(in: .whitespaces))
            }
        }
        return output
    }

    func endsWithPrompt(_ text: String) -> Bool {
        let last = Self.lastLine(text)
        return prompt.firstMatch(in: last, range: NSRange(last.startIndex..., in: last)) != nil
    }

    /// Terminal escapes and carriage returns removed, backspaces applied. Works on scalars: `\r\n` is one
    /// Character in Swift and would hide the line break.
    package static func clean(_ text: String) -> String {
        let stripped = escapeSequences.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: "")
        var result = String.UnicodeScalarView()
        for scalar in stripped.unicodeScalars where scalar != "\r" {
            if scalar == "\u{08}" {
                if let last = result.last, last != "\n" { result.removeLast() }
            } else {
                result.append(scalar)
            }
        }
        return String(result)
    }

    package static func lastLine(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let newline = scalars.lastIndex(of: "\n") else { return text }
        return String(scalars[scalars.index(after: newline)...])
    }
}
