import AgentCore
import Logging
import ServiceLifecycle

/// Resumes installations a previous run left preparing, then every minute fails overdue ones and removes stale
/// dailyCleanup cache directories.
public struct InstallationMaintenance: Service {
    let manager: InstallationManager
    let logger: Logger

    public init(manager: InstallationManager, logger: Logger) {
        self.manager = manager
        self.logger = logger
    }

    public func run() async throws {
        do {
            try await manager.resume()
        } catch {
            logger.error("cannot resume installations", metadata: ["error": "\(AgentError.from(error).message)"])
        }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await manager.maintenance()
                try? await Task.sleep(for: .seconds(60))
            }
        }
    }
}
