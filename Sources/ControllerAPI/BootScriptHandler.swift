import AgentCore
import Foundation
import HTTPTypes
import HummingbirdCore
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
/// status and headers (`Envelope.text`'s, and the `Date` Hummingbird adds). HTTP/1.1 pipelining keeps its order: a request is answered here only when
/// every request passed on has been answered to its end, so no answer can overtake an earlier one; a request that
/// asks to close the connection has it closed after its answer, as the router's connection handling does.
final class BootScriptHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let gate: PXEGate
    private let dates: HTTPDateCache
    /// Requests passed on to the router whose answer has not been written to its end.
    private var passedOn = 0
    /// The answer of the request being read here (its head was taken), written when its end arrives.
    private var pending: (script: String, closeAfter: Bool)?

    init(gate: PXEGate, dates: HTTPDateCache) {
        self.gate = gate
        self.dates = dates
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            if passedOn == 0, let script = indexedScript(head) {
                pending = (script, head.headerFields[.connection]?.lowercased() == "close")
                return
            }
            passedOn += 1
        case .body:
            // A GET's body is read and dropped, as the router's route does.
            if pending != nil { return }
        case .end:
            if let answer = pending {
                pending = nil
                write(answer.script, closeAfter: answer.closeAfter, context: context)
                return
            }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { passedOn = max(0, passedOn - 1) }
        context.write(data, promise: promise)
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

    private func write(_ script: String, closeAfter: Bool, context: ChannelHandlerContext) {
        let body = context.channel.allocator.buffer(string: script)
        var fields = HTTPFields()
        fields[.contentType] = "text/plain; charset=utf-8"
        fields[.contentLength] = String(body.readableBytes)
        fields[.date] = dates.now
        context.write(wrapOutboundOut(.head(HTTPResponse(status: .ok, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        // As Hummingbird's connection handler closes after a last answer: the flushed answer goes out first.
        if closeAfter { context.close(promise: nil) }
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
