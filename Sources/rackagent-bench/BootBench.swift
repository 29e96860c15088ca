import AgentCore
import ArgumentParser
import AsyncHTTPClient
import ControllerAPI
import Foundation
import NIOCore
import Provisioning
import Synchronization

/// `rackagent bench boot`: DHCP rendering and validation for many entries, and the per-MAC iPXE script endpoint
/// under a fixed request rate from a second process.
struct BootBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "boot",
        abstract: "Render and validate DHCP configs for N entries; serve /boot/ipxe for N MACs at a fixed rate from a second process.")

    @Option(help: "DHCP entries (and distinct MACs requested).") var entries = 10_000
    @Option(help: "Requests per second the load process sends.") var rate = 1_000
    @Option(help: "Seconds of load.") var seconds = 10
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        guard (1...100_000).contains(entries), (1...20_000).contains(rate), (1...300).contains(seconds) else {
            throw ValidationError("--entries 1-100000, --rate 1-20000, --seconds 1-300")
        }
        let generated = BootBench.entries(entries)
        let (runtime, stateDirectory) = try await benchRuntime { $0.dhcp.serverAddress = "127.0.0.1" }
        defer { try? FileManager.default.removeItem(atPath: stateDirectory) }
        var report = BenchReport(benchmark: "boot", parameters: ["entries": String(entries), "rate": String(rate), "seconds": String(seconds)])
        let validator = DHCPValidator(
            runner: ProcessRunner(), settings: runtime.configuration.dhcp, scratch: ScratchDirectory(stateDirectory: runtime.configuration.stateDirectory))
        for backend in [DHCPBackendKind.dnsmasq, .kea, .isc] {
            let started = ContinuousClock.now
            guard let rendered = try runtime.dhcp.render(generated, backend: backend) else { continue }
            report.add("render \(backend.rawValue)", (ContinuousClock.now - started).inSeconds, "s")
            let checked = ContinuousClock.now
            try await validator.validate(rendered.validationConfig, backend: backend)
            report.add("validate \(backend.rawValue) (its own checker)", (ContinuousClock.now - checked).inSeconds, "s")
        }
        try await runtime.dhcp.store.importEntries(generated)
        let agent = try await EmbeddedAgent.start(runtime: runtime)
        defer { Task { await agent.stop() } }

        let load = try await ProcessRunner().run(
            ProcessCommand(
                CommandLine.arguments[0],
                ["boot-client", "--url", agent.bootBaseURL, "--macs", String(entries), "--rate", String(rate), "--seconds", String(seconds)],
                timeout: .seconds(Double(seconds) + 120)))
        guard load.succeeded, let data = load.standardOutput.data(using: .utf8),
            let figures = try? JSONDecoder().decode(LoadFigures.self, from: data)
        else {
            throw BenchFailure(message: "the load process failed: \(load.standardError.suffix(500))")
        }
        report.add("requests sent", Double(figures.sent), "")
        report.add("answered 200 with a script", Double(figures.succeeded), "")
        report.add("achieved rate", figures.achievedRate, "req/s")
        report.add("latency p50", figures.p50 * 1000, "ms")
        report.add("latency p90", figures.p90 * 1000, "ms")
        report.add("latency p99", figures.p99 * 1000, "ms")
        report.add("latency max", figures.maximum * 1000, "ms")
        try report.print(json: json)
    }

    /// Distinct MACs and addresses, every other one with PXE on.
    static func entries(_ count: Int) -> [DHCPEntry] {
        (0..<count).map { index in
            let third = 40 + index / 250
            return DHCPEntry(
                mac: mac(index), hostname: "node-\(index)",
                ipv4: .init(ip: "10.\(third / 256).\(third % 256).\(index % 250 + 1)", cidr: 8, gateway: nil), pxe: index % 2 == 0)
        }
    }

    static func mac(_ index: Int) -> MACAddress {
        MACAddress(String(format: "52:54:00:%02x:%02x:%02x", (index >> 16) & 0xff, (index >> 8) & 0xff, index & 0xff))!
    }
}

struct LoadFigures: Codable {
    let sent: Int
    let succeeded: Int
    let achievedRate: Double
    let p50: Double
    let p90: Double
    let p99: Double
    let maximum: Double
}

/// The second process of `bench boot`: open-loop load at a fixed rate, latency from each request's scheduled time
/// (so queueing counts), JSON on stdout.
struct BootLoadClient: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "boot-client", abstract: "Load generator for bench boot.", shouldDisplay: false)

    @Option var url: String
    @Option var macs: Int
    @Option var rate: Int
    @Option var seconds: Int

    func run() async throws {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let total = rate * seconds
        let tally = Tally()
        let started = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<total {
                let scheduled = started + .nanoseconds(Int64(index) * 1_000_000_000 / Int64(rate))
                try? await Task.sleep(until: scheduled, clock: .continuous)
                let mac = BootBench.mac(index % macs)
                group.addTask {
                    let request = HTTPClientRequest(url: "\(url)/boot/ipxe?mac=\(mac)&arch=pcbios")
                    if let response = try? await client.execute(request, timeout: .seconds(10)),
                        let body = try? await response.body.collect(upTo: 65_536), response.status == .ok, String(buffer: body).hasPrefix("#!ipxe")
                    {
                        tally.succeed()
                    }
                    tally.record((ContinuousClock.now - scheduled).inSeconds)
                }
            }
        }
        let elapsed = (ContinuousClock.now - started).inSeconds
        try? await client.shutdown()
        let sorted = tally.latencies.sorted()
        func percentile(_ fraction: Double) -> Double {
            sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int((Double(sorted.count) * fraction).rounded(.up)) - 1)]
        }
        let figures = LoadFigures(
            sent: total, succeeded: tally.succeeded, achievedRate: Double(total) / elapsed, p50: percentile(0.5), p90: percentile(0.9),
            p99: percentile(0.99), maximum: sorted.last ?? 0)
        print(String(decoding: try JSONEncoder().encode(figures), as: UTF8.self))
    }
}

/// Latencies and successes collected by the load tasks.
final class Tally: Sendable {
    private let state = Mutex<(latencies: [Double], succeeded: Int)>(([], 0))

    func record(_ latency: Double) { state.withLock { $0.latencies.append(latency) } }
    func succeed() { state.withLock { $0.succeeded += 1 } }
    var latencies: [Double] { state.withLock { $0.latencies } }
    var succeeded: Int { state.withLock { $0.succeeded } }
}
