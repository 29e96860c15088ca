import AgentCore
import ArgumentParser
import Console
import ControllerAPI
import Foundation
import IPMI
import Logging
import NIOCore
import Synchronization

struct ConsoleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "Attach this terminal to a server's serial console, or have the running agent issue a console link.",
        subcommands: [SOL.self, Open.self]
    )

    struct SOL: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sol",
            abstract: "Attach this terminal to a BMC's Serial-over-LAN console (like `ipmitool sol activate`).",
            discussion: """
                Type ~. at the start of a line to leave (the BMC's SOL session is deactivated cleanly); ~~ sends one ~. \
                A stale SOL session on the BMC is deactivated first. Exit status 0 when you left, 1 when the BMC ended the \
                session or refused it.
                """
        )

        @OptionGroup var connection: IPMICommand.ConnectionOptions

        func run() async throws {
            let ipmi = try connection.connection()
            let settings = try connection.configurationOptions.load().ipmi
            let executor = IPMIExecutor(
                runner: ProcessRunner(), settings: settings, scratch: try ScratchDirectory.forCommandLine(), logger: Logger(label: "rackagent.console"))
            let session: SOLSession
            do {
                session = try await SOLSession.activate(ipmi, executor: executor, logger: Logger(label: "rackagent.console"))
            } catch {
                FileHandle.standardError.write(Data("\(AgentError.from(error).message)\n".utf8))
                throw ExitCode(1)
            }
            FileHandle.standardError.write(Data("[serial console of BMC \(ipmi.address); ~. to leave]\r\n".utf8))
            let terminal = RawTerminal()
            defer { terminal.restore() }
            let keys = StandardInputReader.start()
            let left = await withTaskGroup(of: Bool.self) { group in
                group.addTask {
                    for await chunk in session.output {
                        FileHandle.standardOutput.write(Data(chunk.readableBytesView))
                    }
                    return false
                }
                group.addTask {
                    var escape = EscapeSequence()
                    for await chunk in keys {
                        let (send, leave) = escape.feed(chunk)
                        if !send.isEmpty { try? await session.send(ByteBuffer(bytes: send)) }
                        if leave { return true }
                    }
                    return true
                }
                let first = await group.next() ?? false
                group.cancelAll()
                return first
            }
            if left {
                await session.deactivate()
                terminal.restore()
                FileHandle.standardError.write(Data("\r\n[left the serial console]\n".utf8))
                return
            }
            let end = await session.waitForEnd()
            terminal.restore()
            if case .dropped(let words) = end { FileHandle.standardError.write(Data("\r\n[the BMC ended the serial console: \(words)]\n".utf8)) }
            throw ExitCode(1)
        }
    }

    struct Open: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "open",
            abstract: "Ask the running agent for a console link (as the controller's POST /v1/consoles does) and print it.",
            discussion: """
                The agent's API address, token and certificate come from the configuration and state directory. The link \
                opens once, from --authorized-ip only, within the link lifetime.
                """
        )

        @Option(name: .customLong("server-id"), help: "The server the console belongs to.") var serverId: String
        @Option(name: .customLong("authorized-ip"), help: "The only address the link opens from (the viewer's).") var authorizedIp: String
        @Option(name: .long, help: "standard, serial or graphical.") var mode = "standard"
        @Option(name: .customLong("bmc-host"), help: "BMC address, for the serial console.") var bmcHost: String?
        @Option(name: .customLong("bmc-port"), help: "BMC UDP port.") var bmcPort = 623
        @Option(name: [.customShort("U"), .customLong("user")], help: "BMC user name.") var user: String?
        @Option(name: .customLong("password-file"), help: ArgumentHelp("File holding the BMC or VNC password.", valueName: "file")) var passwordFile: String?
        @Option(name: .customLong("vnc-host"), help: "VNC server address, for the graphical console.") var vncHost: String?
        @Option(name: .customLong("vnc-port"), help: "VNC server port.") var vncPort = 5900
        @Option(name: .customLong("vnc-websocket-url"), help: "ws:// or wss:// URL of a VNC server speaking RFB over WebSocket.") var vncWebSocketURL: String?
        @Option(name: .long, help: "Seconds the link can be opened in.") var lifetime: Double?
        @Option(name: .customLong("api-url"), help: ArgumentHelp("The agent's API (default: from api.listen).", valueName: "https://host:port"))
        var apiURL: String?
        @OptionGroup var configurationOptions: ConfigurationOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let configuration = try configurationOptions.load()
            let password = try passwordFile.map { try SecretSource(file: $0, environment: nil, prompt: "").read() }
            let connection: JSONValue
            if let bmcHost {
                guard let user else { throw CommandFailure(message: "--user is required with --bmc-host") }
                guard let password else { throw CommandFailure(message: "--password-file is required with --bmc-host") }
                connection = ["type": "ipmi", "meta": [
                    "ip": .string(bmcHost), "bmcPort": .integer(Int64(bmcPort)), "username": .string(user), "password": .string(password.revealed),
                ]]
            } else if vncHost != nil || vncWebSocketURL != nil {
                var meta: [String: JSONValue] = [:]
                if let vncHost { meta["host"] = .string(vncHost); meta["port"] = .integer(Int64(vncPort)) }
                if let vncWebSocketURL { meta["websocketUrl"] = .string(vncWebSocketURL) }
                if let password { meta["password"] = .string(password.revealed) }
                connection = ["type": "vnc", "meta": .object(meta)]
            } else {
                throw CommandFailure(message: "name the console: --bmc-host (serial) or --vnc-host / --vnc-websocket-url (graphical)")
            }
            var body: [String: JSONValue] = [
                "serverId": .string(serverId), "authorizedIp": .string(authorizedIp), "consoleMode": .string(mode), "connection": connection,
            ]
            if let lifetime { body["lifetimeSeconds"] = .double(lifetime) }
            let result = try await exitingOnFailure {
                try await LocalAgentAPI(configuration: configuration, apiURL: apiURL).call(.POST, "/v1/consoles", body: .object(body), expecting: .created)
            }
            if output.json {
                print(result.jsonText)
            } else {
                print(result["url"]?.stringValue ?? "")
                print("opens once from \(authorizedIp) until \(result["expiresAt"]?.stringValue ?? "?") (session \(result["sessionId"]?.stringValue ?? "?"))")
            }
        }
    }
}

