import AgentCore
import Foundation
import Hummingbird
import NIOCore
import Synchronization

/// A stand-in controller on 127.0.0.1: records every event batch POSTed to `/events` and answers with the
/// scripted statuses first (e.g. three 500s), then 200.
public final class RecordingController: Sendable {
    public struct Delivery: Sendable {
        public let status: Int
        public let authorization: String?
        public let events: [OutboxEvent]
    }

    /// Shared with the route handler.
    private final class Recorder: Sendable {
        let state: Mutex<(script: [Int], deliveries: [Delivery])>
        init(script: [Int]) { state = Mutex((script, [])) }
    }

    private let recorder: Recorder
    private let task: Mutex<Task<Void, any Error>?> = Mutex(nil)
    public let port: Int

    public var url: String { "http://127.0.0.1:\(port)/events" }

    public var deliveries: [Delivery] { recorder.state.withLock { $0.deliveries } }

    /// Events the controller accepted (2xx), in arrival order.
    public var acceptedEvents: [OutboxEvent] {
        deliveries.filter { (200..<300).contains($0.status) }.flatMap(\.events)
    }

    public init(statuses: [Int] = []) async throws {
        let recorder = Recorder(script: statuses)
        self.recorder = recorder
        let router = Router()
        let port = FreePort.tcp()
        self.port = port
        router.post("/events") { request, _ -> Response in
            struct Batch: Decodable { let events: [OutboxEvent] }
            let body = try await request.body.collect(upTo: 16 << 20)
            let batch = try JSONCoding.decoder.decode(Batch.self, from: Data(body.readableBytesView))
            let status = recorder.state.withLock { state -> Int in
                let status = state.script.isEmpty ? 200 : state.script.removeFirst()
                state.deliveries.append(Delivery(status: status, authorization: request.headers[.authorization], events: batch.events))
                return status
            }
            return Response(status: .init(code: status))
        }
        router.get("/events") { _, _ in Response(status: .ok) }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        task.withLock { $0 = Task { try await app.run() } }
        try await FreePort.waitForTCP(port)
    }

    /// Waits (bounded) until `count` events were accepted.
    public func waitForAccepted(_ count: Int, timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if acceptedEvents.count >= count { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HarnessError.timeout("controller accepted \(acceptedEvents.count) of \(count) events")
    }

    public func stop() async {
        let running = task.withLock { $0 }
        running?.cancel()
        _ = await running?.result
    }
}
