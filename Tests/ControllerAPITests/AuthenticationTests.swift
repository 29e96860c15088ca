import AgentCore
import ControllerAPI
import Foundation
import HummingbirdTesting
import PeerHarness
import Testing

@Suite struct AuthenticationTests {
    @Test func bearerTokenGoodBadAndMissing() async throws {
        let agent = try await TestAgent()
        defer { agent.remove() }
        let live = try await LiveAgent(agent: agent)
        defer { Task { await live.stop() } }
        try await live.withClient { client async throws in
            let good = try await client.get("\(live.baseURL)/v1/ping", token: agent.token)
            #expect(good.0 == 200)
            #expect(good.1.contains(#""result":"pong""#))
            for token in [nil, "wrong", agent.token + "x", String(agent.token.dropLast())] {
                let refused = try await client.get("\(live.baseURL)/v1/ping", token: token)
                #expect(refused.0 == 401)
                #expect(refused.1.contains(#""code":"unauthorized""#))
            }
            // healthz needs no token.
            #expect(try await client.get("\(live.baseURL)/healthz", token: nil).0 == 200)
        }
    }

    @Test func rotatedTokenTakesEffectWithoutRestart() async throws {
        let agent = try await TestAgent()
        defer { agent.remove() }
        try await agent.withRouter { client in
            let old = agent.token
            // File timestamps have a resolution; make sure the rewrite is visible as a change.
            try await Task.sleep(for: .milliseconds(20))
            let fresh = try AgentIdentity.rotateToken(at: agent.runtime.configuration.tokenFilePath)
            #expect(fresh != old)
            #expect(fresh.count == 64)
            // The new token works on its first use, and from then on the old one does not.
            #expect(try await client.execute(uri: "/v1/ping", method: .get, headers: [.authorization: "Bearer \(fresh)"]).status == .ok)
            #expect(try await client.execute(uri: "/v1/ping", method: .get, headers: [.authorization: "Bearer \(old)"]).status == .unauthorized)
            // Without any use of the new one, the old one stops working within a second of the rotation.
            let third = try AgentIdentity.rotateToken(at: agent.runtime.configuration.tokenFilePath)
            try await Task.sleep(for: .milliseconds(1100))
            #expect(try await client.execute(uri: "/v1/ping", method: .get, headers: [.authorization: "Bearer \(fresh)"]).status == .unauthorized)
            #expect(try await client.execute(uri: "/v1/ping", method: .get, headers: [.authorization: "Bearer \(third)"]).status == .ok)
        }
    }

    /// Many requests with a freshly rotated token at once: each waits for the one file check under way instead of
    /// being refused because another request's check was running.
    @Test func aRotatedTokenWorksForConcurrentFirstUses() async throws {
        let agent = try await TestAgent()
        defer { agent.remove() }
        try await agent.withRouter { client in
            try await Task.sleep(for: .milliseconds(20))
            let fresh = try AgentIdentity.rotateToken(at: agent.runtime.configuration.tokenFilePath)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<50 {
                    group.addTask { Int(try await client.execute(uri: "/v1/ping", method: .get, headers: [.authorization: "Bearer \(fresh)"]).status.code) }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses.filter { $0 != 200 }.count) of 50 refused")
        }
    }

    @Test func mutualTLSRequiresAClientCertificateFromTheCA() async throws {
        let authority = try TestCertificateAuthority()
        let stranger = try TestCertificateAuthority()
        let caDirectory = try TemporaryDirectory()
        defer { caDirectory.remove() }
        let caFile = try caDirectory.write("client-ca.pem", authority.pem)
        let agent = try await TestAgent { $0.api.clientCAFile = caFile }
        defer { agent.remove() }
        let live = try await LiveAgent(agent: agent)
        defer { Task { await live.stop() } }

        try await live.withClient(clientCertificate: try authority.issueClientCertificate(commonName: "controller")) { client async throws in
            #expect(try await client.get("\(live.baseURL)/v1/ping", token: agent.token).0 == 200)
            // The certificate alone does not replace the token.
            #expect(try await client.get("\(live.baseURL)/v1/ping", token: nil).0 == 401)
        }
        try await live.withClient { client async throws in
            await #expect(throws: (any Error).self) { _ = try await client.get("\(live.baseURL)/v1/ping", token: agent.token) }
        }
        try await live.withClient(clientCertificate: try stranger.issueClientCertificate(commonName: "intruder")) { client async throws in
            await #expect(throws: (any Error).self) { _ = try await client.get("\(live.baseURL)/v1/ping", token: agent.token) }
        }
    }

    @Test(arguments: [(["10.0.0.0/8"], 401), (["10.0.0.0/8", "127.0.0.0/8"], 200), (["::1/128", "127.0.0.1/32"], 200)])
    func sourceAllowList(networks: [String], expected: Int) async throws {
        let agent = try await TestAgent { $0.api.allowedSources = networks }
        defer { agent.remove() }
        let live = try await LiveAgent(agent: agent)
        defer { Task { await live.stop() } }
        try await live.withClient { client async throws in
            let response = try await client.get("\(live.baseURL)/v1/ping", token: agent.token)
            #expect(response.0 == expected, "allowedSources \(networks)")
            if expected == 401 {
                #expect(response.1.contains(#""code":"unauthorized""#))
                #expect(!response.1.contains("allowedSources"))
            }
        }
    }

    @Test func bootListenerServesHealthWithoutToken() async throws {
        let agent = try await TestAgent()
        defer { agent.remove() }
        let live = try await LiveAgent(agent: agent)
        defer { Task { await live.stop() } }
        try await live.withClient { client async throws in
            #expect(try await client.get("http://127.0.0.1:\(live.bootPort)/healthz", token: nil).0 == 200)
        }
    }

    @Test func selfSignedIdentityIsReused() async throws {
        let agent = try await TestAgent()
        defer { agent.remove() }
        let first = try AgentIdentity.ensureCertificate(configuration: agent.runtime.configuration)
        let second = try AgentIdentity.ensureCertificate(configuration: agent.runtime.configuration)
        #expect(first.created)
        #expect(!second.created)
        #expect(first.fingerprint == second.fingerprint)
        #expect(first.fingerprint.split(separator: ":").count == 32)
        #expect(StateDirectory.permissions(of: first.keyPath) == 0o600)
        #expect(StateDirectory.permissions(of: agent.runtime.configuration.tokenFilePath) == 0o600)
        #expect(StateDirectory.permissions(of: agent.runtime.configuration.stateDirectory) == 0o700)
        #expect(StateDirectory.permissions(of: agent.runtime.configuration.databasePath) == 0o600)
        let again = try AgentIdentity.ensureToken(at: agent.runtime.configuration.tokenFilePath)
        #expect(!again.created)
        #expect(again.token == agent.token)
    }
}
