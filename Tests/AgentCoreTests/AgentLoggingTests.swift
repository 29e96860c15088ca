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

    /// The task's LogContext reaches every line, whichever logger writes it; the handler's own metadata and the call's
    /// win over it; an inner context adds to an outer one.
    @Test func theTaskContextNamesJobServerAndDevice() async {
        let time = Date(timeIntervalSince1970: 1_800_000_000)
        var handler = AgentLogHandler(label: "ipmi", format: .json)
        handler.metadataProvider = LogContext.metadataProvider
        #expect(!handler.render(level: .info, message: "outside", metadata: nil, time: time).contains("job"))
        let fields = LogContext.fields(jobId: "j-7", kind: "power.setPowerOn", target: "bmc:10.0.0.9", rootType: "servers", rootId: "42")
        let lines = await LogContext.with(fields) {
            await LogContext.with(["request": "POST /v1/power/setPowerOn"]) {
                [handler.render(level: .warning, message: "ipmitool timed out", metadata: ["bmc": "10.0.0.9"], time: time),
                 handler.render(level: .info, message: "override", metadata: ["serverId": "43"], time: time)]
            }
        }
        let first = (try? JSONCoding.decoder.decode(JSONValue.self, from: Data(lines[0].utf8))) ?? .null
        #expect(first["job"] == "j-7" && first["kind"] == "power.setPowerOn" && first["target"] == "bmc:10.0.0.9", "\(lines[0])")
        #expect(first["serverId"] == "42" && first["request"] == "POST /v1/power/setPowerOn" && first["bmc"] == "10.0.0.9", "\(lines[0])")
        #expect(lines[1].contains(#""serverId":"43""#), "the call's metadata wins: \(lines[1])")
        #expect(LogContext.fields(jobId: "j", kind: "k", target: "t", rootType: "snmp_switch", rootId: "sw1")["device"] == "sw1")
        #expect(LogContext.fields(jobId: "j", kind: "k", target: "t", rootType: "agents", rootId: "a")["device"] == nil)
    }
}
