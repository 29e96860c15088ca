import AgentCore
import ArgumentParser
import ControllerAPI

struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Manage the controller API bearer token.",
        subcommands: [Rotate.self]
    )

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace the API token with a new random one and print it.",
            discussion: "A running agent notices the changed token file and accepts only the new token from then on."
        )

        @OptionGroup var options: ConfigurationOptions

        func run() throws {
            let configuration = try options.load()
            try StateDirectory.prepare(configuration.stateDirectory)
            let token = try AgentIdentity.rotateToken(at: configuration.tokenFilePath)
            print(token)
        }
    }
}
