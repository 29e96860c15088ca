import AgentCore
@testable import ControllerAPI
import HTTPTypes
import Logging
import Metrics
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypes
import PeerHarness
import Provisioning
import Testing

/// `BootScriptHandler` in a pipeline whose socket takes its writes only when the test says so: what reaches the
/// router's side and when, measured against answers that have not gone out yet. (The socket-level behaviour is
/// `BootScriptHandlerTests`; a real socket drains too fast to leave an answer waiting at the moment that matters.)
final class BootScriptHandlerPipelineTests {
    let directory: TemporaryDirectory
    let gate: PXEGate

    init() async throws {
        directory = try TemporaryDirectory()
        let database = try AgentDatabase(path: directory.file("agent.sqlite"), migrations: ProvisioningSchema.migrations + InstallationStore.migrations)
        let store = DHCPEntryStore(database: database)
        gate = PXEGate(store: store, index: try await BootIndex.open(database: database, logger: Logger(label: "test")), provider: nil, unknownMACAction: .localBoot)
    }

    deinit { directory.remove() }

    /// The socket: holds every write until `release()`, and logs writes and the close in order.
    final class HeldSocket: ChannelOutboundHandler {
        typealias OutboundIn = HTTPResponsePart
        typealias OutboundOut = HTTPResponsePart
        private var held: [(NIOAny, EventLoopPromise<Void>?)] = []
        private var context: ChannelHandlerContext?
        var log: [String] = []

        func handlerAdded(context: ChannelHandlerContext) { self.context = context }

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            held.append((data, promise))
            if case .end = unwrapOutboundIn(data) { log.append("answer") }
        }

        func flush(context: ChannelHandlerContext) {}

