import AgentCore
import Foundation
import PeerHarness
import Testing

@testable import Redfish

/// The seed's BMC user operations over AccountService, against redfish_bmc.py: accounts made with POST, and slot-based
/// firmware (POST and DELETE answer 405) whose free slot is filled; the BMC's password rules come back as 400s.
@Suite(.serialized) struct RedfishAccountTests {
    static func accounts() -> RedfishAccountManager { RedfishAccountManager(service: RedfishEmulatorTests.service()) }

    @Test(arguments: [false, true]) func userOperationsAreReadBack(slotAccounts: Bool) async throws {
        let bmc = try await RedfishBMCEmulator()
        defer { bmc.stop() }
        if slotAccounts { try await bmc.behave(["slotAccounts": true]) }
        let accounts = Self.accounts()
        let connection = try RedfishEmulatorTests.connection(bmc.meta())

        let created = try await accounts.createUserWithPasswordAndPrivilege(
            username: "ops", password: Secret("operator-pw-1"), privilege: 3, dontFailIfUserExists: false, dontFailIfPasswordChangeFailed: false,
            dontChangePasswordIfUserExists: false, connection)
        #expect(created["created"] == true, "\(created)")
        let slot = try #require(created["slot"]?.intValue)
        #expect(slotAccounts ? slot == 3 : slot > 2, "slot-based firmware fills the first free slot above the reserved slot 1: \(slot)")
        var listed = try await accounts.listUsers(connection)
        let ops = try #require(listed.first { $0.name == "ops" })
        #expect(ops.enabled && ops.roleId == "Operator" && ops.privilegeId == 3 && ops.slot == slot)
        let encoded = try JSONValue(encoding: ops)
        #expect(encoded["privilegeName"] == "OPERATOR" && encoded["id"] == .integer(Int64(slot)) && encoded["callin"] == false)

        do {
            _ = try await accounts.createUserWithPasswordAndPrivilege(
                username: "ops", password: Secret("operator-pw-2"), privilege: 3, dontFailIfUserExists: false, dontFailIfPasswordChangeFailed: false,
                dontChangePasswordIfUserExists: false, connection)
            Issue.record("a second user of the same name was created")
        } catch {
            #expect(AgentError.from(error).code == "user_exists")
        }
        // The BMC's complexity rule (a digit) comes back as a 400 naming the password; the length rule is checked first.
        for (password, words) in [("no-digits-here", "at least one digit"), ("short1", "at least 8 characters")] {
            do {
                _ = try await accounts.setPassword(Secret(password), RedfishAccountReference(slot: slot, username: nil), connection)
                Issue.record("the BMC's password rule was not surfaced for \(password)")
            } catch {
                let agentError = AgentError.from(error)
                #expect(agentError.status == .badRequest && agentError.details["field"] == "password" && agentError.message.contains(words), "\(agentError)")
                #expect(!agentError.message.contains(password))
            }
        }
        _ = try await accounts.setPassword(Secret("new-operator-pw-3"), RedfishAccountReference(slot: nil, username: "ops"), connection)
        _ = try await accounts.setPrivilege(4, RedfishAccountReference(slot: slot, username: nil), connection)
        _ = try await accounts.setEnabled(false, RedfishAccountReference(slot: slot, username: "ops"), connection)
        listed = try await accounts.listUsers(connection)
        #expect(listed.first { $0.name == "ops" }.map { !$0.enabled && $0.roleId == "Administrator" } == true, "\(listed)")
        _ = try await accounts.updateUser(slot: slot, username: "ops2", password: nil, privilege: 2, connection)
        #expect(try await accounts.listUsers(connection).first { $0.slot == slot }?.name == "ops2")

        let plain = try await accounts.createUser(username: "later", dontFailIfUserExists: false, connection)
        #expect(plain["created"] == true && plain["enabled"] == false, "\(plain)")

        _ = try await accounts.deleteUser(RedfishAccountReference(slot: slot, username: nil), connection)
        listed = try await accounts.listUsers(connection)
        #expect(!listed.contains { $0.name == "ops2" } && listed.contains { $0.name == bmc.username } && listed.contains { $0.name == "later" })
        do {
            _ = try await accounts.setEnabled(true, RedfishAccountReference(slot: 99, username: nil), connection)
            Issue.record("a missing slot was changed")
        } catch {
            #expect(AgentError.from(error).status == .notFound)
        }
    }
}
