import AgentCore
import ArgumentParser
import AsyncHTTPClient
import ControllerAPI
import Foundation
import IPMI
import PeerHarness

/// `rackagent-bench ipmi`: the power status of every BMC at once (a fan-out round), through the agent's HTTPS API with
/// its default settings, against FreeIPMI's `ipmipower --stat` (one process fanning out natively, as MAAS uses it)
/// and bare `ipmitool chassis power status` processes, one per BMC, all at once: once exactly as the agent runs them
/// (its command line and its one-entry manufacturer registry, ``IPMIToolHome``) and once as an operator's shell runs
/// them (the system's registry). Same BMCs (ipmi_sim), same parallelism, at several fleet sizes.
struct IPMIBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ipmi",
        abstract: "Power status of N BMCs at once: the agent's API versus ipmipower and bare ipmitool, against ipmi_sim BMCs.",
        discussion: """
            Each round asks every BMC once, all at once; each side has one round in turn, the order turning by one each \
            round. Rounds start at least the agent's minimum gap between two commands to one BMC apart (1 s by \
            default), the pacing an operator's fan-out sees. The agent runs with its \
            default settings; bare ipmitool gets the agent's own command line (its default -N and -R) and environment (its \
            one-entry manufacturer registry), and is measured again as a shell runs it, reading the system's registry of \
            62,000 manufacturers at every start. CPU seconds are those \
            of the process doing the work: for the agent, this process (the agent and its HTTPS client) plus the \
            ipmitool processes it ran; for the references, their processes.
            """)

    @Option(parsing: .upToNextOption, help: "Fleet sizes to measure (ipmi_sim instances), largest at most 64.") var bmcs: [Int] = [16, 32, 64]
    @Option(help: "Fan-out rounds per size (each side once per round).") var rounds = 7
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        guard !bmcs.isEmpty, bmcs.allSatisfy({ (1...64).contains($0) }), (1...100).contains(rounds) else {
            throw ValidationError("--bmcs 1-64 (one or more), --rounds 1-100")
        }
        guard let ipmipower = locateProgram("ipmipower") else { throw BenchFailure(message: "ipmipower is missing: apt-get install freeipmi-tools") }
        let credentials = try credentialsFile()
        defer { unlink(credentials) }
        var simulators: [IPMISimulator] = []
        defer { simulators.forEach { $0.stop() } }
        // One loopback address per BMC, as on a management network (ipmipower names its answers by address).
        for index in 0..<bmcs.max()! { simulators.append(try await IPMISimulator(address: "127.0.10.\(index + 1)")) }

        let (runtime, stateDirectory) = try await benchRuntime { _ in }
        defer { try? FileManager.default.removeItem(atPath: stateDirectory) }
        let settings = runtime.configuration.ipmi
        let agent = try await EmbeddedAgent.start(runtime: runtime)
        // The home the agent's executor prepared in its scratch directory, for bare ipmitool to run as the agent does.
        let home = try IPMIToolHome.prepare(in: ScratchDirectory(stateDirectory: stateDirectory))
        let pause = Duration.seconds(settings.minimumGapSeconds) + .milliseconds(50)

        var report = BenchReport(
            benchmark: "ipmi",
            parameters: [
                "bmcs": bmcs.map(String.init).joined(separator: "/"), "rounds": "\(rounds), each side once per round in turn, the order turning each round",
                "agentMinimumGap": "\(settings.minimumGapSeconds) s (default)", "agentMaxConcurrentCommands": "\(settings.maxConcurrentCommands) (default)",
                "ipmitool": "the agent's own command line with its default timeout and retries; the agent's environment (one-entry manufacturer registry), and stock (the system's registry)",
                "ipmipower": "-D LAN_2_0 -W opensesspriv (ipmi_sim needs it) --stat, one process per round",
            ])
        do {
            try await measureSizes(
                agent: agent, simulators: simulators, settings: settings, home: home, ipmipower: ipmipower, credentials: credentials, pause: pause,
                report: &report)
        } catch {
            await agent.stop()
            throw error
        }
        await agent.stop()
        try report.print(json: json)
    }

    /// The four ways of asking every BMC once.
    enum Side: CaseIterable {
        case agent, bare, stock, ipmipower
    }

    /// Every fleet size: `rounds` rounds, each side once per round, the order turning by one each round, so that the
    /// machine's noise, and whichever side ran just before, fall on every side alike.
    private func measureSizes(
        agent: EmbeddedAgent, simulators: [IPMISimulator], settings: IPMIConfiguration, home: IPMIToolHome, ipmipower: String, credentials: String, pause: Duration,
        report: inout BenchReport
    ) async throws {
        try await withAgentClient(agent, connections: bmcs.max()!) { client in
            for size in bmcs {
                let fleet = Array(simulators.prefix(size))
                var tallies: [Side: Tally] = [:]
                let phase = BenchPhase("\(size) BMCs, the four sides in turn", total: rounds * Side.allCases.count, unit: "rounds", json: json)
                for round in 0..<rounds {
                    for offset in 0..<Side.allCases.count {
                        let side = Side.allCases[(round + offset) % Side.allCases.count]
                        try await Task.sleep(for: pause)
                        tallies[side, default: Tally()].add(
                            try await measureRound(countingThisProcess: side == .agent) {
                                switch side {
                                case .agent: try await agentRound(fleet, client, agent)
                                case .bare: try await ipmitoolRound(fleet, settings, home: home)
                                case .stock: try await ipmitoolRound(fleet, settings, home: nil)
                                case .ipmipower: try await ipmipowerRound(fleet, program: ipmipower, credentials: credentials)
                                }
                            })
                        phase.tick()
                    }
                }
                phase.end()
                let (throughAgent, bare, stock, native) = (tallies[.agent]!, tallies[.bare]!, tallies[.stock]!, tallies[.ipmipower]!)
                report.add("\(size) BMCs: agent round, median", throughAgent.medianWall, "s")
                report.add("\(size) BMCs: bare ipmitool round, median", bare.medianWall, "s")
                report.add("\(size) BMCs: stock ipmitool (system registry) round, median", stock.medianWall, "s")
                report.add("\(size) BMCs: ipmipower round, median", native.medianWall, "s")
                report.add("\(size) BMCs: ratio agent / bare ipmitool", throughAgent.medianWall / bare.medianWall, "x")
                report.add("\(size) BMCs: ratio agent / ipmipower", throughAgent.medianWall / native.medianWall, "x")
                report.add("\(size) BMCs: agent CPU per round (this process: agent and its HTTPS client; its ipmitool)", throughAgent.cpuPerRound, "s")
                report.add("\(size) BMCs: bare ipmitool CPU per round", bare.cpuPerRound, "s")
                report.add("\(size) BMCs: stock ipmitool CPU per round", stock.cpuPerRound, "s")
                report.add("\(size) BMCs: ipmipower CPU per round", native.cpuPerRound, "s")
                report.add("\(size) BMCs: agent peak RSS (this process)", throughAgent.peak.mebibytes, "MiB")
                report.add("\(size) BMCs: failed answers, agent", Double(throughAgent.failures), "")
                report.add("\(size) BMCs: failed answers, bare ipmitool", Double(bare.failures), "")
                report.add("\(size) BMCs: failed answers, stock ipmitool", Double(stock.failures), "")
                report.add("\(size) BMCs: failed answers, ipmipower", Double(native.failures), "")
            }
        }
    }

    /// One side's rounds: wall times, CPU, this process's peak memory and the failed answers.
    struct Tally {
        var walls: [Double] = []
        var cpu = 0.0
        var peak = 0
        var failures = 0

        var medianWall: Double { Distribution.percentile(walls, 0.5) }
        var cpuPerRound: Double { cpu / Double(max(1, walls.count)) }

        mutating func add(_ round: Tally) {
            walls += round.walls
            cpu += round.cpu
            peak = max(peak, round.peak)
            failures += round.failures
        }
    }

    /// One round: its wall time, and its CPU: of the child processes that ended in it, plus this process's when it
    /// did the work (the agent's side).
    private func measureRound(countingThisProcess: Bool, _ round: () async throws -> Int) async throws -> Tally {
        let usage = PhaseUsage()
        let started = ContinuousClock.now
        let failures = try await round()
        let wall = (ContinuousClock.now - started).inSeconds
        let spent = usage.end()
        return Tally(walls: [wall], cpu: (countingThisProcess ? spent.ownCPU : 0) + spent.childrenCPU, peak: spent.ownPeak, failures: failures)
    }

    /// One POST /v1/power/getPowerStatus per BMC, all at once; the number that failed or did not say on or off.
    private func agentRound(_ fleet: [IPMISimulator], _ client: HTTPClient, _ agent: EmbeddedAgent) async throws -> Int {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for simulator in fleet {
                let body: JSONValue = ["connection": simulator.connection()]
                group.addTask {
                    let (status, answer) = try await postJSON(client, agent, path: "/v1/power/getPowerStatus", body: body)
                    return status == 200 && ["online", "offline"].contains(answer["result"]?.stringValue ?? "")
                }
            }
            var failed = 0
            for try await succeeded in group where !succeeded { failed += 1 }
            return failed
        }
    }

    /// One `ipmitool chassis power status` per BMC, all at once, with the agent's own command line; with `home`, the
    /// agent's environment.
    private func ipmitoolRound(_ fleet: [IPMISimulator], _ settings: IPMIConfiguration, home: IPMIToolHome?) async throws -> Int {
        let runner = ProcessRunner()
        return try await withThrowingTaskGroup(of: Bool.self) { group in
            for simulator in fleet {
                group.addTask {
                    let line = IPMICommandLine(
                        connection: IPMIConnection(
                            host: simulator.address, username: IPMISimulator.adminUser, password: Secret(IPMISimulator.adminPassword), port: simulator.port),
                        defaults: settings)
                    let environment = line.environment.merging(home?.environment ?? [:]) { current, _ in current }
                    let result = try await runner.run(ProcessCommand("ipmitool", line.arguments(["chassis", "power", "status"]), environment: environment))
                    return result.succeeded && result.standardOutput.contains("Chassis Power is")
                }
            }
            var failed = 0
            for try await succeeded in group where !succeeded { failed += 1 }
            return failed
        }
    }

    /// One `ipmipower --stat` for the whole fleet; the BMCs it did not report on or off.
    private func ipmipowerRound(_ fleet: [IPMISimulator], program: String, credentials: String) async throws -> Int {
        let hosts = fleet.map { "\($0.address):\($0.port)" }.joined(separator: ",")
        let result = try await ProcessRunner().run(
            ProcessCommand(
                program,
                ["-D", "LAN_2_0", "-W", "opensesspriv", "-h", hosts, "--config-file", credentials, "--stat"],
                timeout: .seconds(120)))
        let answered = result.standardOutput.split(separator: "\n").filter { $0.hasSuffix(": on") || $0.hasSuffix(": off") }.count
        return fleet.count - answered
    }

    /// ipmipower reads the credentials from a FreeIPMI configuration file, so that the password stays out of `ps`.
    private func credentialsFile() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rackagent-bench-ipmipower-\(UUID().uuidString.prefix(8)).conf").path
        let text = "username \(IPMISimulator.adminUser)\npassword \(IPMISimulator.adminPassword)\n"
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw BenchFailure(message: "cannot write \(path)")
        }
        return path
    }
}
