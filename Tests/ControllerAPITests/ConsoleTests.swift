import AgentCore
import AsyncHTTPClient
import Console
import ControllerAPI
import Foundation
import NIOCore
import NIOHTTP1
import PeerHarness
import Testing

/// Remote consoles against real peers: qemu's serial port behind ipmi_sim's Serial-over-LAN, qemu's VNC server, and
/// the agent's console listener on 127.0.0.1.
@Suite(.serialized) struct ConsoleTests {
    static func call(_ client: HTTPClient, _ method: HTTPMethod, _ url: String, token: String?, body: JSONValue? = nil) async throws
        -> (Int, JSONValue, String)
    {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body.jsonText))
        }
        let response = try await client.execute(request, timeout: .seconds(60))
        let text = String(buffer: try await response.body.collect(upTo: 8 << 20))
        let json = (try? JSONCoding.decoder.decode(JSONValue.self, from: Data(text.utf8))) ?? .null
        return (Int(response.status.code), json, text)
    }

    static func liveAgent(_ configure: @escaping (inout AgentConfiguration) -> Void = { _ in }) async throws -> LiveAgent {
        let agent = try await TestAgent {
            $0.ipmi.minimumGapSeconds = 0.02
            configure(&$0)
        }
        return try await LiveAgent(agent: agent)
    }

    /// The console's WebSocket address for a link.
    static func socketURL(_ link: String) -> String {
        link.replacingOccurrences(of: "https://", with: "wss://") + "/websocket"
    }

    /// The whole serial path: a link from the API, the page, the WebSocket; iPXE's banner arrives from qemu through
    /// ipmi_sim's SOL and the agent's bridge; Ctrl-B and a typed command reach the machine; a second use of the link
    /// is refused; the serial log keeps the screen; revoking closes the live console at once; both ends are events.
    @Test func serialConsoleEndToEnd() async throws {
        let serialPort = FreePort.tcp()
        let machine = try await QEMUMachine(consoleSerialPort: serialPort, vncDisplay: QEMUMachine.freeVNCDisplay())
        defer { machine.stop() }
        let simulator = try await IPMISimulator(serialPort: serialPort)
        defer { simulator.stop() }
        let live = try await Self.liveAgent()
        defer { live.agent.remove() }
        try await live.withClient { client in
            let api = live.baseURL
            let token = live.agent.token
            let posted = ContinuousClock.now
            let (status, created, text) = try await Self.call(client, .POST, "\(api)/v1/consoles", token: token, body: [
                "serverId": 61, "authorizedIp": "127.0.0.1", "consoleMode": "standard", "connection": simulator.connection(),
            ])
            #expect(status == 201, "\(text)")
            let link = try #require(created["result"]?["url"]?.stringValue)
            let linkToken = try #require(created["result"]?["token"]?.stringValue)
            #expect(linkToken.count == 64 && link.hasSuffix("/console/\(linkToken)"))
            #expect(created["result"]?["consoleMode"] == "serial")

            let (pageStatus, _, page) = try await Self.call(client, .GET, link, token: nil)
            #expect(pageStatus == 200 && page.contains("/console/static/xterm.js"), "\(page.prefix(300))")
            let (bundleStatus, _, bundle) = try await Self.call(client, .GET, "\(live.embedded.consoleBaseURL)/console/static/xterm.js", token: nil)
            #expect(bundleStatus == 200 && bundle.contains("window.Terminal = load("), "the xterm.js bundle is served")

            let console = try await ConsoleSocket.open(Self.socketURL(link), certificatePath: live.certificate.certificatePath)
            try await console.waitForStatus("interactive")
            // The link is used: a second WebSocket (a replay, a shared URL) is refused before any upgrade.
            await #expect(throws: (any Error).self) { _ = try await ConsoleSocket.open(Self.socketURL(link), certificatePath: live.certificate.certificatePath) }

            try await machine.start()
            try await console.waitForText("iPXE's Ctrl-B prompt") { $0.contains("iPXE") && $0.contains("Ctrl-B") }
            let firstByte = try #require(console.firstByteAt)
            print("figure: POST /v1/consoles to the first console byte: \(firstByte - posted) (qemu started in between)")
            try await console.send([0x02])
            try await console.waitForText(timeout: .seconds(30), "the iPXE shell") { $0.contains("iPXE>") }
            try await console.type("echo console-marker-61\r")
            try await console.waitForText("the echoed marker") { $0.components(separatedBy: "console-marker-61").count >= 3 }

            // The tail is kept for the controller even after the viewer left.
            let (logStatus, log, _) = try await Self.call(client, .GET, "\(api)/v1/consoles/log/61", token: token)
            #expect(logStatus == 200 && (log["result"]?["text"]?.stringValue?.contains("console-marker-61") ?? false), "\(log.jsonText.prefix(300))")

            // Revoked while open: the console closes at once and says why.
            let (revoked, revokedSession, _) = try await Self.call(client, .DELETE, "\(api)/v1/consoles/\(linkToken)", token: token)
            #expect(revoked == 200 && revokedSession["result"]?["state"] == "revoked")
            let last = try await console.waitForStatus("disconnected", timeout: .seconds(10))
            #expect(last["reason"] == "revoked", "\(last.jsonText)")
            _ = try await console.waitForEnd()
            await console.close()

            let (_, sessions, _) = try await Self.call(client, .GET, "\(api)/v1/consoles", token: token)
            guard case .array(let listed)? = sessions["result"] else { Issue.record("no session list"); return }
            #expect(listed.first?["state"] == "revoked" && (listed.first?["bytesToViewer"]?.intValue ?? 0) > 100, "\(sessions.jsonText)")
            #expect(!sessions.jsonText.contains(linkToken), "the token is never listed")
        }
        let events = try await live.agent.runtime.outbox.pendingEvents()
        #expect(events.contains { $0.type == "console.opened" })
        let closed = try #require(events.first { $0.type == "console.closed" })
        #expect(closed.data["closeReason"] == "revoked" && closed.data["durationSeconds"] != nil, "\(closed.data.jsonText)")
        #expect(!events.map(\.data.jsonText).joined().contains(IPMISimulator.adminPassword), "no BMC password in an event")
        await live.stop()
    }
}
