import AsyncHTTPClient
import Foundation
import Logging
import Metrics
import NIOCore
import NIOSSL
import ServiceLifecycle

/// Sends a batch of events to the controller; throws unless the controller accepted all of them.
public protocol EventTransport: Sendable {
    func deliver(_ events: [OutboxEvent]) async throws
    /// Releases connections; called once when the delivery loop ends.
    func shutdown() async
}

public enum EventDeliveryError: Error, CustomStringConvertible {
    case rejected(status: Int)

    public var description: String {
        switch self {
        case .rejected(let status): return "controller answered HTTP \(status)"
        }
    }
}

/// POSTs `{"events": [...]}` with the bearer token to the controller's URL. With a CA file it uses a client
/// of its own that trusts that CA; otherwise the process-wide shared client with the system roots.
public final class HTTPEventTransport: EventTransport {
    let url: String
    let token: Secret?
    let timeout: TimeAmount
    let client: HTTPClient
    let ownsClient: Bool

    public init(url: String, token: Secret?, caFile: String?, timeoutSeconds: Double) throws {
        if let caFile {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(caFile)
            var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
            configuration.timeout = .init(connect: .seconds(5), read: .milliseconds(Int64(timeoutSeconds * 1000)))
            client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            ownsClient = true
        } else {
            client = HTTPClient.shared
            ownsClient = false
        }
        self.url = url
        self.token = token
        self.timeout = .milliseconds(Int64(timeoutSeconds * 1000))
    }

    public func deliver(_ events: [OutboxEvent]) async throws {
        struct Batch: Encodable { let events: [OutboxEvent] }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token.revealed)") }
        request.body = .bytes(ByteBuffer(bytes: try JSONCoding.encoder.encode(Batch(events: events))))
        let response = try await client.execute(request, timeout: timeout)
        _ = try? await response.body.collect(upTo: 64 * 1024)
        guard (200..<300).contains(Int(response.status.code)) else {
            throw EventDeliveryError.rejected(status: Int(response.status.code))
        }
    }

    public func shutdown() async {
        if ownsClient { try? await client.shutdown() }
    }
}

/// The background loop that drains the outbox to the controller: oldest first, in batches, deleting events
/// only after a 2xx, with exponential backoff and jitter while the controller fails.
public struct OutboxDeliveryService: Service {
    let outbox: Outbox
    let transport: any EventTransport
    let batchSize: Int
    let maximumBackoff: Duration
    let idleWait: Duration
    let logger: Logger
    private let deliveredCounter = Counter(label: "rackagent_outbox_delivered_total")
    private let failureCounter = Counter(label: "rackagent_outbox_delivery_failures_total")

    public init(
        outbox: Outbox, transport: any EventTransport, batchSize: Int, maximumBackoffSeconds: Double,
        idleWait: Duration = .seconds(5), logger: Logger
    ) {
        self.outbox = outbox
        self.transport = transport
        self.batchSize = batchSize
        self.maximumBackoff = .milliseconds(Int64(maximumBackoffSeconds * 1000))
        self.idleWait = idleWait
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await self.deliverUntilCancelled()
        }
        await transport.shutdown()
    }

    /// Backoff before retry number `failures` (1-based): 1 s doubling up to the maximum, with "equal jitter"
    /// (half fixed, half random) so many agents do not retry in lockstep.
    public static func backoff(failures: Int, maximum: Duration) -> Duration {
        let exponent = min(failures - 1, 30)
        let base = min(Duration.seconds(1) * (1 << exponent), maximum)
        let half = base / 2
        return half + half * Double.random(in: 0...1)
    }

    private func deliverUntilCancelled() async {
        var failures = 0
        while !Task.isCancelled {
            let batch: [QueuedEvent]
            do {
                batch = try await outbox.oldest(limit: batchSize)
            } catch {
                logger.error("outbox read failed", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            if batch.isEmpty {
                await outbox.recordBacklogMetrics()
                await outbox.doorbell.wait(upTo: idleWait)
                continue
            }
            do {
                try await transport.deliver(batch.map(\.event))
                try await outbox.remove(ids: batch.map(\.id))
                deliveredCounter.increment(by: batch.count)
                if failures > 0 {
                    logger.notice("controller reachable again; delivering queued events", metadata: ["afterFailures": "\(failures)"])
                }
                failures = 0
                await outbox.recordBacklogMetrics()
            } catch {
                failures += 1
                failureCounter.increment()
                await outbox.recordBacklogMetrics()
                let delay = Self.backoff(failures: failures, maximum: maximumBackoff)
                logger.warning(
                    "event delivery to the controller failed; will retry",
                    metadata: ["error": "\(error)", "attempt": "\(failures)", "retryIn": "\(delay)"])
                try? await Task.sleep(for: delay)
            }
        }
    }
}
