import AgentCore
import ArgumentParser
import IPMI

extension IPMICommand {
    struct Users: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Manage BMC user slots (the API's /v1/bmc/users operations).",
            subcommands: [List.self, Create.self, Delete.self, Enable.self, Disable.self, SetPassword.self, SetPrivilege.self, SetAccess.self]
        )

        /// Which user: --slot or --name.
        struct UserSelection: ParsableArguments {
            @Option(help: "User slot (1-63).") var slot: Int?
            @Option(help: "User name (looked up in user list).") var name: String?
            @Option(help: "LAN channel.") var channel = 1

            var reference: BMCUserReference { BMCUserReference(slot: slot, username: name) }

            func validate() throws {
                if slot == nil, name == nil { throw ValidationError("give --slot or --name") }
            }
        }

        /// The new user's password, never as a plain flag.
        struct NewPassword: ParsableArguments {
            @Option(name: .customLong("new-password-file"), help: ArgumentHelp("File holding the new user's password.", valueName: "file"))
            var file: String?
            @Option(name: .customLong("new-password-env"), help: ArgumentHelp("Variable holding the new user's password.", valueName: "name"))
            var environment: String?

            func read() throws -> Secret {
                try SecretSource(file: file, environment: environment, prompt: "New BMC user password: ").read()
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Named users of a channel.")
            @Option(help: "LAN channel.") var channel = 1
            @OptionGroup var options: ConnectionOptions

            func run() async throws {
                let connection = try options.connection()
                let (_, users) = try options.services()
                try await options.report({ try await users.listUsers(channel: channel, connection) }) { list in
                    list.map { "\(String($0.id).padding(toLength: 4, withPad: " ", startingAt: 0)) \($0.name.padding(toLength: 17, withPad: " ", startingAt: 0)) \($0.privilegeName)" }
                        .joined(separator: "\n")
                }
            }
        }

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Create (or with --update-existing, update) a user with password and privilege in a free slot.")
            @Option(help: "User name.") var name: String
            @Option(name: .customLong("user-privilege"), help: "Privilege: 1 callback, 2 user, 3 operator, 4 administrator, 5 OEM, 15 no access.")
            var privilege = 3
            @Option(help: "Channel access settings, e.g. \"ipmi=on callin=on link=on privilege=3\".") var access: String?
            @Flag(help: "Update the user if the name exists instead of failing.") var updateExisting = false
            @Option(help: "LAN channel.") var channel = 1
            @OptionGroup var password: NewPassword
            @OptionGroup var options: ConnectionOptions

            func run() async throws {
                let connection = try options.connection()
                let (_, users) = try options.services()
                let secret = try password.read()
                let settings = try access.map { try ChannelAccessSettings(parsing: $0, field: "access") }
                try await options.report({
                    try await users.createUserWithPasswordAndPrivilege(
                        username: name, password: secret, privilege: privilege, access: settings, dontFailIfUserExists: updateExisting,
                        dontFailIfPasswordChangeFailed: false, dontChangePasswordIfUserExists: false, channel: channel, connection)
                }) { "user \(name): slot \($0["slot"]?.jsonText ?? "?")" }
            }
        }

        struct Delete: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Clear a user slot (no name, disabled, no access).")
            @OptionGroup var user: UserSelection
            @OptionGroup var options: ConnectionOptions

            func run() async throws {
                try await options.reportUsers({ users, connection in try await users.deleteUser(user.reference, channel: user.channel, connection) }) { $0.jsonText }
            }
        }

        struct Enable: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Enable a user.")
            @OptionGroup var user: UserSelection
            @OptionGroup var options: ConnectionOptions

            func run() async throws {
                try await options.reportUsers({ users, connection in try await users.setEnabled(true, user.reference, withoutSlotCheck: false, channel: user.channel, connection) }) { $0.jsonText }
            }
        }

        struct Disable: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Disable a user.")
            @OptionGroup var user: UserSelection
            @OptionGroup var options: ConnectionOptions

            func run() async throws {
                try await options.reportUsers({ users, connection in try await users.setEnabled(false, user.reference, withoutSlotCheck: false, channel: user.channel, connection) }) { $0.jsonText }
            }
        }

        struct SetPassword: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Set a user's password (16- or 20-byte form chosen by length).")
            @OptionGroup var user: UserSelection
            @OptionGroup var password: NewPassword
            @OptionGroup var options: ConnectionOptions

            func run() async throws {
                let connection = try options.connection()
                let (_, users) = try options.services()
                let secret = try password.read()
                try await options.report({ try await users.setPassword(secret, user.reference, withoutSlotCheck: false, channel: user.channel, connection) }) { $0.jsonText }
            }
        }

        struct SetPrivilege: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Set a user's privilege on the channel.")
            @Argument(help: "1-5 or 15.") var privilege: Int
            @OptionGroup var user: UserSelection
            @OptionGroup var options: ConnectionOptions

            func run() async throws {
                try await options.reportUsers({ users, connection in try await users.setPrivilege(privilege, user.reference, withoutSlotCheck: false, channel: user.channel, connection) }) { $0.jsonText }
            }
        }

        struct SetAccess: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Set channel access, e.g. \"ipmi=off callin=off link=off privilege=3\".")
            @Argument(help: "The settings.") var settings: String
            @OptionGroup var user: UserSelection
            @OptionGroup var options: ConnectionOptions

            func run() async throws {
                let connection = try options.connection()
                let (_, users) = try options.services()
                let access = try ChannelAccessSettings(parsing: settings, field: "settings")
                try await options.report({ try await users.channelSetAccess(access, user.reference, withoutSlotCheck: false, channel: user.channel, connection) }) { $0.jsonText }
            }
        }
    }
}
