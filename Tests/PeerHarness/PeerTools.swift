import AgentCore
import Foundation

/// Where the PyPI peers live: the virtualenv `make test` creates (`RACKAGENT_PEERS_VENV`, default
/// `<repository>/.peers-venv`).
public enum PeerTools {
    public static var repositoryRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    public static var virtualEnvironment: String {
        ProcessInfo.processInfo.environment["RACKAGENT_PEERS_VENV"] ?? "\(repositoryRoot)/.peers-venv"
    }

    /// A program of the peers' virtualenv; throws with the install hint when it is missing.
    public static func venvProgram(_ name: String) throws -> String {
        let path = "\(virtualEnvironment)/bin/\(name)"
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw HarnessError.peerFailed("\(path) is missing; run `make install-test-peers`")
        }
        return path
    }

    /// Runs a short-lived program to completion (bounded) without holding a thread while it runs, and returns its
    /// exit status (128 + signal when killed) and its standard output followed by its standard error.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(60)
    ) async throws -> (Int32, String) {
        let result = try await ProcessRunner().run(ProcessCommand(executable, arguments, environment: environment, timeout: timeout))
        if result.timedOut { throw HarnessError.timeout("\(executable) \(arguments.joined(separator: " "))") }
        return (result.exitCode ?? 128 + (result.signal ?? 0), result.standardOutput + result.standardError)
    }

    /// Runs a short program and waits for it on this thread: only for clean-up in `defer` blocks and `remove()`
    /// methods, which cannot await (`ip netns del`, a few milliseconds). `timeout(1)` bounds it.
    public static func runToCompletionBlocking(_ executable: String, _ arguments: [String]) -> Int32 {
        var pid: pid_t = 0
        let argv = (["/usr/bin/timeout", "-k", "2", "20", executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for descriptor: Int32 in [0, 1, 2] { posix_spawn_file_actions_addopen(&actions, descriptor, "/dev/null", descriptor == 0 ? O_RDONLY : O_WRONLY, 0) }
        guard posix_spawn(&pid, "/usr/bin/timeout", &actions, nil, argv, environ) == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}
