import AgentCore
import Foundation
import NIOPosix

/// Runs SNMP requests for async callers on a dedicated thread pool (net-snmp's single-session API blocks).
///
/// v1/v2c sessions run in parallel, one thread each. SNMPv3 keeps USM engine-time and user state in
/// process-global lists that this libnetsnmp (built without NETSNMP_REENTRANT) does not lock, so v3
/// operations run one at a time, and the cached users are forgotten after each (so new passphrases apply).
public final class SNMPClient: Sendable {
    private let pool: NIOThreadPool
    private let userSecurityGate = AsyncSemaphore(permits: 1)
    public let threads: Int

    public init(threads: Int) {
        self.threads = threads
        pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
    }

    /// Opens a session to `target`, runs `body` with it on a pool thread, closes it.
    public func withSession<Value: Sendable>(_ target: SNMPTarget, _ body: @escaping @Sendable (SNMPSession) throws -> Value) async throws -> Value {
        if target.version == .v3 {
            return try await userSecurityGate.withPermit { try await self.run(target, body) }
        }
        return try await run(target, body)
    }

    private func run<Value: Sendable>(_ target: SNMPTarget, _ body: @escaping @Sendable (SNMPSession) throws -> Value) async throws -> Value {
        try await pool.runIfActive {
            defer { if target.version == .v3 { NetSNMPLibrary.forgetUserSecurity() } }
            // The session closes when this closure returns, before the USM users are forgotten.
            return try { () throws -> Value in
                let session = try SNMPSession(target: target)
                return try body(session)
            }()
        }
    }

    public func get(_ target: SNMPTarget, _ oids: [OID]) async throws -> [VariableBinding] {
        try await withSession(target) { try $0.get(oids) }
    }

    public func getNext(_ target: SNMPTarget, _ oids: [OID]) async throws -> [VariableBinding] {
        try await withSession(target) { try $0.getNext(oids) }
    }

    public func getBulk(_ target: SNMPTarget, _ oids: [OID], maxRepetitions: Int) async throws -> [VariableBinding] {
        try await withSession(target) { try $0.getBulk(oids, maxRepetitions: maxRepetitions) }
    }

    public func walk(_ target: SNMPTarget, _ root: OID) async throws -> [VariableBinding] {
        try await withSession(target) { try $0.walk(root) }
    }

    public func set(_ target: SNMPTarget, _ bindings: [VariableBinding]) async throws -> [VariableBinding] {
        try await withSession(target) { try $0.set(bindings) }
    }

    /// Stops the pool's threads.
    public func shutdown() async {
        try? await pool.shutdownGracefully()
    }
}
