import NIOPosix

/// Runs blocking system calls (file reads and writes, hashing large files, a unix-socket exchange) on a small
/// pool of threads of its own, so they never hold one of the cooperative pool's few threads: on a 2-core machine
/// two blocked cooperative threads stop every request, poll and job of the agent.
public enum BlockingWork {
    /// Four threads: enough for the few blocking jobs that may overlap (a download's writes, a DHCP install, a
    /// token reload, a Kea reload), separate from NIO's singleton pool that the HTTP servers' file I/O uses.
    private static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 4)
        pool.start()
        return pool
    }()

    /// Runs `body` on the blocking pool and returns its result. Cancellation before `body` starts skips it.
    public static func run<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
        try await pool.runIfActive(body)
    }
}
