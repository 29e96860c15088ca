import AgentCore
import Foundation
import Logging
import Metrics
import ServiceLifecycle

/// The background loop that polls every device with the `bw_collection` feature each interval, many at once
/// (bounded), and records the deltas. An unreachable device is logged and reported once; the others go on.
public struct BandwidthCollector: Service {
    let service: NetworkDeviceService
    let settings: SNMPConfiguration
    let logger: Logger
    private let pollDuration = Timer(label: "rackagent_snmp_poll_round_seconds")
    private let failures = Counter(label: "rackagent_snmp_poll_failures_total")
    private let samples = Counter(label: "rackagent_bandwidth_samples_total")
    private let drops = Counter(label: "rackagent_bandwidth_drops_total")

    public init(service: NetworkDeviceService, settings: SNMPConfiguration, logger: Logger) {
        self.service = service
        self.settings = settings
        self.logger = logger
    }

    /// Polls every interval and, beside it, runs the retention job hourly: its own loop, so that a long job (the first
    /// run over a store upgraded with a year of rows packs it all) never holds a poll back; both write through the
    /// database's one writer, a device-day at a time.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    var next = ContinuousClock.now
                    while !Task.isCancelled {
                        await pollAll()
                        next += .seconds(settings.pollIntervalSeconds)
                        if next < .now { next = .now }
                        try? await Task.sleep(until: next, clock: .continuous)
                    }
                }
                group.addTask {
                    while !Task.isCancelled {
                        await applyRetention()
                        try? await Task.sleep(for: .seconds(3600))
                    }
                }
            }
        }
    }

    /// One round over every collecting device, at most `maxConcurrentDevices` at a time.
    public func pollAll() async {
        let started = ContinuousClock.now
        let devices: [StoredNetworkDevice]
        do {
            devices = try await service.store.all().filter { $0.device.collectsBandwidth }
        } catch {
            logger.error("cannot list devices to poll", metadata: ["error": "\(error)"])
            return
        }
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            for device in devices {
                if running >= settings.maxConcurrentDevices {
                    await group.next()
                    running -= 1
                }
                group.addTask { await LogContext.with(["device": device.device.id]) { await self.pollOne(device) } }
                running += 1
            }
        }
        pollDuration.recordSeconds((ContinuousClock.now - started).inSeconds)
    }

    func pollOne(_ stored: StoredNetworkDevice) async {
        let id = stored.device.id
        do {
            let outcome = try await service.poll(stored)
            samples.increment(by: outcome.samples.count)
            drops.increment(by: outcome.drops.count)
            for drop in outcome.drops {
                logger.notice("bandwidth sample dropped", metadata: ["device": "\(id)", "port": "\(drop.portId)", "reason": "\(drop.reason)"])
            }
            if outcome.becameReachable { logger.notice("device reachable again", metadata: ["device": "\(id)"]) }
        } catch {
            failures.increment()
            let agentError = AgentError.from(error)
            logger.warning("poll failed", metadata: ["device": "\(id)", "error": "\(agentError.message)"])
            do {
                try await service.bandwidth.markUnreachable(id, errorCode: agentError.code)
            } catch {
                logger.error("cannot record the device as unreachable", metadata: ["device": "\(id)", "error": "\(error)"])
            }
        }
    }

    private func applyRetention() async {
        do {
            let outcome = try await service.bandwidth.applyRetention(BandwidthRetention(settings), now: Date())
            for damaged in outcome.unreadable {
                logger.error("stored bandwidth cannot be read; left as it is", metadata: ["error": "\(damaged.description)"])
            }
            if outcome != RetentionOutcome() {
                logger.info(
                    "bandwidth history consolidated",
                    metadata: [
                        "packedPortDays": "\(outcome.packedPortDays)", "coarsenedPortDays": "\(outcome.coarsenedPortDays)",
                        "hourlyPortDaysDropped": "\(outcome.hourlyPortDaysDropped)",
                    ])
            }
        } catch {
            logger.warning("bandwidth retention failed", metadata: ["error": "\(AgentError.from(error).message)"])
        }
    }
}
