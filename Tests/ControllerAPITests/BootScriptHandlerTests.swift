import AgentCore
import ControllerAPI
import Foundation
import PeerHarness
import Provisioning
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `/boot/ipxe` answered in the boot listener's pipeline (`BootScriptHandler`): the same bytes as the router's answer,
/// pipelined answers in the order asked even when some are answered there and some by the router, a body on a GET
/// dropped, and `Connection: close` honoured. The clients are raw sockets on threads of their own (the agent under
/// test shares the cooperative pool).
@Suite(.serialized, .timeLimit(.minutes(2))) struct BootScriptHandlerTests {
    /// One HTTP answer as read off the socket.
    struct Answer: Equatable {
        var head: String
        var body: String
        var status: Int { Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0 }
        /// The head's lines but the `Date` (two answers may straddle a second).
        var undatedHead: [Substring] { head.split(separator: "\r\n").filter { !$0.hasPrefix("Date: ") } }
        /// The `Date` header's value.
        var date: String? { head.split(separator: "\r\n").first { $0.hasPrefix("Date: ") }.map { String($0.dropFirst(6)) } }
    }

    static let macs = (1...4).map { MACAddress(String(format: "52:54:00:aa:00:%02x", $0))! }

    static func withBootListener(_ body: (Int) async throws -> Void) async throws {
        AgentMetrics.bootstrap()
        let agent = try await TestAgent()
        defer { agent.remove() }
        try await agent.runtime.dhcp.store.importEntries([
            entry(macs[0], pxe: true), entry(macs[1], pxe: false), entry(macs[2], pxe: true, expiresAt: Date(timeIntervalSinceNow: -60)),
        ])
        try await LiveAgent.withBootPort(of: agent, body)
    }

    static func entry(_ mac: MACAddress, pxe: Bool, expiresAt: Date? = nil) -> DHCPEntry {
        DHCPEntry(
            mac: mac, hostname: "node", ipv4: .init(ip: "10.0.0.\(mac.description.suffix(1))", cidr: 24, gateway: nil),
            permanent: expiresAt == nil, keepMinutes: expiresAt == nil ? nil : 60, pxe: pxe, expiresAt: expiresAt)
    }

    /// Answers given in the pipeline so far, in this process (other suites' agents count too, so tests compare growth).
    static func answeredInPipeline() -> Int {
        let line = AgentMetrics.render().split(separator: "\n").first { $0.hasPrefix("rackagent_boot_scripts_in_pipeline_total ") }
        return line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
    }

    static func get(_ target: String, headers: String = "") -> String { "GET \(target) HTTP/1.1\r\nHost: test\r\n\(headers)\r\n" }

    /// Connects, sends each of `writes` (20 ms apart), reads `count` answers; nil when the connection failed.
    static func exchange(port: Int, _ writes: [String], answers count: Int) async -> [Answer]? {
        await ListenerDeadlineTests.blocking { () -> [Answer]? in
            guard let descriptor = ServeProcessTests.connect(port: port) else { return nil }
            defer { close(descriptor) }
            for (index, text) in writes.enumerated() {
                if index > 0 { usleep(20_000) }
                guard ListenerDeadlineTests.send(descriptor, text) else { return nil }
            }
            return read(descriptor, answers: count)
        }
    }

    /// Reads `count` answers framed by their Content-Length; nil when the connection ends first or stalls for `seconds`
    /// (an answer that is never coming; the default leaves room for a suite that loads both cores).
    static func read(_ descriptor: Int32, answers count: Int, seconds: Int = 20) -> [Answer]? {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var received: [UInt8] = []
        var answers: [Answer] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        for _ in 0..<10_000 {
            while let (answer, used) = parse(received) {
                answers.append(answer)
                received.removeFirst(used)
                if answers.count == count { return answers }
            }
            let got = recv(descriptor, &buffer, buffer.count, 0)
            guard got > 0 else { return nil }
            received += buffer[0..<got]
        }
        return nil
    }

    static func parse(_ bytes: [UInt8]) -> (Answer, Int)? {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let end = (0...max(0, bytes.count - 4)).first(where: { bytes.count >= 4 && Array(bytes[$0..<$0 + 4]) == separator }) else { return nil }
        let head = String(decoding: bytes[0..<end], as: UTF8.self)
        let length = head.split(separator: "\r\n").compactMap { line -> Int? in
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "content-length" else { return nil }
            return Int(parts[1].trimmingCharacters(in: .whitespaces))
        }.first ?? 0
        guard bytes.count >= end + 4 + length else { return nil }
        return (Answer(head: head, body: String(decoding: bytes[(end + 4)..<(end + 4 + length)], as: UTF8.self)), end + 4 + length)
    }

    /// Every kind of script the index answers is byte for byte the router's answer. The router's is obtained by
    /// asking behind a request the router is still reading (its body's last bytes arrive with the `/boot/ipxe`
    /// request), which the pipeline handler must pass on to keep the order.
    @Test func theIndexedAnswerIsTheRoutersAnswer() async throws {
        try await Self.withBootListener { port in
            let targets = [
                "/boot/ipxe?mac=\(Self.macs[0])&arch=pcbios", "/boot/ipxe?mac=\(Self.macs[0].description.uppercased())&arch=efi",
                "/boot/ipxe?mac=\(Self.macs[0].description.replacingOccurrences(of: ":", with: "-"))", "/boot/ipxe?mac=52%3A54%3A00%3Aaa%3A00%3A01&arch=arm64",
                "/boot/ipxe?mac=\(Self.macs[1])&arch=pcbios", "/boot/ipxe?mac=\(Self.macs[2])&arch=efi", "/boot/ipxe?arch=pcbios&mac=\(Self.macs[3])",
            ]
            for target in targets {
                let before = Self.answeredInPipeline()
                let direct = try #require(await Self.exchange(port: port, [Self.get(target)], answers: 1))
                #expect(Self.answeredInPipeline() > before, "\(target) was not answered in the pipeline")
                let behind = try #require(
                    await Self.exchange(
                        port: port,
                        ["POST /boot/unknown-token/progress HTTP/1.1\r\nHost: test\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 9\r\n\r\nstep=",
                         "done" + Self.get(target)],
                        answers: 2))
                #expect(behind[0].status == 404, "\(behind[0])")
                #expect(direct[0].status == 200 && direct[0].body.hasPrefix("#!ipxe\n"), "\(target): \(direct[0])")
                #expect(direct[0].undatedHead == behind[1].undatedHead && direct[0].body == behind[1].body, "\(target): \(direct[0]) \(behind[1])")
                let date = try #require(direct[0].date)
                #expect(HTTPDateCheck.isIMFFixdate(date) && HTTPDateCheck.isIMFFixdate(behind[1].date ?? ""), "\(date), \(behind[1].date ?? "none")")
            }
        }
    }

    /// 60 requests in one write on each of four connections at once, mixing what the pipeline answers with what only
    /// the router answers (errors, other routes): every answer arrives, in the order asked.
    @Test func pipelinedAnswersKeepTheirOrder() async throws {
        try await Self.withBootListener { port in
            enum Kind: CaseIterable { case script, healthz, missingMAC, malformedMAC, missingFile }
            var generator = SystemRandomNumberGenerator()
            let plans: [[(Kind, Int)]] = (0..<4).map { _ in
                (0..<60).map { _ in (Kind.allCases.randomElement(using: &generator)!, Int.random(in: 0..<4, using: &generator)) }
            }
            let results = await withTaskGroup(of: (Int, [Answer]?).self) { group in
                for (index, plan) in plans.enumerated() {
                    let text = plan.map { kind, mac in
                        switch kind {
                        case .script: Self.get("/boot/ipxe?mac=\(Self.macs[mac])&arch=pcbios")
                        case .healthz: Self.get("/healthz")
                        case .missingMAC: Self.get("/boot/ipxe?arch=efi")
                        case .malformedMAC: Self.get("/boot/ipxe?mac=52:54:00:zz")
                        case .missingFile: Self.get("/boot/files/nothing/here")
                        }
                    }.joined()
                    group.addTask { (index, await Self.exchange(port: port, [text], answers: plan.count)) }
                }
                var results: [Int: [Answer]?] = [:]
                for await (index, answers) in group { results[index] = answers }
                return results
            }
            for (index, plan) in plans.enumerated() {
                let answers = try #require(results[index] ?? nil, "connection \(index) did not get every answer")
                for ((kind, mac), answer) in zip(plan, answers) {
                    switch kind {
                    case .script: #expect(answer.status == 200 && answer.body.contains("# rackagent: \(Self.macs[mac]) "), "\(answer)")
                    case .healthz: #expect(answer.status == 200 && answer.body == "ok\n", "\(answer)")
                    case .missingMAC: #expect(answer.status == 400 && answer.body.contains("mac"), "\(answer)")
                    case .malformedMAC: #expect(answer.status == 400 && answer.body.contains("mac"), "\(answer)")
                    case .missingFile: #expect(answer.status == 404, "\(answer)")
                    }
                }
            }
        }
    }

    /// A GET's body is dropped and the connection goes on (the router answers the next request, then the pipeline
    /// again); `Connection: close` (among other tokens) on a request answered in the pipeline closes the connection
    /// after its answer, and the request behind it is neither answered nor refused.
    @Test func aBodyIsDroppedAndConnectionCloseIsHonoured() async throws {
        try await Self.withBootListener { port in
            let withBody = "GET /boot/ipxe?mac=\(Self.macs[1]) HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\r\nhello"
            let closing = Self.get("/boot/ipxe?mac=\(Self.macs[0])") + Self.get("/boot/ipxe?mac=\(Self.macs[2])", headers: "Connection: keep-alive, close\r\n")
                + Self.get("/boot/ipxe?mac=\(Self.macs[3])")
            let before = Self.answeredInPipeline()
            let (first, second, extra, closed) = await ListenerDeadlineTests.blocking { () -> ([Answer]?, [Answer]?, [Answer]?, Bool) in
                guard let descriptor = ServeProcessTests.connect(port: port) else { return (nil, nil, nil, false) }
                defer { close(descriptor) }
                guard ListenerDeadlineTests.send(descriptor, withBody + Self.get("/healthz")) else { return (nil, nil, nil, false) }
                let first = Self.read(descriptor, answers: 2)
                guard ListenerDeadlineTests.send(descriptor, closing) else { return (first, nil, nil, false) }
                let second = Self.read(descriptor, answers: 2)
                return (first, second, Self.read(descriptor, answers: 1, seconds: 5), ServeProcessTests.closedByPeer(descriptor, within: 5))
            }
            let two = try #require(first, "the connection ended early")
            #expect(two.map(\.status) == [200, 200])
            #expect(two[0].body.contains("\(Self.macs[1]) PXE is not enabled"), "\(two[0])")
            #expect(two[1].body == "ok\n", "\(two[1])")
            let more = try #require(second, "the connection ended early")
            #expect(more.map(\.status) == [200, 200])
            #expect(more[0].body.contains("\(Self.macs[0]) no pending installation"), "\(more[0])")
            #expect(more[1].body.contains("\(Self.macs[2]) PXE is not enabled"), "\(more[1])")
            #expect(extra == nil, "something was answered behind Connection: close: \(extra ?? [])")
            #expect(closed, "the connection stayed open after Connection: close")
            #expect(Self.answeredInPipeline() - before >= 3, "the pipeline answered fewer than the three it could")
        }
    }

    /// A request the router answers with `Connection: close`: it closes, and the request behind it (one the pipeline
    /// could answer) is neither answered nor reaches the router.
    @Test func nothingBehindARouterCloseIsAnswered() async throws {
        try await Self.withBootListener { port in
            let requests = Self.get("/healthz", headers: "Connection: close\r\n") + Self.get("/boot/ipxe?mac=\(Self.macs[0])")
            let (answers, extra, closed) = await ListenerDeadlineTests.blocking { () -> ([Answer]?, [Answer]?, Bool) in
                guard let descriptor = ServeProcessTests.connect(port: port) else { return (nil, nil, false) }
                defer { close(descriptor) }
                guard ListenerDeadlineTests.send(descriptor, requests) else { return (nil, nil, false) }
                return (Self.read(descriptor, answers: 1), Self.read(descriptor, answers: 1, seconds: 5), ServeProcessTests.closedByPeer(descriptor, within: 5))
            }
            #expect(answers?.first?.body == "ok\n")
            #expect(extra == nil, "a request behind Connection: close was answered: \(extra ?? [])")
            #expect(closed)
        }
    }

    /// A client with a small receive window that sends 300 requests and then ends them, by closing its side of the
    /// connection or by `Connection: close` on the last: the answers wait in the agent, and every one still goes out.
    @Test func everyAnswerGoesOutBeforeTheConnectionEnds() async throws {
        try await Self.withBootListener { port in
            for ending in ["half-close", "Connection: close"] {
                let count = 300
                let requests = (0..<count).map { number in
                    Self.get("/boot/ipxe?mac=\(Self.macs[number % 4])&arch=efi", headers: ending != "half-close" && number == count - 1 ? "Connection: close\r\n" : "")
                }.joined()
                let answers = await ListenerDeadlineTests.blocking { () -> [Answer]? in
                    guard let descriptor = ServeProcessTests.connect(port: port, receiveBuffer: 4096) else { return nil }
                    defer { close(descriptor) }
                    guard ListenerDeadlineTests.send(descriptor, requests) else { return nil }
                    if ending == "half-close", shutdown(descriptor, Int32(SHUT_WR)) != 0 { return nil }
                    usleep(500_000)
                    return Self.read(descriptor, answers: count)
                }
                let all = try #require(answers, "\(ending): answers were lost")
                #expect(all.enumerated().allSatisfy { $1.status == 200 && $1.body.contains("\(Self.macs[$0 % 4]) ") }, "\(ending)")
            }
        }
    }


    /// A client that sends requests without ever reading the answers: the agent stops reading once its output is
    /// full, rather than answering into memory. Measured from the client: its sends stop being taken, for good.
    @Test func aClientThatNeverReadsIsNotAnsweredIntoMemory() async throws {
        try await Self.withBootListener { port in
            let (taken, stalled) = await ListenerDeadlineTests.blocking { () -> (Int, Bool) in
                // A small receive window: the agent's output is full after a few answers, not after megabytes of them
                // (which would take the event loops the other suites' agents share for seconds).
                guard let descriptor = ServeProcessTests.connect(port: port, receiveBuffer: 4096) else { return (-1, false) }
                defer { close(descriptor) }
                _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
                let chunk = Array((0..<500).map { Self.get("/boot/ipxe?mac=\(Self.macs[$0 % 4])") }.joined().utf8)
                var taken = 0
                var offset = 0
                let started = ContinuousClock.now
                var lastTaken = started
                // Until nothing has been taken for 1.5 s, at most 10 s and 400 MB: an agent answering into memory takes
                // everything it is sent.
                while ContinuousClock.now - started < .seconds(10), taken < 400_000_000 {
                    let sent = chunk.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
                    if sent > 0 {
                        taken += sent
                        offset = (offset + sent) % chunk.count
                        lastTaken = .now
                    } else if ContinuousClock.now - lastTaken >= .milliseconds(1500) {
                        return (taken, true)
                    } else {
                        usleep(10_000)
                    }
                }
                return (taken, false)
            }
            #expect(taken > 0)
            #expect(stalled, "the agent kept reading a client that reads nothing: \(taken) bytes taken")
            #expect(taken < 64_000_000, "\(taken) bytes of requests taken from a client that reads nothing")
        }
    }
}

/// Reads an HTTP date the way RFC 9110 writes it, with Foundation's own formatter (not the agent's code).
enum HTTPDateCheck {
    static func isIMFFixdate(_ text: String) -> Bool {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        guard let date = formatter.date(from: text) else { return false }
        return formatter.string(from: date) == text && abs(date.timeIntervalSinceNow) < 60
    }
}
