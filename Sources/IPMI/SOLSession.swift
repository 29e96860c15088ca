import AgentCore
import Foundation
import Logging
import NIOCore
import NIOPosix
import Subprocess
import Synchronization

#if canImport(System)
import System
#else
import SystemPackage
#endif

/// A BMC's serial console: `ipmitool -I lanplus ... sol activate` in a pseudo-terminal (ipmitool puts its standard
/// input in raw mode and needs a terminal for that), the password in the child's environment as for every ipmitool
/// call. The terminal is read and written through a SwiftNIO pipe channel, so a hundred sessions cost a hundred
/// processes and no thread each.
///
/// ipmitool's escape character is moved to Ctrl-] (0x1D), and ``send(_:)`` drops that byte from what viewers type: a
/// viewer can never end the session with ipmitool's `~.`; only ``deactivate()`` does.
public final class SOLSession: Sendable {
    /// What ended a session.
    public enum End: Sendable, Equatable {
        /// ``deactivate()`` was called.
        case deactivated
        /// ipmitool ended on its own (the BMC closed the session, the network went away); the text is its last words.
        case dropped(String)
    }

    public let bmc: String
    /// Bytes from the server's serial port, in order, until the session ends (then the stream finishes).
    public let output: AsyncStream<ByteBuffer>
    private let writer: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private let process: Task<Void, Never>
    private let reader: Task<Void, Never>
    private let state: SOLSessionState
    private let ended: AsyncStream<End>
    private let endContinuation: AsyncStream<End>.Continuation

    static let escapeCharacter: UInt8 = 0x1D
    static let operationalMarker = "[SOL Session operational"
    static let staleMarkers = ["SOL payload already active", "already active on another session"]

    private init(
        bmc: String, output: AsyncStream<ByteBuffer>, writer: NIOAsyncChannelOutboundWriter<ByteBuffer>, process: Task<Void, Never>,
        reader: Task<Void, Never>, ended: AsyncStream<End>, endContinuation: AsyncStream<End>.Continuation, state: SOLSessionState
    ) {
        self.bmc = bmc
        self.output = output
        self.writer = writer
        self.process = process
        self.reader = reader
        self.ended = ended
        self.endContinuation = endContinuation
        self.state = state
    }

    /// Activates SOL and returns once the BMC reports the session operational. A BMC that holds a stale session (a
    /// viewer that went away without deactivating) gets `sol deactivate` through `executor` and one more try. Throws
    /// ``SOLError/unavailable(bmc:reason:)`` with ipmitool's words when the BMC refuses (SOL disabled, not supported),
    /// and the usual ``IPMIError`` when it cannot be reached.
    public static func activate(
        _ connection: IPMIConnection, executor: IPMIExecutor, startTimeout: Duration = .seconds(20), logger: Logger
    ) async throws -> SOLSession {
        do {
            return try await start(connection, settings: executor.settings, startTimeout: startTimeout, logger: logger)
        } catch SOLError.staleSession {
            logger.notice("stale SOL session on the BMC; deactivating it first", metadata: ["bmc": "\(connection.address)"])
            _ = try? await executor.run(["sol", "deactivate"], on: solConnection(connection))
            return try await start(connection, settings: executor.settings, startTimeout: startTimeout, logger: logger)
        }
    }

    /// SOL needs IPMI 2.0 (RMCP+): the connection's interface is forced to lanplus.
    static func solConnection(_ connection: IPMIConnection) -> IPMIConnection {
        var copy = connection
        copy.interface = .lanplus
        return copy
    }

