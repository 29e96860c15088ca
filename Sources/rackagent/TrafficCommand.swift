import AgentCore
import ArgumentParser
import ControllerAPI
import Foundation
import Logging
import SNMP

/// A server's traffic from the agent's stored bandwidth data, as GET /v1/servers/{serverId}/traffic answers it.
struct TrafficCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "traffic",
        abstract: "A server's traffic over every port assigned to it (the seed's trafficStatistics and lastBwrate).",
        discussion: """
            Reads the agent's state (beside a running daemon). Volumes are GB (10^9 bytes, in + out); the 95th \
            percentiles (Mbit/s over 30 days) are taken over the sum of the server's ports per 5 minutes. Ports are \
            assigned with PUT /v1/network-devices/{id}/ports/{portId}/assignments.
            """)

    @Argument(help: "The controller's server id (the relId of the ports' server assignments).") var serverId: Int64
    @OptionGroup var options: ConfigurationOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        guard serverId > 0 else { throw ValidationError("the server id must be a positive integer") }
        let configuration = try options.load()
        guard FileManager.default.fileExists(atPath: configuration.databasePath) else {
            throw CommandFailure(message: "no agent state at \(configuration.stateDirectory) (use --state-dir)")
        }
        let database = try AgentDatabase(path: configuration.databasePath, migrations: AgentRuntime.migrations)
        let outbox = Outbox(database: database, maximumEvents: configuration.controller.maxOutboxEvents, logger: Logger(label: "rackagent.cli"))
        let traffic = try await BandwidthStore(database: database, outbox: outbox).serverTraffic(serverId)
        if output.json {
            try Self.printJSON(traffic.apiRepresentation)
            return
        }
        let statistics = traffic.trafficStatistics
        print("server \(serverId)")
        for key in ["1d", "7d", "14d", "30d"] { print("  \(key.padding(toLength: 15, withPad: " ", startingAt: 0)) \(statistics[key]?.stringValue ?? "?") GB") }
        for key in ["95th_in_30d", "95th_out_30d", "95th_total_30d"] {
            print("  \(key.padding(toLength: 15, withPad: " ", startingAt: 0)) \(statistics[key]?.stringValue ?? "?") Mbit/s")
        }
        print("  last rate       in \(traffic.lastBwrate["in"]?.stringValue ?? "?") / out \(traffic.lastBwrate["out"]?.stringValue ?? "?") Mbit/s")
        for period in traffic.periods {
            let until = period.unassignedAt.map { "until \(UTCTime.iso8601($0))" } ?? "now"
            print("  device \(period.deviceId) port \(period.portId): from \(UTCTime.iso8601(period.assignedAt)) \(until)")
        }
    }
}
