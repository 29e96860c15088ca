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
            configuration.boot.requestHeaderTimeoutSeconds = 2
            configuration.boot.requestTimeoutSeconds = 1
            configuration.boot.idleTimeoutSeconds = 2
        }
        let live = try await LiveAgent(agent: agent)
        do {
            try await body(live.bootPort)
        } catch {
            await live.stop()
            throw error
        }
        await live.stop()
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
    /// within 5 s.
    static func readAnswer(_ descriptor: Int32) -> Bool {
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
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
            // passes.
            let started = ContinuousClock.now
            var answered = 0
            var lastAnswer = started
            for _ in 0..<12 {
                let sent = Self.send(descriptor, "GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
                #expect(sent, "the connection was closed after \(answered) answers")
                guard sent, await Self.blocking({ Self.readAnswer(descriptor) }) else { break }
                answered += 1
                lastAnswer = ContinuousClock.now
                try await Task.sleep(for: .milliseconds(300))
            }
            #expect(answered == 12, "the connection ended after \(answered) answers, \(lastAnswer - started)")
            #expect(await Self.blocking { ServeProcessTests.closedByPeer(descriptor, within: 8) }, "an idle connection stayed open")
            let waited = ContinuousClock.now - lastAnswer
            #expect(waited >= .milliseconds(1900) && waited < .seconds(5), "closed \(waited) after the last answer, the idle timeout is 2 s")
        }
    }

    @Test func aTricklingBodyIsClosedAtTheRequestTimeout() async throws {
        try await Self.withBootListener { port in
            let descriptor = try #require(ServeProcessTests.connect(port: port))
            defer { close(descriptor) }
            #expect(Self.send(descriptor, "GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n"))
            #expect(await Self.blocking { Self.readAnswer(descriptor) })
            let head = ContinuousClock.now
            #expect(Self.send(descriptor, "POST /boot/unknown-token/progress HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\n"))
            // A byte every 0.2 s: never silent for long, never done.
            var closed = false
            for _ in 0..<20 where !closed {
                try await Task.sleep(for: .milliseconds(200))
                closed = !Self.send(descriptor, "x")
            }
            let seenClosed = await Self.blocking { ServeProcessTests.closedByPeer(descriptor, within: 1) }
            #expect(closed || seenClosed, "a request whose body never ends stayed open")
            let elapsed = ContinuousClock.now - head
            #expect(elapsed < .seconds(4), "closed \(elapsed) after the head, the request timeout is 1 s")
        }
    }
}
