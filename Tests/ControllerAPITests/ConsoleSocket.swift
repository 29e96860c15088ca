import AgentCore
import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import NIOSSL
import PeerHarness
import Synchronization

/// A test's WebSocket to a console: everything received is kept (status messages apart from console bytes), and
/// the test types into it. Opened from 127.0.0.1, trusting the agent's certificate.
final class ConsoleSocket: Sendable {
    private struct State {
        var statuses: [JSONValue] = []
        var bytes: [UInt8] = []
        var firstByteAt: ContinuousClock.Instant?
        var outbound: WebSocketOutboundWriter?
        var ended: String?
    }

    private final class Shared: Sendable {
        let state = Mutex(State())
    }

    private let shared = Shared()
    private let task: Task<Void, Never>

    private init(url: String, certificatePath: String, headers: [String: String]) {
        let shared = self.shared
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(certificatePath)
        // The client sends the URL's host as SNI, which may not be an IP address: the certificate names localhost too.
        var configuration = WebSocketClientConfiguration(maxFrameSize: 1 << 24, sniHostname: "localhost")
        for (name, value) in headers { if let field = HTTPField.Name(name) { configuration.additionalHeaders[field] = value } }
        let finalConfiguration = configuration
        let finalTLS = tls
        task = Task {
            do {
                try await WebSocketClient.connect(url: url, configuration: finalConfiguration, tlsConfiguration: finalTLS, logger: Logger(label: "test")) {
                    inbound, outbound, _ in
                    shared.state.withLock { $0.outbound = outbound }
                    for try await message in inbound.messages(maxSize: 1 << 24) {
                        switch message {
                        case .text(let text):
                            let value = (try? JSONCoding.decoder.decode(JSONValue.self, from: Data(text.utf8))) ?? .string(text)
                            shared.state.withLock { $0.statuses.append(value) }
                        case .binary(let buffer):
                            shared.state.withLock { current in
                                if current.firstByteAt == nil { current.firstByteAt = .now }
                                current.bytes += buffer.readableBytesView
                            }
                        }
                    }
                }
                shared.state.withLock { $0.ended = $0.ended ?? "closed" }
            } catch {
                shared.state.withLock { $0.ended = "\(error)" }
            }
        }
    }

    /// Connects; throws (with the client's words) when the upgrade is refused.
    static func open(_ url: String, certificatePath: String, headers: [String: String] = [:]) async throws -> ConsoleSocket {
        let socket = ConsoleSocket(url: url, certificatePath: certificatePath, headers: headers)
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            let (connected, ended) = socket.shared.state.withLock { ($0.outbound != nil, $0.ended) }
            if connected { return socket }
            if let ended { throw HarnessError.peerFailed("the console WebSocket did not open: \(ended)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw HarnessError.timeout("the console WebSocket did not open")
    }

    var text: String { String(decoding: shared.state.withLock { $0.bytes }, as: UTF8.self) }
    var bytes: [UInt8] { shared.state.withLock { $0.bytes } }
    var statuses: [JSONValue] { shared.state.withLock { $0.statuses } }
    var firstByteAt: ContinuousClock.Instant? { shared.state.withLock { $0.firstByteAt } }
    var ended: String? { shared.state.withLock { $0.ended } }

    func send(_ bytes: [UInt8]) async throws {
        guard let outbound = shared.state.withLock({ $0.outbound }) else { throw HarnessError.peerFailed("not connected") }
        try await outbound.write(.binary(ByteBuffer(bytes: bytes)))
    }

    func type(_ text: String) async throws { try await send(Array(text.utf8)) }

    /// Types `text` a character at a time, 30 ms apart, as a person does. A burst longer than the emulated 16550's
    /// 16-byte receive FIFO can lose its tail when the whole suite starves the guest (qemu) for seconds: seen twice in
    /// one afternoon of suite runs, never with the machine otherwise idle or merely CPU-loaded.
    func typeAtHumanPace(_ text: String) async throws {
        for byte in text.utf8 {
            try await send([byte])
            try await Task.sleep(for: .milliseconds(30))
        }
    }

    /// Waits (bounded) until the console text satisfies `condition`.
    @discardableResult
    func waitForText(timeout: Duration = .seconds(60), _ what: String, _ condition: (String) -> Bool) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let current = text
            if condition(current) { return current }
            if ended != nil, !condition(text) { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HarnessError.timeout("console never showed \(what); it showed: \(String(text.suffix(600)).debugDescription) (ended: \(ended ?? "no"))")
    }

    /// Waits (bounded) for `count` bytes in all.
    func waitForBytes(_ count: Int, timeout: Duration = .seconds(20)) async throws -> [UInt8] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let current = bytes
            if current.count >= count { return current }
            if ended != nil { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw HarnessError.timeout("only \(bytes.count) of \(count) bytes arrived (ended: \(ended ?? "no"))")
    }

    /// Waits (bounded) for a status message with `state`.
    @discardableResult
    func waitForStatus(_ wanted: String, timeout: Duration = .seconds(20)) async throws -> JSONValue {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let found = statuses.last(where: { $0["state"]?.stringValue == wanted }) { return found }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HarnessError.timeout("no \(wanted) status; statuses: \(statuses.map(\.jsonText))")
    }

    /// Waits (bounded) until the server has closed the socket.
    func waitForEnd(timeout: Duration = .seconds(20)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let ended { return ended }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HarnessError.timeout("the console WebSocket stayed open")
    }

    func close() async {
        if let outbound = shared.state.withLock({ $0.outbound }) { try? await outbound.close(.normalClosure, reason: "test done") }
        _ = await task.value
    }
}
