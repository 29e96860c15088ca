import AgentCore
import ArgumentParser
import AsyncHTTPClient
import ControllerAPI
import Foundation
import IPMI
import PeerHarness

/// `rackagent bench ipmi`: power-status calls through the agent's HTTPS API versus bare ipmitool processes,
/// both against the same simulated BMCs with the same concurrency: one caller per BMC issuing its calls one
/// after another, all BMCs at once.
struct IPMIBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ipmi",
        abstract: "Power-status calls through the agent's API versus bare ipmitool, against N ipmi_sim BMCs.")

    @Option(help: "Simulated BMCs (ipmi_sim instances).") var bmcs = 8
    @Option(help: "Calls per BMC.") var calls = 50
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        guard (1...64).contains(bmcs), (1...10_000).contains(calls) else { throw ValidationError("--bmcs 1-64, --calls 1-10000") }
        var simulators: [IPMISimulator] = []
        defer { simulators.forEach { $0.stop() } }
        for _ in 0..<bmcs { simulators.append(try await IPMISimulator()) }

        let bare = try await measureBare(simulators)
        let (runtime, stateDirectory) = try await benchRuntime {
            $0.ipmi.minimumGapSeconds = 0
            $0.ipmi.maxConcurrentCommands = max(64, bmcs)
        }
        defer { try? FileManager.default.removeItem(atPath: stateDirectory) }
        let agent = try await EmbeddedAgent.start(runtime: runtime)
        let throughAgent = try await measureAgent(simulators, agent)
        await agent.stop()

        let total = Double(bmcs * calls)
        let barePerCall = bare.serialSum / total
        let ideal = bare.serialSum / Double(bmcs)
        var report = BenchReport(benchmark: "ipmi", parameters: ["bmcs": String(bmcs), "callsPerBMC": String(calls)])
        report.add("bare ipmitool wall time", bare.wall, "s")
        report.add("bare ipmitool mean per call", barePerCall * 1000, "ms")
        report.add("agent API wall time", throughAgent.wall, "s")
        report.add("agent API mean per call", throughAgent.meanLatency * 1000, "ms")
        report.add("agent overhead per call", (throughAgent.wall - bare.wall) / Double(calls) * 1000, "ms")
        report.add("ratio agent / bare", throughAgent.wall / bare.wall, "x")
        report.add("ideal wall (bare serial / parallelism)", ideal, "s")
        report.add("ratio agent / ideal", throughAgent.wall / ideal, "x")
        report.add("failed calls", Double(throughAgent.failures + bare.failures), "")
        try report.print(json: json)
    }

    struct Measurement {
        var wall: Double
        var serialSum: Double
        var meanLatency: Double
        var failures: Int
    }

    /// Each BMC gets its calls one after another from its own task; all BMCs at once.
    private func measureBare(_ simulators: [IPMISimulator]) async throws -> Measurement {
        let runner = ProcessRunner()
        let started = ContinuousClock.now
        let phase = BenchPhase("bare ipmitool", total: simulators.count * calls, json: json)
        defer { phase.end() }
        let results = try await withThrowingTaskGroup(of: (Double, Int).self) { group in
            for simulator in simulators {
                group.addTask {
                    let line = IPMICommandLine(
                        connection: IPMIConnection(host: "127.0.0.1", username: IPMISimulator.adminUser, password: Secret(IPMISimulator.adminPassword), port: simulator.port),
                        defaults: IPMIConfiguration())
                    var spent = 0.0
                    var failures = 0
                    for _ in 0..<calls {
                        let callStarted = ContinuousClock.now
                        let result = try await runner.run(ProcessCommand("ipmitool", line.arguments(["chassis", "power", "status"]), environment: line.environment))
                        spent += (ContinuousClock.now - callStarted).inSeconds
                        phase.tick()
                        if !result.succeeded { failures += 1 }
                    }
                    return (spent, failures)
                }
            }
            var all: [(Double, Int)] = []
            for try await result in group { all.append(result) }
            return all
        }
        let wall = (ContinuousClock.now - started).inSeconds
        let serial = results.map(\.0).reduce(0, +)
        return Measurement(wall: wall, serialSum: serial, meanLatency: serial / Double(simulators.count * calls), failures: results.map(\.1).reduce(0, +))
    }

    /// One caller per BMC, each sending its calls one after another over HTTPS, all BMCs at once.
    private func measureAgent(_ simulators: [IPMISimulator], _ agent: EmbeddedAgent) async throws -> Measurement {
        let phase = BenchPhase("agent API", total: simulators.count * calls, json: json)
        defer { phase.end() }
        return try await withAgentClient(agent, connections: simulators.count) { client in
            let started = ContinuousClock.now
            let results = try await withThrowingTaskGroup(of: (Double, Int).self) { group in
                for simulator in simulators {
                    let body: JSONValue = ["connection": simulator.connection()]
                    group.addTask {
                        var spent = 0.0
                        var failures = 0
                        for _ in 0..<calls {
                            let callStarted = ContinuousClock.now
                            let (status, answer) = try await postJSON(client, agent, path: "/v1/power/getPowerStatus", body: body)
                            spent += (ContinuousClock.now - callStarted).inSeconds
                            phase.tick()
                            if status != 200 || answer["result"] == nil { failures += 1 }
                        }
                        return (spent, failures)
                    }
                }
                var all: [(Double, Int)] = []
                for try await result in group { all.append(result) }
                return all
            }
            let wall = (ContinuousClock.now - started).inSeconds
            let serial = results.map(\.0).reduce(0, +)
            return Measurement(
                wall: wall, serialSum: serial, meanLatency: serial / Double(simulators.count * calls), failures: results.map(\.1).reduce(0, +))
        }
    }
}
