import AgentCore
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL
import PeerHarness
import Testing

/// `rackagent serve` as operators run it: its own process, started with the soft open-file limit most systems give
/// (1,024), against clients that misbehave.
@Suite(.serialized) struct ServeProcessTests {
    /// A running `rackagent serve`, stopped (SIGTERM) by `stop()`.
    struct Server {
        let directory: TemporaryDirectory
        let process: PeerProcess
        let apiPort: Int
        let bootPort: Int

        static func start(environment: [String: String]) async throws -> Server {
            let directory = try TemporaryDirectory(prefix: "serve")
            let apiPort = FreePort.tcp()
            let bootPort = FreePort.tcp()
            var merged = ["RACKAGENT_DHCP_BACKEND": "none", "RACKAGENT_LOG_FORMAT": "human"]
            for (key, value) in environment { merged[key] = value }
            let process = try await PeerProcess(
                name: "rackagent serve", executable: locateProgram("prlimit") ?? "/usr/bin/prlimit",
                arguments: [
                    "--nofile=1024:\(ProcessLimits.openFileLimit)", "--", RackAgentBinary.path, "serve", "--state-dir", directory.file("state"),
                    "--api-listen", "127.0.0.1:\(apiPort)", "--boot-listen", "127.0.0.1:\(bootPort)", "--console-listen", "127.0.0.1:0",
                ],
                environment: merged, logPath: directory.file("serve.log"))
            try await process.waitForLog(timeout: .seconds(30)) { $0.contains("controller API listening") && $0.contains("boot API listening") }
            return Server(directory: directory, process: process, apiPort: apiPort, bootPort: bootPort)
        }

