import AgentCore
import ArgumentParser
import Foundation

/// Where the configuration comes from; shared by every subcommand that needs it.
struct ConfigurationOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("YAML configuration file; a missing file at the default path means built-in defaults.", valueName: "file"))
    var config: String?

    @Option(name: .customLong("state-dir"), help: ArgumentHelp("State directory (database, token, certificates); overrides stateDirectory.", valueName: "dir"))
    var stateDirectory: String?

    @Option(name: .customLong("log-format"), help: "Log format: auto, human or json.")
    var logFormat: LogFormat?

    /// File, then RACKAGENT_* environment, then these flags.
    func load() throws -> AgentConfiguration {
        var configuration = try ConfigurationLoader().load(path: config ?? ConfigurationLoader.defaultPath, required: config != nil)
        if let stateDirectory { configuration.stateDirectory = stateDirectory }
        if let logFormat { configuration.logFormat = logFormat }
        configuration.resolvePaths()
        try configuration.validate()
        return configuration
    }
}

extension LogFormat: ExpressibleByArgument {}

/// Human text or JSON on stdout.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print JSON instead of human-readable text.")
    var json = false

    /// Prints what `work` returns as JSON or via `human`, turning agent errors into a message (or a JSON
    /// `{"error", "message"}`) and exit status 1.
    @discardableResult
    func report<Value: Encodable>(_ work: () async throws -> Value, human: (Value) -> String) async throws -> Value {
        do {
            let value = try await work()
            if json { try RackAgentCommand.printJSON(value) } else { print(human(value)) }
            return value
        } catch {
            let agentError = AgentError.from(error)
            if json {
                try RackAgentCommand.printJSON(["error": agentError.code, "message": agentError.message])
            } else {
                FileHandle.standardError.write(Data("error (\(agentError.code)): \(agentError.message)\n".utf8))
            }
            throw ExitCode(1)
        }
    }
}

/// Fails the command with a message on stderr and the given exit code.
struct CommandFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// Runs `body`; an error becomes its envelope message on stderr and exit status 1 (argument errors keep their own).
func exitingOnFailure<Value>(_ body: () async throws -> Value) async throws -> Value {
    do {
        return try await body()
    } catch let failure as CommandFailure {
        throw failure
    } catch let unreachable as AgentUnreachable {
        throw CommandFailure(message: unreachable.message)
    } catch {
        FileHandle.standardError.write(Data("\(AgentError.from(error).message)\n".utf8))
        throw ExitCode(1)
    }
}

extension ParsableCommand {
    /// Prints `value` as pretty JSON.
    static func printJSON(_ value: some Encodable) throws {
        let data = try JSONCoding.prettyEncoder.encode(value)
        print(String(decoding: data, as: UTF8.self))
    }
}
