import AgentCore
import Foundation

/// One provider account's API, as the agent uses it. Drivers follow their seed documents: auth, encodings,
/// envelopes, error formats and status words; they normalise states to ``ProviderPowerState`` and keep the raw word.
///
/// Power actions a provider lacks are composed by ``ProviderService`` from the ones it has
/// (``nativePowerActions``); reinstall flows differ too much to share and live in each driver.
public protocol ProviderDriver: Sendable {
    var provider: ProviderType { get }
    /// The power actions the API has a call for.
    var nativePowerActions: Set<ProviderPowerAction> { get }
    /// The support table (README, GET /v1/info).
    var support: [ProviderOperation: ProviderSupport] { get }

    /// Succeeds when the credentials are accepted.
    func checkCredentials() async throws
    func listServers() async throws -> [ProviderServer]
    func status(serverId: String) async throws -> ProviderServerStatus
    /// Sends one native power call; the caller verifies the state.
    func sendPower(_ action: ProviderPowerAction, serverId: String) async throws
    func templates() async throws -> [ProviderTemplate]
    /// Runs a reinstall to its end, reporting progress. A password the provider generated comes back apart from
    /// the details; a password the caller gave is never echoed.
    func reinstall(_ request: ProviderReinstallRequest, serverId: String, waiter: ProviderWaiter,
                   progress: @escaping @Sendable (String, Double?) async -> Void) async throws -> ProviderReinstallResult
    func console(serverId: String) async throws -> ConsoleAccess
    func traffic(serverId: String) async throws -> ProviderTraffic
    func setReverseDNS(serverId: String, ip: String, hostname: String) async throws
    /// Restarts the server into the provider's recovery system from the recovery image `image` (IONOS `recovery_mode`).
    func bootRecovery(serverId: String, image: String) async throws
    /// The ISO images the provider can insert into the server's virtual drive.
    func isoImages(serverId: String) async throws -> [ProviderTemplate]
    /// Inserts an ISO; true when the provider restarted the server from it.
    func insertISO(_ isoId: String, serverId: String) async throws -> Bool
    func ejectISO(serverId: String) async throws
    /// The ISO in the server's virtual drive, as the provider shows it (nil when empty).
    func insertedISO(serverId: String) async throws -> String?
    /// Sets the root password to `password`, or has the provider generate one (returned once, never logged).
    func resetRootPassword(serverId: String, password: Secret?) async throws -> Secret?
}

/// The calls not every provider has: a driver whose API lacks one says so with a typed 422.
extension ProviderDriver {
    public func bootRecovery(serverId: String, image: String) async throws {
        throw ProviderError.unsupported(provider, operation: "recovery boot")
    }

    public func isoImages(serverId: String) async throws -> [ProviderTemplate] {
        throw ProviderError.unsupported(provider, operation: "ISO images")
    }

    public func insertISO(_ isoId: String, serverId: String) async throws -> Bool {
        throw ProviderError.unsupported(provider, operation: "ISO boot")
    }

    public func ejectISO(serverId: String) async throws {
        throw ProviderError.unsupported(provider, operation: "ISO boot")
    }

    public func insertedISO(serverId: String) async throws -> String? {
        throw ProviderError.unsupported(provider, operation: "ISO boot")
    }

    public func resetRootPassword(serverId: String, password: Secret?) async throws -> Secret? {
        throw ProviderError.unsupported(provider, operation: "root password reset")
    }
}

/// Which operation each provider supports natively, emulated by the agent, or not at all.
public enum ProviderSupportTable {
    public struct Row: Sendable {
        public var name: String
        public var support: [String: ProviderSupport]
    }

    public static var rows: [Row] {
        let tables: [(String, [ProviderOperation: ProviderSupport])] = [
            ("ionos", IONOSDriver.supportTable), ("venocix", VenocixDriver.supportTable(.vm)),
            ("venocix-dedicated", VenocixDriver.supportTable(.dedicated)), ("cloudsigma", CloudSigmaDriver.supportTable),
        ]
        return tables.map { name, table in
            Row(name: name, support: Dictionary(uniqueKeysWithValues: table.map { ($0.key.rawValue, $0.value) }))
        }
    }
}

/// Polls a provider until a condition holds, bounded in time; every wait of an emulated step goes through it.
public struct ProviderWaiter: Sendable {
    public var interval: Duration
    public var timeout: Duration

