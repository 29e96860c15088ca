import AgentCore
import ArgumentParser
import ControllerAPI

struct InfoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show the agent version, the linked C libraries and the external tools it found."
    )

    @OptionGroup var output: OutputOptions

    struct Report: Encodable {
        let version: String
        let libraries: [String: String]
        let tools: [ToolDescription]
    }

    func run() async throws {
        let report = Report(
            version: AgentVersion.current, libraries: AgentRuntime.linkedLibraries, tools: await ToolInventory().discover())
        if output.json {
            try Self.printJSON(report)
            return
        }
        print("rackagent \(report.version)")
        print("linked libraries:")
        for (name, version) in report.libraries.sorted(by: { $0.key < $1.key }) {
            print("  \(name.padding(toLength: 10, withPad: " ", startingAt: 0)) \(version)")
        }
        print("tools:")
        for tool in report.tools {
            let state = tool.path.map { "\(tool.version ?? "version unknown")  \($0)" } ?? "not found"
            print("  \(tool.name.padding(toLength: 10, withPad: " ", startingAt: 0)) \(state)")
        }
    }
}