        var token: String {
            ((try? String(contentsOfFile: directory.file("state/token"), encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// A client trusting the agent's certificate; `readTimeout` bounds the silence while a response is awaited. The
        /// connection (TCP and TLS) may take up to 10 s: with the whole suite on two cores, 1 s was missed twice in an
        /// afternoon; a test about how fast a listener answers bounds its request itself.
        func client(readTimeout: TimeAmount = .seconds(1)) throws -> HTTPClient {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(directory.file("state/tls/agent.crt"))
            var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
            configuration.timeout = .init(connect: .seconds(10), read: readTimeout)
            return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        }

        func stop() {
            process.stop()
            directory.remove()
        }
    }

    /// A TCP connection opened by hand on 127.0.0.1 (blocking), for clients that never finish a request; with
    /// `receiveBuffer`, that receive buffer is set before it connects (so the window the agent sees is small).
    static func connect(port: Int, receiveBuffer: Int32? = nil) -> Int32? {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        if var size = receiveBuffer { setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size)) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(descriptor)
            return nil
        }
        return descriptor
    }

    /// True when the peer closed `descriptor` (a read returns end of file or a reset) within `seconds`.
    static func closedByPeer(_ descriptor: Int32, within seconds: Int) -> Bool {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var byte: UInt8 = 0
        let count = recv(descriptor, &byte, 1, 0)
        return count == 0 || (count < 0 && errno == ECONNRESET)
    }

    static func timed(_ body: () async throws -> Int) async throws -> (Int, Duration) {
        let started = ContinuousClock.now
        let status = try await body()
        return (status, ContinuousClock.now - started)
    }

    /// With JSON logs, every line a job writes names the job, its target, the server it acts for and the request that
    /// started it, whichever module writes it (here the job's end, one refused by the BMC); nothing carries the
    /// BMC password.
    @Test func jsonLogLinesNameTheirJobAndServer() async throws {
        let simulator = try await IPMISimulator()
        defer { simulator.stop() }
        let server = try await Server.start(environment: ["RACKAGENT_LOG_FORMAT": "json", "RACKAGENT_IPMI_MINIMUM_GAP_SECONDS": "0.02"])
        defer { server.stop() }
        // `?wait=30` holds the answer while the BMC switches and is read back: nothing arrives until the job ends.
        let client = try server.client(readTimeout: .seconds(40))
        defer { Task { try? await client.shutdown() } }
        for (serverId, password) in [("77", IPMISimulator.adminPassword), ("78", "wrong-password-9")] {
            var request = HTTPClientRequest(url: "https://127.0.0.1:\(server.apiPort)/v1/power/setPowerOn?wait=30")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(server.token)")
            request.headers.add(name: "Content-Type", value: "application/json")
            let body: JSONValue = ["serverId": .string(serverId), "connection": simulator.connection(password: password)]
            request.body = .bytes(ByteBuffer(string: body.jsonText))
            let response = try await client.execute(request, timeout: .seconds(40))
            _ = try await response.body.collect(upTo: 1 << 20)
        }
        try await server.process.waitForLog(timeout: .seconds(15)) { $0.contains("job succeeded") && $0.contains("job failed") }
        let lines = server.process.log.split(separator: "\n").compactMap { try? JSONCoding.decoder.decode(JSONValue.self, from: Data($0.utf8)) }
        let succeeded = try #require(lines.first { $0["message"] == "job succeeded" })
        let failed = try #require(lines.first { $0["message"] == "job failed" })
        for (line, serverId) in [(succeeded, "77"), (failed, "78")] {
            #expect(line["serverId"]?.stringValue == serverId && line["kind"] == "power.setPowerOn", "\(line.jsonText)")
            #expect(line["job"]?.stringValue?.count == 36 && line["target"]?.stringValue?.contains("127.0.0.1") == true, "\(line.jsonText)")
            #expect(line["request"] == "POST /v1/power/setPowerOn", "\(line.jsonText)")
        }
        #expect(failed["level"] == "warning" && failed["code"]?.stringValue?.isEmpty == false, "\(failed.jsonText)")
        #expect(!server.process.log.contains("wrong-password-9") && !server.process.log.contains(IPMISimulator.adminPassword))
    }

    /// 1,200 clients that send half a request head to the boot listener and then nothing: the agent raises its soft
    /// open-file limit, so both listeners keep answering within a second; the slow clients are closed at the header
    /// timeout, and API clients that never send a TLS ClientHello too.
    @Test func slowClientsDoNotTakeTheListenersDown() async throws {
        let server = try await Server.start(environment: [
            "RACKAGENT_BOOT_REQUEST_HEADER_TIMEOUT_SECONDS": "8", "RACKAGENT_API_REQUEST_HEADER_TIMEOUT_SECONDS": "3",
        ])
        defer { server.stop() }
        var slow: [Int32] = []
        defer { for descriptor in slow { close(descriptor) } }
        let partialHead = Array("GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Waiting: 1\r\n".utf8)
        for _ in 0..<1200 {
            guard let descriptor = Self.connect(port: server.bootPort) else { break }
            _ = send(descriptor, partialHead, partialHead.count, Int32(MSG_NOSIGNAL))
            slow.append(descriptor)
        }
        #expect(slow.count == 1200, "only \(slow.count) connections opened")
        var silent: [Int32] = []
        defer { for descriptor in silent { close(descriptor) } }
        for _ in 0..<50 { if let descriptor = Self.connect(port: server.apiPort) { silent.append(descriptor) } }

        let client = try server.client()
        do {
            let (apiStatus, apiTime) = try await Self.timed {
                var request = HTTPClientRequest(url: "https://127.0.0.1:\(server.apiPort)/v1/ping")
                request.headers.add(name: "Authorization", value: "Bearer \(server.token)")
                return Int(try await client.execute(request, timeout: .seconds(1)).status.code)
            }
            #expect(apiStatus == 200 && apiTime < .seconds(1), "API answered \(apiStatus) after \(apiTime)")
            let (bootStatus, bootTime) = try await Self.timed {
                Int(try await client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(server.bootPort)/healthz"), timeout: .seconds(1)).status.code)
            }
            #expect(bootStatus == 200 && bootTime < .seconds(1), "boot listener answered \(bootStatus) after \(bootTime)")
            try await client.shutdown()
        } catch {
            try? await client.shutdown()
            Issue.record("a listener did not answer with 1,200 slow clients connected: \(error)\n\(server.process.log.suffix(2000))")
        }
        // The silent TLS clients, then the slow ones, are closed at their header timeouts.
        #expect(silent.allSatisfy { Self.closedByPeer($0, within: 6) }, "a client without a ClientHello stayed connected")
        let sample = stride(from: 0, to: slow.count, by: 100).map { slow[$0] }
        #expect(sample.allSatisfy { Self.closedByPeer($0, within: 12) }, "a slow client stayed connected past the header timeout")
        #expect(server.process.log.contains("closed slow or idle connections"), "\(server.process.log.suffix(1000))")
        #expect(server.process.log.contains("open file limit") && server.process.log.contains("before=1024"), "\(server.process.log.prefix(2000))")
    }

    /// A client answered before its body was read (a 401 for a missing token) that then sends the body and stays
    /// silent is still closed at the idle timeout: an early answer does not lift the connection's deadlines.
    @Test func anEarlyAnswerDoesNotLiftTheDeadlines() async throws {
        let server = try await Server.start(environment: ["RACKAGENT_BOOT_IDLE_TIMEOUT_SECONDS": "2", "RACKAGENT_BOOT_REQUEST_TIMEOUT_SECONDS": "3"])
        defer { server.stop() }
        // The boot listener answers a path it does not serve with 404 before reading the body.
        guard let descriptor = Self.connect(port: server.bootPort) else { throw HarnessError.peerFailed("cannot connect") }
        defer { close(descriptor) }
        let head = Array("POST /no-such-route HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n".utf8)
        _ = send(descriptor, head, head.count, Int32(MSG_NOSIGNAL))
        var buffer = [UInt8](repeating: 0, count: 4096)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let answered = recv(descriptor, &buffer, buffer.count, 0)
        #expect(answered > 0 && String(decoding: buffer.prefix(max(0, answered)), as: UTF8.self).hasPrefix("HTTP/1.1 "), "no answer")
        _ = send(descriptor, [UInt8(ascii: "x")], 1, Int32(MSG_NOSIGNAL))
        let started = ContinuousClock.now
        #expect(Self.closedByPeer(descriptor, within: 8), "the connection stayed open")
        #expect(ContinuousClock.now - started < .seconds(7))
    }

    /// The controller is down: events wait, and the outbox gauges say so at every scrape (before, the pending gauge
    /// read 0 until a delivery succeeded, so an alert on it never fired during an outage).
    @Test func outboxGaugesShowEventsWaitingForADownController() async throws {
        let server = try await Server.start(environment: [
            "RACKAGENT_CONTROLLER_URL": "http://127.0.0.1:\(FreePort.tcp())/events", "RACKAGENT_CONTROLLER_MAX_BACKOFF_SECONDS": "30",
        ])
        defer { server.stop() }
        let client = try server.client()
        do {
            for mac in ["52:54:00:00:00:01", "52:54:00:00:00:02"] {
                var put = HTTPClientRequest(url: "https://127.0.0.1:\(server.apiPort)/v1/dhcp/entries/\(mac)")
                put.method = .PUT
                put.headers.add(name: "Authorization", value: "Bearer \(server.token)")
                put.body = .bytes(ByteBuffer(string: #"{"hostname": "node-1", "ipv4": {"ip": "10.0.0.\#(mac.suffix(1))", "cidr": 24}}"#))
                #expect(try await client.execute(put, timeout: .seconds(5)).status == .created)
            }
            try await Task.sleep(for: .milliseconds(1100))
            var scrape = HTTPClientRequest(url: "https://127.0.0.1:\(server.apiPort)/metrics")
            scrape.headers.add(name: "Authorization", value: "Bearer \(server.token)")
            let metrics = String(buffer: try await client.execute(scrape, timeout: .seconds(5)).body.collect(upTo: 1 << 20))
            func value(_ name: String) -> Double? {
                metrics.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
            }
            #expect((value("rackagent_outbox_pending") ?? 0) >= 2, "\(metrics.split(separator: "\n").filter { $0.contains("outbox") })")
            #expect((value("rackagent_outbox_oldest_pending_age_seconds") ?? 0) >= 1, "\(metrics.split(separator: "\n").filter { $0.contains("outbox") })")
            try await client.shutdown()
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}