/// `~.` at the start of a line leaves, `~~` sends one `~`; everything else passes through.
struct EscapeSequence {
    private var atLineStart = true
    private var pendingTilde = false

    /// The bytes to send for `input`, and whether the user asked to leave.
    mutating func feed(_ input: [UInt8]) -> (send: [UInt8], leave: Bool) {
        var send: [UInt8] = []
        for byte in input {
            if pendingTilde {
                pendingTilde = false
                if byte == UInt8(ascii: ".") { return (send, true) }
                send.append(UInt8(ascii: "~"))
                if byte == UInt8(ascii: "~") {
                    atLineStart = false
                    continue
                }
            } else if atLineStart, byte == UInt8(ascii: "~") {
                pendingTilde = true
                continue
            }
            send.append(byte)
            atLineStart = byte == 0x0D || byte == 0x0A
        }
        return (send, false)
    }
}

/// The terminal in raw mode while attached (keys go to the server as typed), restored afterwards.
final class RawTerminal: Sendable {
    private let saved: Mutex<termios?>

    init() {
        var original = termios()
        guard isatty(STDIN_FILENO) == 1, tcgetattr(STDIN_FILENO, &original) == 0 else {
            saved = Mutex(nil)
            return
        }
        var raw = original
        cfmakeraw(&raw)
        tcsetattr(STDIN_FILENO, TCSANOW, &raw)
        saved = Mutex(original)
    }

    func restore() {
        saved.withLock { saved in
            guard var original = saved else { return }
            tcsetattr(STDIN_FILENO, TCSANOW, &original)
            saved = nil
        }
    }
}

/// Standard input as a stream of chunks, read on a thread of its own (a terminal read blocks).
enum StandardInputReader {
    static func start() -> AsyncStream<[UInt8]> {
        let (stream, continuation) = AsyncStream<[UInt8]>.makeStream()
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = read(STDIN_FILENO, &buffer, buffer.count)
                if count <= 0 { break }
                continuation.yield(Array(buffer[0..<count]))
            }
            continuation.finish()
        }
        return stream
    }
}
