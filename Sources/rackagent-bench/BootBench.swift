import AgentCore
import ArgumentParser
import AsyncHTTPClient
import ControllerAPI
import Foundation
import NIOCore
import PeerHarness
import Provisioning
import Synchronization

/// `rackagent-bench boot`: DHCP rendering and validation for many entries, and the per-MAC iPXE script endpoint
/// under load from a second process: wrk at full speed (throughput) and an open-loop client at a fixed rate (latency),
/// against the agent and against nginx serving the same answer as a static file (the floor).
struct BootBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "boot",
        abstract: "Render and validate DHCP configs for N entries; serve /boot/ipxe for N MACs under wrk and at a fixed rate, against nginx.",
        discussion: "Needs wrk and nginx (apt-get install wrk nginx-light). Failed requests are counted as failures, never as throughput.")

    @Option(help: "DHCP entries (and distinct MACs requested).") var entries = 10_000
    @Option(help: "Requests per second of the open-loop load (the latency figure).") var rate = 1_000
    @Option(help: "Seconds of each load run.") var seconds = 10
    @Option(help: "wrk threads (the same for the agent and nginx).") var threads = 2
    @Option(help: "wrk connections (the same for the agent and nginx).") var connections = 64
    @Option(help: "Seconds of wrk before each measured run, not counted (the same for the agent and nginx).") var warmUpSeconds = 2
    @Option(help: "Rounds of wrk, each side once per round in turn (the machine's noise hits both sides alike).") var rounds = 3
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        guard (1...100_000).contains(entries), (1...20_000).contains(rate), (1...300).contains(seconds), (1...16).contains(threads),
            (threads...4096).contains(connections), (1...60).contains(warmUpSeconds), (1...15).contains(rounds)
        else {
            throw ValidationError(
                "--entries 1-100000, --rate 1-20000, --seconds 1-300, --threads 1-16, --connections threads-4096, --warm-up-seconds 1-60, --rounds 1-15")
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
        guard let wrk = locateProgram("wrk"), let nginxProgram = locateProgram("nginx") else {
            throw BenchFailure(message: "wrk and nginx are needed: apt-get install wrk nginx-light")
        }
        let agent = try await EmbeddedAgent.start(runtime: runtime)
        do {
            try await measureServing(agent: agent, wrk: wrk, nginxProgram: nginxProgram, report: &report)
        } catch {
            await agent.stop()
            throw error
        }
        await agent.stop()
        try report.print(json: json)
    }

    /// The agent against nginx serving the agent's own answer for one MAC.
    private func measureServing(agent: EmbeddedAgent, wrk: String, nginxProgram: String, report: inout BenchReport) async throws {

        // The floor: nginx serving the agent's own answer for one MAC as a static file.
        let directory = try TemporaryDirectory(prefix: "rackagent-bench-nginx")
        defer { directory.remove() }
        let script = try await fetchScript(agent.bootBaseURL, mac: BootBench.mac(0))
        let nginx = try await StaticFileServer(program: nginxProgram, directory: directory, path: "/boot/ipxe", body: script)
        do {
            try await measureLoad(agent: agent, nginx: nginx, wrk: wrk, directory: directory, report: &report)
        } catch {
            await nginx.stop()
            throw error
        }
        await nginx.stop()
    }

    /// wrk and the fixed-rate load against the agent and nginx.
    private func measureLoad(agent: EmbeddedAgent, nginx: StaticFileServer, wrk: String, directory: TemporaryDirectory, report: inout BenchReport) async throws {
        let macList = directory.file("macs.lua")
        try BootBench.wrkScript(macs: entries).write(toFile: macList, atomically: false, encoding: .utf8)
        let health = directory.file("health.lua")
        try BootBench.wrkHealthScript.write(toFile: health, atomically: false, encoding: .utf8)

        report.parameters["wrk"] = "-t \(threads) -c \(connections) -d \(seconds)s after \(warmUpSeconds) s not counted, GET /boot/ipxe?mac=<one of \(entries)>&arch=pcbios"
        report.parameters["nginx"] = "\(nginx.workers) workers, the agent's answer for one MAC as a static file, access log off"
        let sides = [
            WrkSide(name: "agent", baseURL: agent.bootBaseURL, daemons: [], script: macList),
            WrkSide(name: "nginx", baseURL: nginx.baseURL, daemons: nginx.processes(), script: macList),
            WrkSide(name: "agent /healthz (the router path, no lookup)", baseURL: agent.bootBaseURL, daemons: [], script: health),
        ]
        report.parameters["rounds"] = "\(rounds), each side once per round in turn; each side's figures are from its median round, failures summed"
        var measured: [String: [WrkRound]] = [:]
        for round in 1...rounds {
            for side in sides {
                let phase = BenchPhase("wrk against \(side.name), round \(round) of \(rounds)", total: nil, unit: "runs", json: json)
                // Each side is warmed up the same way (connections, caches, allocator) before it is measured.
                _ = try await runWrk(wrk, script: side.script, url: side.baseURL, seconds: warmUpSeconds)
                let usage = PhaseUsage(daemons: side.daemons)
                let figures = try await runWrk(wrk, script: side.script, url: side.baseURL, seconds: seconds)
                let spent = usage.end()
                phase.end()
                // The agent serves from this process (the wrk process is separate); nginx from its master and workers.
                measured[side.name, default: []].append(
                    WrkRound(
                        figures: figures, cpu: side.daemons.isEmpty ? spent.ownCPU : spent.daemonCPU,
                        peak: side.daemons.isEmpty ? spent.ownPeak : spent.daemonPeak))
            }
        }
        for side in sides {
            let rounds = measured[side.name] ?? []
            guard let median = WrkRound.median(rounds) else { continue }
            report.add("\(side.name): wrk requests answered 2xx per second", median.figures.succeededPerSecond, "req/s")
            report.add("\(side.name): wrk failed requests (errors and non-2xx), all rounds", Double(rounds.map(\.figures.failed).reduce(0, +)), "")
            report.add("\(side.name): wrk latency p50", median.figures.p50Microseconds / 1000, "ms")
            report.add("\(side.name): wrk latency p99", median.figures.p99Microseconds / 1000, "ms")
            report.add("\(side.name): server CPU per 10,000 requests", median.cpu / Double(max(median.figures.requests, 1)) * 10_000, "s")
            report.add("\(side.name): server peak RSS\(side.daemons.isEmpty ? "" : " (largest process)")", (rounds.map(\.peak).max() ?? 0).mebibytes, "MiB")
        }
        let agentRounds = measured["agent"] ?? [], nginxRounds = measured["nginx"] ?? [], healthRounds = measured[sides[2].name] ?? []
        let median = { (rounds: [WrkRound]) in WrkRound.median(rounds)?.figures.succeededPerSecond ?? 0 }
        report.add("ratio agent / nginx throughput (medians)", median(agentRounds) / max(median(nginxRounds), 1e-9), "x")
        let perRound = zip(agentRounds, nginxRounds).map { $0.figures.succeededPerSecond / max($1.figures.succeededPerSecond, 1e-9) }
        report.add("ratio agent / nginx throughput, lowest round", perRound.min() ?? 0, "x")
        report.add("ratio agent / nginx throughput, highest round", perRound.max() ?? 0, "x")
        report.add("ratio agent / its /healthz throughput (medians)", median(agentRounds) / max(median(healthRounds), 1e-9), "x")

        report.parameters["fixedRate"] = "\(rate) req/s for \(seconds) s, open loop, latency from each request's scheduled time"
        for (side, baseURL) in [("agent", agent.bootBaseURL), ("nginx", nginx.baseURL)] {
            let figures = try await fixedRate(baseURL)
            report.add("\(side) at \(rate) req/s: answered 200 with a script", Double(figures.succeeded), "of \(figures.sent)")
            report.add("\(side) at \(rate) req/s: rate achieved", figures.achievedRate, "req/s")
            report.add("\(side) at \(rate) req/s: latency p50", figures.p50 * 1000, "ms")
            report.add("\(side) at \(rate) req/s: latency p99", figures.p99 * 1000, "ms")
            report.add("\(side) at \(rate) req/s: latency max", figures.maximum * 1000, "ms")
        }
    }

    /// The agent's script for one MAC, as a client sees it.
    private func fetchScript(_ baseURL: String, mac: MACAddress) async throws -> String {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "\(baseURL)/boot/ipxe?mac=\(mac)&arch=pcbios"), timeout: .seconds(10))
        let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
        guard response.status == .ok, body.hasPrefix("#!ipxe") else { throw BenchFailure(message: "the agent did not answer a script: \(response.status)") }
        return body
    }

    /// wrk, closed loop, from its own process; its Lua `done` hook prints the figures as JSON.
    private func runWrk(_ wrk: String, script: String, url: String, seconds: Int) async throws -> WrkFigures {
        let result = try await ProcessRunner().run(
            ProcessCommand(wrk, ["-t", String(threads), "-c", String(connections), "-d", "\(seconds)s", "-s", script, url], timeout: .seconds(Double(seconds) + 60)))
        guard result.succeeded, let line = result.standardOutput.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
            let figures = try? JSONDecoder().decode(WrkFigures.self, from: Data(line.utf8))
        else { throw BenchFailure(message: "wrk failed: \(result.standardOutput.suffix(500)) \(result.standardError.suffix(500))") }
        return figures
    }

    /// The open-loop load process at `rate` against `baseURL`.
    private func fixedRate(_ baseURL: String) async throws -> LoadFigures {
        let load = try await ProcessRunner().run(
            ProcessCommand(
                CommandLine.arguments[0],
                ["boot-client", "--url", baseURL, "--macs", String(entries), "--rate", String(rate), "--seconds", String(seconds)],
                timeout: .seconds(Double(seconds) + 120)))
        guard load.succeeded, let figures = try? JSONDecoder().decode(LoadFigures.self, from: Data(load.standardOutput.utf8)) else {
            throw BenchFailure(message: "the load process failed: \(load.standardError.suffix(500))")
        }
        return figures
    }

    /// A wrk script that asks for each of `macs` MACs in turn and prints its figures as one JSON line.
    static func wrkScript(macs: Int) -> String {
        """
        local count = \(macs)
        local next_index = 0
        request = function()
          local i = next_index
          next_index = (next_index + 1) % count
          local mac = string.format("52:54:00:%02x:%02x:%02x", math.floor(i / 65536) % 256, math.floor(i / 256) % 256, i % 256)
          return wrk.format("GET", "/boot/ipxe?mac=" .. mac .. "&arch=pcbios")
        end
        \(wrkReport)
        """
    }

    /// A wrk script that asks for `/healthz`: the boot listener's router path (Hummingbird's async bridge and router) with no
    /// lookup behind it, against which `/boot/ipxe` in the pipeline (`BootScriptHandler`) compares.
    static let wrkHealthScript = """
        request = function()
          return wrk.format("GET", "/healthz")
        end
        \(wrkReport)
        """

    /// wrk's `done` hook: the figures as one JSON line.
    static let wrkReport = """
        done = function(summary, latency, requests)
          local e = summary.errors
          io.write(string.format('{"requests":%d,"durationMicroseconds":%d,"failed":%d,"p50Microseconds":%d,"p99Microseconds":%d}\\n',
            summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
            latency:percentile(50), latency:percentile(99)))
        end
        """

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