    private static func start(
        _ connection: IPMIConnection, settings: IPMIConfiguration, startTimeout: Duration, logger: Logger
    ) async throws -> SOLSession {
        let connection = solConnection(connection)
        let line = IPMICommandLine.serialConsole(connection: connection, defaults: settings)
        // A BMC that never answers is reported in ipmitool's own words when its attempts end before the start timeout.
        let startTimeout = max(startTimeout, .seconds(line.giveUpSeconds + 5))
        let terminal = try PseudoTerminal()
        let arguments = ["-e", String(UnicodeScalar(escapeCharacter))] + line.arguments(["sol", "activate"])
        let ipmitoolPath = settings.ipmitoolPath
        let variables = line.environment
        let exit = ExitNote()
        let exited = AsyncStream<Void>.makeStream()
        let standardInput = try terminal.duplicateSubordinate()
        let standardOutput = try terminal.duplicateSubordinate()
        let standardError = try terminal.duplicateSubordinate()
        terminal.closeSubordinate()
        let process = Task {
            var options = PlatformOptions()
            options.processGroupID = 0
            options.teardownSequence = [.send(signal: .terminate, toProcessGroup: true, allowedDurationToNextStep: .seconds(1))]
            let executable: Executable = ipmitoolPath.contains("/") ? .path(FilePath(ipmitoolPath)) : .name(ipmitoolPath)
            let environment = Environment.inherit.updating(Dictionary(uniqueKeysWithValues: variables.compactMap { name, value in
                Environment.Key(rawValue: name).map { ($0, Optional(value)) }
            }))
            do {
                let result = try await Subprocess.run(
                    executable, arguments: Arguments(arguments), environment: environment, platformOptions: options,
                    input: .fileDescriptor(FileDescriptor(rawValue: standardInput), closeAfterSpawningProcess: true),
                    output: .fileDescriptor(FileDescriptor(rawValue: standardOutput), closeAfterSpawningProcess: true),
                    error: .fileDescriptor(FileDescriptor(rawValue: standardError), closeAfterSpawningProcess: true)
                ) { _ in }
                exit.set("\(result.terminationStatus)")
            } catch {
                exit.set("ipmitool did not start: \(error)")
            }
            exited.continuation.finish()
        }
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await NIOPipeBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .takingOwnershipOfDescriptor(inputOutput: terminal.primary) { channel in
                    channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
                }
        } catch {
            terminal.closePrimary()
            process.cancel()
            throw SOLError.unavailable(bmc: connection.address, reason: "cannot open the terminal: \(error)")
        }
        let (output, outputContinuation) = AsyncStream<ByteBuffer>.makeStream(bufferingPolicy: .unbounded)
        let (ended, endContinuation) = AsyncStream<End>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let state = SOLSessionState()
        let (handshake, handshakeContinuation) = AsyncStream<Result<NIOAsyncChannelOutboundWriter<ByteBuffer>, SOLError>>.makeStream()
        let address = connection.address
        let reader = Task {
            var pending = ByteBuffer()
            var operational = false
            var lastWords = ""
            do {
                try await channel.executeThenClose { inbound, outbound in
                    for try await chunk in inbound {
                        if operational {
                            outputContinuation.yield(chunk)
                            lastWords = Self.tail(lastWords, chunk)
                            continue
                        }
                        pending.writeImmutableBuffer(chunk)
                        let text = String(buffer: pending)
                        if let marker = text.range(of: operationalMarker) {
                            operational = true
                            // Everything after the marker's line is the server's own output.
                            let afterLine = text[marker.upperBound...].firstIndex(of: "\n").map { text.index(after: $0) } ?? text.endIndex
                            let rest = String(text[afterLine...])
                            handshakeContinuation.yield(.success(outbound))
                            handshakeContinuation.finish()
                            if !rest.isEmpty { outputContinuation.yield(ByteBuffer(string: rest)) }
                        } else if staleMarkers.contains(where: text.contains) {
                            handshakeContinuation.yield(.failure(.staleSession(bmc: address)))
                            handshakeContinuation.finish()
                            return
                        } else if pending.readableBytes > 64 * 1024 {
                            handshakeContinuation.yield(.failure(.unavailable(bmc: address, reason: "no SOL session after 64 KiB of output")))
                            handshakeContinuation.finish()
                            return
                        }
                    }
                }
            } catch {
                // EIO once ipmitool has exited and closed the terminal: the normal end of the stream.
            }
            if !operational {
                await Self.waitForExit(exited.stream, upTo: .seconds(2))
                let words = Self.lastMeaningfulLines(String(buffer: pending))
                let status = exit.value ?? "still running"
                handshakeContinuation.yield(.failure(.unavailable(bmc: address, reason: words.isEmpty ? "ipmitool ended (\(status))" : words)))
                handshakeContinuation.finish()
            }
            outputContinuation.finish()
            await Self.waitForExit(exited.stream, upTo: .seconds(3))
            let words = Self.lastMeaningfulLines(lastWords)
            let status = exit.value ?? "running"
            let end = state.end { deactivating in
                deactivating ? .deactivated : .dropped(words.isEmpty ? "ipmitool ended (\(status))" : words)
            }
            endContinuation.yield(end)
            endContinuation.finish()
        }
        let outcome = await Self.firstResult(of: handshake, upTo: startTimeout)
        switch outcome {
        case .success(let writer)?:
            logger.info("SOL session operational", metadata: ["bmc": "\(address)"])
            return SOLSession(
                bmc: address, output: output, writer: writer, process: process, reader: reader, ended: ended, endContinuation: endContinuation,
                state: state)
        case .failure(let error)?:
            process.cancel()
            _ = await reader.value
            throw error
        case nil:
            process.cancel()
            _ = await reader.value
            throw SOLError.unavailable(bmc: address, reason: "the BMC did not open a SOL session within \(startTimeout)")
        }
    }

    /// Types `bytes` into the console (ipmitool's escape character removed).
    public func send(_ bytes: ByteBuffer) async throws {
        var filtered = ByteBuffer()
        filtered.reserveCapacity(bytes.readableBytes)
        for byte in bytes.readableBytesView where byte != Self.escapeCharacter { filtered.writeInteger(byte) }
        guard filtered.readableBytes > 0 else { return }
        try await writer.write(filtered)
    }

    /// Ends the session cleanly (ipmitool's escape, so the BMC frees the SOL payload), or by signal when ipmitool does
    /// not go within three seconds; returns once it has ended.
    public func deactivate() async {
        let already = state.markDeactivating()
        if !already {
            var escape = ByteBuffer()
            escape.writeBytes([0x0D, Self.escapeCharacter, UInt8(ascii: ".")])
            try? await writer.write(escape)
            if await Self.firstResult(of: ended, upTo: .seconds(3)) == nil { process.cancel() }
        }
        _ = await reader.value
    }

    /// Waits until the session has ended and says how.
    public func waitForEnd() async -> End {
        _ = await reader.value
        return state.ended ?? .deactivated
    }

    // MARK: - Helpers

    static func tail(_ text: String, _ chunk: ByteBuffer) -> String {
        String((text + String(buffer: chunk)).suffix(400))
    }

    /// ipmitool's last lines without terminal noise: the reason a session could not start or ended.
    static func lastMeaningfulLines(_ text: String) -> String {
        let lines = text.replacingOccurrences(of: "\r", with: "\n").split(separator: "\n")
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("Info: SOL parameter") && !$0.contains("tcgetattr") }
        return lines.suffix(2).joined(separator: "; ").prefix(300).description
    }

    static func firstResult<Element: Sendable>(of stream: AsyncStream<Element>, upTo limit: Duration) async -> Element? {
        await withTaskGroup(of: Element?.self) { group in
            group.addTask {
                for await element in stream { return element }
                return nil
            }
            group.addTask {
                try? await Task.sleep(for: limit)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    static func waitForExit(_ stream: AsyncStream<Void>, upTo limit: Duration) async {
        _ = await firstResult(of: stream, upTo: limit)
    }
}

/// Why a SOL session could not be had.
public enum SOLError: Error, Sendable, Equatable, AgentErrorConvertible {
    /// The BMC refused SOL (disabled, not supported, no payload) or ipmitool ended before the session was up.
    case unavailable(bmc: String, reason: String)
    /// The BMC still holds another SOL session.
    case staleSession(bmc: String)

    public var agentError: AgentError {
        switch self {
        case .unavailable(let bmc, let reason):
            return AgentError(status: .badGateway, code: "console_unavailable", message: "BMC \(bmc) gave no serial console: \(reason)",
                              details: ["bmc": .string(bmc), "reason": .string(reason)])
        case .staleSession(let bmc):
            return AgentError(status: .conflict, code: "console_busy", message: "BMC \(bmc) holds another SOL session that could not be ended",
                              details: ["bmc": .string(bmc)])
        }
    }
}

/// A pseudo-terminal pair: the primary side stays with the agent, the subordinate side becomes a child's terminal.
final class PseudoTerminal: @unchecked Sendable {
    let primary: Int32
    private var subordinate: Int32

    init() throws {
        var primary: Int32 = -1
        var subordinate: Int32 = -1
        guard openpty(&primary, &subordinate, nil, nil, nil) == 0 else {
            throw SOLError.unavailable(bmc: "-", reason: "no pseudo-terminal: \(String(cString: strerror(errno)))")
        }
        _ = fcntl(primary, F_SETFD, FD_CLOEXEC)
        _ = fcntl(subordinate, F_SETFD, FD_CLOEXEC)
        self.primary = primary
        self.subordinate = subordinate
    }

    /// A new descriptor of the subordinate side (each of a child's three standard streams gets one).
    func duplicateSubordinate() throws -> Int32 {
        let copy = fcntl(subordinate, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0 else { throw SOLError.unavailable(bmc: "-", reason: "cannot duplicate the terminal: \(String(cString: strerror(errno)))") }
        return copy
    }

    /// The agent's own copy of the subordinate side goes once the child has its copies: when the child exits, reading
    /// the primary side then ends.
    func closeSubordinate() {
        if subordinate >= 0 { close(subordinate) }
        subordinate = -1
    }

    func closePrimary() {
        close(primary)
    }
}

/// How ipmitool exited, once it has.
final class ExitNote: Sendable {
    private let text = Mutex<String?>(nil)
    func set(_ value: String) { text.withLock { $0 = value } }
    var value: String? { text.withLock { $0 } }
}

/// How a session stands, shared by its reader and its owner.
final class SOLSessionState: Sendable {
    private let value = Mutex<(end: SOLSession.End?, deactivating: Bool)>((nil, false))

    func markDeactivating() -> Bool {
        value.withLock { current in
            current.deactivating = true
            return current.end != nil
        }
    }

    func end(_ make: (Bool) -> SOLSession.End) -> SOLSession.End {
        value.withLock { current in
            let end = make(current.deactivating)
            current.end = end
            return end
        }
    }

    var ended: SOLSession.End? { value.withLock { $0.end } }
}
