import AgentCore
import Foundation
import Logging
import Testing

/// Log lines: journald priorities under systemd (an error is `<3>`), secrets masked by key and by value.
@Suite struct AgentLoggingTests {
    @Test func journalPrioritiesAndMasking() {
        let time = Date(timeIntervalSince1970: 1_800_000_000)
        let journal = AgentLogHandler(label: "rackagent", format: .json, journalPriorities: true)
        let error = journal.render(level: .error, message: "BMC refused", metadata: ["jobId": "j-1", "password": "hunter2"], time: time)
        #expect(error.hasPrefix("<3>{"), "\(error)")
        #expect(error.contains(#""jobId":"j-1""#) && !error.contains("hunter2"), "\(error)")
        #expect(journal.render(level: .warning, message: "slow", metadata: nil, time: time).hasPrefix("<4>"))
        #expect(journal.render(level: .info, message: "up", metadata: nil, time: time).hasPrefix("<6>"))
        #expect(journal.render(level: .debug, message: "detail", metadata: nil, time: time).hasPrefix("<7>"))
        let terminal = AgentLogHandler(label: "rackagent", format: .human)
        let line = terminal.render(level: .error, message: "BMC refused", metadata: ["device": "sw1"], time: time)
        #expect(!line.hasPrefix("<") && line.contains("ERROR rackagent: BMC refused device=sw1"), "\(line)")
    }
}
