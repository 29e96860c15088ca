import AgentCore
import Foundation
import PeerHarness
import Testing

/// openapi.yaml says exactly what the agent answers: schemathesis (PyPI, pinned) sends positive and negative
/// requests for every operation, a bounded and seeded run, and fails on any status code the spec does not document.
/// The agent runs in a network namespace with only a loopback interface, so the addresses schemathesis invents for
/// BMCs, switches and providers cannot leave the machine (they fail at once: the network is unreachable).
@Suite(.serialized) struct OpenAPIConformanceTests {
    @Test func everyAnswerIsDocumented() async throws {
        let schemathesis = try PeerTools.venvProgram("schemathesis")
        let namespace = "ra-st-\(UUID().uuidString.prefix(6).lowercased())"
        let work = try TemporaryDirectory(prefix: "conformance")
        defer { work.remove() }
        let (added, addOutput) = try await PeerTools.run("/usr/sbin/ip", ["netns", "add", namespace])
        #expect(added == 0, "\(addOutput)")
        defer { _ = PeerTools.runToCompletionBlocking("/usr/sbin/ip", ["netns", "del", namespace]) }
        _ = try await PeerTools.run("/usr/sbin/ip", ["-n", namespace, "link", "set", "lo", "up"])

        let environment = [
            "RACKAGENT_DHCP_BACKEND": "none", "RACKAGENT_LOG_FORMAT": "human", "RACKAGENT_IPMI_COMMAND_TIMEOUT_SECONDS": "2",
            "RACKAGENT_IPMI_MINIMUM_GAP_SECONDS": "0", "RACKAGENT_SNMP_TIMEOUT_SECONDS": "0.5", "RACKAGENT_SNMP_RETRIES": "0",
            "RACKAGENT_PROVIDERS_REQUEST_TIMEOUT_SECONDS": "2",
        ]
        let agent = try await PeerProcess(
            name: "rackagent serve", executable: "/usr/sbin/ip",
            arguments: [
                "netns", "exec", namespace, RackAgentBinary.path, "serve", "--state-dir", work.file("state"), "--api-listen", "127.0.0.1:8443",
                "--boot-listen", "127.0.0.1:8080", "--console-listen", "127.0.0.1:8444",
            ],
            environment: environment, logPath: work.file("serve.log"))
        defer { agent.stop() }
        try await agent.waitForLog(timeout: .seconds(30)) { $0.contains("controller API listening") && $0.contains("boot API listening") }
        let token = try String(contentsOfFile: work.file("state/token"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let configuration = try work.write("schemathesis.toml", "[cache]\nenabled = false\n")

        func run(_ target: [String]) async throws -> (Int32, String) {
            try await PeerTools.run(
                "/usr/sbin/ip",
                ["netns", "exec", namespace, "env", "HYPOTHESIS_STORAGE_DIRECTORY=\(work.file("hypothesis"))", schemathesis, "--config-file", configuration,
                 "run", PeerTools.repositoryRoot + "/openapi.yaml", "--checks", "status_code_conformance", "--seed", "42", "--max-examples", "20",
                 "--phases", "examples,coverage,fuzzing", "--request-timeout", "30", "--workers", "1", "--generation-database", "none"] + target,
                timeout: .seconds(600))
        }
        // The controller listener, every operation but the boot API.
        let (apiStatus, apiOutput) = try await run([
            "--url", "https://127.0.0.1:8443", "--header", "Authorization: Bearer \(token)", "--tls-verify", work.file("state/tls/agent.crt"),
            "--exclude-path-regex", "^/(boot|console)/",
        ])
        #expect(apiStatus == 0, "\(apiOutput.suffix(6000))")
        let tested = apiOutput.split(separator: "\n").first { $0.contains("Tested:") }.flatMap { Int($0.filter(\.isNumber)) } ?? 0
        #expect(tested >= 40, "schemathesis tested \(tested) operations: \(apiOutput.suffix(2000))")
        // The boot listener's callbacks (the catch-all file routes are not something a generator can aim at).
        let (bootStatus, bootOutput) = try await run([
            "--url", "http://127.0.0.1:8080", "--include-path-regex", #"^/boot/(ipxe|\{token\}/(progress|done|inventory))$"#,
        ])
        #expect(bootStatus == 0, "\(bootOutput.suffix(6000))")
        // The console listener's link routes (made-up tokens: 404, never anything undocumented).
        let (consoleStatus, consoleOutput) = try await run([
            "--url", "https://127.0.0.1:8444", "--tls-verify", work.file("state/tls/agent.crt"), "--include-path-regex", "^/console/",
        ])
        #expect(consoleStatus == 0, "\(consoleOutput.suffix(6000))")
        #expect(!agent.log.contains("Fatal error"), "\(agent.log.suffix(2000))")
    }
}
