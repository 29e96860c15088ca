import AgentCore
import ArgumentParser

@main
struct RackAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rackagent",
        abstract: "Bare-metal datacenter agent: IPMI, SNMP, switch SSH, DHCP/PXE and provider APIs for a controller.",
        discussion: """
            `rackagent serve` runs the daemon. The other subcommands use the same modules directly, without the \
            daemon, for diagnostics; each prints human-readable text, or JSON with --json, and exits non-zero on failure.
            """,
        version: AgentVersion.current,
        subcommands: [
            ServeCommand.self, StatusCommand.self, ConfigCommand.self, InfoCommand.self, DoctorCommand.self, TokenCommand.self, IPMICommand.self, RedfishCommand.self, SNMPCommand.self, SwitchCommand.self,
            PDUCommand.self, TrafficCommand.self, ProviderCommand.self, DHCPCommand.self, PXECommand.self, ConsoleCommand.self,
        ]
    )
}
