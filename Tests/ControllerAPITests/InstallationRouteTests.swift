import AgentCore
import AsyncHTTPClient
import ControllerAPI
import Foundation
import NIOCore
import NIOHTTP1
import PeerHarness
import Provisioning
import Synchronization
import Testing

/// Installations through the real listeners: the controller API over HTTPS, the boot listener over HTTP from
/// 127.0.0.1 (the address of the installation's DHCP entry), ipmi_sim for power, a loopback mirror for OS files.
@Suite(.serialized) struct InstallationRouteTests {
    /// A live agent whose boot URLs carry the real boot port (chosen before the runtime is built).
    static func liveAgent(_ configure: @escaping (inout AgentConfiguration) -> Void = { _ in }) async throws -> LiveAgent {
        let bootPort = FreePort.tcp()
        let agent = try await TestAgent {
            $0.boot.listen = "127.0.0.1:\(bootPort)"
            $0.dhcp.backend = .none
            $0.ipmi.minimumGapSeconds = 0.02
            $0.ipmi.verifyDeadlineSeconds = 10
            configure(&$0)
        }
        return try await LiveAgent(agent: agent)
    }

    /// A mirror with the files the kickstart profile boots.
    static func mirror() async throws -> HTTPMirror {
        let root = try TemporaryDirectory(prefix: "mirror")
        _ = try root.write("rocky/images/pxeboot/vmlinuz", String(repeating: "K", count: 40_000))
        _ = try root.write("rocky/images/pxeboot/initrd.img", String(repeating: "I", count: 90_000))
        return try await HTTPMirror(root: root)
    }

    static func body(mirror: HTTPMirror, overrides: [String: JSONValue] = [:]) -> JSONValue {
        let profile = InstallationBodies.profile("kickstart", overrides: ["mirrorUrl": .string("\(mirror.baseURL)/rocky/"), "cacheDirectory": "rocky9"])
        var members: [String: JSONValue] = [
            "ipassignments": [["ip": "127.0.0.1", "primary_ip": 1, "subnetinformation": ["netmask": "255.0.0.0", "type": "v4"]]],
            "disklayout": InstallationBodies.layout("auto_raid"),
        ]
        for (key, value) in overrides { members[key] = value }
        return InstallationBodies.body(profile: profile, overrides: members)
    }