    public init(interval: Duration, timeout: Duration) {
        self.interval = interval
        self.timeout = timeout
    }

    /// Reads until `isDone` holds; `isFailed` ends the wait early with an error. Returns the last value and
    /// how many reads it took.
    public func until<Value: Sendable>(
        _ provider: ProviderType, _ waitingFor: String, read: () async throws -> Value, describe: (Value) -> String,
        isDone: (Value) async throws -> Bool
    ) async throws -> (value: Value, checks: Int) {
        let deadline = ContinuousClock.now + timeout
        var checks = 0
        while true {
            let value = try await read()
            checks += 1
            if try await isDone(value) { return (value, checks) }
            guard ContinuousClock.now + interval < deadline else {
                throw ProviderError.timedOut(provider, waitingFor: waitingFor, lastState: describe(value))
            }
            try await Task.sleep(for: interval)
        }
    }

    /// Waits for a server to reach `expected` power state.
    public func state(_ expected: ProviderPowerState, of serverId: String, driver: any ProviderDriver) async throws -> (ProviderServerStatus, Int) {
        try await until(driver.provider, "state \(expected.rawValue)", read: { try await driver.status(serverId: serverId) },
                        describe: { "\($0.state.rawValue) (\($0.providerState))" }, isDone: { $0.state == expected })
    }
}

/// Reads a provider's JSON answer; every mismatch becomes ``ProviderError/malformedAnswer(_:detail:)`` naming the path.
struct ProviderJSON {
    let provider: ProviderType
    let value: JSONValue
    let path: String

    /// Parses a response body; an HTML page or other non-JSON text is named as such.
    static func parse(_ response: ProviderResponse, provider: ProviderType) throws -> ProviderJSON {
        let text = response.text.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.hasPrefix("<") {
            throw ProviderError.malformedAnswer(provider, detail: "an HTML page instead of JSON (HTTP \(response.status))")
        }
        guard !text.isEmpty, let value = try? JSONCoding.decoder.decode(JSONValue.self, from: Data(text.utf8)) else {
            throw ProviderError.malformedAnswer(provider, detail: text.isEmpty ? "an empty body (HTTP \(response.status))"
                                                : "not JSON (HTTP \(response.status)): \(text.prefix(80))")
        }
        return ProviderJSON(provider: provider, value: value, path: "")
    }

    func malformed(_ expectation: String) -> ProviderError {
        .malformedAnswer(provider, detail: "\(path.isEmpty ? "the answer" : path): expected \(expectation)")
    }

    func child(_ key: String) -> ProviderJSON {
        ProviderJSON(provider: provider, value: value[key] ?? .null, path: path.isEmpty ? key : "\(path).\(key)")
    }

    /// A member looked up case-insensitively (IONOS sends `type` and `Type`).
    func anyCase(_ key: String) -> ProviderJSON {
        guard case .object(let members) = value else { return child(key) }
        let match = members.keys.first { $0.caseInsensitiveCompare(key) == .orderedSame } ?? key
        return child(match)
    }

    var isNull: Bool { value == .null }

    func string() throws -> String {
        switch value {
        case .string(let text): return text
        case .integer(let number): return String(number)
        default: throw malformed("a string")
        }
    }

    func optionalString() throws -> String? { isNull ? nil : try string() }

    func double() throws -> Double {
        switch value {
        case .integer(let number): return Double(number)
        case .double(let number): return number
        case .string(let text): if let number = Double(text) { return number }
        default: break
        }
        throw malformed("a number")
    }

    func optionalDouble() throws -> Double? { isNull ? nil : try double() }

    func integer() throws -> Int64 {
        switch value {
        case .integer(let number): return number
        case .double(let number) where number == number.rounded(): return Int64(number)
        case .string(let text): if let number = Int64(text) { return number }
        default: break
        }
        throw malformed("an integer")
    }

    func bool() throws -> Bool {
        guard case .bool(let flag) = value else { throw malformed("true or false") }
        return flag
    }

    func array() throws -> [ProviderJSON] {
        guard case .array(let items) = value else { throw malformed("an array") }
        return items.enumerated().map { ProviderJSON(provider: provider, value: $0.element, path: "\(path)[\($0.offset)]") }
    }

    func object() throws -> ProviderJSON {
        guard case .object = value else { throw malformed("an object") }
        return self
    }
}
