import AgentCore
import Foundation
import PeerHarness
import Provisioning

/// The controller-shaped bodies of ``InstallationBodies`` plus parsing and rendering with the stock templates.
enum InstallationFixtures {
    static let sshKey = InstallationBodies.sshKey

    static func profile(_ pxeType: String, overrides: [String: JSONValue] = [:]) -> JSONValue { InstallationBodies.profile(pxeType, overrides: overrides) }
    static func rescueProfile(overrides: [String: JSONValue] = [:]) -> JSONValue { InstallationBodies.rescueProfile(overrides: overrides) }
    static func layout(_ internalKey: String, minDisks: JSONValue = nil, text: String = "") -> JSONValue {
        InstallationBodies.layout(internalKey, minDisks: minDisks, text: text)
    }
    static func body(profile: JSONValue, overrides: [String: JSONValue] = [:]) -> JSONValue { InstallationBodies.body(profile: profile, overrides: overrides) }

    static func request(_ body: JSONValue, serverId: String = "61") throws -> InstallationRequest {
        try InstallationRequest(serverId: serverId, body: body)
    }

    static var library: TemplateLibrary { TemplateLibrary(directory: PeerTools.repositoryRoot + "/pxe-templates") }

    static func render(_ body: JSONValue, token: String = "0123456789abcdef0123456789abcdef") throws -> RenderedInstallation {
        let request = try request(body)
        let hash = request.rootPassword.map { SHA512Crypt.hash($0.revealed, salt: "rackagenttests00") } ?? ""
        return try InstallationRenderer(library: library).render(request, token: token, bootBaseURL: "http://10.10.10.1:8080", rootPasswordHash: hash)
    }
}