    static func call(_ client: HTTPClient, _ method: HTTPMethod, _ url: String, token: String? = nil, body: JSONValue? = nil) async throws -> (Int, JSONValue, String) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body.jsonText))
        }
        let response = try await client.execute(request, timeout: .seconds(60))
        let text = String(buffer: try await response.body.collect(upTo: 8 << 20))
        let json = (try? JSONCoding.decoder.decode(JSONValue.self, from: Data(text.utf8))) ?? .null
        return (Int(response.status.code), json, text)
    }

    /// Polls the status until `predicate` holds (bounded).
    static func waitForStatus(_ client: HTTPClient, _ live: LiveAgent, _ serverId: String, timeout: Duration = .seconds(30), _ predicate: (JSONValue) -> Bool) async throws -> JSONValue {
        let deadline = ContinuousClock.now + timeout
        var last: JSONValue = .null
        while ContinuousClock.now < deadline {
            let (_, json, _) = try await call(client, .GET, "\(live.baseURL)/v1/installations/\(serverId)", token: live.agent.token)
            last = json["result"] ?? .null
            if predicate(last) { return last }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("status never matched; last: \(last.jsonText)")
        return last
    }

    static func token(of status: JSONValue) -> String {
        String(status["bootUrl"]?.stringValue?.split(separator: "/").last ?? "")
    }

    @Test func anInstallationWalksEveryStepToCompleted() async throws {
        let simulator = try await IPMISimulator()
        defer { simulator.stop() }
        let mirror = try await Self.mirror()
        defer {
            mirror.stop()
            mirror.root.remove()
        }
        let live = try await Self.liveAgent()
        defer { live.agent.remove() }
        let boot = "http://127.0.0.1:\(live.bootPort)"
        try await live.withClient { client in
            let api = live.baseURL
            let token = live.agent.token
            let body = Self.body(mirror: mirror, overrides: ["installPowerAction": "powerCycle", "connection": simulator.connection()])
            let (created, started, text) = try await Self.call(client, .PUT, "\(api)/v1/installations/61?wait=60", token: token, body: body)
            #expect(created == 201, "\(text)")
            let status = try #require(started["result"])
            #expect(status["stepName"] == "waitingForBoot", "\(status.jsonText)")
            #expect(status["running"] == 1 && status["completed"] == 0 && status["canCancelInstallation"] == 1)
            #expect(status["flags"]?["reinstallationRunning"] == 1)
            #expect(simulator.bootState == "pxe")
            #expect(simulator.powerState == "1", "the server was off: powered on")
            let bootToken = Self.token(of: status)
            #expect(bootToken.count == 48)
            #expect(!text.contains("secretpassword"))

            let (_, entry, _) = try await Self.call(client, .GET, "\(api)/v1/dhcp/entries/52:54:00:12:34:56", token: token)
            #expect(entry["result"]?["pxe"] == true)
            #expect(entry["result"]?["permanent"] == false)
            #expect(entry["result"]?["keepMinutes"] == 120)

            let (_, cacheList, _) = try await Self.call(client, .GET, "\(api)/v1/os-cache", token: token)
            guard case .array(let cached)? = cacheList["result"] else { throw AgentError.internalError("no cache list") }
            #expect(cached.first?["cacheDirectory"] == "rocky9")
            let (busy, _, _) = try await Self.call(client, .DELETE, "\(api)/v1/os-cache/rocky9", token: token)
            #expect(busy == 409)

            let (_, _, script) = try await Self.call(client, .GET, "\(boot)/boot/ipxe?mac=52-54-00-12-34-56&arch=pcbios")
            #expect(script.hasPrefix("#!ipxe"))
            #expect(script.contains("\(boot)/boot/files/rocky9/images/pxeboot/vmlinuz"))
            let (kernelStatus, _, kernel) = try await Self.call(client, .GET, "\(boot)/boot/files/rocky9/images/pxeboot/vmlinuz")
            #expect(kernelStatus == 200 && kernel.count == 40_000)

            let (wrong, _, _) = try await Self.call(client, .GET, "\(boot)/boot/\(String(repeating: "ab", count: 24))/kickstart")
            #expect(wrong == 404)
            let (answerStatus, _, kickstart) = try await Self.call(client, .GET, "\(boot)/boot/\(bootToken)/kickstart")
            #expect(answerStatus == 200)
            #expect(kickstart.contains("rootpw --iscrypted $6$"))
            var current = try await Self.waitForStatus(client, live, "61") { $0["stepName"] == "installerStarted" }
            #expect(current["step"] == 7)

            let (_, _, local) = try await Self.call(client, .GET, "\(boot)/boot/ipxe?mac=52:54:00:12:34:56&arch=pcbios")
            #expect(local.contains("sanboot"), "once the installer runs, a reboot boots the disk")

            _ = try await Self.call(client, .GET, "\(boot)/boot/\(bootToken)/progress?step=post&message=installation+finished")
            _ = try await Self.call(client, .POST, "\(boot)/boot/\(bootToken)/done?event=installerFinished")
            _ = try await Self.call(client, .GET, "\(boot)/boot/\(bootToken)/done?event=firstBootBeforeScriptExecution")
            current = try await Self.waitForStatus(client, live, "61") { $0["stepName"] == "firstBoot" }
            #expect(current["running"] == 1)
            let (scriptStatus, _, runScript) = try await Self.call(client, .GET, "\(boot)/boot/\(bootToken)/script/1")
            #expect(scriptStatus == 200 && runScript.contains("dnf -y upgrade"))
            _ = try await Self.call(client, .GET, "\(boot)/boot/\(bootToken)/done?event=firstBootAfterScriptExecution")

            current = try await Self.waitForStatus(client, live, "61") { $0["stepName"] == "finished" }
            #expect(current["completed"] == 1 && current["running"] == 0 && current["state"] == "completed")
            #expect(current["flags"]?["reinstallationRunning"] == 0)
            guard case .array(let progress)? = current["installProgress"] else { throw AgentError.internalError("no installProgress") }
            let messages = progress.compactMap { $0["message"]?.stringValue }
            #expect(messages.contains { $0.hasPrefix("post: installation finished") }, "\(messages)")
            #expect(messages.contains("dhcp: temporary DHCP entry 52:54:00:12:34:56 removed"), "\(messages)")
            #expect(current["cleanupComplete"] == true, "\(current.jsonText)")
            #expect(simulator.bootState == "default" || simulator.bootState == "disk", "boot device back to disk: \(simulator.bootState)")

            let (gone, _, _) = try await Self.call(client, .GET, "\(api)/v1/dhcp/entries/52:54:00:12:34:56", token: token)
            #expect(gone == 404)
            let (expired, _, _) = try await Self.call(client, .GET, "\(boot)/boot/\(bootToken)/kickstart")
            #expect(expired == 404, "answer files end with the installation")
            let (grace, _, _) = try await Self.call(client, .GET, "\(boot)/boot/\(bootToken)/script/2")
            #expect(grace == 200, "run scripts stay fetchable for the first boot")
            let (cleared, _, _) = try await Self.call(client, .DELETE, "\(api)/v1/os-cache/rocky9", token: token)
            #expect(cleared == 200)
        }
        let events = try await live.agent.runtime.outbox.pendingEvents().filter { $0.type.hasPrefix("installation.") }
        #expect(events.first?.type == "installation.started")
        #expect(events.contains { $0.type == "installation.completed" })
        let steps = Set(events.compactMap { $0.data["stepName"]?.stringValue })
        for step in ["caching", "dhcp", "power", "waitingForBoot", "bootScriptFetched", "installerStarted", "installing", "firstBoot", "finished"] {
            #expect(steps.contains(step), "no event for step \(step)")
        }
        #expect(!events.contains { $0.data.jsonText.contains("secretpassword") || $0.data.jsonText.contains("\"secret\"") })
        await live.stop()
    }

    @Test func badRequestsLeaveNothingBehind() async throws {
        let mirror = try await Self.mirror()
        defer {
            mirror.stop()
            mirror.root.remove()
        }
        let live = try await Self.liveAgent()
        defer { live.agent.remove() }
        try await live.withClient { client in
            let api = live.baseURL
            let token = live.agent.token
            let cases: [([String: JSONValue], String)] = [
                (["rootpassword": "short"], "rootpassword"),
                (["hostname": "node 61"], "hostname"),
                (["hostname": "node61\nrootpw --plaintext x"], "hostname"),
                (["disklayout": InstallationBodies.layout("auto_raid_10"), "hardware": ["disks": 2]], "disklayout.min_disks"),
                (["installPowerAction": "powerCycle"], "connection"),
            ]
            for (overrides, field) in cases {
                let (status, json, text) = try await Self.call(client, .PUT, "\(api)/v1/installations/61", token: token, body: Self.body(mirror: mirror, overrides: overrides))
                #expect(status == 400, "\(field): \(text)")
                #expect(json["error"]?["details"]?["field"]?.stringValue == field, "\(text)")
            }
            // The profile's boot files end up in dnsmasq.conf / dhcpd.conf / kea-dhcp4.conf: a newline or `";` is refused at the edge.
            for field in ["ipxe_bios_file", "ipxe_efi_file"] {
                for hostile in ["undionly.kpxe\ndhcp-script=/tmp/own.sh", "ipxe.efi\"; filename \"evil.efi"] {
                    let profile = InstallationBodies.profile("kickstart", overrides: [
                        "mirrorUrl": .string("\(mirror.baseURL)/rocky/"), "cacheDirectory": "rocky9", field: .string(hostile),
                    ])
                    let (status, json, text) = try await Self.call(
                        client, .PUT, "\(api)/v1/installations/61", token: token, body: Self.body(mirror: mirror, overrides: ["profile": profile]))
                    #expect(status == 400, "\(field): \(text)")
                    #expect(json["error"]?["details"]?["field"]?.stringValue == "profile.\(field)", "\(text)")
                }
                let entry: JSONValue = [
                    "hostname": "node-61", "ipv4": ["ip": "10.10.10.30", "cidr": 24], "pxe": true,
                    "bootFiles": [field == "ipxe_bios_file" ? "bios" : "efi": "undionly.kpxe\ndhcp-script=/tmp/own.sh"],
                ]
                let (status, json, text) = try await Self.call(client, .PUT, "\(api)/v1/dhcp/entries/52:54:00:12:34:56", token: token, body: entry)
                #expect(status == 400, "\(text)")
                #expect(json["error"]?["details"]?["field"]?.stringValue == "bootFiles.\(field == "ipxe_bios_file" ? "bios" : "efi")", "\(text)")
            }
            let unknownVariable = InstallationBodies.profile("kickstart", overrides: [
                "mirrorUrl": .string("\(mirror.baseURL)/rocky/"), "pxeConfig": "#!ipxe\nkernel {{urls.kernel}}\nchain {{urls.nothing}}\n",
            ])
            let (status, json, _) = try await Self.call(client, .PUT, "\(api)/v1/installations/61", token: token, body: Self.body(mirror: mirror, overrides: ["profile": unknownVariable]))
            #expect(status == 400)
            #expect(json["error"]?["code"] == "template_unknown_variable")
            #expect(json["result"]?.stringValue?.contains("line 3: unknown variable 'urls.nothing'") == true)

            let (_, entries, _) = try await Self.call(client, .GET, "\(api)/v1/dhcp/entries", token: token)
            #expect(entries["result"] == .array([]), "no DHCP entry left behind")
            let (missing, _, _) = try await Self.call(client, .GET, "\(api)/v1/installations/61", token: token)
            #expect(missing == 404)

            let (first, _, _) = try await Self.call(client, .PUT, "\(api)/v1/installations/61?wait=30", token: token, body: Self.body(mirror: mirror))
            #expect(first == 201)
            let (second, conflict, _) = try await Self.call(client, .PUT, "\(api)/v1/installations/61", token: token, body: Self.body(mirror: mirror))
            #expect(second == 409)
            #expect(conflict["error"]?["code"] == "installation_running")
            let (sameMAC, _, _) = try await Self.call(client, .PUT, "\(api)/v1/installations/62", token: token, body: Self.body(mirror: mirror))
            #expect(sameMAC == 409, "one installation per MAC")
            let (aborted, _, _) = try await Self.call(client, .DELETE, "\(api)/v1/installations/61?withoutPowerReset=1", token: token)
            #expect(aborted == 200)
        }
        await live.stop()
    }

    /// A scanner or a broken client asking for boot files with made-up tokens: refused each time, logged once a minute.
    @Test func unknownBootTokensDoNotFloodTheLog() async throws {
        let log = CapturedLog()
        let agent = try await TestAgent(logger: log.logger()) { $0.dhcp.backend = .none }
        defer { agent.remove() }
        for _ in 0..<200 {
            let token = (0..<24).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
            await #expect(throws: InstallationError.self) {
                _ = try await agent.runtime.installations.file(token: token, path: "kickstart", clientAddress: "10.0.0.9")
            }
        }
        let refusals = log.messages.filter { $0.contains("unknown token refused") }
        #expect(refusals.count == 1, "\(refusals.count) log lines for 200 refusals")
    }

    /// A BMC that stops answering before an abort: the installation is still aborted, but the abort answers 502 naming
    /// the clean-up steps that failed, and the record and the `installation.aborted` event say clean-up is incomplete.
    @Test func anAbortWhoseCleanUpFailsSaysSo() async throws {
        let simulator = try await IPMISimulator()
        let mirror = try await Self.mirror()
        defer {
            mirror.stop()
            mirror.root.remove()
        }
        let live = try await Self.liveAgent {
            $0.ipmi.commandTimeoutSeconds = 4
            $0.ipmi.retries = 1
        }
        defer { live.agent.remove() }
        try await live.withClient { client in
            let api = live.baseURL
            let token = live.agent.token
            let body = Self.body(mirror: mirror, overrides: ["installPowerAction": "powerCycle", "connection": simulator.connection()])
            let (created, _, text) = try await Self.call(client, .PUT, "\(api)/v1/installations/61?wait=60", token: token, body: body)
            #expect(created == 201, "\(text)")
            _ = try await Self.waitForStatus(client, live, "61") { $0["stepName"] == "waitingForBoot" }
            await simulator.terminate()
            let (status, refused, answer) = try await Self.call(client, .DELETE, "\(api)/v1/installations/61", token: token)
            #expect(status == 502, "\(answer)")
            #expect(refused["error"]?["code"] == "installation_cleanup_failed", "\(answer)")
            guard case .array(let failures)? = refused["error"]?["details"]?["failures"] else { throw AgentError.internalError("no failures: \(answer)") }
            let failed = failures.compactMap { $0["step"]?.stringValue }
            #expect(failed == ["bootDevice", "power"], "\(answer)")
            let (_, record, _) = try await Self.call(client, .GET, "\(api)/v1/installations/61", token: token)
            #expect(record["result"]?["state"] == "aborted" && record["result"]?["cleanupComplete"] == false, "\(record.jsonText)")
            let (_, entries, _) = try await Self.call(client, .GET, "\(api)/v1/dhcp/entries", token: token)
            #expect(entries["result"] == [], "the DHCP step still ran")
        }
        let aborted = try #require(try await live.agent.runtime.outbox.pendingEvents().last { $0.type == "installation.aborted" })
        #expect(aborted.data["cleanupComplete"] == false && aborted.data["state"] == "aborted", "\(aborted.data.jsonText)")
        await live.stop()
    }

    /// An abort that arrives while the preparation is in the middle of a BMC command (setting the boot device on a
    /// BMC that does not answer): the command may have reached the BMC, so clean-up sets the boot device back to disk
    /// even though the step never finished, and clean-up runs only once the preparation has stopped.
    @Test func anAbortDuringABootDeviceCommandStillSetsDisk() async throws {
        let simulator = try await IPMISimulator()
        defer { simulator.stop() }
        let mirror = try await Self.mirror()
        defer {
            mirror.stop()
            mirror.root.remove()
        }
        let live = try await Self.liveAgent { $0.ipmi.commandTimeoutSeconds = 8 }
        defer { live.agent.remove() }
        // The server runs (a reinstall of a live machine), so the default abort has something to reset.
        _ = try await simulator.runIpmitool(["chassis", "power", "on"])
        try await live.withClient { client in
            let api = live.baseURL
            let token = live.agent.token
            simulator.process.suspend()
            let body = Self.body(mirror: mirror, overrides: ["installPowerAction": "powerCycle", "connection": simulator.connection()])
            let (created, _, text) = try await Self.call(client, .PUT, "\(api)/v1/installations/61", token: token, body: body)
            #expect(created == 201, "\(text)")
            // The driver is now waiting for the suspended BMC to set the boot device.
            _ = try await Self.waitForStatus(client, live, "61") { $0["stepName"] == "power" }
            try await Task.sleep(for: .milliseconds(300))
            let abort = Task { try await Self.call(client, .DELETE, "\(api)/v1/installations/61", token: token) }
            try await Task.sleep(for: .milliseconds(500))
            simulator.process.resume()
            let (status, _, answer) = try await abort.value
            #expect(status == 200, "\(answer)")
            let (_, record, _) = try await Self.call(client, .GET, "\(api)/v1/installations/61", token: token)
            #expect(record["result"]?["state"] == "aborted", "\(record.jsonText)")
            guard case .array(let cleanup)? = record["result"]?["cleanup"] else { Issue.record("no clean-up in \(record.jsonText)"); return }
            #expect(cleanup.contains { $0["step"] == "bootDevice" && $0["succeeded"] == true }, "\(record.jsonText)")
            // The seed's default abort resets the server: the power step ran, after the boot device, and succeeded.
            #expect(cleanup.map { $0["step"]?.stringValue ?? "" }.suffix(2) == ["bootDevice", "power"], "\(record.jsonText)")
            #expect(cleanup.last?["succeeded"] == true, "\(record.jsonText)")
            // The seed's activity-log entry, with the request that caused it.
            let (_, logs, _) = try await Self.call(client, .GET, "\(api)/v1/logs?limit=20", token: token)
            guard case .array(let rows)? = logs["result"], let row = rows.first(where: { $0["description"] == "Aborted PXE provisioning" }) else {
                Issue.record("no abort in the activity log: \(logs.jsonText)")
                return
            }
            #expect(row["rootType"] == "servers" && row["rootId"] == "61", "\(row.jsonText)")
            #expect(row["endpoint"] == "/v1/installations/61" && row["method"] == "DELETE" && row["requestSource"] == "api", "\(row.jsonText)")
        }
        // ipmi_sim hands `bootdev disk` to the chassis script as "default"; the reset reaches the chassis after it.
        let chassis = simulator.chassisLog
        #expect(chassis.contains("set boot default"), "no boot device set after the abort: \(chassis)")
        let afterBoot = chassis.components(separatedBy: "set boot default").last ?? ""
        #expect(afterBoot.contains("set power") || afterBoot.contains("reset"), "no power reset after the abort: \(chassis)")
        await live.stop()
    }

    @Test func abortRestoresThePreviousDHCPEntryAndAnotherAddressIsRefused() async throws {
        let mirror = try await Self.mirror()
        defer {
            mirror.stop()
            mirror.root.remove()
        }
        let live = try await Self.liveAgent()
        defer { live.agent.remove() }
        let boot = "http://127.0.0.1:\(live.bootPort)"
        try await live.withClient { client in
            let api = live.baseURL
            let token = live.agent.token
            let permanent: JSONValue = ["hostname": "node61", "ipv4": ["ip": "10.10.10.30", "cidr": 24, "gateway": "10.10.10.1"], "permanent": true, "pxe": false]
            let (put, _, _) = try await Self.call(client, .PUT, "\(api)/v1/dhcp/entries/52:54:00:12:34:56", token: token, body: permanent)
            #expect(put == 201)
            let body = Self.body(mirror: mirror, overrides: [
                "ipassignments": [["ip": "10.10.10.30", "primary_ip": 1, "subnetinformation": ["netmask": "255.255.255.0", "gw": "10.10.10.1"]]],
            ])
            let (created, started, _) = try await Self.call(client, .PUT, "\(api)/v1/installations/61?wait=30", token: token, body: body)
            #expect(created == 201)
            let bootToken = Self.token(of: started["result"] ?? .null)
            let (_, during, _) = try await Self.call(client, .GET, "\(api)/v1/dhcp/entries/52:54:00:12:34:56", token: token)
            #expect(during["result"]?["pxe"] == true && during["result"]?["permanent"] == true, "a permanent entry stays permanent during the installation")

            let (refused, _, _) = try await Self.call(client, .GET, "\(boot)/boot/\(bootToken)/kickstart")
            #expect(refused == 404, "the answer file is served only to 10.10.10.30")
            let (_, _, script) = try await Self.call(client, .GET, "\(boot)/boot/ipxe?mac=52:54:00:12:34:56")
            #expect(!script.contains(bootToken), "nor is the boot script")

            let (aborted, json, _) = try await Self.call(client, .DELETE, "\(api)/v1/installations/61", token: token)
            #expect(aborted == 200)
            // The seed's stopReinstallation answer.
            #expect(json["result"] == "ok" && json["message"] == "success", "\(json.jsonText)")
            let (_, status, _) = try await Self.call(client, .GET, "\(api)/v1/installations/61", token: token)
            #expect(status["result"]?["state"] == "aborted")
            let (_, after, _) = try await Self.call(client, .GET, "\(api)/v1/dhcp/entries/52:54:00:12:34:56", token: token)
            #expect(after["result"]?["pxe"] == false && after["result"]?["permanent"] == true, "restored as it was")
            let (again, _, _) = try await Self.call(client, .DELETE, "\(api)/v1/installations/61", token: token)
            #expect(again == 409)
        }
        let events = try await live.agent.runtime.outbox.pendingEvents().map(\.type)
        #expect(events.contains("installation.aborted"))
        await live.stop()
    }

    /// An abort while the installation's DHCP entry is being put (a Kea that takes its time to reload): the entry the
    /// server had before is restored, whether or not the put got through first. The put is recorded before it is made.
    @Test func anAbortDuringTheDHCPChangeRestoresThePreviousEntry() async throws {
        let mirror = try await Self.mirror()
        defer {
            mirror.stop()
            mirror.root.remove()
        }
        let socketDirectory = try TemporaryDirectory(prefix: "kea-slow")
        defer { socketDirectory.remove() }
        let kea = try SlowKeaControlSocket(path: socketDirectory.file("kea.sock"), delay: .milliseconds(1500))
        defer { kea.stop() }
        let live = try await Self.liveAgent {
            $0.dhcp.backend = .kea
            $0.dhcp.keaControlSocket = socketDirectory.file("kea.sock")
        }
        defer { live.agent.remove() }
        try await live.withClient { client in
            let api = live.baseURL
            let token = live.agent.token
            let permanent: JSONValue = ["hostname": "node61", "ipv4": ["ip": "10.10.10.30", "cidr": 24, "gateway": "10.10.10.1"], "permanent": true, "pxe": false]
            let (put, _, putText) = try await Self.call(client, .PUT, "\(api)/v1/dhcp/entries/52:54:00:12:34:56", token: token, body: permanent)
            #expect(put == 201, "\(putText)")
            let reloadsBefore = kea.connections
            let body = Self.body(mirror: mirror, overrides: [
                "ipassignments": [["ip": "10.10.10.30", "primary_ip": 1, "subnetinformation": ["netmask": "255.255.255.0", "gw": "10.10.10.1"]]],
            ])
            let (created, _, text) = try await Self.call(client, .PUT, "\(api)/v1/installations/61", token: token, body: body)
            #expect(created == 201, "\(text)")
            // Wait (bounded) until Kea is being asked to load the installation's entry, then abort.
            let deadline = ContinuousClock.now + .seconds(20)
            while kea.connections == reloadsBefore, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(kea.connections > reloadsBefore, "the installation never reloaded Kea")
            let (aborted, _, answer) = try await Self.call(client, .DELETE, "\(api)/v1/installations/61", token: token)
            #expect(aborted == 200, "\(answer)")
            let (_, after, _) = try await Self.call(client, .GET, "\(api)/v1/dhcp/entries/52:54:00:12:34:56", token: token)
            #expect(after["result"]?["pxe"] == false && after["result"]?["permanent"] == true && after["result"]?["hostname"] == "node61",
                    "restored as it was: \(after.jsonText)")
        }
        await live.stop()
    }

    @Test func aFailedDownloadFailsEarlyNamingTheURL() async throws {
        let mirror = try await Self.mirror()
        defer {
            mirror.stop()
            mirror.root.remove()
        }
        let live = try await Self.liveAgent()
        defer { live.agent.remove() }
        try await live.withClient { client in
            let profile = InstallationBodies.profile("kickstart", overrides: ["mirrorUrl": .string("\(mirror.baseURL)/missing/"), "cacheDirectory": "rocky9"])
            let body = Self.body(mirror: mirror, overrides: ["profile": profile])
            let (created, json, _) = try await Self.call(client, .PUT, "\(live.baseURL)/v1/installations/61?wait=60", token: live.agent.token, body: body)
            #expect(created == 201)
            #expect(json["result"]?["state"] == "failed")
            #expect(json["result"]?["error"]?.stringValue?.contains("\(mirror.baseURL)/missing/images/pxeboot/vmlinuz") == true, "\(json.jsonText)")
            let (_, entries, _) = try await Self.call(client, .GET, "\(live.baseURL)/v1/dhcp/entries", token: live.agent.token)
            #expect(entries["result"] == .array([]))
        }
        await live.stop()
    }

    /// The seed's `wget -qO - .../hwdetect | bash -s '<callback>'`, run for real on this machine.
    @Test func hardwareDetectionOnARunningServer() async throws {
        let live = try await Self.liveAgent()
        defer { live.agent.remove() }
        try await live.withClient { client in
            let body: JSONValue = [
                "kind": "hardwareDetection", "installPowerAction": "noRestart",
                "ipassignments": [["ip": "127.0.0.1", "primary_ip": 1, "subnetinformation": ["netmask": "255.0.0.0"]]],
            ]
            let (created, json, text) = try await Self.call(client, .PUT, "\(live.baseURL)/v1/installations/61", token: live.agent.token, body: body)
            #expect(created == 201, "\(text)")
            let command = try #require(json["result"]?["hwdetectCommand"]?.stringValue)
            #expect(command.hasPrefix("wget -qO - 'http://127.0.0.1:\(live.bootPort)/boot/"))
            let (status, output) = try await PeerTools.run("/bin/bash", ["-c", command], timeout: .seconds(60))
            #expect(status == 0, "\(output)")
            let done = try await Self.waitForStatus(client, live, "61") { $0["state"] == "completed" }
            #expect(done["flags"]?["hardwarecollectRunning"] == 0)
            let (_, inventory, _) = try await Self.call(client, .GET, "\(live.baseURL)/v1/inventory/61", token: live.agent.token)
            let result = try #require(inventory["result"]?["inventory"])
            let cores = ProcessInfo.processInfo.activeProcessorCount
            #expect(result["cpu"]?["threads"] == .string(String(cores)))
            #expect(result["cpu"]?["valueType"] == "MHz")
            #expect(result["memory"]?["valueType"] == "mb")
            let memory: Int64 = result["memory"]?["value"].flatMap { if case .integer(let n) = $0 { n } else { nil } } ?? 0
            #expect(abs(Double(memory) - Double(ProcessInfo.processInfo.physicalMemory / 1_048_576)) < 512, "MemTotal in MiB")
            #expect(result["facts"]?["disks"] != 0)
            #expect(result["disk"]?["valueType"] == "mib")
        }
        let events = try await live.agent.runtime.outbox.pendingEvents()
        #expect(events.contains { $0.type == "inventory.collected" && $0.data["serverId"] == "61" })
        await live.stop()
    }

    /// Everything an installation needs is in SQLite: a new runtime on the same state directory carries on.
    @Test func anInstallationSurvivesAnAgentRestart() async throws {
        let mirror = try await Self.mirror()
        defer {
            mirror.stop()
            mirror.root.remove()
        }
        // Both runs listen on ports the kernel picks: a fixed port freed by the first run may be taken by another test's
        // connection before the second run binds it. The rendered files name the advertised URL, not the port.
        let first = try await TestAgent {
            $0.boot.listen = "127.0.0.1:0"
            $0.boot.advertisedURL = "http://127.0.0.1:8080"
            $0.dhcp.backend = .none
        }
        defer { first.remove() }
        let live = try await LiveAgent(agent: first)
        let bootToken = try await live.withClient { client in
            let (_, json, _) = try await Self.call(client, .PUT, "\(live.baseURL)/v1/installations/61?wait=30", token: first.token, body: Self.body(mirror: mirror))
            return Self.token(of: json["result"] ?? .null)
        }
        await live.stop()
        await first.runtime.shutdown()

        let runtime = try await AgentRuntime(configuration: first.runtime.configuration, logger: first.runtime.logger)
        let embedded = try await EmbeddedAgent.start(runtime: runtime)
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let (status, _, kickstart) = try await Self.call(client, .GET, "http://127.0.0.1:\(embedded.bootPort)/boot/\(bootToken)/kickstart")
        #expect(status == 200 && kickstart.contains("%packages"))
        let record = try await runtime.installations.status("61")
        #expect(record?.step == .installerStarted)
        #expect(record?.state == .running)
        try await client.shutdown()
        await embedded.stop()
        await runtime.shutdown()
    }
}

/// A Kea control socket that answers every command with success after `delay`: a kea-dhcp4 slow to reload.
final class SlowKeaControlSocket: Sendable {
    let path: String
    private let listener: Int32
    private let state = Mutex<(connections: Int, stopped: Bool)>((0, false))

    init(path: String, delay: Duration) throws {
        self.path = path
        listener = try ListeningSocket.unix(path: path)
        let descriptor = listener
        let milliseconds = UInt32(delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000)
        Thread.detachNewThread { [self] in
            while true {
                let connection = accept(descriptor, nil, nil)
                guard connection >= 0 else { return }
                state.withLock { $0.connections += 1 }
                var buffer = [UInt8](repeating: 0, count: 4096)
                _ = read(connection, &buffer, buffer.count)
                usleep(milliseconds * 1000)
                let answer = Array(#"{"result": 0, "text": "Configuration successful."}"#.utf8)
                _ = write(connection, answer, answer.count)
                close(connection)
            }
        }
    }

    var connections: Int { state.withLock { $0.connections } }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }
}
