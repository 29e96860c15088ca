import AgentCore
import ArgumentParser
import AsyncHTTPClient
import ControllerAPI
import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import NIOSSL
import PeerHarness
import Synchronization

/// `rackagent-bench console`: N serial consoles at once, each an ipmi_sim BMC whose serial line is a generator that
/// sends a numbered byte pattern. The reference is bare `ipmitool sol activate` (one process per BMC, its output on a
/// pipe); the agent carries the same consoles through its API, SOL bridge and WebSocket. Every byte is checked.
struct ConsoleBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "Serial consoles at once: bare ipmitool sol versus the agent's SOL bridge and WebSocket, every byte checked.")

    @Option(help: "Consoles at once (ipmi_sim BMCs).") var sessions = 100
    @Option(help: "Bytes each serial line sends.") var bytes = 32_768
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        guard (1...200).contains(sessions), (1024...16 << 20).contains(bytes) else { throw ValidationError("--sessions 1-200, --bytes 1024-16777216") }
        var sources: [SerialSource] = []
        var simulators: [IPMISimulator] = []
        defer {
            simulators.forEach { $0.stop() }
            sources.forEach { $0.stop() }
        }
        for index in 0..<sessions {
            let source = try SerialSource(index: index, bytes: bytes)
            sources.append(source)
            simulators.append(try await IPMISimulator(serialPort: source.port))
        }
        for source in sources { try await source.waitForBMC() }

        let reference = try await Self.measureIpmitool(simulators, sources)
        let (runtime, stateDirectory) = try await benchRuntime {
            $0.ipmi.minimumGapSeconds = 0
            $0.console.maxSessions = max(256, sessions * 2)
        }
        defer { try? FileManager.default.removeItem(atPath: stateDirectory) }
        let agent = try await EmbeddedAgent.start(runtime: runtime)
        let throughAgent = try await withAgentClient(agent, connections: sessions) { client in
            try await Self.measureAgent(simulators, sources, agent, client)
        }
        await agent.stop()

        let total = Double(sessions * bytes)
        var report = BenchReport(benchmark: "console", parameters: ["sessions": String(sessions), "bytesPerSession": String(bytes)])
        report.add("bare ipmitool: wall time", reference.wall, "s")
        report.add("bare ipmitool: throughput", total / reference.wall / 1024, "KiB/s")
        report.add("bare ipmitool: sessions complete", Double(reference.complete), "")
        report.add("bare ipmitool: bytes wrong or missing", Double(reference.wrongBytes), "")
        report.add("agent: POST to console ready, median", throughAgent.readyMedian * 1000, "ms")
        report.add("agent: POST to console ready, max", (throughAgent.ready.max() ?? 0) * 1000, "ms")
        report.add("agent: wall time", throughAgent.wall, "s")
        report.add("agent: throughput", total / throughAgent.wall / 1024, "KiB/s")
        report.add("agent: sessions held at once", Double(throughAgent.held), "")
        report.add("agent: sessions complete", Double(throughAgent.complete), "")
        report.add("agent: bytes wrong or missing", Double(throughAgent.wrongBytes), "")
        report.add("ratio agent / bare (wall time)", throughAgent.wall / reference.wall, "x")
        try report.print(json: json)
    }

    struct Measurement {
        var wall: Double
        var complete: Int
        var wrongBytes: Int
        var ready: [Double] = []
        var held = 0

        var readyMedian: Double {
            let sorted = ready.sorted()
            return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
        }
    }

    /// Bare ipmitool: one `sol activate` per BMC, all at once; each generator starts once its session is up.
    static func measureIpmitool(_ simulators: [IPMISimulator], _ sources: [SerialSource]) async throws -> Measurement {
        let processes = try zip(simulators, sources).map { simulator, source in try BareSOL(simulator: simulator, expected: source.pattern) }
        defer { processes.forEach { $0.stop() } }
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline, !processes.allSatisfy(\.operational) { try await Task.sleep(for: .milliseconds(50)) }
        let started = ContinuousClock.now
        for source in sources { source.go() }
        while ContinuousClock.now < deadline, !processes.allSatisfy(\.complete) { try await Task.sleep(for: .milliseconds(20)) }
        let wall = (ContinuousClock.now - started).inSeconds
        for process in processes { process.leave() }
        for source in sources { try await source.waitForBMC() }
        return Measurement(wall: wall, complete: processes.filter(\.complete).count, wrongBytes: processes.map(\.wrongBytes).reduce(0, +))
    }

    /// Through the agent: a link per console, its WebSocket; the generator starts once the console is interactive.
    static func measureAgent(_ simulators: [IPMISimulator], _ sources: [SerialSource], _ agent: EmbeddedAgent, _ client: HTTPClient) async throws -> Measurement {
        let viewers = try await withThrowingTaskGroup(of: (Int, AgentViewer, Double).self) { group in
            for (index, simulator) in simulators.enumerated() {
                group.addTask {
                    let posted = ContinuousClock.now
                    let (status, created) = try await postJSON(client, agent, path: "/v1/consoles", body: [
                        "serverId": .string("bench-\(index)"), "authorizedIp": "127.0.0.1", "connection": simulator.connection(),
                    ])
                    guard status == 201, let url = created["result"]?["url"]?.stringValue else {
                        throw BenchFailure(message: "console \(index): HTTP \(status) \(created.jsonText)")
                    }
                    let viewer = AgentViewer(url: url.replacingOccurrences(of: "https://", with: "wss://") + "/websocket",
                                             certificatePath: agent.certificate.certificatePath, expected: sources[index].pattern)
                    try await viewer.waitUntilInteractive()
                    return (index, viewer, (ContinuousClock.now - posted).inSeconds)
                }
            }
            var viewers: [(Int, AgentViewer, Double)] = []
            for try await viewer in group { viewers.append(viewer) }
            return viewers.sorted { $0.0 < $1.0 }
        }
        let held = await agent.runtime.console.liveSerialSessions
        let started = ContinuousClock.now
        for source in sources { source.go() }
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline, !viewers.allSatisfy({ $0.1.complete }) { try await Task.sleep(for: .milliseconds(20)) }
        let wall = (ContinuousClock.now - started).inSeconds
        for (_, viewer, _) in viewers { await viewer.close() }
        return Measurement(
            wall: wall, complete: viewers.filter { $0.1.complete }.count, wrongBytes: viewers.map { $0.1.wrongBytes }.reduce(0, +),
            ready: viewers.map(\.2), held: held)
    }
}

