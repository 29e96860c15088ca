import AgentCore
import NIOCore

/// Reads exact byte counts from a stream of chunks (a TCP connection, WebSocket messages).
struct ByteReader<Source: AsyncIteratorProtocol> where Source.Element == ByteBuffer {
    var source: Source
    var buffered = ByteBuffer()

    init(_ source: Source) {
        self.source = source
    }

    /// Exactly `count` bytes; throws when the stream ends first.
    mutating func read(_ count: Int, what: String) async throws -> [UInt8] {
        while buffered.readableBytes < count {
            guard var chunk = try await source.next() else { throw ConsoleError.vncHandshake("the connection closed while reading \(what)") }
            buffered.writeBuffer(&chunk)
        }
        return buffered.readBytes(length: count) ?? []
    }

    mutating func readUInt32(what: String) async throws -> UInt32 {
        try await read(4, what: what).reduce(0) { ($0 << 8) | UInt32($1) }
    }

    /// What was read past the handshake, to be passed on first.
    mutating func takeBuffered() -> ByteBuffer? {
        guard buffered.readableBytes > 0 else { return nil }
        defer { buffered.clear() }
        return buffered
    }
}

/// The RFB (RFC 6143) handshakes the agent does in the middle of a graphical console: as a client towards the VNC
/// server (answering its authentication, so a VNC password never reaches the browser), and as a server towards the
/// browser (offering no authentication: the browser is already authorised by its one-time link and address). After
/// both, the bytes are passed through untouched, starting with the browser's ClientInit.
enum RFBHandshake {
    static let noAuthentication: UInt8 = 1
    static let vncAuthentication: UInt8 = 2

    /// Negotiates with the VNC server and authenticates; returns what was agreed (for logs).
    static func authenticate<Source>(
        _ server: inout ByteReader<Source>, write: (ByteBuffer) async throws -> Void, password: Secret?
    ) async throws -> String {
        let greeting = String(decoding: try await server.read(12, what: "the server's protocol version"), as: UTF8.self)
        guard greeting.hasPrefix("RFB "), greeting.hasSuffix("\n"), let version = RFBVersion(greeting) else {
            throw ConsoleError.vncHandshake("not a VNC server (it greeted with \(greeting.debugDescription))")
        }
        let agreed = min(version, RFBVersion(major: 3, minor: 8))
        try await write(ByteBuffer(string: agreed.text))
        var chosen: UInt8
        if agreed.minor >= 7 {
            let count = Int(try await server.read(1, what: "the number of security types")[0])
            if count == 0 { throw ConsoleError.vncHandshake("the VNC server refused the connection: \(try await reason(&server))") }
            let offered = try await server.read(count, what: "the security types")
            if offered.contains(noAuthentication) {
                chosen = noAuthentication
            } else if offered.contains(vncAuthentication), password != nil {
                chosen = vncAuthentication
            } else if offered.contains(vncAuthentication) {
                throw ConsoleError.vncHandshake("the VNC server asks for a password and the connection has none (connection.meta.password)")
            } else {
                throw ConsoleError.vncHandshake("the VNC server offers only security types \(offered) (the agent speaks 1 none and 2 VNC authentication)")
            }
            try await write(ByteBuffer(bytes: [chosen]))
        } else {
            let decided = try await server.readUInt32(what: "the security type")
            guard decided == 1 || decided == 2 else {
                if decided == 0 { throw ConsoleError.vncHandshake("the VNC server refused the connection: \(try await reason(&server))") }
                throw ConsoleError.vncHandshake("the VNC server decided on security type \(decided), which the agent does not speak")
            }
            chosen = UInt8(decided)
            if chosen == vncAuthentication, password == nil {
                throw ConsoleError.vncHandshake("the VNC server asks for a password and the connection has none (connection.meta.password)")
            }
        }
        if chosen == vncAuthentication, let password {
            let challenge = try await server.read(16, what: "the authentication challenge")
            try await write(ByteBuffer(bytes: VNCAuthentication.response(to: challenge, password: password.revealed)))
        }
        // RFB 3.8 reports the outcome for every type, 3.3 and 3.7 only after VNC authentication.
        if chosen == vncAuthentication || agreed.minor >= 8 {
            let result = try await server.readUInt32(what: "the security result")
            if result != 0 {
                let why = agreed.minor >= 8 ? (try? await reason(&server)) ?? "" : ""
                throw ConsoleError.vncHandshake(chosen == vncAuthentication
                    ? "the VNC server refused the password\(why.isEmpty ? "" : ": \(why)")" : "the VNC server refused the connection: \(why)")
            }
        }
        return "RFB \(agreed.major).\(agreed.minor), \(chosen == vncAuthentication ? "VNC authentication" : "no authentication")"
    }

    /// Plays the server's part towards the browser, offering only "no authentication" (RFB 3.8).
    static func greetViewer<Source>(_ viewer: inout ByteReader<Source>, send: (ByteBuffer) async throws -> Void) async throws {
        try await send(ByteBuffer(string: RFBVersion(major: 3, minor: 8).text))
        let answer = String(decoding: try await viewer.read(12, what: "the viewer's protocol version"), as: UTF8.self)
        guard let version = RFBVersion(answer), version.major == 3 else {
            throw ConsoleError.vncHandshake("the viewer is not an RFB client (it answered \(answer.debugDescription))")
        }
        if version.minor >= 7 {
            try await send(ByteBuffer(bytes: [1, noAuthentication]))
            let choice = try await viewer.read(1, what: "the viewer's security type")[0]
            guard choice == noAuthentication else { throw ConsoleError.vncHandshake("the viewer chose security type \(choice)") }
            if version.minor >= 8 { try await send(ByteBuffer(bytes: [0, 0, 0, 0])) }
        } else {
            try await send(ByteBuffer(bytes: [0, 0, 0, noAuthentication]))
        }
    }

    private static func reason<Source>(_ server: inout ByteReader<Source>) async throws -> String {
        let length = Int(min(try await server.readUInt32(what: "the reason's length"), 4096))
        return String(decoding: try await server.read(length, what: "the reason"), as: UTF8.self)
    }
}

/// `RFB 003.008\n`.
struct RFBVersion: Comparable {
    var major: Int
    var minor: Int

    init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    init?(_ text: String) {
        let digits = text.dropFirst(4).prefix(7).split(separator: ".")
        guard text.hasPrefix("RFB "), digits.count == 2, let major = Int(digits[0]), let minor = Int(digits[1]) else { return nil }
        self.major = major
        // 3.4 and 3.6 (UltraVNC), 3.889 (Apple) behave like 3.3 and 3.8.
        self.minor = major == 3 && minor > 8 ? 8 : (major == 3 && minor < 7 ? 3 : minor)
    }

    var text: String { "RFB " + String(format: "%03d.%03d", major, minor) + "\n" }

    static func < (lhs: Self, rhs: Self) -> Bool { (lhs.major, lhs.minor) < (rhs.major, rhs.minor) }
}
