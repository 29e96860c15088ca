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

    /// Runs a short-lived program to completion (bounded) and returns its exit status and combined output.
    /// Spawned with posix_spawn and waited for by its PID; output goes to a file.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(60)) throws -> (Int32, String) {
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("peer-run-\(UUID().uuidString)").path
        defer { unlink(outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        guard spawned == 0 else { throw HarnessError.peerFailed("cannot start \(executable): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        let deadline = ContinuousClock.now + timeout
        while waitpid(pid, &status, WNOHANG) == 0 {
            guard ContinuousClock.now < deadline else {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                throw HarnessError.timeout("\(executable) \(arguments.joined(separator: " "))")
            }
            usleep(2_000)
        }
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let exitCode: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exitCode, text)
    }
}