/// A serial line: a TCP server ipmi_sim connects to (as a BMC to the UART); on `go()` it sends `bytes` of a
/// numbered pattern, then stays quiet.
final class SerialSource: Sendable {
    let port: Int
    let pattern: [UInt8]
    private let listener: Int32
    private let state = Mutex<(connection: Int32?, goes: Int)>((nil, 0))
    private let signal = DispatchSemaphore(value: 0)

    init(index: Int, bytes: Int) throws {
        port = FreePort.tcp()
        var text = ""
        var line = 0
        while text.utf8.count < bytes {
            text += String(format: "console %03d line %06d abcdefghijklmnopqrstuvwxyz\r\n", index, line)
            line += 1
        }
        pattern = Array(text.utf8.prefix(bytes))
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var reuse: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(listener, 4) == 0 else { throw BenchFailure(message: "cannot listen on \(port)") }
        let descriptor = listener
        let pattern = self.pattern
        Thread.detachNewThread { [self] in
            while true {
                let connection = accept(descriptor, nil, nil)
                guard connection >= 0 else { return }
                state.withLock { $0.connection = connection }
                // Each go sends the pattern once more over the BMC's connection (the reference run, then the agent's).
                while true {
                    signal.wait()
                    if state.withLock({ $0.connection }) == nil { return }
                    var offset = 0
                    while offset < pattern.count {
                        let written = pattern.withUnsafeBytes { write(connection, $0.baseAddress! + offset, pattern.count - offset) }
                        if written <= 0 { break }
                        offset += written
                    }
                }
            }
        }
    }

    /// Waits (bounded) until ipmi_sim has connected.
    func waitForBMC() async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if state.withLock({ $0.connection }) != nil { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw BenchFailure(message: "ipmi_sim never connected to serial line \(port)")
    }

    func go() { signal.signal() }

    func stop() {
        let connection = state.withLock { state -> Int32? in
            defer { state.connection = nil }
            return state.connection
        }
        if let connection { close(connection) }
        signal.signal()
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }
}

/// Checks received bytes against the expected pattern as they arrive.
final class PatternCheck: Sendable {
    private let expected: [UInt8]
    private let state = Mutex<(received: Int, wrong: Int)>((0, 0))

    init(expected: [UInt8]) { self.expected = expected }

    func feed(_ bytes: some Collection<UInt8>) {
        state.withLock { state in
            for byte in bytes {
                if state.received < expected.count, expected[state.received] != byte { state.wrong += 1 }
                state.received += 1
            }
        }
    }

