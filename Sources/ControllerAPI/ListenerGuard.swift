import AgentCore
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Keeps one listener answering when clients misbehave: a connection must finish its TLS handshake and send its
/// first request head within the header timeout, read a whole request within the request timeout, and send its
/// next request within the idle timeout, or it is closed. Above `maxConnections` open connections the listener
/// stops accepting (new ones wait in the kernel's backlog) and logs a warning, so slow clients of one listener
/// never use up the file descriptors the other listener, the database and the child processes need.
final class ListenerGuard: Sendable {
    let name: String
    let limits: ListenerLimits
    let logger: Logger
    private let state = Mutex(Counters())
    /// At most one warning per interval for each kind of event.
    static let logInterval = Duration.seconds(10)

    private struct Counters {
        var open = 0
        var closedSinceLog = 0
        var lastClosedLog: ContinuousClock.Instant?
        var lastLimitLog: ContinuousClock.Instant?
    }

    init(name: String, limits: ListenerLimits, logger: Logger) {
        self.name = name
        self.limits = limits
        self.logger = logger
    }

    /// The HTTP/1 channel configuration with the deadline handler in every connection's pipeline.
    var channelConfiguration: HTTP1Channel.Configuration { channelConfiguration(adding: { [] }) }

    /// The channel configuration with `handlers` (made anew for each connection) after the deadline handler.
    func channelConfiguration(adding handlers: @escaping @Sendable () -> [any RemovableChannelHandler]) -> HTTP1Channel.Configuration {
        HTTP1Channel.Configuration(additionalChannelHandlers: [RequestDeadlineHandler(listener: self)] + handlers())
    }

    /// Counts connections for Hummingbird and refuses new ones above the cap.
    var connectionCap: some AvailableConnectionsDelegate { ConnectionCap(listener: self) }

    /// Connections open right now.
    var openConnections: Int { state.withLock { $0.open } }

    fileprivate func opened() { state.withLock { $0.open += 1 } }
    fileprivate func closed() { state.withLock { $0.open -= 1 } }

    fileprivate func accepting() -> Bool {
        let (accepting, log) = state.withLock { counters -> (Bool, Bool) in
            guard counters.open >= limits.maxConnections else { return (true, false) }
            let now = ContinuousClock.now
            guard counters.lastLimitLog.map({ now - $0 >= Self.logInterval }) ?? true else { return (false, false) }
            counters.lastLimitLog = now
            return (false, true)
        }
        if log {
            logger.warning(
                "\(name) listener at its connection limit; new connections wait until others close",
                metadata: ["limit": "\(limits.maxConnections)"])
        }
        return accepting
    }

    /// A connection closed for missing a deadline; logged in summary, at most once per interval.
    fileprivate func timedOut(phase: String) {
        let report = state.withLock { counters -> Int? in
            counters.closedSinceLog += 1
            let now = ContinuousClock.now
            guard counters.lastClosedLog.map({ now - $0 >= Self.logInterval }) ?? true else { return nil }
            counters.lastClosedLog = now
            defer { counters.closedSinceLog = 0 }
            return counters.closedSinceLog
        }
        if let report {
            logger.notice("\(name) listener closed slow or idle connections", metadata: ["closed": "\(report)", "lastPhase": "\(phase)"])
        }
    }
}

/// One listener's connection cap and deadlines.
public struct ListenerLimits: Sendable, Equatable {
    public var maxConnections: Int
    public var headerTimeout: TimeAmount
    public var requestTimeout: TimeAmount
    public var idleTimeout: TimeAmount

    public init(maxConnections: Int, headerTimeoutSeconds: Double, requestTimeoutSeconds: Double, idleTimeoutSeconds: Double) {
        self.maxConnections = maxConnections
        headerTimeout = .milliseconds(Int64(headerTimeoutSeconds * 1000))
        requestTimeout = .milliseconds(Int64(requestTimeoutSeconds * 1000))
        idleTimeout = .milliseconds(Int64(idleTimeoutSeconds * 1000))
    }
}

/// Hummingbird's hook for accepting connections; the count lives in the guard.
private struct ConnectionCap: AvailableConnectionsDelegate {
    let listener: ListenerGuard

    mutating func connectionOpened() { listener.opened() }
    mutating func connectionClosed() { listener.closed() }
    func isAcceptingNewConnections() -> Bool { listener.accepting() }
}

