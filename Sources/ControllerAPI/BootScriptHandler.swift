import AgentCore
import Foundation
import HTTPTypes
import HummingbirdCore
import Metrics
import NIOHTTP1
import NIOCore
import NIOHTTPTypes
import Provisioning
import Synchronization

/// Answers `GET /boot/ipxe` in the boot listener's channel pipeline, when the ``BootIndex`` alone decides the answer
/// (``PXEGate/indexedAnswer(mac:architecture:)``: most of a netbooting site's load), without handing the request to
/// Hummingbird's router and its async channel bridge. Every other request, and every `/boot/ipxe` the index cannot
/// answer or that ends in an error (no `mac`, a malformed one, a refused MAC, a running installation), goes on to the
/// router as before, which answers it exactly as it did.
///
/// The answer is the router's for the same request: the same query parsing (Hummingbird's `URI`), the same script,
/// status and headers (`Envelope.text`'s, and the `Date` Hummingbird adds). The connection behaves as under the router:
/// - HTTP/1.1 pipelining keeps its order: a request is answered here only when every request passed on has been
///   answered to its end, so no answer can overtake an earlier one.
/// - A client that does not read its answers is not answered here while the connection cannot take more output: its
///   requests go to the router, whose writer waits and whose buffer stops the reading, so answers never pile up.
/// - At most ``answersPerRead`` requests of one read are answered here; the rest of a long pipelined burst goes to the
///   router, which answers one at a time and lets the event loop's other connections in between.
/// - After a request that asks to close the connection (`Connection: close` here, the router's own rule for a request
///   passed on), nothing more is read or answered; one answered here closes the connection once its answer is written.
/// - The end of the client's input and a graceful shutdown reach the router's connection handling only once every
///   answer written here has gone out, so neither cuts one off; while one is held, nothing more is answered here.
final class BootScriptHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let gate: PXEGate
    private let dates: HTTPDateCache
    private let answered: Counter
    /// Requests passed on to the router whose answer has not been written to its end.
    private var passedOn = 0
    /// The answer of the request being read here (its head was taken), written when its end arrives.
    private var pending: String?
    /// The request being read asks to close the connection after it.
    private var closeAtEnd = false
    /// A request asked to close the connection and has been read: whatever follows is dropped.
    private var closing = false
    /// The request that closes the connection is answered here.
    private var closingHere = false
    /// Answers written here that have not gone out yet.
    private var answersInFlight = 0
    private var needsFlush = false
    /// Answers given here since the last read ended.
    private var answeredThisRead = 0
    /// A read (up to 64 KiB, a thousand pipelined requests) answered here in full would hold the event loop, which
    /// other connections share, for as long as they take; a booting machine sends one request at a time.
    static let answersPerRead = 16
    /// The end of input and graceful shutdown, held while an answer here is pending or going out.
    private var heldEvents: [Any] = []
    private var removed = false

    /// - Parameter answered: counts the answers given here (`rackagent_boot_scripts_in_pipeline_total`).
    init(gate: PXEGate, dates: HTTPDateCache, answered: Counter) {
        self.gate = gate
        self.dates = dates
        self.answered = answered
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        removed = true
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if closing { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            if passedOn == 0, heldEvents.isEmpty, answeredThisRead < Self.answersPerRead, context.channel.isWritable,
                let script = indexedScript(head)
            {
                closeAtEnd = Self.asksToClose(head)
                closingHere = closeAtEnd
                pending = script
                return
            }
            // Hummingbird's own rule: it stops after such a request, so nothing after it may reach it.
            closeAtEnd = head.headerFields[.connection] == "close"
            passedOn += 1
        case .body:
            // A GET's body is read and dropped, as the router's route does.
            if pending != nil { return }
        case .end:
            if closeAtEnd { closing = true }
            if let script = pending {
                pending = nil
                write(script, closeAfter: closeAtEnd, context: context)
                return
            }
        }
        context.fireChannelRead(data)
    }

    /// The HTTP parser refuses bytes after a message that asked to close the connection (before that message's end
    /// reaches this handler). When that message is answered here, the refusal is this handler's to drop (the
    /// connection closes after the answer); passed on to the router, it would answer 400 after it. Any other parser
    /// error goes on, and the router answers 400 and closes, as it would alone.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if closingHere, let refusal = error as? HTTPParserError, refusal == .closedConnection { return }
        context.fireErrorCaught(error)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        answeredThisRead = 0
        flushIfNeeded(context)
        context.fireChannelReadComplete()
    }

    private func flushIfNeeded(_ context: ChannelHandlerContext) {
        guard needsFlush else { return }
        needsFlush = false
        context.flush()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { passedOn = max(0, passedOn - 1) }
        context.write(data, promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        let held = event is ChannelShouldQuiesceEvent || (event as? ChannelEvent) == .inputClosed
        if held, pending != nil || answersInFlight > 0 {
            heldEvents.append(event)
            flushIfNeeded(context)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// The script for a `GET /boot/ipxe?mac=...` the index answers; nil for anything the router must answer.
    private func indexedScript(_ head: HTTPRequest) -> String? {
        guard head.method == .get, let target = head.path, target.hasPrefix("/boot/ipxe") else { return nil }
        let uri = URI(target)
        guard uri.path == "/boot/ipxe" else { return nil }
        let query = uri.queryParameters
        guard let text = query.get("mac"), let mac = try? MACAddress.parse(text, field: "mac") else { return nil }
        guard case .script(let script) = gate.indexedAnswer(mac: mac, architecture: BootArchitecture(query: query.get("arch"))) else { return nil }
        return script
    }

    /// `Connection: close` among the header's tokens (RFC 9110 7.6.1).
    static func asksToClose(_ head: HTTPRequest) -> Bool {
        head.headerFields[values: .connection].contains { value in
            value.split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces).lowercased() == "close" }
        }
    }

    /// Writes the answer (flushed at the end of the read, or now when the connection then closes); once it has gone
    /// out, closes the connection if asked to and lets held events through.
    private func write(_ script: String, closeAfter: Bool, context: ChannelHandlerContext) {
        let body = context.channel.allocator.buffer(string: script)
        var fields = HTTPFields()
        fields[.contentType] = "text/plain; charset=utf-8"
        fields[.contentLength] = String(body.readableBytes)
        fields[.date] = dates.now
        context.write(wrapOutboundOut(.head(HTTPResponse(status: .ok, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        answersInFlight += 1
        answeredThisRead += 1
        answered.increment()
        let written = context.eventLoop.makePromise(of: Void.self)
        context.write(wrapOutboundOut(.end(nil)), promise: written)
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        written.futureResult.whenComplete { _ in
            let (handler, context) = bound.value
            handler.answersInFlight -= 1
            guard !handler.removed else { return }
            if closeAfter { context.close(promise: nil) }
            handler.releaseHeldEvents(context)
        }
        if closeAfter {
            context.flush()
        } else {
            needsFlush = true
        }
    }

    private func releaseHeldEvents(_ context: ChannelHandlerContext) {
        guard pending == nil, answersInFlight == 0, !heldEvents.isEmpty else { return }
        let events = heldEvents
        heldEvents = []
        for event in events { context.fireUserInboundEventTriggered(event) }
    }
}

/// The `Date` header's text (RFC 9110's IMF-fixdate, "Wed, 02 Dec 2026 03:57:37 GMT"), formatted once a second.
final class HTTPDateCache: Sendable {
    private let current = Mutex<(second: Int, text: String)>((-1, ""))

    var now: String {
        let second = time(nil)
        return current.withLock { current in
            if current.second != second { current = (second, Self.format(second)) }
            return current.text
        }
    }

    static func format(_ second: Int) -> String {
        var seconds = time_t(second)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}
