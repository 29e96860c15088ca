import AgentCore
import ArgumentParser
import Foundation
import Yams

/// `rackagent config check`: the configuration exactly as `serve` would take it.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check a configuration file before the agent runs on it.",
        subcommands: [Check.self]
    )

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a configuration as serve would (unknown keys, bad values, unreadable files, ports in use); print it with secrets masked.",
            discussion: """
                Reads FILE (or --config, or /etc/rackagent/agent.yaml), then RACKAGENT_* environment variables, exactly as \
                `serve` does, and prints the effective configuration (YAML, or JSON with --json) with secrets masked. \
                Exit 1 and one line per problem when anything would stop `serve`. --no-ports skips the listen-address \
                check (for a file meant for another machine, or while the agent runs).
                """)

        @Argument(help: ArgumentHelp("The configuration file to check.", valueName: "file")) var file: String?
        @Flag(name: .customLong("no-ports"), help: "Do not try the listen addresses.") var skipPorts = false
        @OptionGroup var options: ConfigurationOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            var options = options
            if let file { options.config = file }
            let configuration: AgentConfiguration
            do {
                configuration = try options.load()
            } catch {
                throw CommandFailure(message: "\(error)")
            }
            let problems = ConfigurationPreflight.fileProblems(configuration) + (skipPorts ? [] : ConfigurationPreflight.portProblems(configuration))
            guard problems.isEmpty else {
                throw CommandFailure(message: problems.map(\.description).joined(separator: "\n"))
            }
            var shown = configuration
            shown.controller.url = shown.controller.url.map(Self.maskingCredentials)
            if output.json {
                try Self.printJSON(shown)
            } else {
                let source = options.config ?? ConfigurationLoader.defaultPath
                let origin = FileManager.default.fileExists(atPath: source) ? source : "the built-in defaults (\(source) does not exist)"
                print("# effective configuration of \(origin), environment included (secrets masked)")
                print(try Yams.serialize(node: Self.node(try JSONValue(encoding: shown))), terminator: "")
            }
        }

        /// A URL with its user information and query masked (either can carry a credential).
        static func maskingCredentials(_ url: String) -> String {
            guard var components = URLComponents(string: url) else { return Secret.mask }
            if components.user != nil || components.password != nil {
                components.user = Secret.mask
                components.password = nil
            }
            if components.query != nil { components.query = Secret.mask }
            return components.string ?? Secret.mask
        }

        /// YAML as an operator writes it (10, 0.5, not 1e+1), keys sorted.
        static func node(_ value: JSONValue) -> Node {
            switch value {
            case .null: return Node("null", Tag(.null))
            case .bool(let flag): return Node(flag ? "true" : "false", Tag(.bool))
            case .integer(let number): return Node(String(number), Tag(.int))
            case .double(let number):
                return number == number.rounded() && abs(number) < 1e15 ? Node(String(Int64(number)), Tag(.int)) : Node(String(number), Tag(.float))
            case .string(let text): return Node(text, Tag(.str), .doubleQuoted)
            case .array(let items): return Node(items.map(node))
            case .object(let members): return Node(members.keys.sorted().map { (Node($0), node(members[$0]!)) })
            }
        }
    }
}