/// One connection's deadlines: the first request head (which includes the TLS handshake), each whole request from
/// its head, the next request after a response, and a response the client stops reading (writes stalled). Handling
/// a request (a job waited for) has no deadline.
///
/// Moving a deadline costs no timer: one timer per connection fires at the earliest deadline it was set for, and
/// when it fires it closes the connection only if the current deadline has passed, else it is set again for that
/// one. A busy keep-alive connection so schedules about one timer per timeout, not two per request.
private final class RequestDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let listener: ListenerGuard
    /// The current deadline and what the connection is waiting for; nil while a request is handled.
    private var deadline: (at: NIODeadline, phase: String)?
    /// The one timer, and when it fires.
    private var timer: (task: Scheduled<Void>, at: NIODeadline)?
    private var stalledWrites: Scheduled<Void>?
    /// Requests whose head was read and whose response has not been written to its end.
    private var unanswered = 0
    /// A request whose head was read and whose end was not (its body is still arriving).
    private var readingRequest = false

    init(listener: ListenerGuard) {
        self.listener = listener
    }

    func handlerAdded(context: ChannelHandlerContext) {
        arm(context, after: listener.limits.headerTimeout, phase: "handshake and first request head")
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline = nil
        timer?.task.cancel()
        timer = nil
        stalledWrites?.cancel()
        stalledWrites = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            unanswered += 1
            readingRequest = true
            arm(context, after: listener.limits.requestTimeout, phase: "request body")
        case .body:
            break
        case .end:
            readingRequest = false
            // Read completely: no deadline while it is handled. Answered already (a 401 before the body was read):
            // the connection waits for its next request.
            if unanswered > 0 { deadline = nil } else { arm(context, after: listener.limits.idleTimeout, phase: "next request") }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            unanswered = max(0, unanswered - 1)
            // A request still being read keeps its request deadline; otherwise the idle deadline starts.
            if unanswered == 0, !readingRequest { arm(context, after: listener.limits.idleTimeout, phase: "next request") }
        }
        context.write(data, promise: promise)
    }

    /// A client that stops reading a response (a large boot file) fills the socket buffer: when writes stay
    /// blocked for the request timeout, the connection is closed.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        stalledWrites?.cancel()
        stalledWrites = nil
        if !context.channel.isWritable {
            let listener = self.listener
            stalledWrites = context.eventLoop.assumeIsolated().scheduleTask(in: listener.limits.requestTimeout) {
                listener.timedOut(phase: "response not read")
                context.close(promise: nil)
            }
        }
        context.fireChannelWritabilityChanged()
    }

    private func arm(_ context: ChannelHandlerContext, after delay: TimeAmount, phase: String) {
        let at = NIODeadline.now() + delay
        deadline = (at, phase)
        if let timer, timer.at <= at { return }
        startTimer(context, at: at)
    }

    private func startTimer(_ context: ChannelHandlerContext, at: NIODeadline) {
        timer?.task.cancel()
        let task = context.eventLoop.assumeIsolated().scheduleTask(deadline: at) { [self] in
            timer = nil
            guard let deadline else { return }
            if deadline.at <= NIODeadline.now() {
                listener.timedOut(phase: deadline.phase)
                context.close(promise: nil)
            } else {
                startTimer(context, at: deadline.at)
            }
        }
        timer = (task, at)
    }
}

extension ListenerGuard {
    /// A child channel (HTTP/1 with a WebSocket upgrade, whose HTTP handlers are added only once it has decided not
    /// to upgrade) with the header deadline from the moment the connection is set up: the TLS handshake and the first
    /// request head must arrive within it, or the connection is closed. After the first head the wrapped channel's
    /// own timeouts apply (a WebSocket pings and has the console's idle timeout).
    func guarding<Base: ServerChildChannel>(_ base: Base) -> GuardedChildChannel<Base> {
        GuardedChildChannel(base: base, listener: self)
    }
}

struct GuardedChildChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base
    let listener: ListenerGuard

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(FirstRequestDeadlineHandler(listener: listener))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Closes a connection whose first request head (`\r\n\r\n`) has not arrived within the header timeout, then steps
/// aside.
private final class FirstRequestDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let listener: ListenerGuard
    private var deadline: Scheduled<Void>?
    private var seen: [UInt8] = []
    private var done = false

    init(listener: ListenerGuard) {
        self.listener = listener
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let listener = self.listener
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: listener.limits.headerTimeout) {
            listener.timedOut(phase: "handshake and first request head")
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !done {
            let bytes = unwrapInboundIn(data)
            seen += bytes.readableBytesView.suffix(16 * 1024)
            if seen.count > 64 * 1024 { seen.removeFirst(seen.count - 64 * 1024) }
            if seen.firstRange(of: [13, 10, 13, 10]) != nil {
                done = true
                deadline?.cancel()
                deadline = nil
                seen = []
            }
        }
        context.fireChannelRead(data)
    }
}
