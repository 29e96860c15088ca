import AgentCore
import Foundation
import Testing

@Suite struct ProcessRunnerTests {
    let runner = ProcessRunner()

    @Test func capturesOutputExitCodeAndDuration() async throws {
        let result = try await runner.run(ProcessCommand("/bin/sh", ["-c", "echo out; echo err >&2; exit 3"]))
        #expect(result.standardOutput == "out\n")
        #expect(result.standardError == "err\n")
        #expect(result.exitCode == 3)
        #expect(!result.timedOut)
        #expect(!result.succeeded)
        // Other suites keep both cores busy, so only the order of magnitude is checked.
        #expect(result.duration > .zero && result.duration < .seconds(60))
    }

    @Test func passesArgumentsWithoutAShell() async throws {
        let result = try await runner.run(ProcessCommand("printf", ["%s|", "a b", "$(id)", ";reboot"]))
        #expect(result.standardOutput == "a b|$(id)|;reboot|")
    }

    @Test func injectsEnvironmentForTheChildOnly() async throws {
        let result = try await runner.run(
            ProcessCommand("/bin/sh", ["-c", "printf %s \"$RACKAGENT_TEST_SECRET\""], environment: ["RACKAGENT_TEST_SECRET": "s3cr3t"]))
        #expect(result.standardOutput == "s3cr3t")
        #expect(ProcessInfo.processInfo.environment["RACKAGENT_TEST_SECRET"] == nil)
    }

    @Test func feedsStandardInput() async throws {
        let result = try await runner.run(ProcessCommand("cat", [], standardInput: "line1\nline2\n"))
        #expect(result.standardOutput == "line1\nline2\n")
    }

    @Test func capsCapturedOutput() async throws {
        let result = try await runner.run(ProcessCommand("/bin/sh", ["-c", "head -c 100000 /dev/zero"], outputLimit: 1000))
        #expect(result.standardOutput.utf8.count == 1000)
        #expect(result.outputTruncated)
        #expect(result.exitCode == 0)
    }

    @Test func timeoutKillsTheWholeProcessGroup() async throws {
        let marker = "rackagent-timeout-\(UUID().uuidString.prefix(8))"
        let started = ContinuousClock.now
        let result = try await runner.run(
            ProcessCommand("/bin/sh", ["-c", "sleep 100 & sleep 100; echo \(marker)"], timeout: .milliseconds(500)))
        #expect(result.timedOut)
        #expect(result.signal == SIGKILL)
        // Far below the 100 s the children would sleep, with room for the other suites keeping the cores busy.
        #expect(ContinuousClock.now - started < .seconds(60))
        // Neither the shell nor its background child may survive: look for any process in the child's group.
        try await Task.sleep(for: .milliseconds(200))
        #expect(Self.processes(inGroup: result.processIdentifier).isEmpty)
    }

    @Test func missingProgramIsATypedError() async {
        await #expect(throws: ProcessRunnerError.self) {
            try await runner.run(ProcessCommand("/nonexistent/tool", []))
        }
    }

    /// Live (not zombie) PIDs whose process group is `group`, read from /proc/<pid>/stat (fields 3 and 5).
    static func processes(inGroup group: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && fields[0] != "Z" && Int32(fields[2]) == group
        }
    }
}
