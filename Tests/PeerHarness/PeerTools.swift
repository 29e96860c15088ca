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

    /// Runs a program to completion (bounded) and returns its exit status and combined output.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(60)) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let output = DataBox()
        let finishedReading = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            output.data = pipe.fileHandleForReading.readDataToEndOfFile()
            finishedReading.signal()
        }
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { usleep(10_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            throw HarnessError.timeout("\(executable) \(arguments.joined(separator: " "))")
        }
        finishedReading.wait()
        return (process.terminationStatus, String(decoding: output.data, as: UTF8.self))
    }

    private final class DataBox: @unchecked Sendable {
        var data = Data()
    }
}
