import Foundation
import Logging
import Synchronization

/// Log output in the two formats the agent offers: human lines on a terminal, JSON lines otherwise.
/// Metadata whose key names a secret is masked before it is written.
public enum AgentLogging {
    private static let bootstrapped = Mutex(false)

    /// Installs the agent's log handler for the whole process (once; later calls are ignored).
    public static func bootstrap(format: LogFormat, level: LogLevelName) {
        let resolved: LogFormat = format == .auto ? (isatty(STDERR_FILENO) == 1 ? .human : .json) : format
        let first = bootstrapped.withLock { done -> Bool in
            defer { done = true }
            return !done
        }
        guard first else { return }
        let logLevel = Logger.Level(rawValue: level.rawValue) ?? .info
        // Under systemd, standard error is a journal stream: each line starts with its syslog priority, `<3>` for an
        // error, which journald takes as the entry's PRIORITY and strips.
        let journal = isJournalStream(ProcessInfo.processInfo.environment["JOURNAL_STREAM"])
        LoggingSystem.bootstrap({ label, provider in
            var handler = AgentLogHandler(label: label, format: resolved == .json ? .json : .human, journalPriorities: journal)
            handler.logLevel = logLevel
            handler.metadataProvider = provider
            return handler
        }, metadataProvider: LogContext.metadataProvider)
    }
}

extension AgentLogging {
    /// systemd's rule: standard error is the journal when `JOURNAL_STREAM` ("device:inode") names the very file it is
    /// (a child whose standard error was redirected inherits the variable, not the stream).
    static func isJournalStream(_ variable: String?) -> Bool {
        guard let parts = variable?.split(separator: ":"), parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else {
            return false
        }
        var status = stat()
        guard fstat(STDERR_FILENO, &status) == 0 else { return false }
        return UInt64(status.st_dev) == device && UInt64(status.st_ino) == inode
    }
}

/// Writes one line per message to standard error.
public struct AgentLogHandler: LogHandler {
    public enum Format: Sendable { case human, json }

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    /// The task's ``LogContext``; the handler's and the call's own metadata win over it.
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let format: Format
    /// Prefix each line with its syslog priority (`<3>`), for journald.
    let journalPriorities: Bool
    private static let output = Mutex(())

    public init(label: String, format: Format, journalPriorities: Bool = false) {
        self.label = label
        self.format = format
        self.journalPriorities = journalPriorities
    }

    /// The syslog priority journald files a line under.
    static func syslogPriority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let line = render(level: event.level, message: event.message, metadata: event.metadata, time: Date())
        Self.output.withLock { _ in
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    /// One line as it is written: human or JSON, secrets masked, with the journal priority prefix when asked.
    public func render(level: Logger.Level, message: Logger.Message, metadata extra: Logger.Metadata?, time: Date) -> String {
        var merged = metadataProvider?.get() ?? [:]
        merged.merge(metadata) { _, own in own }
        if let extra { merged.merge(extra) { _, new in new } }
        let redactor = Redactor()
        var fields: [(String, String)] = merged.sorted { $0.key < $1.key }.map { key, value in
            (key, Self.isSecretKey(key) ? Secret.mask : redactor.redact("\(value)"))
        }
        let text = redactor.redact(message.description)
        let timestamp = Self.timestamp(time)
        let prefix = journalPriorities ? "<\(Self.syslogPriority(level))>" : ""
        switch format {
        case .human:
            let rendered = fields.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
            return "\(prefix)\(timestamp) \(level.rawValue.uppercased()) \(label): \(text)\(rendered.isEmpty ? "" : " " + rendered)"
        case .json:
            fields.insert(contentsOf: [("time", timestamp), ("level", level.rawValue), ("label", label), ("message", text)], at: 0)
            var object: [String: JSONValue] = [:]
            for (key, value) in fields where object[key] == nil { object[key] = .string(value) }
            return prefix + JSONValue.object(object).jsonText
        }
    }

    static func isSecretKey(_ key: String) -> Bool {
        let lowered = key.lowercased()
        return ["password", "token", "community", "secret", "apikey"].contains { lowered.contains($0) }
    }

    static func timestamp(_ date: Date) -> String { UTCTime.iso8601(date) }
}
