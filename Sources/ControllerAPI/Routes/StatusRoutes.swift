import AgentCore
import Foundation
import Hummingbird
import Provisioning
import SNMP

/// `GET /v1/status`: one screen for the admin at the rack (`rackagent status`): the agent and its listeners, the
/// controller and the outbox, recent jobs, polled devices, running installations, DHCP and the certificate.
struct StatusRoutes {
    let runtime: AgentRuntime

    func register(on router: Router<AgentRequestContext>) {
        router.get("/v1/status") { _, _ in Envelope.success(try await status(now: Date())) }
    }

    func status(now: Date) async throws -> JSONValue {
        let configuration = runtime.configuration
        let backlog = try await runtime.outbox.backlog(now: now)
        let running = try await runtime.jobs.jobs(state: .running, limit: 1000)
        let failed = try await runtime.jobs.jobs(state: .failed, limit: 1000).filter { ($0.finishedAt ?? $0.createdAt) > now.addingTimeInterval(-3600) }
        let devices = try await runtime.networkDevices.store.all()
        let installations = try await runtime.installations.store.all(state: .running)
        let entries = try await runtime.dhcp.store.all()
        let certificate = AgentDoctor(configuration: configuration).certificateCheck()
        return [
            "agent": [
                "version": .string(AgentVersion.current), "startedAt": .string(UTCTime.iso8601(runtime.startedAt)),
                "uptimeSeconds": .integer(Int64(now.timeIntervalSince(runtime.startedAt))),
            ],
            "listeners": [
                "api": .string(Self.bound(configuration.api.listen, runtime.apiPort)),
                "boot": .string(Self.bound(configuration.boot.listen, runtime.bootPort)),
                "console": .string(Self.bound(configuration.console.listen, runtime.consolePort)),
            ],
            "controller": [
                "url": configuration.controller.url.map(JSONValue.string) ?? .null,
                "outbox": ["pending": .integer(Int64(backlog.pending)), "oldestAgeSeconds": .integer(Int64(backlog.oldestAgeSeconds))],
            ],
            "jobs": [
                "running": .integer(Int64(running.count)), "failedLastHour": .integer(Int64(failed.count)),
                "lastFailure": failed.first.map { job in
                    ["jobId": .string(job.jobId), "kind": .string(job.kind), "target": .string(job.target),
                     "error": .string(job.error?.message ?? "")]
                } ?? .null,
            ],
            "devices": [
                "total": .integer(Int64(devices.count)),
                "reachable": .integer(Int64(devices.filter { $0.reachable == true }.count)),
                "failing": .array(devices.filter { $0.reachable == false }.map { stored in
                    [
                        "id": .string(stored.device.id), "name": .string(stored.device.name), "host": .string(stored.device.snmpHost),
                        "lastError": stored.statusCache?["content"]?["success"] == 0 ? stored.statusCache?["content"]?["result"] ?? .null : .null,
                    ]
                }),
            ],
            "installations": .array(installations.map { record in
                ["serverId": .string(record.serverId), "kind": .string(record.kind.rawValue), "step": .string(record.step.name)]
            }),
            "dhcp": ["backend": .string(configuration.dhcp.backend.rawValue), "entries": .integer(Int64(entries.count))],
            "certificate": ["status": .string(certificate.status.rawValue), "detail": .string(certificate.detail)],
        ]
    }

    /// `host:port` with the port the listener bound (the configured one may be 0), or the configured text before it listens.
    static func bound(_ listen: String, _ port: BoundPort) -> String {
        guard let bound = port.port, let address = try? ListenAddress(parsing: listen, key: "listen") else { return listen }
        return address.host.contains(":") ? "[\(address.host)]:\(bound)" : "\(address.host):\(bound)"
    }
}