        func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
            log.append(held.isEmpty ? "close" : "close with \(held.count) writes waiting")
            context.close(mode: mode, promise: promise)
        }

        /// Lets every held write go out.
        func release() {
            guard let context else { return }
            let writes = held
            held = []
            for (data, promise) in writes { context.write(data, promise: promise) }
            context.flush()
        }
    }

    /// The router's side: what reaches it.
    final class RouterSide: ChannelInboundHandler {
        typealias InboundIn = HTTPRequestPart
        var seen: [String] = []

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): seen.append("head \(head.path ?? "")")
            case .body: seen.append("body")
            case .end: seen.append("end")
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            seen.append("error")
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if (event as? ChannelEvent) == .inputClosed { seen.append("input closed") }
            if event is ChannelShouldQuiesceEvent { seen.append("quiesce") }
        }
    }

    func pipeline() throws -> (EmbeddedChannel, HeldSocket, RouterSide) {
        let socket = HeldSocket()
        let router = RouterSide()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers([
            socket, BootScriptHandler(gate: gate, dates: HTTPDateCache(), answered: Counter(label: "test_boot_scripts")), router,
        ])
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, socket, router)
    }

    static func request(_ path: String, close: Bool = false) -> [HTTPRequestPart] {
        var head = HTTPRequest(method: .get, scheme: nil, authority: "test", path: path)
        if close { head.headerFields[.connection] = "close" }
        return [.head(head), .end(nil)]
    }

    /// `parts` as one read from the socket.
    static func read(_ channel: EmbeddedChannel, _ parts: [HTTPRequestPart]) throws {
        for part in parts { channel.pipeline.fireChannelRead(part) }
        channel.pipeline.fireChannelReadComplete()
        try channel.throwIfErrorCaught()
    }

    /// The end of input and a graceful shutdown wait while an answer here is pending or has not gone out.
    @Test func theEndOfInputAndShutdownWaitForTheAnswersHere() throws {
        let (channel, socket, router) = try pipeline()
        try Self.read(channel, [Self.request("/boot/ipxe?mac=52:54:00:aa:00:09")[0]])
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(router.seen.isEmpty, "shutdown passed a pending answer: \(router.seen)")
        try Self.read(channel, [.end(nil)])
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(socket.log == ["answer"])
        #expect(router.seen.isEmpty, "passed before the answer went out: \(router.seen)")
        socket.release()
        #expect(router.seen == ["quiesce", "input closed"])
        _ = try? channel.finish()
    }

    /// `Connection: close` on a request answered here: the connection closes once the answer has gone out, not before;
    /// the request behind it reaches nobody, nor does the parser's refusal of it (the router would answer 400).
    @Test func aCloseWaitsForItsAnswerAndDropsWhatFollows() throws {
        let (channel, socket, router) = try pipeline()
        try Self.read(channel, Self.request("/boot/ipxe?mac=52:54:00:aa:00:09", close: true) + Self.request("/healthz"))
        channel.pipeline.fireErrorCaught(HTTPParserError.closedConnection)
        #expect(socket.log == ["answer"], "\(socket.log)")
        #expect(router.seen.isEmpty, "\(router.seen)")
        socket.release()
        #expect(socket.log == ["answer", "close"], "\(socket.log)")
        _ = try? channel.finish()
    }

    /// A long pipelined burst in one read: the first `answersPerRead` are answered here, the rest go to the router;
    /// the next read starts afresh.
    @Test func aBurstIsAnsweredHereOnlyInPart() throws {
        let (channel, socket, router) = try pipeline()
        let burst = BootScriptHandler.answersPerRead + 4
        try Self.read(channel, (0..<burst).flatMap { _ in Self.request("/boot/ipxe?mac=52:54:00:aa:00:09") })
        #expect(socket.log.count == BootScriptHandler.answersPerRead)
        #expect(router.seen.count == 4 * 2, "\(router.seen)")
        // The router answers what it was given; the next read is answered here again.
        for _ in 0..<4 { channel.write(HTTPResponsePart.end(nil), promise: nil) }
        socket.release()
        try Self.read(channel, Self.request("/boot/ipxe?mac=52:54:00:aa:00:09"))
        #expect(router.seen.count == 4 * 2, "\(router.seen)")
        #expect(socket.log.count == BootScriptHandler.answersPerRead + 4 + 1, "\(socket.log.count)")
        _ = try? channel.finish()
    }

    /// While a shutdown is held for an answer going out, new requests go to the router, so the shutdown cannot be put
    /// off by a client that keeps asking.
    @Test func aHeldShutdownSendsNewRequestsToTheRouter() throws {
        let (channel, socket, router) = try pipeline()
        try Self.read(channel, Self.request("/boot/ipxe?mac=52:54:00:aa:00:09"))
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        try Self.read(channel, Self.request("/boot/ipxe?mac=52:54:00:aa:00:09"))
        #expect(socket.log == ["answer"])
        #expect(router.seen == ["head /boot/ipxe?mac=52:54:00:aa:00:09", "end"], "\(router.seen)")
        _ = try? channel.finish()
    }

    /// A request answered here asks to close and its body is malformed: the parser's error reaches the router, which
    /// answers 400 and closes, as it would alone; only the refusal of data after the close is dropped.
    @Test func aMalformedClosingRequestStillReachesTheRouter() throws {
        let (channel, _, router) = try pipeline()
        var head = HTTPRequest(method: .get, scheme: nil, authority: "test", path: "/boot/ipxe?mac=52:54:00:aa:00:09")
        head.headerFields[.connection] = "close"
        channel.pipeline.fireChannelRead(HTTPRequestPart.head(head))
        channel.pipeline.fireErrorCaught(HTTPParserError.invalidChunkSize)
        #expect(router.seen == ["error"], "\(router.seen)")
        _ = try? channel.finish()
    }

    /// While the connection cannot take more output, requests go to the router (whose writer waits), in order.
    @Test func anUnwritableConnectionSendsRequestsToTheRouter() throws {
        let (channel, socket, router) = try pipeline()
        channel.isWritable = false
        try Self.read(channel, Self.request("/boot/ipxe?mac=52:54:00:aa:00:09"))
        #expect(router.seen == ["head /boot/ipxe?mac=52:54:00:aa:00:09", "end"])
        #expect(socket.log.isEmpty)
        _ = try? channel.finish()
    }
}
