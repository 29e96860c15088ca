import AgentCore
import Foundation

/// Runs CLI commands and returns their output (the CLI session, or captured output in tests).
public protocol CLICommandRunner: Sendable {
    func run(_ command: String) async throws -> String
    /// Whether this session already established `fact` (e.g. the platform has structured output).
    func knows(_ fact: String) -> Bool
    func learn(_ fact: String)
}

extension CLICommandRunner {
    public func knows(_ fact: String) -> Bool { false }
    public func learn(_ fact: String) {}
}

extension CLISession: CLICommandRunner {
    public func run(_ command: String) async throws -> String { try await run(command, timeout: nil) }
    public func knows(_ fact: String) -> Bool { facts.contains(fact) }
    public func learn(_ fact: String) { facts.insert(fact) }
}

/// One vendor's CLI: how to read interfaces and VLANs (structured output where the platform has it), how to
/// change them with the fewest commands, and how configuration is entered, committed, saved and undone.
/// Parsing and planning are pure; reading goes through a ``CLICommandRunner``.
public protocol SwitchDialect: Sendable {
    /// The seed's managementVendor.
    var vendor: String { get }
    var conventions: CLIConventions { get }
    /// Shown in snapshots: the running configuration.
    var runningConfigurationCommand: String { get }

    /// Refuses names outside the platform's interface grammar (before anything is sent).
    func validateInterfaceName(_ name: String, field: String) throws
    func readInterface(_ name: String, using cli: any CLICommandRunner) async throws -> SwitchInterface
    func readVLANs(using cli: any CLICommandRunner) async throws -> [SwitchVLAN]
    /// Configuration lines (without entering configuration mode) that turn `current` into `desired`; empty when equal.
    func interfaceCommands(from current: SwitchInterface, to desired: SwitchInterface) -> [String]
    func vlanCommands(from current: SwitchVLAN?, to desired: SwitchVLAN) -> [String]
    /// Enter configuration mode, `lines`, then commit (or confirmed commit) and leave configuration mode.
    func applyScript(_ lines: [String], job: String) -> [String]
    /// After a verified change: confirm the commit and save the configuration.
    var confirmScript: [String] { get }
    /// After a failed command inside configuration mode: discard what was entered and leave.
    var abortScript: [String] { get }
    /// Undo a committed (unconfirmed) change; nil: re-plan the change backwards.
    var rollbackScript: [String]? { get }
}

public enum SwitchDialects {
    /// The dialect for a managementVendor value.
    public static func dialect(for vendor: String) -> (any SwitchDialect)? {
        switch vendor {
        case "juniperSsh": return JunosDialect()
        case "aristaSsh": return AristaEOSDialect()
        case "ciscoNxosSsh": return CiscoNXOSDialect()
        case "dellOs10Ssh": return DellOS10Dialect()
        case "ciscoIosSsh": return CiscoIOSDialect()
        default: return nil
        }
    }

    public static let vendors = ["juniperSsh", "aristaSsh", "ciscoNxosSsh", "dellOs10Ssh", "ciscoIosSsh"]

    static func matches(_ text: String, _ pattern: String) -> Bool {
        text.range(of: pattern, options: .regularExpression) != nil
    }

    /// The JSON in a command's output (devices print it after a blank line or among noise).
    static func json(_ output: String, device: String, command: String) throws -> JSONValue {
        guard let start = output.firstIndex(where: { $0 == "{" || $0 == "[" }), let end = output.lastIndex(where: { $0 == "}" || $0 == "]" }), start <= end else {
            throw SwitchError.unexpectedOutput(device: device, command: command, detail: "no JSON in the output")
        }
        do {
            return try JSONCoding.decoder.decode(JSONValue.self, from: Data(output[start...end].utf8))
        } catch {
            throw SwitchError.unexpectedOutput(device: device, command: command, detail: "malformed JSON: \(error)")
        }
    }
}

extension JSONValue {
    /// Objects that platforms emit as one object or an array of them (NX-OS `ROW_*`, Junos lists).
    var rows: [JSONValue] {
        switch self {
        case .array(let items): return items
        case .null: return []
        default: return [self]
        }
    }

    /// A leaf that may be a string, a number, or wrapped in a one-element array.
    var text: String? {
        switch self {
        case .string(let value): return value
        case .integer(let value): return String(value)
        case .double(let value): return String(value)
        case .bool(let value): return String(value)
        case .array(let items): return items.first?.text
        case .object(let members): return members["data"]?.text
        default: return nil
        }
    }
}