    var complete: Bool { state.withLock { $0.received >= expected.count } }
    /// Bytes that differ from the pattern, plus those missing.
    var wrongBytes: Int { state.withLock { $0.wrong + max(0, expected.count - $0.received) } }
}

/// `ipmitool sol activate` on pipes: the reference.
final class BareSOL: Sendable {
    let process: Process
    let input: Pipe
    let check: PatternCheck
    private let progress = StartProgress()

    init(simulator: IPMISimulator, expected: [UInt8]) throws {
        check = PatternCheck(expected: expected)
        process = Process()
        // In a terminal, as an admin runs it (script(1) gives it one; on a pipe its output would sit in stdio's buffer).
        process.executableURL = URL(fileURLWithPath: locateProgram("script") ?? "/usr/bin/script")
        let ipmitool = locateProgram("ipmitool") ?? "/usr/bin/ipmitool"
        process.arguments = ["-q", "-f", "-e", "-c",
                             "\(ipmitool) -I lanplus -C 3 -H 127.0.0.1 -p \(simulator.port) -U \(IPMISimulator.adminUser) -E sol activate", "/dev/null"]
        process.environment = ProcessInfo.processInfo.environment.merging(["IPMI_PASSWORD": IPMISimulator.adminPassword]) { $1 }
        input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        let marker = Array("[SOL Session operational.  Use ~? for help]\r\n".utf8)
        let check = self.check
        let progress = self.progress
        output.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            guard !data.isEmpty else { handle.readabilityHandler = nil; return }
            let passed: [UInt8]? = progress.state.withLock { state in
                if state.operational { return Array(data) }
                state.buffer += data
                guard let range = state.buffer.firstRange(of: marker) else { return nil }
                state.operational = true
                return Array(state.buffer[range.upperBound...])
            }
            if let passed { check.feed(passed) }
        }
        try process.run()
    }

    var operational: Bool { progress.state.withLock { $0.operational } }
    var complete: Bool { check.complete }
    var wrongBytes: Int { check.wrongBytes }

    func leave() {
        input.fileHandleForWriting.write(Data("\r~.".utf8))
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning, Date() < deadline { usleep(20_000) }
    }

    func stop() {
        if process.isRunning { process.terminate() }
    }
}

/// What a bare ipmitool has printed before its session is up.
final class StartProgress: Sendable {
    let state = Mutex<(operational: Bool, buffer: [UInt8])>((false, []))
}

/// The agent's console WebSocket for one serial console, checking the pattern as it arrives.
final class AgentViewer: Sendable {
    let check: PatternCheck
    private let shared: SharedViewerState
    private let task: Task<Void, Never>

    init(url: String, certificatePath: String, expected: [UInt8]) {
        let check = PatternCheck(expected: expected)
        self.check = check
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(certificatePath)
        let shared = SharedViewerState()
        self.shared = shared
        task = Task {
            do {
                try await WebSocketClient.connect(
                    url: url, configuration: .init(sniHostname: "localhost"), tlsConfiguration: tls, logger: Logger(label: "bench")
                ) { inbound, outbound, _ in
                    shared.set(outbound: outbound)
                    for try await message in inbound.messages(maxSize: 1 << 24) {
                        switch message {
                        case .text(let text): if text.contains("\"interactive\"") { shared.setInteractive() }
                        case .binary(let buffer): check.feed(buffer.readableBytesView)
                        }
                    }
                }
                shared.end("closed")
            } catch {
                shared.end("\(error)")
            }
        }
    }

    func waitUntilInteractive() async throws {
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            if shared.interactive { return }
            if let ended = shared.ended { throw BenchFailure(message: "console ended before it was ready: \(ended)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw BenchFailure(message: "console never became interactive")
    }

    var complete: Bool { check.complete }
    var wrongBytes: Int { check.wrongBytes }

    func close() async {
        try? await shared.outbound?.close(.normalClosure, reason: nil)
        _ = await task.value
    }
}

final class SharedViewerState: Sendable {
    private let state = Mutex<(interactive: Bool, outbound: WebSocketOutboundWriter?, ended: String?)>((false, nil, nil))
    func set(outbound: WebSocketOutboundWriter) { state.withLock { $0.outbound = outbound } }
    func setInteractive() { state.withLock { $0.interactive = true } }
    func end(_ reason: String) { state.withLock { $0.ended = $0.ended ?? reason } }
    var interactive: Bool { state.withLock { $0.interactive } }
    var ended: String? { state.withLock { $0.ended } }
    var outbound: WebSocketOutboundWriter? { state.withLock { $0.outbound } }
}
