import AgentCore
@testable import Console
import Foundation
@testable import IPMI
import Synchronization
import Testing

@Suite struct ConsoleModelTests {
    @Test func aRingKeepsTheNewestBytes() {
        var ring = ByteRing(capacity: 8)
        ring.append(Array("abc".utf8))
        #expect(ring.contents == Array("abc".utf8))
        ring.append(Array("defghijk".utf8))
        #expect(ring.contents == Array("defghijk".utf8))
        for _ in 0..<100 { ring.append(Array("xyz".utf8)) }
        #expect(ring.contents == Array("yzxyzxyz".utf8))
        #expect(String(decoding: ring.contents, as: UTF8.self).hasSuffix("xyz") && ring.totalBytes == 311)
        #expect(ring.tail(3) == Array("xyz".utf8))
        ring.append(Array(repeating: UInt8(ascii: "q"), count: 50))
        #expect(ring.contents == Array(repeating: UInt8(ascii: "q"), count: 8))
    }

    @Test func requestsAreCheckedFieldByField() throws {
        let ipmi: JSONValue = ["type": "ipmi", "meta": ["ip": "10.0.0.5", "username": "admin", "password": "secret", "javaVersion": "auto"]]
        let serial = try ConsoleRequest.decode(["serverId": 61, "authorizedIp": "10.0.0.10", "consoleMode": "standard", "connection": ipmi])
        #expect(serial.serverId == "61" && serial.mode == .serial && serial.authorizedIp == "10.0.0.10")
        let vnc = try ConsoleRequest.decode(["serverId": "62", "authorizedIp": "2001:db8::1", "connection": ["type": "vnc", "meta": ["host": "10.0.0.6", "port": "5901"]]])
        #expect(vnc.mode == .graphical && vnc.endpoint.target == "vnc:10.0.0.6:5901")
        func refusal(_ body: JSONValue) -> AgentError? {
            do { _ = try ConsoleRequest.decode(body); return nil } catch { return AgentError.from(error) }
        }
        #expect(refusal(["serverId": 61, "connection": ipmi])?.details["field"] == "authorizedIp")
        #expect(refusal(["serverId": 61, "authorizedIp": "999.1.1.1", "connection": ipmi])?.details["field"] == "authorizedIp")
        #expect(refusal(["serverId": "../etc", "authorizedIp": "10.0.0.1", "connection": ipmi])?.details["field"] == "serverId")
        let java = refusal(["serverId": 61, "authorizedIp": "10.0.0.1", "consoleMode": "graphical", "connection": ipmi])
        #expect(java?.status == .unprocessable && java?.message.contains("Java") == true)
        #expect(refusal(["serverId": 61, "authorizedIp": "10.0.0.1", "connection": ["type": "vnc", "meta": ["websocketUrl": "http://x/"]]])?.details["field"]
            == "connection.meta.websocketUrl")
        #expect(refusal(["serverId": 61, "authorizedIp": "10.0.0.1", "connection": ["type": "ionos", "meta": [:]]])?.status == .unprocessable)
    }

    @Test func aLinkOpensOnceFromItsAddressUntilItExpires() throws {
        let sessions = ConsoleSessions(maximum: 2)
        let request = ConsoleRequest(
            serverId: "61", authorizedIp: "10.0.0.10", mode: .serial,
            endpoint: .vnc(VNCEndpoint(transport: .tcp(host: "10.0.0.6", port: 5900), password: Secret("pw"))))
        let now = Date()
        let (token, info) = try sessions.create(request, lifetime: 60, now: now)
        #expect(token.count == 64 && info.state == .pending)
        if case .forbidden = sessions.admit(token: token, from: "10.0.0.11", now: now) {} else { Issue.record("another address") }
        if case .admitted = sessions.admit(token: token, from: "::ffff:10.0.0.10", now: now) {} else { Issue.record("IPv4-mapped address") }
        if case .notFound = sessions.admit(token: token.uppercased() + "0", from: "10.0.0.10", now: now) {} else { Issue.record("a wrong token") }
        let (opened, endpoint, _) = sessions.open(token: token, from: "10.0.0.10", now: now)
        if case .admitted(let session) = opened { #expect(session.state == .open) } else { Issue.record("first use") }
        #expect(endpoint != nil)
        if case .notFound = sessions.open(token: token, from: "10.0.0.10", now: now).0 {} else { Issue.record("second use") }
        // Expiry, and the cap on live sessions.
        let (late, _) = try sessions.create(request, lifetime: 1, now: now)
        #expect(throws: AgentError.self) { _ = try sessions.create(request, lifetime: 60, now: now) }
        if case .notFound = sessions.admit(token: late, from: "10.0.0.10", now: now.addingTimeInterval(2)) {} else { Issue.record("expired") }
        #expect(sessions.list(now: now.addingTimeInterval(2)).contains { $0.state == .expired })
        // Revocation by id closes the live connection.
        let closed = ClosedReason()
        #expect(sessions.setCloser(info.sessionId) { closed.set($0) })
        #expect(sessions.revoke(info.sessionId)?.state == .revoked)
        #expect(closed.value == "revoked")
        #expect(!sessions.list().map(\.json.jsonText).joined().contains("pw"), "no password in a listing")
    }

    @Test func rfbVersionsAndIpmitoolsLastWords() {
        #expect(RFBVersion("RFB 003.008\n") == RFBVersion(major: 3, minor: 8))
        #expect(RFBVersion("RFB 003.889\n")?.minor == 8)
        #expect(RFBVersion("RFB 003.005\n")?.minor == 3)
        #expect(RFBVersion("SSH-2.0-x\n") == nil)
        #expect(RFBVersion(major: 3, minor: 7).text == "RFB 003.007\n")
        let words = SOLSession.lastMeaningfulLines("Info: SOL parameter 'Retry (4)' not supported\r\nError sending SOL data: FAIL\nSOL session closed by BMC\r\n")
        #expect(words == "Error sending SOL data: FAIL; SOL session closed by BMC")
    }

    @Test func theXtermBundleResolvesRelativeRequires() throws {
        let bundle = try XtermBundle.bundle(modules: [
            "xterm": "var T = require(\"./public/Terminal\");\nmodule.exports = T.Terminal;\n//# sourceMappingURL=xterm.js.map",
            "public/Terminal": "exports.Terminal = require('../Terminal').Terminal;",
            "Terminal": "exports.Terminal = function () {};",
        ])
        #expect(bundle.contains("definitions[\"public/Terminal\"]") && bundle.contains("window.Terminal = load(\"xterm\")"))
        #expect(!bundle.contains("sourceMappingURL"))
        #expect(throws: XtermBundleError.self) { _ = try XtermBundle.bundle(modules: ["other": ""]) }
        let page = ConsolePages.html(mode: .serial, serverId: "61")
        #expect(page.contains("xterm.js") && !page.contains("<script>"), "no inline script (the page's CSP forbids them)")
    }
}

final class ClosedReason: Sendable {
    private let reason = Mutex<String?>(nil)
    func set(_ value: String) { reason.withLock { $0 = value } }
    var value: String? { reason.withLock { $0 } }
}
