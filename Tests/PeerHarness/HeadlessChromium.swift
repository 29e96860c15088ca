import AgentCore
import AsyncHTTPClient
import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import Synchronization

/// Debian's chromium, headless, driven through the Chrome DevTools Protocol: opens a page, evaluates JavaScript in
/// it, takes screenshots. It trusts nothing it is not told to: the agent's self-signed certificate is accepted with
/// `--ignore-certificate-errors` (the browser is a test peer, not the thing under test).
public final class HeadlessChromium: Sendable {
    public let process: PeerProcess
    public let directory: TemporaryDirectory
    let debuggerPort: Int

    public init() async throws {
        guard let chromium = locateProgram("chromium") else { throw HarnessError.peerFailed("chromium is not installed") }
        directory = try TemporaryDirectory(prefix: "chromium")
        process = try await PeerProcess(
            name: "chromium", executable: chromium,
            arguments: [
                "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions", "--disable-background-networking",
                "--ignore-certificate-errors", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "--remote-allow-origins=*",
                "--user-data-dir=\(directory.file("profile"))", "--window-size=1100,800", "about:blank",
            ],
            logPath: directory.file("chromium.log"))
        try await process.waitForLog(timeout: .seconds(60)) { $0.contains("DevTools listening on ws://127.0.0.1:") }
        let line = process.log.split(separator: "\n").first { $0.contains("DevTools listening on ws://127.0.0.1:") } ?? ""
        guard let portText = line.split(separator: "127.0.0.1:").last?.split(separator: "/").first, let port = Int(portText) else {
            throw HarnessError.peerFailed("chromium did not say where DevTools listen: \(line)")
        }
        debuggerPort = port
    }

    /// Opens `url` in a new tab and returns the tab.
    /// The tab starts blank, its page, network and console events are recorded (``Tab/events``), then it navigates:
    /// what the page loaded, failed to load or logged is there from the first request.
    public func open(_ url: String) async throws -> Tab {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { Task { try? await client.shutdown() } }
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(debuggerPort)/json/new?about:blank")
        request.method = .PUT
        let response = try await client.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        let target = try JSONCoding.decoder.decode(JSONValue.self, from: Data(buffer: body))
        guard let socket = target["webSocketDebuggerUrl"]?.stringValue else { throw HarnessError.peerFailed("no tab: \(target.jsonText)") }
        let tab = try await Tab.connect(socket)
        for domain in ["Page", "Runtime", "Log", "Network"] { _ = try await tab.call("\(domain).enable") }
        _ = try await tab.call("Page.bringToFront")
        // Chromium abandons a navigation with ERR_NETWORK_CHANGED when another test's veth pair comes or goes meanwhile:
        // it is tried again, at most twice (the page's one-time console link is used by its WebSocket, not its load).
        for attempt in 1...3 {
            let navigation = try await tab.call("Page.navigate", ["url": .string(url)])
            guard let failure = navigation["errorText"]?.stringValue else { return tab }
            guard failure.contains("ERR_NETWORK_CHANGED"), attempt < 3 else { throw HarnessError.peerFailed("navigating to the page: \(failure)") }
            try await Task.sleep(for: .milliseconds(300))
        }
        return tab
    }

    public func stop() {
        process.stop(grace: .seconds(2))
        directory.remove()
    }

    /// One tab's DevTools connection.
    public final class Tab: Sendable {
        private struct State {
            var outbound: WebSocketOutboundWriter?
            var answers: [Int: JSONValue] = [:]
            var nextId = 1
            var ended: String?
            /// The page's recent events, one line each (bounded).
            var events: [String] = []
        }

        /// The events worth reading when a page misbehaves: requests that failed or answered an error, WebSockets
        /// opened and closed, exceptions and console messages; the last 200.
        public var events: [String] { shared.state.withLock { $0.events } }

        static func summary(of event: JSONValue) -> String? {
            let parameters = event["params"] ?? .null
            func text(_ value: JSONValue?) -> String { value.map { $0.stringValue ?? $0.jsonText } ?? "" }
            switch event["method"]?.stringValue {
            case "Network.requestWillBeSent": return "request \(text(parameters["request"]?["url"]))"
            case "Network.responseReceived":
                return "response \(text(parameters["response"]?["status"])) \(text(parameters["response"]?["url"]))"
            case "Network.loadingFailed": return "FAILED \(text(parameters["type"])) \(text(parameters["errorText"])) \(text(parameters["blockedReason"]))"
            case "Network.webSocketCreated": return "websocket created \(text(parameters["url"]))"
            case "Network.webSocketHandshakeResponseReceived": return "websocket handshake \(text(parameters["response"]?["status"]))"
            case "Network.webSocketClosed": return "websocket closed"
            case "Network.webSocketFrameError": return "websocket error \(text(parameters["errorMessage"]))"
            case "Runtime.exceptionThrown": return "EXCEPTION \(text(parameters["exceptionDetails"]?["exception"]?["description"] ?? parameters["exceptionDetails"]?["text"]))"
            case "Runtime.consoleAPICalled": return "console.\(text(parameters["type"])) \(text(parameters["args"]?.firstElement?["value"]))"
            case "Log.entryAdded": return "log \(text(parameters["entry"]?["level"])) \(text(parameters["entry"]?["text"]))"
            default: return nil
            }
        }

        private final class Shared: Sendable {
            let state = Mutex(State())
        }