/// One side under wrk: where it listens, the processes that serve it (none: this process), the request script.
struct WrkSide {
    let name: String
    let baseURL: String
    let daemons: [pid_t]
    let script: String
}

/// One measured wrk run of one side, with the server's CPU seconds and peak RSS over it.
struct WrkRound {
    let figures: WrkFigures
    let cpu: Double
    let peak: Int

    /// The round of median throughput (the lower middle one of an even count).
    static func median(_ rounds: [WrkRound]) -> WrkRound? {
        let sorted = rounds.sorted { $0.figures.succeededPerSecond < $1.figures.succeededPerSecond }
        return sorted.isEmpty ? nil : sorted[(sorted.count - 1) / 2]
    }
}

/// What wrk's `done` hook prints.
struct WrkFigures: Codable {
    let requests: Int
    let durationMicroseconds: Double
    let failed: Int
    let p50Microseconds: Double
    let p99Microseconds: Double

    var succeededPerSecond: Double { Double(requests - failed) / max(durationMicroseconds / 1e6, 1e-9) }
}

struct LoadFigures: Codable {
    let sent: Int
    let succeeded: Int
    let achievedRate: Double
    let p50: Double
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
        let latencies = tally.latencies
        let figures = LoadFigures(
            sent: total, succeeded: tally.succeeded, achievedRate: Double(total) / elapsed, p50: Distribution.percentile(latencies, 0.5),
            p99: Distribution.percentile(latencies, 0.99), maximum: latencies.max() ?? 0)
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
