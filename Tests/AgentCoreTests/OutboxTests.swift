import AgentCore
import Foundation
import Logging
import PeerHarness
import ServiceLifecycle
import Testing

@Suite struct OutboxTests {
    @Test func deliversEverythingThroughControllerFailures() async throws {
        let fixture = try CoreFixture()
        defer { fixture.directory.remove() }
        let controller = try await RecordingController(statuses: [500, 500, 500])
        let transport = try HTTPEventTransport(url: controller.url, token: Secret("controller-token"), caFile: nil, timeoutSeconds: 5)
        let service = OutboxDeliveryService(
            outbox: fixture.outbox, transport: transport, batchSize: 7, maximumBackoffSeconds: 0.05,
            idleWait: .milliseconds(100), logger: Logger(label: "test"))
        let written = (0..<25).map { OutboxEvent(type: "test.event", data: ["n": .integer(Int64($0))]) }
        for event in written.prefix(10) { try await fixture.outbox.append(event) }
        let delivery = Task { try await service.run() }
        // Events appended while the loop runs are delivered too.
        for event in written.dropFirst(10) { try await fixture.outbox.append(event) }
        try await controller.waitForAccepted(25)
        // The last batch leaves the outbox only after its 200 is read: wait for that (bounded) before stopping.
        for _ in 0..<200 where try await fixture.outbox.count() > 0 { try await Task.sleep(for: .milliseconds(50)) }
        delivery.cancel()
        _ = await delivery.result
        await controller.stop()

        let statuses = controller.deliveries.map(\.status)
        #expect(Array(statuses.prefix(3)) == [500, 500, 500])
        let accepted = controller.acceptedEvents
        // At-least-once: every event arrived, in order, and none twice among accepted batches.
        #expect(accepted.map(\.id) == written.map(\.id))
        #expect(controller.deliveries.allSatisfy { $0.authorization == "Bearer controller-token" })
        #expect(try await fixture.outbox.count() == 0)
    }

    @Test func eventsSurviveWhenTheControllerIsDown() async throws {
        let fixture = try CoreFixture()
        defer { fixture.directory.remove() }
        let deadPort = FreePort.tcp()
        let transport = try HTTPEventTransport(url: "http://127.0.0.1:\(deadPort)/events", token: nil, caFile: nil, timeoutSeconds: 1)
        let service = OutboxDeliveryService(
            outbox: fixture.outbox, transport: transport, batchSize: 10, maximumBackoffSeconds: 0.05, logger: Logger(label: "test"))
        try await fixture.outbox.append(OutboxEvent(type: "a", data: nil))
        let delivery = Task { try await service.run() }
        try await Task.sleep(for: .milliseconds(500))
        delivery.cancel()
        _ = await delivery.result
        #expect(try await fixture.outbox.count() == 1)
    }

    @Test func boundedOutboxDropsTheOldest() async throws {
        let fixture = try CoreFixture(maximumEvents: 5)
        defer { fixture.directory.remove() }
        let written = (0..<8).map { OutboxEvent(type: "t", data: .integer(Int64($0))) }
        for event in written { try await fixture.outbox.append(event) }
        let pending = try await fixture.outbox.pendingEvents()
        #expect(pending.count == 5)
        #expect(pending.map(\.id) == written.suffix(5).map(\.id))
    }

    @Test func eventCommitsOnlyWithItsTransaction() async throws {
        struct Rollback: Error {}
        let fixture = try CoreFixture()
        defer { fixture.directory.remove() }
        await #expect(throws: Rollback.self) {
            try await fixture.database.writer.write { db in
                try fixture.outbox.append(OutboxEvent(type: "t", data: nil), in: db)
                throw Rollback()
            }
        }
        #expect(try await fixture.outbox.count() == 0)
    }

    @Test func backoffGrowsAndIsCapped() {
        let maximum = Duration.seconds(300)
        for failures in 1...12 {
            let delay = OutboxDeliveryService.backoff(failures: failures, maximum: maximum)
            let base = min(Duration.seconds(1) * (1 << (failures - 1)), maximum)
            #expect(delay >= base / 2 && delay <= base)
        }
    }
}
