import AgentCore
import Foundation
import Logging
import PeerHarness
import SwitchSSH
import Testing

/// A SwitchService on a temporary state database, and the emulator peer it talks to.
struct SwitchFixture {
    let directory: TemporaryDirectory
    let database: AgentDatabase
    let service: SwitchService
    let actionLog: ActionLog

    init(configure: (inout SSHConfiguration) -> Void = { _ in }) throws {
        directory = try TemporaryDirectory(prefix: "switchstate")
        database = try AgentDatabase(path: directory.file("state.sqlite"), migrations: SwitchStore.migrations)
        var settings = SSHConfiguration()
        settings.connectTimeoutSeconds = 5
        settings.commandTimeoutSeconds = 5
        configure(&settings)
        let store = SwitchStore(database: database)
        actionLog = ActionLog(database: database)
        service = SwitchService(pool: SwitchSessionPool(settings: settings, store: store, logger: Logger(label: "test")), store: store, actionLog: actionLog,
                                logger: Logger(label: "test"))
    }

    func remove() {
        service.pool.closeAll()
        directory.remove()
    }

    static func target(_ peer: SSHSwitchPeer, vendor: String, deviceId: String = "sw1", password: String = SSHSwitchPeer.password,
                       pinned: String? = nil) -> SwitchTarget {
        SwitchTarget(deviceId: deviceId, host: "127.0.0.1", port: peer.port, user: SSHSwitchPeer.user, credential: .password(Secret(password)),
                     vendor: vendor, pinnedHostKey: pinned)
    }
}

/// Each dialect with the emulator dialect, its interface names and what a peer needs.
struct DialectCase: Sendable, CustomTestStringConvertible {
    let vendor: String
    let emulator: String
    let interfaces: [String]

    var testDescription: String { vendor }

    static let all = [
        DialectCase(vendor: "aristaSsh", emulator: "arista", interfaces: ["Ethernet1", "Ethernet2"]),
        DialectCase(vendor: "ciscoNxosSsh", emulator: "nxos", interfaces: ["Ethernet1/1", "Ethernet1/2"]),
        DialectCase(vendor: "dellOs10Ssh", emulator: "os10", interfaces: ["ethernet1/1/1", "ethernet1/1/2"]),
        DialectCase(vendor: "ciscoIosSsh", emulator: "ios", interfaces: ["GigabitEthernet1/0/1", "GigabitEthernet1/0/2"]),
        DialectCase(vendor: "juniperSsh", emulator: "junos", interfaces: ["ge-0/0/1", "ge-0/0/2"]),
    ]

    func peer() async throws -> SSHSwitchPeer {
        try await SSHSwitchPeer(dialect: emulator, state: SSHSwitchPeer.initialState(dialect: emulator, interfaces: interfaces))
    }
}
