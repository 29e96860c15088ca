import Foundation
import Subprocess

#if canImport(System)
import System
#else
import SystemPackage
#endif

/// A program to run: argv only, never a shell. Secrets travel in `environment`, never in `arguments`.
public struct ProcessCommand: Sendable {
    /// A name looked up in PATH, or a path.
    public var executable: String
    public var arguments: [String]
    /// Added to the agent's own environment for this child only.
    public var environment: [String: String]
    public var standardInput: String?
    public var timeout: Duration
    /// Bytes kept of stdout and of stderr each; the rest is read and discarded.
    public var outputLimit: Int

    public init(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], standardInput: String? = nil,
        timeout: Duration = .seconds(30), outputLimit: Int = 1 << 20
    ) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.standardInput = standardInput
        self.timeout = timeout
        self.outputLimit = outputLimit
    }
}

/// How a process ended and what it printed.
public struct ProcessResult: Sendable {
    /// Exit code, or nil when a signal ended it.
    public var exitCode: Int32?
    public var signal: Int32?
    public var standardOutput: String
    public var standardError: String
    /// True when stdout or stderr exceeded the limit and was cut.
    public var outputTruncated: Bool
    /// True when the timeout killed the process group.
    public var timedOut: Bool
    public var duration: Duration
    public var processIdentifier: Int32

    public var succeeded: Bool { exitCode == 0 && !timedOut }
}

public enum ProcessRunnerError: Error, CustomStringConvertible, AgentErrorConvertible {
    case launchFailed(executable: String, reason: String)

    public var description: String {
        switch self {
        case .launchFailed(let executable, let reason): return "cannot start \(executable): \(reason)"
        }
    }

    public var agentError: AgentError {
        AgentError(status: .internalError, code: "tool_unavailable", message: description)
    }
}

/// Runs external programs. The seam where tests substitute captured transcripts.
public protocol CommandRunner: Sendable {
    func run(_ command: ProcessCommand) async throws -> ProcessResult
}

/// Runs a program through swift-subprocess in a process group of its own. On timeout (or cancellation)
/// the whole group gets SIGKILL, so grandchildren (`sh -c 'sleep 100 & sleep 100'`) die too; a program killed
/// because the caller was cancelled throws `CancellationError`.
public struct ProcessRunner: CommandRunner {
    public init() {}

    public func run(_ command: ProcessCommand) async throws -> ProcessResult {
        let executable: Executable = command.executable.contains("/") ? .path(FilePath(command.executable)) : .name(command.executable)
        var overrides: [Environment.Key: String?] = [:]
        for (name, value) in command.environment {
            if let key = Environment.Key(rawValue: name) { overrides[key] = value }
        }
        var options = PlatformOptions()
        options.processGroupID = 0
        options.teardownSequence = [.send(signal: .kill, toProcessGroup: true, allowedDurationToNextStep: .milliseconds(500))]
        let started = ContinuousClock.now
        let environment = Environment.inherit.updating(overrides)
        do {
            if let input = command.standardInput {
                return try await execute(command, executable, environment, options, .string(input), started)
            }
            return try await execute(command, executable, environment, options, .none, started)
        } catch let error as SubprocessError {
            throw ProcessRunnerError.launchFailed(executable: command.executable, reason: "\(error)")
        }
    }

    private func execute<Input: InputProtocol>(
        _ command: ProcessCommand, _ executable: Executable, _ environment: Environment, _ options: PlatformOptions,
        _ input: Input, _ started: ContinuousClock.Instant
    ) async throws -> ProcessResult {
        let limit = command.outputLimit
        let timeout = command.timeout
        let outcome = try await Subprocess.run(
            executable, arguments: Arguments(command.arguments), environment: environment, platformOptions: options,
            input: input, output: .sequence, error: .sequence
        ) { execution -> CapturedOutput in
            try await withThrowingTaskGroup(of: CapturedStream.self) { group in
                group.addTask { .output(try await Self.collect(execution.standardOutput, limit: limit)) }
                group.addTask { .error(try await Self.collect(execution.standardError, limit: limit)) }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    try? execution.send(signal: .kill, toProcessGroup: true)
                    return .timerFired
                }
                var captured = CapturedOutput()
                var streamsDone = 0
                while streamsDone < 2, let next = try await group.next() {
                    switch next {
                    case .output(let stream):
                        captured.output = stream
                        streamsDone += 1
                    case .error(let stream):
                        captured.error = stream
                        streamsDone += 1
                    case .timerFired:
                        captured.timedOut = true
                    }
                }
                group.cancelAll()
                return captured
            }
        }
        let captured = outcome.closureResult
        var exitCode: Int32?
        var signal: Int32?
        switch outcome.terminationStatus {
        case .exited(let code): exitCode = code
        case .signaled(let number): signal = number
        }
        // Killed because the caller was cancelled: the caller hears that, not "the tool failed".
        if signal != nil, !captured.timedOut, Task.isCancelled { throw CancellationError() }
        return ProcessResult(
            exitCode: exitCode, signal: signal,
            standardOutput: String(decoding: captured.output.bytes, as: UTF8.self),
            standardError: String(decoding: captured.error.bytes, as: UTF8.self),
            outputTruncated: captured.output.truncated || captured.error.truncated,
            timedOut: captured.timedOut, duration: ContinuousClock.now - started,
            processIdentifier: outcome.processIdentifier.value)
    }

    private struct Stream: Sendable {
        var bytes: [UInt8] = []
        var truncated = false
    }

    private enum CapturedStream: Sendable {
        case output(Stream)
        case error(Stream)
        case timerFired
    }

    private struct CapturedOutput: Sendable {
        var output = Stream()
        var error = Stream()
        var timedOut = false
    }

    private static func collect(_ sequence: SubprocessOutputSequence, limit: Int) async throws -> Stream {
        var stream = Stream()
        do {
            for try await chunk in sequence {
                let room = limit - stream.bytes.count
                if room <= 0 {
                    stream.truncated = true
                    continue
                }
                chunk.withUnsafeBytes { raw in
                    stream.bytes.append(contentsOf: raw.prefix(room))
                    if raw.count > room { stream.truncated = true }
                }
            }
        } catch is CancellationError {
            return stream
        }
        return stream
    }
}