        private let shared = Shared()
        private let task: Task<Void, Never>

        private init(_ url: String) {
            let shared = self.shared
            task = Task {
                do {
                    try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 1 << 26), logger: Logger(label: "cdp")) { inbound, outbound, _ in
                        shared.state.withLock { $0.outbound = outbound }
                        for try await message in inbound.messages(maxSize: 1 << 26) {
                            guard case .text(let text) = message, let value = try? JSONCoding.decoder.decode(JSONValue.self, from: Data(text.utf8)) else {
                                continue
                            }
                            if let id = value["id"]?.intValue {
                                shared.state.withLock { $0.answers[id] = value }
                            } else if let line = Tab.summary(of: value) {
                                shared.state.withLock { state in
                                    state.events.append(line)
                                    if state.events.count > 200 { state.events.removeFirst(state.events.count - 200) }
                                }
                            }
                        }
                    }
                    shared.state.withLock { $0.ended = "closed" }
                } catch {
                    shared.state.withLock { $0.ended = "\(error)" }
                }
            }
        }

        static func connect(_ url: String) async throws -> Tab {
            let tab = Tab(url)
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline {
                let (ready, ended) = tab.shared.state.withLock { ($0.outbound != nil, $0.ended) }
                if ready { return tab }
                if let ended { throw HarnessError.peerFailed("DevTools: \(ended)") }
                try await Task.sleep(for: .milliseconds(20))
            }
            throw HarnessError.timeout("DevTools connection")
        }

        /// Sends a DevTools command and returns its result.
        public func call(_ method: String, _ parameters: JSONValue = [:]) async throws -> JSONValue {
            let (id, outbound) = shared.state.withLock { state -> (Int, WebSocketOutboundWriter?) in
                defer { state.nextId += 1 }
                return (state.nextId, state.outbound)
            }
            guard let outbound else { throw HarnessError.peerFailed("DevTools not connected") }
            let command: JSONValue = ["id": .integer(Int64(id)), "method": .string(method), "params": parameters]
            try await outbound.write(.text(command.jsonText))
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline {
                if let answer = shared.state.withLock({ $0.answers.removeValue(forKey: id) }) {
                    if let error = answer["error"] { throw HarnessError.peerFailed("\(method): \(error.jsonText)") }
                    return answer["result"] ?? .null
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            throw HarnessError.timeout("DevTools \(method)")
        }

        /// The value of a JavaScript expression in the page.
        public func evaluate(_ expression: String) async throws -> JSONValue {
            let result = try await call("Runtime.evaluate", ["expression": .string(expression), "returnByValue": true])
            return result["result"]?["value"] ?? .null
        }

        /// Whether Chromium cancelled some of the page's requests because the host's network changed
        /// (`ERR_NETWORK_CHANGED`: it does so whenever an interface comes or goes, and other tests create veth pairs
        /// and namespaces while this one loads its page).
        public var lostRequestsToANetworkChange: Bool { events.contains { $0.contains("ERR_NETWORK_CHANGED") } }

        /// Loads the page again, bypassing the cache, with a fresh event record.
        public func reload() async throws {
            shared.state.withLock { $0.events.removeAll() }
            _ = try await call("Page.reload", ["ignoreCache": true])
        }

        /// Polls `expression` (bounded) until `condition` holds for its value. With `reloadsAfterNetworkChanges`, a page
        /// that lost requests to a network change of the host is loaded again (at most that many times), as a person
        /// would press reload; only for pages that have not yet used their one-time console link.
        @discardableResult
        public func waitFor(_ expression: String, timeout: Duration = .seconds(60), reloadsAfterNetworkChanges: Int = 0,
                            _ condition: (JSONValue) -> Bool) async throws -> JSONValue {
            let deadline = ContinuousClock.now + timeout
            var last: JSONValue = .null
            var reloadsLeft = reloadsAfterNetworkChanges
            while ContinuousClock.now < deadline {
                last = try await evaluate(expression)
                if condition(last) { return last }
                if reloadsLeft > 0, lostRequestsToANetworkChange {
                    reloadsLeft -= 1
                    try await reload()
                }
                try await Task.sleep(for: .milliseconds(200))
            }
            throw HarnessError.timeout("the page never satisfied the condition; \(expression) was \(last.jsonText.prefix(500))")
        }

        /// A PNG of the page, written to `path`.
        public func screenshot(to path: String) async throws {
            let result = try await call("Page.captureScreenshot", ["format": "png"])
            guard let text = result["data"]?.stringValue, let data = Data(base64Encoded: text) else { throw HarnessError.peerFailed("no screenshot") }
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try data.write(to: URL(fileURLWithPath: path))
        }

        public func close() async {
            if let outbound = shared.state.withLock({ $0.outbound }) { try? await outbound.close(.normalClosure, reason: nil) }
            _ = await task.value
        }
    }

    /// Where tests keep what they produce for people to look at (screenshots): `RACKAGENT_TEST_ARTIFACTS`, or
    /// `.build/test-artifacts` in the repository.
    public static var artifactsDirectory: String {
        ProcessInfo.processInfo.environment["RACKAGENT_TEST_ARTIFACTS"] ?? PeerTools.repositoryRoot + "/.build/test-artifacts"
    }
}

extension JSONValue {
    /// The first element of an array.
    var firstElement: JSONValue? {
        if case .array(let elements) = self { return elements.first }
        return nil
    }
}
