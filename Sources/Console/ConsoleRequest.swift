import AgentCore
import Foundation
import IPMI

/// The two consoles the agent bridges to a browser.
public enum ConsoleMode: String, Sendable, Codable, CaseIterable {
    /// The server's serial port through IPMI Serial-over-LAN, in a terminal.
    case serial
    /// The server's screen through VNC (RFB), in noVNC.
    case graphical
}

/// Where a console comes from: a BMC's SOL, or a VNC server (directly or RFB over a WebSocket).
public enum ConsoleEndpoint: Sendable {
    case serial(IPMIConnection)
    case vnc(VNCEndpoint)

    /// The device the console reaches, for logs and events (never a secret).
    public var target: String {
        switch self {
        case .serial(let connection): return "ipmi:\(connection.address)"
        case .vnc(let endpoint): return "vnc:\(endpoint.transport.description)"
        }
    }
}

/// A VNC server the agent may connect to: only this one, whatever the viewer asks.
public struct VNCEndpoint: Sendable, Equatable {
    public enum Transport: Sendable, Equatable, CustomStringConvertible {
        case tcp(host: String, port: Int)
        /// RFB inside WebSocket binary messages (OpenBMC's KVM, qemu's `websocket=`): `ws://` or `wss://`.
        case webSocket(url: String)

        public var description: String {
            switch self {
            case .tcp(let host, let port): return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            case .webSocket(let url): return url.split(separator: "?").first.map(String.init) ?? url
            }
        }
    }

    public var transport: Transport
    /// For VNC Authentication, answered by the agent: it never reaches the browser.
    public var password: Secret?
    /// For `wss://`: whether the server's certificate must chain to a trusted root (`meta.verifyCertificate`; BMCs
    /// mostly present self-signed ones, so operators turn it off per connection).
    public var verifyCertificate: Bool

    public init(transport: Transport, password: Secret?, verifyCertificate: Bool = true) {
        self.transport = transport
        self.password = password
        self.verifyCertificate = verifyCertificate
    }
}

/// `POST /v1/consoles`: the seed's console call (`authorizedIp`, `consoleMode`) plus what the agent needs to reach the
/// console: the server's connection and id.
public struct ConsoleRequest: Sendable {
    public var serverId: String
    /// The only address the link opens from (normalised).
    public var authorizedIp: String
    public var mode: ConsoleMode
    public var endpoint: ConsoleEndpoint
    /// How long the link can be opened; `console.linkLifetimeSeconds` when absent.
    public var lifetimeSeconds: Double?
    /// A serial viewer of a server someone already watches takes the keyboard (the other viewer goes read-only).
    public var takeOver: Bool

    public init(serverId: String, authorizedIp: String, mode: ConsoleMode, endpoint: ConsoleEndpoint, lifetimeSeconds: Double? = nil, takeOver: Bool = false) {
        self.serverId = serverId
        self.authorizedIp = authorizedIp
        self.mode = mode
        self.endpoint = endpoint
        self.lifetimeSeconds = lifetimeSeconds
        self.takeOver = takeOver
    }

