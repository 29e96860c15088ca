import AgentCore
import ArgumentParser
import Redfish

extension RedfishCommand {
    struct Users: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Manage BMC accounts (AccountService; the API's /v1/bmc/users operations on a redfish connection).",
            subcommands: [List.self, Create.self, Delete.self, Enable.self, Disable.self, SetPassword.self, SetPrivilege.self]
        )

        /// Which account: --slot (its id) or --name.
        struct AccountSelection: ParsableArguments {
            @Option(help: "Account slot (its numeric Id).") var slot: Int?
            @Option(help: "User name.") var name: String?

            var reference: RedfishAccountReference { RedfishAccountReference(slot: slot, username: name) }

            func validate() throws {
                if slot == nil, name == nil { throw ValidationError("give --slot or --name") }
            }
        }

        static func privilegeHelp() -> ArgumentHelp { "Privilege: 2 user (ReadOnly), 3 operator, 4 administrator, 15 no access." }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Accounts with a user name.")
            @OptionGroup var options: ConnectionOptions

            func run() async throws {
                try await options.report({ try await RedfishAccountManager(service: $0).listUsers($1) }) { list in
                    list.map { account in
                        [account.accountId.padding(toLength: 4, withPad: " ", startingAt: 0), account.name.padding(toLength: 17, withPad: " ", startingAt: 0),
                         (account.roleId ?? "?").padding(toLength: 14, withPad: " ", startingAt: 0), account.enabled ? "enabled" : "disabled"].joined(separator: " ")
                    }.joined(separator: "\n")
                }
            }
        }

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Create (or with --update-existing, update) an account with password and privilege.")
            @Option(help: "User name.") var name: String
            @Option(name: .customLong("user-privilege"), help: Users.privilegeHelp()) var privilege = 3
            @Flag(help: "Update the account if the name exists instead of failing.") var updateExisting = false
            @OptionGroup var password: IPMICommand.Users.NewPassword
            @OptionGroup var options: ConnectionOptions

            func run() async throws {
                let secret = try password.read()
                try await options.report({
                    try await RedfishAccountManager(service: $0).createUserWithPasswordAndPrivilege(
                        username: name, password: secret, privilege: privilege, dontFailIfUserExists: updateExisting, dontFailIfPasswordChangeFailed: false,
                        dontChangePasswordIfUserExists: false, $1)
                }) { result in "user \(name): slot \(result["slot"].map { $0.intValue.map(String.init) ?? $0.stringValue ?? "?" } ?? "?"), \(result["created"] == true ? "created" : "updated")" }
            }
        }

        struct Delete: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Delete an account (empty and disable its slot on slot-based firmware).")
            @OptionGroup var user: AccountSelection
            @OptionGroup var options: ConnectionOptions

            func run() async throws {
                try await options.report({ try await RedfishAccountManager(service: $0).deleteUser(user.reference, $1) }) { _ in "deleted" }
            }
        }

        struct Enable: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Enable an account.")
            @OptionGroup var user: AccountSelection
            @OptionGroup var options: ConnectionOptions

            func run() async throws {
                try await options.report({ try await RedfishAccountManager(service: $0).setEnabled(true, user.reference, $1) }) { _ in "enabled" }
            }
        }

        struct Disable: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Disable an account.")
            @OptionGroup var user: AccountSelection
            @OptionGroup var options: ConnectionOptions

            func run() async throws {
                try await options.report({ try await RedfishAccountManager(service: $0).setEnabled(false, user.reference, $1) }) { _ in "disabled" }
            }
        }

        struct SetPassword: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Set an account's password (the BMC's password rules apply).")
            @OptionGroup var user: AccountSelection
            @OptionGroup var password: IPMICommand.Users.NewPassword
            @OptionGroup var options: ConnectionOptions

            func run() async throws {
                let secret = try password.read()
                try await options.report({ try await RedfishAccountManager(service: $0).setPassword(secret, user.reference, $1) }) { _ in "password set" }
            }
        }

        struct SetPrivilege: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Set an account's role from a privilege level.")
            @Argument(help: Users.privilegeHelp()) var privilege: Int
            @OptionGroup var user: AccountSelection
            @OptionGroup var options: ConnectionOptions

            func run() async throws {
                try await options.report({ try await RedfishAccountManager(service: $0).setPrivilege(privilege, user.reference, $1) }) { result in
                    "role \(result["roleId"]?.stringValue ?? "?")"
                }
            }
        }
    }
}
