import AgentCore
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL

/// One line of `rackagent doctor`.
public struct DoctorCheck: Encodable, Sendable, Equatable {
    public enum Status: String, Encodable, Sendable {
        case ok, warn, fail
    }

    public var name: String
    public var status: Status
    public var detail: String

    public init(name: String, status: Status, detail: String) {
        self.name = name
        self.status = status
        self.detail = detail
    }
}

/// The checks behind `rackagent doctor`: tools, state directory permissions, certificate validity, controller
/// reachability. Any `fail` makes the command exit 1.
public struct AgentDoctor: Sendable {
    let configuration: AgentConfiguration
    let inventory: ToolInventory

    public init(configuration: AgentConfiguration, inventory: ToolInventory = ToolInventory()) {
        self.configuration = configuration
        self.inventory = inventory
    }

    public func run() async -> [DoctorCheck] {
        var checks: [DoctorCheck] = []
        checks += await toolChecks()
        checks.append(libraryCheck())
        checks += stateChecks()
        checks.append(certificateCheck())
        if let clientCA = configuration.api.clientCAFile {
            let readable = FileManager.default.isReadableFile(atPath: clientCA)
            checks.append(DoctorCheck(name: "client CA", status: readable ? .ok : .fail, detail: readable ? clientCA : "\(clientCA) is not readable"))
        }
        checks.append(await controllerCheck())
        return checks
    }

    /// Tools the configuration needs are failures when missing; the others are warnings.
    func toolChecks() async -> [DoctorCheck] {
        let required: Set<String> = {
            var names: Set<String> = ["ipmitool"]
            switch configuration.dhcp.backend {
            case .dnsmasq: names.insert("dnsmasq")
            case .kea: names.insert("kea-dhcp4")
            case .isc: names.insert("dhcpd")
            case .none: break
            }
            return names
        }()
        return await inventory.discover().map { tool in
            guard let path = tool.path else {
                return DoctorCheck(
                    name: "tool \(tool.name)", status: required.contains(tool.name) ? .fail : .warn,
                    detail: "not found on PATH (\(tool.purpose))")
            }
            return DoctorCheck(name: "tool \(tool.name)", status: .ok, detail: "\(tool.version ?? "version unknown") at \(path)")
        }
    }

    func libraryCheck() -> DoctorCheck {
        let libraries = AgentRuntime.linkedLibraries
        let missing = libraries.filter { $0.value.isEmpty }.map(\.key)
        let detail = libraries.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        return DoctorCheck(name: "linked libraries", status: missing.isEmpty ? .ok : .fail, detail: detail)
    }

    func stateChecks() -> [DoctorCheck] {
        let directory = configuration.stateDirectory
        guard let mode = StateDirectory.permissions(of: directory) else {
            return [DoctorCheck(name: "state directory", status: .warn, detail: "\(directory) does not exist yet; created on first start")]
        }
        var checks = [
            DoctorCheck(
                name: "state directory", status: mode & 0o077 == 0 ? .ok : .fail,
                detail: mode & 0o077 == 0 ? "\(directory) mode \(String(mode, radix: 8))" : "\(directory) mode \(String(mode, radix: 8)), expected 700"),
        ]
        for (name, path) in [("database", configuration.databasePath), ("token file", configuration.tokenFilePath)] {
            guard let fileMode = StateDirectory.permissions(of: path) else {
                checks.append(DoctorCheck(name: name, status: .warn, detail: "\(path) does not exist yet; created on first start"))
                continue
            }
            let tight = fileMode & 0o077 == 0
            checks.append(
                DoctorCheck(
                    name: name, status: tight ? .ok : .fail,
                    detail: "\(path) mode \(String(fileMode, radix: 8))\(tight ? "" : ", expected 600")"))
        }
        return checks
    }

    func certificateCheck() -> DoctorCheck {
        let path = configuration.api.tlsCertificateFile ?? "\(configuration.tlsDirectory)/agent.crt"
        guard FileManager.default.fileExists(atPath: path) else {
            if configuration.api.tlsCertificateFile != nil {
                return DoctorCheck(name: "certificate", status: .fail, detail: "\(path) does not exist")
            }
            return DoctorCheck(name: "certificate", status: .warn, detail: "no certificate yet; a self-signed one is created on first start")
        }
        do {
            let certificate = try AgentIdentity.loadCertificate(path)
            let remaining = certificate.notValidAfter.timeIntervalSinceNow
            let days = Int(remaining / 86_400)
            let fingerprint = try AgentIdentity.fingerprint(certificate)
            if remaining <= 0 {
                return DoctorCheck(name: "certificate", status: .fail, detail: "\(path) expired on \(certificate.notValidAfter)")
            }
            if certificate.notValidBefore.timeIntervalSinceNow > 0 {
                return DoctorCheck(name: "certificate", status: .fail, detail: "\(path) is not valid before \(certificate.notValidBefore)")
            }
            return DoctorCheck(
                name: "certificate", status: days < 30 ? .warn : .ok,
                detail: "\(path) valid for \(days) more days, SHA-256 \(fingerprint)")
        } catch {
            return DoctorCheck(name: "certificate", status: .fail, detail: "\(path) cannot be parsed: \(error)")
        }
    }

    /// Any HTTP answer proves the controller is reachable; a connection or TLS error does not.
    func controllerCheck() async -> DoctorCheck {
        guard let url = configuration.controller.url else {
            return DoctorCheck(name: "controller", status: .warn, detail: "controller.url not set; events stay in the outbox")
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile = configuration.controller.caFile { tls.trustRoots = .file(caFile) }
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        defer { Task { try? await client.shutdown() } }
        do {
            var request = HTTPClientRequest(url: url)
            request.method = .GET
            let response = try await client.execute(request, timeout: .seconds(5))
            _ = try? await response.body.collect(upTo: 65_536)
            return DoctorCheck(name: "controller", status: .ok, detail: "\(url) answered HTTP \(response.status.code)")
        } catch {
            return DoctorCheck(name: "controller", status: .fail, detail: "\(url) unreachable: \(error)")
        }
    }
}
