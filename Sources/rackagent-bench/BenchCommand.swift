import AgentCore
import ArgumentParser
import AsyncHTTPClient
import ControllerAPI
import Foundation
import Logging
import NIOCore
import NIOSSL
import Synchronization

/// The benchmarks: a separate executable that is never installed with the agent (it starts test peers and, for the
/// switch benchmark, creates a local test user).
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rackagent-bench",
        abstract: "Benchmarks: measure the agent against the reference tool in the same run and print both and their ratio.",
        discussion: "Benchmarks start their own peers on 127.0.0.1 (ipmi_sim, snmpd ...) and remove them afterwards. They are not tests.",
        version: AgentVersion.current,
        subcommands: [IPMIBench.self, SNMPBench.self, BootBench.self, SwitchBench.self, ConsoleBench.self, StorageBench.self, BootLoadClient.self]
    )
}

/// A benchmark that could not run to its end.
struct BenchFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

extension ParsableCommand {
    /// Prints `value` as pretty JSON.
    static func printJSON(_ value: some Encodable) throws {
        let data = try JSONCoding.prettyEncoder.encode(value)
        print(String(decoding: data, as: UTF8.self))
    }
}

/// One measured line of a benchmark report.
struct BenchFigure: Encodable {
    let name: String
    let value: Double
    let unit: String
}

/// Prints figures as an aligned table or JSON.
struct BenchReport: Encodable {
    let benchmark: String
    var parameters: [String: String]
    var figures: [BenchFigure] = []

    mutating func add(_ name: String, _ value: Double, _ unit: String) {
        figures.append(BenchFigure(name: name, value: value, unit: unit))
    }

    func print(json: Bool) throws {
        if json {
            try BenchCommand.printJSON(self)
            return
        }
        Swift.print("\(benchmark) (\(parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")))")
        let width = figures.map(\.name.count).max() ?? 10
        for figure in figures {
            let value = figure.value >= 100 ? String(format: "%.0f", figure.value) : String(format: "%.3f", figure.value)
            Swift.print("  \(figure.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(value) \(figure.unit)")
        }
    }
}

/// An HTTPS client trusting an embedded agent's certificate, shut down after `body`.
func withAgentClient<Value>(_ agent: EmbeddedAgent, connections: Int, _ body: (HTTPClient) async throws -> Value) async throws -> Value {
    var tls = TLSConfiguration.makeClientConfiguration()
    tls.trustRoots = .file(agent.certificate.certificatePath)
    var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
    configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)
    let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    do {
        let value = try await body(client)
        try await client.shutdown()
        return value
    } catch {
        try? await client.shutdown()
        throw error
    }
}

/// POSTs JSON to the embedded agent and returns the status and body.
func postJSON(_ client: HTTPClient, _ agent: EmbeddedAgent, path: String, body: JSONValue) async throws -> (Int, JSONValue) {
    var request = HTTPClientRequest(url: agent.apiBaseURL + path)
    request.method = .POST
    request.headers.add(name: "Authorization", value: "Bearer \(agent.token)")
    request.headers.add(name: "Content-Type", value: "application/json")
    request.body = .bytes(ByteBuffer(string: body.jsonText))
    let response = try await client.execute(request, timeout: .seconds(60))
    let data = try await response.body.collect(upTo: 16 << 20)
    let decoded = (try? JSONCoding.decoder.decode(JSONValue.self, from: Data(data.readableBytesView))) ?? .null
    return (Int(response.status.code), decoded)
}

/// A runtime in a temporary state directory for a benchmark.
func benchRuntime(configure: (inout AgentConfiguration) -> Void) async throws -> (AgentRuntime, String) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rackagent-bench-\(UUID().uuidString.prefix(8))").path
    var configuration = AgentConfiguration()
    configuration.stateDirectory = directory
    configuration.api.listen = "127.0.0.1:0"
    configuration.boot.listen = "127.0.0.1:0"
    configuration.console.listen = "127.0.0.1:0"
    configure(&configuration)
    // The agent's own log handler, as `rackagent serve` installs it (only errors are shown here): the handler is on
    // every request's path (each request's logger gets its id as metadata).
    AgentLogging.bootstrap(format: .json, level: .error)
    let logger = Logger(label: "rackagent.bench")
    return (try await AgentRuntime(configuration: configuration, logger: logger), directory)
}

/// One measured phase of a benchmark, shown while it runs on stderr (live on a terminal, a line every 5 s otherwise,
/// nothing with `--json`): how many of its calls are done, their rate and the time left.
final class BenchPhase: Sendable {
    let display: ProgressDisplay
    private let meter: Mutex<ProgressMeter>

    /// `total` calls of `unit` ("calls", "devices"); nil for a phase measured as a whole.
    init(_ label: String, total: Int?, unit: String = "calls", json: Bool) {
        display = ProgressDisplay(json: json)
        meter = Mutex(ProgressMeter(label: label, unit: .items(unit), total: total.map(Int64.init)))
        display.update(meter.withLock { $0 })
    }

    /// One more call done (from any task).
    func tick() {
        display.update(meter.withLock { meter in
            meter.record(meter.completed + 1)
            return meter
        })
    }

    /// The phase is over: its summary line.
    func end() {
        display.finish(meter.withLock { meter in
            meter.record(meter.completed)
            return meter
        })
    }
}
