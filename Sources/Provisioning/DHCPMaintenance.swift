import AgentCore
import Foundation
import Logging
import ServiceLifecycle

/// At start: copies the iPXE binaries into the TFTP root (dnsmasq backend) and writes the configuration from
/// the stored entries. Then: removes expired temporary entries every `expiryCheckSeconds`.
public struct DHCPMaintenance: Service {
    let service: DHCPService
    let configuration: AgentConfiguration
    let logger: Logger

    public init(service: DHCPService, configuration: AgentConfiguration, logger: Logger) {
        self.service = service
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        if configuration.dhcp.backend == .dnsmasq {
            do {
                let copied = try BootFileInstaller.install(from: configuration.dhcp.ipxeDirectory, to: configuration.tftpRoot)
                if !copied.isEmpty { logger.info("iPXE binaries copied into the TFTP root", metadata: ["files": "\(copied.joined(separator: ", "))"]) }
            } catch {
                logger.error("cannot fill the TFTP root", metadata: ["error": "\(error)"])
            }
        }
        do {
            _ = try await service.regenerate(reason: "agent started")
        } catch {
            logger.error("cannot write the DHCP configuration at start-up", metadata: ["error": "\(AgentError.from(error).message)"])
        }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(configuration.dhcp.expiryCheckSeconds))
                do {
                    let expired = try await service.expireEntries()
                    if !expired.isEmpty {
                        logger.info("temporary DHCP entries expired", metadata: ["macs": "\(expired.map(\.mac.description).joined(separator: ", "))"])
                    }
                } catch is CancellationError {
                    return
                } catch {
                    logger.error("cannot expire DHCP entries", metadata: ["error": "\(AgentError.from(error).message)"])
                }
            }
        }
    }
}
