import AgentCore
import Foundation

/// A server's traffic over every port assigned to it, on every device: the seed's `trafficStatistics` and
/// `lastBwrate` of a server, and the assignment periods they were computed from.
public struct ServerTraffic: Sendable {
    public var serverId: Int64
    /// The seed's trafficStatistics (volumes in GB, 95th percentiles in Mbit/s over 30 days).
    public var trafficStatistics: JSONValue
    /// The seed's lastBwrate (Mbit/s), summed over the ports the server holds now.
    public var lastBwrate: JSONValue
    public var periods: [AssignmentPeriod]

    /// GET /v1/servers/{serverId}/traffic (and `rackagent traffic --json`): the seed's summary and the periods it
    /// was computed from.
    public var apiRepresentation: JSONValue {
        [
            "serverId": .integer(serverId), "trafficStatistics": trafficStatistics, "lastBwrate": lastBwrate,
            "units": ["trafficStatistics": "GB (10^9 bytes, in+out); 95th in Mbit/s over the sum of the server's ports per 5 minutes", "lastBwrate": "Mbit/s"],
            "ports": .array(periods.map { period in
                [
                    "deviceId": .string(period.deviceId), "portId": .integer(Int64(period.portId)),
                    "connectionId": period.connectionId.map(JSONValue.integer) ?? .null,
                    "assignedAt": .string(BandwidthStatistics.timestamp(Int64(period.assignedAt.timeIntervalSince1970))),
                    "unassignedAt": period.unassignedAt.map { .string(BandwidthStatistics.timestamp(Int64($0.timeIntervalSince1970))) } ?? .null,
                ]
            }),
        ]
    }
}

extension NetworkDeviceService {
    /// The ports' assignments and their history.
    public var assignments: PortAssignmentStore { bandwidth.assignments }

    /// See ``BandwidthStore/serverTraffic(_:now:)``.
    public func serverTraffic(_ serverId: Int64, now: Date = Date()) async throws -> ServerTraffic {
        try await bandwidth.serverTraffic(serverId, now: now)
    }
}

extension BandwidthStore {
    /// How old a port's last sample may be to count as its rate now (lastBwrate of a port or a server): an older one is
    /// a port no longer polled, reported as 0.00 like a port without samples.
    public static let freshSampleSeconds: TimeInterval = 900

    /// The ports' assignments and their history, in the same database.
    public var assignments: PortAssignmentStore { PortAssignmentStore(database: database) }

    /// The server's traffic as of `now`: each port counts only for the 5-minute buckets it was assigned to the server
    /// (see ``AssignmentPeriod/owns(bucket:bucketSeconds:)``), summed per bucket before the 95th percentile is taken.
    public func serverTraffic(_ serverId: Int64, now: Date = Date()) async throws -> ServerTraffic {
        let periods = try await assignments.periods(serverId: serverId)
        let windowStart = now.addingTimeInterval(-30 * 86_400)
        var owned: [(period: AssignmentPeriod, rollups: [BandwidthStore.Rollup])] = []
        for period in periods where (period.unassignedAt ?? now) > windowStart {
            let rollups = try await rollups(
                deviceId: period.deviceId, ports: [period.portId], from: max(windowStart, period.assignedAt.addingTimeInterval(-Double(BandwidthStore.bucketSeconds))),
                to: now)
            owned.append((period, rollups))
        }
        var held: [PollOutcome.Sample] = []
        var counted: Set<String> = []
        // Only a port's sample taken while the server held it, and at most 15 minutes old: an older one is the previous
        // holder's traffic or a port that stopped being polled, not the server's rate now (reported as 0.00 like a port
        // without samples, the seed's form).
        for period in periods where period.unassignedAt == nil && counted.insert("\(period.deviceId)/\(period.portId)").inserted {
            if let sample = try await lastSamples(deviceId: period.deviceId, ports: [period.portId])[period.portId], sample.startedAt >= period.assignedAt,
                now.timeIntervalSince(sample.endedAt) <= Self.freshSampleSeconds
            {
                held.append(sample)
            }
        }
        return ServerTraffic(
            serverId: serverId, trafficStatistics: BandwidthStatistics.trafficStatistics(BandwidthStatistics.serverRollups(owned), now: now),
            lastBwrate: BandwidthStatistics.lastRate(held), periods: periods)
    }
}