    /// Decodes and checks a request body; every refusal names its field.
    public static func decode(_ body: JSONValue) throws -> ConsoleRequest {
        guard case .object(let fields) = body else { throw AgentError.malformedJSON("expected an object") }
        guard let rawServer = fields["serverId"], rawServer != .null else { throw AgentError.missingField("serverId") }
        let serverId: String
        switch rawServer {
        case .string(let text): serverId = text
        case .integer(let number): serverId = String(number)
        default: throw AgentError.invalidField("serverId", "expected a string or an integer")
        }
        guard isServerId(serverId) else { throw AgentError.invalidField("serverId", "1 to 64 of letters, digits and ._-") }
        guard let rawAddress = fields["authorizedIp"], rawAddress != .null else { throw AgentError.missingField("authorizedIp") }
        guard let addressText = rawAddress.stringValue, let address = IPAddress(addressText.trimmingCharacters(in: .whitespaces)) else {
            throw AgentError.invalidField("authorizedIp", "must be a valid IP address")
        }
        let requested: String
        switch fields["consoleMode"] {
        case nil, .null?: requested = "standard"
        case .string(let text)?: requested = text
        default: throw AgentError.invalidField("consoleMode", "must be one of standard, serial, graphical")
        }
        guard let connection = fields["connection"], case .object(let connectionFields) = connection else {
            throw AgentError.missingField("connection")
        }
        guard let type = connectionFields["type"]?.stringValue else { throw AgentError.missingField("connection.type") }
        let meta = connectionFields["meta"] ?? .object([:])
        let endpoint: ConsoleEndpoint
        let mode: ConsoleMode
        switch type {
        case "ipmi":
            switch requested {
            case "standard", "serial":
                mode = .serial
            case "graphical":
                if meta["javaVersion"] != nil {
                    throw AgentError.unsupported(
                        "this BMC's graphical console is its vendor's Java viewer, which the agent does not run; use consoleMode serial, "
                            + "or a vnc connection to the BMC's VNC or HTML5 KVM service",
                        details: ["field": "consoleMode"])
                }
                throw AgentError.unsupported(
                    "an ipmi connection offers the serial console (SOL); a graphical console needs a vnc connection",
                    details: ["field": "consoleMode"])
            default:
                throw AgentError.invalidField("consoleMode", "must be one of standard, serial, graphical")
            }
            var ipmi = try meta.decode(as: IPMIConnection.self, at: "connection.meta")
            if ipmi.interface == .lan {
                throw AgentError.unsupported("Serial-over-LAN needs IPMI 2.0 (lanplus); the connection asks for lan", details: ["field": "connection.meta.interface"])
            }
            ipmi.interface = .lanplus
            endpoint = .serial(ipmi)
        case "vnc":
            switch requested {
            case "standard", "graphical": mode = .graphical
            case "serial": throw AgentError.unsupported("a vnc connection offers the graphical console", details: ["field": "consoleMode"])
            default: throw AgentError.invalidField("consoleMode", "must be one of standard, serial, graphical")
            }
            endpoint = .vnc(try vncEndpoint(meta))
        default:
            throw AgentError.unsupported("connection type \(type) offers no console the agent can bridge (ipmi for serial, vnc for graphical)",
                                         details: ["field": "connection.type"])
        }
        var lifetime: Double?
        if let value = fields["lifetimeSeconds"], value != .null {
            guard let number = value.doubleValue, (10...86_400).contains(number) else {
                throw AgentError.invalidField("lifetimeSeconds", "must be from 10 to 86400")
            }
            lifetime = number
        }
        var takeOver = false
        if let value = fields["takeOver"], value != .null {
            guard let flag = value.boolValue else { throw AgentError.invalidField("takeOver", "expected a boolean") }
            takeOver = flag
        }
        return ConsoleRequest(serverId: serverId, authorizedIp: address.description, mode: mode, endpoint: endpoint, lifetimeSeconds: lifetime,
                              takeOver: takeOver)
    }

    static func vncEndpoint(_ meta: JSONValue) throws -> VNCEndpoint {
        var password: Secret?
        if let value = meta["password"], value != .null {
            guard let text = value.stringValue else { throw AgentError.invalidField("connection.meta.password", "expected a string") }
            try Validation.noControlCharacters(text, field: "connection.meta.password")
            if !text.isEmpty { password = Secret(text) }
        }
        if let value = meta["websocketUrl"], value != .null {
            guard let text = value.stringValue, let url = URL(string: text), ["ws", "wss"].contains(url.scheme ?? ""), url.host != nil,
                  !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0 == " " })
            else {
                throw AgentError.invalidField("connection.meta.websocketUrl", "must be a ws:// or wss:// URL")
            }
            var verify = true
            if let value = meta["verifyCertificate"], value != .null {
                guard let flag = value.boolValue else { throw AgentError.invalidField("connection.meta.verifyCertificate", "expected a boolean") }
                verify = flag
            }
            return VNCEndpoint(transport: .webSocket(url: text), password: password, verifyCertificate: verify)
        }
        guard let hostText = (meta["host"] ?? meta["ip"])?.stringValue else { throw AgentError.missingField("connection.meta.host") }
        let host = try Validation.host(hostText, field: "connection.meta.host")
        var port = 5900
        if let value = meta["port"], value != .null {
            guard let number = value.intValue ?? value.stringValue.flatMap({ Int($0) }) else {
                throw AgentError.invalidField("connection.meta.port", "expected a port number")
            }
            port = try Validation.port(number, field: "connection.meta.port")
        }
        return VNCEndpoint(transport: .tcp(host: host, port: port), password: password)
    }

    /// A server id as the controller uses them, safe in a file name.
    public static func isServerId(_ text: String) -> Bool {
        (1...64).contains(text.count) && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) } && text != "."
            && text != ".."
    }
}
