import NIOPosix

/// Runs blocking system calls (file reads and writes, hashing large files, a unix-socket exchange) on small
/// pools of threads of their own, so they never hold one of the cooperative pool's few threads: on a 2-core machine
/// two blocked cooperative threads stop every request, poll and job of the agent.
///
/// Two pools, so that long work cannot delay the short calls a request waits for: hashing a 4 GB ISO, writing
/// downloads or waiting on Kea's control socket goes to ``runBulk(_:)``; a token-file check, a DHCP file install or a
/// file lookup to ``run(_:)``.
public enum BlockingWork {
    /// Four threads for short calls (a token-file check, a DHCP file install, a file lookup), separate from
    /// NIO's singleton pool that the HTTP servers' file I/O uses.
    private static let shortPool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 4)
        pool.start()
        return pool
    }()

    /// Two threads for work that may take seconds to minutes (hashing, download writes, a control socket that is
    /// slow to answer): it queues here, never in front of a short call.
    private static let bulkPool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        return pool
    }()

    /// Runs a short blocking `body` and returns its result. Cancellation before `body` starts skips it.
    public static func run<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
        try await shortPool.runIfActive(body)
    }

    /// Runs a long blocking `body` (hashing, bulk writes) on the bulk pool. Cancellation before it starts skips it.
    public static func runBulk<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
        try await bulkPool.runIfActive(body)
    }
}
