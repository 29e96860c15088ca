import AgentCore
import ControllerAPI
import Foundation
import PeerHarness
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The boot listener's per-connection deadlines after the first request (the header deadline is
/// `ServeProcessTests.slowClientsDoNotTakeTheListenersDown`): a connection kept busy is never closed while its
/// deadline keeps moving, one that falls silent after an answer is closed at the idle timeout, and one whose body
/// trickles in is closed at the request timeout even though bytes keep arriving.
@Suite(.timeLimit(.minutes(1))) struct ListenerDeadlineTests {
    static func withBootListener(_ body: (Int) async throws -> Void) async throws {
        let agent = try await TestAgent { configuration in
            configuration.boot.requestHeaderTimeoutSeconds = 3
            configuration.boot.requestTimeoutSeconds = 1
            configuration.boot.idleTimeoutSeconds = 3
        }
        defer { agent.remove() }
        try await LiveAgent.withBootPort(of: agent, body)
    }

    /// Runs blocking socket calls on a thread of their own: the agent under test shares the cooperative pool.
    static func blocking<Value: Sendable>(_ body: @escaping @Sendable () -> Value) async -> Value {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: body()) }.start()
        }
    }

    static func send(_ descriptor: Int32, _ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    /// Reads one answer to `GET /healthz` (its body is "ok\n"); false when the connection ends first or nothing arrives
    /// within 15 s (the suite may load both cores; a connection the agent closed ends the read at once).
    static func readAnswer(_ descriptor: Int32) -> Bool {
        var timeout = timeval(tv_sec: 15, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        for _ in 0..<100 {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            guard count > 0 else { return false }
            received += buffer[0..<count]
            if String(decoding: received, as: UTF8.self).hasSuffix("\r\n\r\nok\n") { return true }
        }
        return false
    }

    @Test func aBusyConnectionOutlivesEveryTimeoutAndFallsSilentIntoTheIdleOne() async throws {
        try await Self.withBootListener { port in
            let descriptor = try #require(ServeProcessTests.connect(port: port))
            defer { close(descriptor) }
            // 12 requests 0.3 s apart: past the idle timeout and many request timeouts, every deadline moved before it
            // passes. The whole exchange runs on a thread of its own, so its pace does not depend on the test's load.
            let (answered, busy, closedAfter) = await Self.blocking { () -> (Int, Duration, Duration?) in
                let started = ContinuousClock.now
                var answered = 0
                var lastAnswer = started
                for _ in 0..<12 {
                    guard Self.send(descriptor, "GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n"), Self.readAnswer(descriptor) else { break }
                    answered += 1
                    lastAnswer = ContinuousClock.now
                    usleep(300_000)
                }
                let closed = ServeProcessTests.closedByPeer(descriptor, within: 10)
                return (answered, lastAnswer - started, closed ? ContinuousClock.now - lastAnswer : nil)
            }
            #expect(answered == 12, "the connection ended after \(answered) answers, \(busy)")
            let waited = try #require(closedAfter, "an idle connection stayed open")
            #expect(waited >= .milliseconds(2900) && waited < .seconds(7), "closed \(waited) after the last answer, the idle timeout is 3 s")
        }
    }

    @Test func aTricklingBodyIsClosedAtTheRequestTimeout() async throws {
        try await Self.withBootListener { port in
            let descriptor = try #require(ServeProcessTests.connect(port: port))
            defer { close(descriptor) }
            #expect(Self.send(descriptor, "GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n"))
            #expect(await Self.blocking { Self.readAnswer(descriptor) })
            // A byte every 0.2 s after the head: never silent for long, never done. On a thread of its own, as above.
            let elapsed = await Self.blocking { () -> Duration? in
                let head = ContinuousClock.now
                guard Self.send(descriptor, "POST /boot/unknown-token/progress HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\n") else { return nil }
                for _ in 0..<25 {
                    usleep(200_000)
                    // The first byte after the close is answered with a reset, the next one fails.
                    if !Self.send(descriptor, "x") { return ContinuousClock.now - head }
                }
                return nil
            }
            let closedAfter = try #require(elapsed, "a request whose body never ends stayed open")
            #expect(closedAfter >= .milliseconds(900) && closedAfter < .seconds(3), "closed \(closedAfter) after the head, the request timeout is 1 s")
        }
    }
}
