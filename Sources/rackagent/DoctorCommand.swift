import AgentCore
import ArgumentParser
import ControllerAPI

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the configuration, tools, state directory, certificate and controller; exit 1 if any check fails.",
        discussion: "Each check prints one line: ok, warn or fail, its name and what was found."
    )

    @OptionGroup var options: ConfigurationOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        var checks: [DoctorCheck] = []
        let configuration: AgentConfiguration
        do {
            configuration = try options.load()
            checks.append(DoctorCheck(name: "configuration", status: .ok, detail: options.config ?? ConfigurationLoader.defaultPath))
        } catch {
            checks.append(DoctorCheck(name: "configuration", status: .fail, detail: "\(error)"))
            configuration = AgentConfiguration()
        }
        checks += await AgentDoctor(configuration: configuration).run()
        if output.json {
            try Self.printJSON(checks)
        } else {
            for check in checks {
                print("\(check.status.rawValue.padding(toLength: 5, withPad: " ", startingAt: 0)) \(check.name): \(check.detail)")
            }
        }
        if checks.contains(where: { $0.status == .fail }) { throw ExitCode(1) }
    }
}
