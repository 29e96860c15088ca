import AgentCore
import AsyncHTTPClient
import ControllerAPI
import Crypto
import Foundation
import HummingbirdTesting
import NIOCore
import PeerHarness
import Testing

/// Redfish through the controller API and the command line, against sushy-tools' emulator (over TLS, trusted on
/// first use) and redfish_bmc.py.
@Suite(.serialized) struct RedfishRouteTests {
    static func body(_ value: JSONValue) -> ByteBuffer { ByteBuffer(string: value.jsonText) }

    @Test func powerBootInventoryAndDiscoveryThroughTheAPI() async throws {
        let sushy = try await SushyEmulator(certificate: .selfSigned)
        defer { sushy.stop() }
        let agent = try await TestAgent {
            $0.redfish.minimumGapSeconds = 0.05
            $0.redfish.verifyDeadlineSeconds = 40
        }
        defer { agent.remove() }
        let headers = agent.authorization
        let connection: JSONValue = ["type": "redfish", "meta": sushy.meta()]
        try await agent.withRouter { client in
            let status = try await client.execute(uri: "/v1/power/getPowerStatus", method: .post, headers: headers, body: Self.body(["connection": connection]))
            #expect(status.envelope == ["result": "offline", "message": "success"], "\(status.envelope)")

            let started = ContinuousClock.now
            let on = try await client.execute(
                uri: "/v1/power/setPowerOn?wait=60", method: .post, headers: headers, body: Self.body(["connection": connection, "serverId": 61]))
            let job = on.envelope["result"]
            #expect(job?["state"] == "succeeded" && job?["target"] == .string("redfish:127.0.0.1:\(sushy.port)"), "\(on.envelope)")
            #expect(job?["result"]?["powerState"] == "online" && job?["result"]?["verified"] == true && job?["result"]?["resetTypes"] == ["On"])
            print("redfish setPowerOn through the API, verified against sushy-tools: \(ContinuousClock.now - started)")

            let boot = try await client.execute(
                uri: "/v1/power/setBootType?wait=30", method: .post, headers: headers, body: Self.body(["connection": connection, "params": "pxe efi"]))
            #expect(boot.envelope["result"]?["result"]?["stored"]?["target"] == "Pxe" && boot.envelope["result"]?["result"]?["verified"] == true,
                    "\(boot.envelope)")

            let sensors = try await client.execute(uri: "/v1/bmc/sensors", method: .post, headers: headers, body: Self.body(["connection": connection]))
            guard case .array(let readings)? = sensors.envelope["result"] else {
                Issue.record("\(sensors.envelope)")
                return
            }
            #expect(readings.contains { $0["name"] == "CPU Temp" && $0["value"] == 41 && $0["unit"] == "degrees C" && $0["status"] == "ok" }, "\(readings)")
            let inventory = try await client.execute(uri: "/v1/bmc/inventory", method: .post, headers: headers, body: Self.body(["connection": connection]))
            guard case .array(let nics)? = inventory.envelope["result"]?["networkInterfaces"], let first = nics.first else {
                Issue.record("no network interfaces: \(inventory.envelope)")
                return
            }
            #expect(first["macAddress"]?.stringValue?.count == 17)

            let actions = try await client.execute(
                uri: "/v1/connections/supported-actions", method: .post, headers: headers, body: Self.body(["connection": connection]))
            guard case .array(let names)? = actions.envelope["result"]?["powerActions"] else {
                Issue.record("\(actions.envelope)")
                return
            }
            // Answered from what the emulator advertises: no PowerCycle (a cycle is ForceOff then On), no manager reset.
            #expect(names.contains("setPowerCycle") && names.contains("setPowerSoft") && !names.contains("executeCustomCommand"), "\(names)")
            #expect(!names.contains("setBmcReset"), "sushy's manager has no Manager.Reset: \(names)")
            let test = try await client.execute(uri: "/v1/connections/test", method: .post, headers: headers, body: Self.body(["connection": connection]))
            #expect(test.envelope["result"] == "online", "\(test.envelope)")

            // sushy-tools implements no AccountService: the user operations say so instead of listing nobody.
            let users = try await client.execute(uri: "/v1/bmc/users/listUsers", method: .post, headers: headers, body: Self.body(["connection": connection]))
            #expect(users.status == .unprocessableContent && "\(users.envelope)".contains("AccountService"), "\(users.envelope)")

            let custom = try await client.execute(
                uri: "/v1/power/executeCustomCommand", method: .post, headers: headers, body: Self.body(["connection": connection, "params": "chassis status"]))
            #expect(custom.status == .unprocessableContent, "\(custom.envelope)")
            let bad = try await client.execute(
                uri: "/v1/power/getPowerStatus", method: .post, headers: headers,
                body: Self.body(["connection": ["type": "redfish", "meta": ["ip": "127.0.0.1", "username": "a", "password": "b", "scheme": "gopher"]]]))
            #expect(bad.status == .badRequest && bad.envelope["error"]?["details"]?["field"] == "connection.meta.scheme", "\(bad.envelope)")
        }
    }

    /// The seed's ISO list: an image registered with its URL is cached (checked against the SHA256SUMS published beside
    /// it) and served from the boot listener; the BMC mounts it from there, the agent reads the mount back and sets the
    /// next boot to the CD.
    @Test func registeredISOIsMountedAsVirtualMedia() async throws {
        let content = String(repeating: "ISO9660 test image ", count: 20_000)
        let root = try TemporaryDirectory(prefix: "isomirror")
        _ = try root.write("images/netinst-12.iso", content)
        let digest = SHA256.hash(data: Data(content.utf8)).map { String(format: "%02x", $0) }.joined()
        _ = try root.write("images/SHA256SUMS", "\(digest)  netinst-12.iso\n")
        let mirror = try await HTTPMirror(root: root)
        defer { mirror.stop() }
        let sushy = try await SushyEmulator()
        defer { sushy.stop() }
        let live = try await InstallationRouteTests.liveAgent { $0.redfish.minimumGapSeconds = 0.05 }
        defer { live.agent.remove() }
        let agent = live.agent
        let headers = agent.authorization
        let connection: JSONValue = ["type": "redfish", "meta": sushy.meta()]
        try await agent.withRouter { client in
            let early = try await client.execute(
                uri: "/v1/bmc/virtual-media/insert", method: .post, headers: headers, body: Self.body(["connection": connection, "isoId": "7"]))
            #expect(early.status == .notFound, "\(early.envelope)")
            let bad = try await client.execute(
                uri: "/v1/isos/7", method: .put, headers: headers, body: Self.body(["name": "Debian", "downloadUrl": "ftp://x/netinst.iso"]))
            #expect(bad.status == .badRequest && bad.envelope["error"]?["details"]?["field"] == "downloadUrl", "\(bad.envelope)")

            let put = try await client.execute(
                uri: "/v1/isos/7?wait=60", method: .put, headers: headers,
                body: Self.body(["name": "Debian 12 netinst", "downloadUrl": .string("\(mirror.baseURL)/images/netinst-12.iso")]))
            let image = put.envelope["result"]?["result"]
            #expect(put.envelope["result"]?["state"] == "succeeded" && image?["state"] == "ready" && image?["verified"] == true, "\(put.envelope)")
            #expect(image?["sha256"] == .string(digest) && image?["bytes"] == .integer(Int64(content.utf8.count)))
            let url = try #require(image?["url"]?.stringValue)
            #expect(url == "http://127.0.0.1:\(live.bootPort)/boot/files/iso-7/netinst-12.iso")
            let listed = try await client.execute(uri: "/v1/isos", method: .get, headers: headers)
            guard case .array(let all)? = listed.envelope["result"] else {
                Issue.record("\(listed.envelope)")
                return
            }
            #expect(all.count == 1 && all.first?["id"] == "7" && all.first?["url"] == .string(url))

            let insert = try await client.execute(
                uri: "/v1/bmc/virtual-media/insert?wait=60", method: .post, headers: headers, body: Self.body(["connection": connection, "isoId": "7"]))
            let mounted = insert.envelope["result"]?["result"]
            #expect(insert.envelope["result"]?["state"] == "succeeded" && mounted?["verified"] == true, "\(insert.envelope)")
            #expect(mounted?["device"]?["image"] == .string(url) && mounted?["device"]?["inserted"] == true)
            #expect(mounted?["boot"]?["stored"]?["target"] == "Cd", "\(insert.envelope)")
            // The emulator fetched the image from that URL before it answered the insert; the boot listener serves it whole.
            let served = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
            let servedText = String(buffer: try await served.body.collect(upTo: 1 << 20))
            #expect(served.status == .ok && servedText == content)

            let status = try await client.execute(uri: "/v1/bmc/virtual-media/status", method: .post, headers: headers, body: Self.body(["connection": connection]))
            #expect(status.envelope["result"]?["inserted"] == true, "\(status.envelope)")
            let eject = try await client.execute(
                uri: "/v1/bmc/virtual-media/eject?wait=60", method: .post, headers: headers, body: Self.body(["connection": connection]))
            #expect(eject.envelope["result"]?["result"]?["device"]?["inserted"] == false && eject.envelope["result"]?["result"]?["verified"] == true,
                    "\(eject.envelope)")

            let deleted = try await client.execute(uri: "/v1/isos/7", method: .delete, headers: headers)
            #expect(deleted.status == .ok)
            let gone = try await client.execute(uri: "/v1/isos/7", method: .get, headers: headers)
            #expect(gone.status == .notFound)
        }
        await live.stop()
    }

    static func items(_ value: JSONValue?) -> [JSONValue] {
        if case .array(let items)? = value { return items }
        return []
    }

    /// The emulator's system as its own Redfish service reports it (read past the agent).
    static func emulatedSystem(_ sushy: SushyEmulator) async throws -> JSONValue {
        func get(_ path: String) async throws -> JSONValue {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(sushy.port)\(path)")
            request.headers.add(name: "Authorization", value: "Basic " + Data("\(sushy.username):\(sushy.password)".utf8).base64EncodedString())
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            return try JSONCoding.decoder.decode(JSONValue.self, from: Data(buffer: try await response.body.collect(upTo: 1 << 20)))
        }
        guard case .array(let members)? = try await get("/redfish/v1/Systems")["Members"], let member = members.first?["@odata.id"]?.stringValue else {
            throw AgentError.internalError("no system")
        }
        return try await get(member)
    }

    /// A profile that names a registered ISO: the installation mounts it through the BMC (sushy-tools fetches it from
    /// the boot listener), boots the CD once instead of the network, hands out the address without a network boot
    /// script, keeps the image from being deleted while it runs, and at the end ejects it and sets the disk.
    @Test func anInstallationBootsTheProfilesISOThroughVirtualMedia() async throws {
        let content = String(repeating: "ISO9660 installer ", count: 10_000)
        let root = try TemporaryDirectory(prefix: "isomirror")
        _ = try root.write("images/netinst-12.iso", content)
        _ = try root.write("rocky/images/pxeboot/vmlinuz", String(repeating: "K", count: 4_000))
        _ = try root.write("rocky/images/pxeboot/initrd.img", String(repeating: "I", count: 9_000))
        let mirror = try await HTTPMirror(root: root)
        defer {
            mirror.stop()
            root.remove()
        }
        let sushy = try await SushyEmulator()
        defer { sushy.stop() }
        let live = try await InstallationRouteTests.liveAgent {
            $0.redfish.minimumGapSeconds = 0.05
            $0.redfish.verifyDeadlineSeconds = 40
        }
        defer { live.agent.remove() }
        let boot = "http://127.0.0.1:\(live.bootPort)"
        let imageURL = "\(boot)/boot/files/iso-7/netinst-12.iso"
        let connection: JSONValue = ["type": "redfish", "meta": sushy.meta()]
        try await live.withClient { client in
            let api = live.baseURL
            let token = live.agent.token
            let (registered, image, _) = try await InstallationRouteTests.call(
                client, .PUT, "\(api)/v1/isos/7?wait=60", token: token,
                body: ["name": "Debian 12 netinst", "downloadUrl": .string("\(mirror.baseURL)/images/netinst-12.iso")])
            #expect(registered < 300 && image["result"]?["result"]?["state"] == "ready", "\(image)")

            let profile = InstallationBodies.profile("kickstart", overrides: ["mirrorUrl": .string("\(mirror.baseURL)/rocky/"), "cacheDirectory": "rocky9", "isoId": "7"])
            let body = InstallationRouteTests.body(mirror: mirror, overrides: ["profile": profile, "installPowerAction": "powerCycle", "connection": connection])
            let started = ContinuousClock.now
            let (created, _, text) = try await InstallationRouteTests.call(client, .PUT, "\(api)/v1/installations/61", token: token, body: body)
            #expect(created == 201, "\(text)")
            let status = try await InstallationRouteTests.waitForStatus(client, live, "61", timeout: .seconds(90)) { $0["stepName"] == "waitingForBoot" }
            print("ISO installation prepared against sushy-tools (mounted, boot once from CD, powered on and verified): \(ContinuousClock.now - started)")
            let messages = Self.items(status["installProgress"]).compactMap { $0["message"]?.stringValue }
            #expect(messages.contains { $0.hasPrefix("virtual media: \(imageURL) mounted") }, "\(messages)")
            #expect(messages.contains { $0.hasPrefix("power: was off, powered on (verified") }, "\(messages)")

            let system = try await Self.emulatedSystem(sushy)
            // The agent asks for Once; sushy's fake driver keeps every override Continuous (its boot test notes it).
            #expect(system["Boot"]?["BootSourceOverrideTarget"] == "Cd" && system["Boot"]?["BootSourceOverrideEnabled"] != "Disabled", "\(system["Boot"] ?? nil)")
            #expect(system["PowerState"] == "On")
            let (_, media, _) = try await InstallationRouteTests.call(client, .POST, "\(api)/v1/bmc/virtual-media/status", token: token, body: ["connection": connection])
            #expect(media["result"]?["inserted"] == true && media["result"]?["image"] == .string(imageURL), "\(media)")

            let (_, entry, _) = try await InstallationRouteTests.call(client, .GET, "\(api)/v1/dhcp/entries/52:54:00:12:34:56", token: token)
            #expect(entry["result"]?["pxe"] == false, "the address, never a network boot: \(entry)")
            let (_, _, script) = try await InstallationRouteTests.call(client, .GET, "\(boot)/boot/ipxe?mac=52-54-00-12-34-56&arch=pcbios")
            #expect(!script.contains("vmlinuz"), "no PXE installation for a server that boots the ISO: \(script)")
            let (inUse, refused, _) = try await InstallationRouteTests.call(client, .DELETE, "\(api)/v1/isos/7", token: token)
            #expect(inUse == 409 && refused["error"]?["code"] == "iso_in_use", "\(refused)")

            // The installer on the ISO fetches its answer file and reports through the installation's URLs.
            let bootToken = InstallationRouteTests.token(of: status)
            let (answer, _, kickstart) = try await InstallationRouteTests.call(client, .GET, "\(boot)/boot/\(bootToken)/kickstart")
            #expect(answer == 200 && kickstart.contains("rootpw --iscrypted"))
            _ = try await InstallationRouteTests.call(client, .POST, "\(boot)/boot/\(bootToken)/done?event=installerFinished")
            _ = try await InstallationRouteTests.call(client, .GET, "\(boot)/boot/\(bootToken)/done?event=firstBootAfterScriptExecution")
            let ended = try await InstallationRouteTests.waitForStatus(client, live, "61", timeout: .seconds(60)) { $0["stepName"] == "finished" }
            #expect(ended["state"] == "completed" && ended["cleanupComplete"] == true, "\(ended.jsonText)")
            let steps = Self.items(ended["cleanup"]).compactMap { $0["step"]?.stringValue }
            #expect(steps == ["dhcp", "virtualMedia", "bootDevice"], "\(ended.jsonText)")

            let after = try await Self.emulatedSystem(sushy)
            #expect(after["Boot"]?["BootSourceOverrideTarget"] == "Hdd", "\(after["Boot"] ?? nil)")
            let (_, emptied, _) = try await InstallationRouteTests.call(client, .POST, "\(api)/v1/bmc/virtual-media/status", token: token, body: ["connection": connection])
            #expect(emptied["result"]?["inserted"] == false, "\(emptied)")
            let (deleted, _, _) = try await InstallationRouteTests.call(client, .DELETE, "\(api)/v1/isos/7", token: token)
            #expect(deleted == 200)
        }
        await live.stop()
    }

    /// The seed's user operations take a redfish connection as they take an ipmi one; IPMI-only settings are refused.
    @Test func bmcUsersOverRedfishThroughTheAPI() async throws {
        let bmc = try await RedfishBMCEmulator()
        defer { bmc.stop() }
        let agent = try await TestAgent { $0.redfish.minimumGapSeconds = 0.02 }
        defer { agent.remove() }
        let headers = agent.authorization
        let connection: JSONValue = ["type": "redfish", "meta": bmc.meta()]
        try await agent.withRouter { client in
            let create = try await client.execute(
                uri: "/v1/bmc/users/createUserWithPasswordAndPrivilege?wait=30", method: .post, headers: headers,
                body: Self.body(["connection": connection, "username": "deploy", "password": "deploy-pass-1", "privilege": 4]))
            #expect(create.envelope["result"]?["state"] == "succeeded" && create.envelope["result"]?["result"]?["created"] == true, "\(create.envelope)")
            let list = try await client.execute(uri: "/v1/bmc/users/listUsers", method: .post, headers: headers, body: Self.body(["connection": connection]))
            guard case .array(let users)? = list.envelope["result"] else {
                Issue.record("\(list.envelope)")
                return
            }
            #expect(users.contains { $0["name"] == "deploy" && $0["privilegeName"] == "ADMINISTRATOR" && $0["enabled"] == true }, "\(users)")
            let weak = try await client.execute(
                uri: "/v1/bmc/users/setUserPassword?wait=30", method: .post, headers: headers,
                body: Self.body(["connection": connection, "username": "deploy", "password": "no-digits-at-all"]))
            #expect(weak.envelope["result"]?["state"] == "failed" && weak.envelope["result"]?["error"]?["code"] == "invalid_field", "\(weak.envelope)")
            #expect(!weak.envelope.jsonText.contains("no-digits-at-all"), "the BMC echoed the refused password; the job's error must not: \(weak.envelope)")
            let access = try await client.execute(
                uri: "/v1/bmc/users/channelSetAccess", method: .post, headers: headers,
                body: Self.body(["connection": connection, "username": "deploy", "accessSettings": "ipmi=on"]))
            #expect(access.status == .unprocessableContent, "\(access.envelope)")
            try await bmc.behave(["resetTypes": ["On", "ForceOff"]])
            let actions = try await client.execute(
                uri: "/v1/connections/supported-actions", method: .post, headers: headers, body: Self.body(["connection": connection]))
            #expect(actions.envelope["result"]?["powerActions"] == ["getPowerStatus", "setPowerOn", "setPowerOff", "setPowerCycle", "setBootType", "setBmcReset"],
                    "a BMC whose ActionInfo lists On and ForceOff only: \(actions.envelope)")
            let sel = try await client.execute(uri: "/v1/bmc/sel", method: .post, headers: headers, body: Self.body(["connection": connection]))
            guard case .array(let entries)? = sel.envelope["result"] else {
                Issue.record("\(sel.envelope)")
                return
            }
            #expect(entries.count == 2 && entries.first?["sensor"] == "Temperature" && entries.first?["direction"] == "Asserted"
                && entries.first?["date"] == "2026-11-30", "\(entries)")
            let cleared = try await client.execute(
                uri: "/v1/bmc/sel?wait=30", method: .post, headers: headers, body: Self.body(["connection": connection, "action": "clear"]))
            #expect(cleared.envelope["result"]?["result"] == "cleared", "\(cleared.envelope)")
            let lan = try await client.execute(uri: "/v1/bmc/lan", method: .post, headers: headers, body: Self.body(["connection": connection]))
            #expect(lan.status == .unprocessableContent, "\(lan.envelope)")
        }
    }

    /// An ipmi connection that prefers Redfish: Redfish on the same address and credentials acts first; IPMI acts only
    /// when Redfish provably did not (busy), never after Redfish accepted a change it then could not verify.
    @Test func ipmiConnectionsPreferringRedfishFallBackOnlyWhenRedfishDidNotAct() async throws {
        let simulator = try await IPMISimulator()
        defer { simulator.stop() }
        let bmc = try await RedfishBMCEmulator(username: IPMISimulator.adminUser, password: IPMISimulator.adminPassword)
        defer { bmc.stop() }
        let agent = try await TestAgent {
            $0.ipmi.minimumGapSeconds = 0.02
            $0.ipmi.verifyDeadlineSeconds = 10
            $0.redfish.minimumGapSeconds = 0.02
            $0.redfish.verifyDeadlineSeconds = 3
        }
        defer { agent.remove() }
        let connection = simulator.connection(extra: ["preferRedfish": true, "redfishPort": .integer(Int64(bmc.port)), "redfishScheme": "http"])
        try await agent.withRouter { client in
            let viaRedfish = try await client.execute(
                uri: "/v1/power/setPowerOn?wait=30", method: .post, headers: agent.authorization, body: Self.body(["connection": connection]))
            #expect(viaRedfish.envelope["result"]?["result"]?["resetTypes"] == ["On"], "Redfish answered: \(viaRedfish.envelope)")
            #expect(simulator.powerState == "0", "IPMI was not used")

            try await bmc.behave(["busy": 100])
            let viaIPMI = try await client.execute(
                uri: "/v1/power/setPowerOn?wait=30", method: .post, headers: agent.authorization, body: Self.body(["connection": connection]))
            let result = viaIPMI.envelope["result"]?["result"]
            #expect(result?["via"] == "ipmi" && result?["primaryError"]?["code"] == "bmc_busy" && result?["result"]?["verified"] == true, "\(viaIPMI.envelope)")
            #expect(simulator.powerState == "1")

            try await bmc.behave(["busy": 0, "ignoreResets": true])
            let refused = try await client.execute(
                uri: "/v1/power/setPowerOff?wait=30", method: .post, headers: agent.authorization, body: Self.body(["connection": connection]))
            #expect(refused.envelope["result"]?["state"] == "failed" && refused.envelope["result"]?["error"]?["code"] == "not_verified", "\(refused.envelope)")
            #expect(simulator.powerState == "1", "IPMI did not switch off a server whose Redfish BMC had accepted the command")

            // Redfish carried the reset out and dropped the connection: it may have acted, so IPMI is left alone.
            try await bmc.behave(["ignoreResets": false, "dropAfterReset": true])
            let dropped = try await client.execute(
                uri: "/v1/power/setPowerOff?wait=30", method: .post, headers: agent.authorization, body: Self.body(["connection": connection]))
            #expect(dropped.envelope["result"]?["state"] == "failed" && dropped.envelope["result"]?["error"]?["details"]?["deviceEffect"] == "unknown",
                    "\(dropped.envelope)")
            #expect(simulator.powerState == "1")

            // noFailover keeps to the preferred protocol.
            try await bmc.behave(["dropAfterReset": false, "busyResets": 100])
            let kept = try await client.execute(
                uri: "/v1/power/setPowerOff?wait=30", method: .post, headers: agent.authorization,
                body: Self.body(["connection": connection, "noFailover": true]))
            #expect(kept.envelope["result"]?["error"]?["code"] == "bmc_busy", "\(kept.envelope)")
            #expect(simulator.powerState == "1")
        }
    }

    /// A Redfish BMC that cannot be reached provably did nothing: the change goes to the IPMI fallback.
    @Test func unreachableRedfishFailsOverToIPMI() async throws {
        let simulator = try await IPMISimulator()
        defer { simulator.stop() }
        let agent = try await TestAgent {
            $0.ipmi.minimumGapSeconds = 0.02
            $0.ipmi.verifyDeadlineSeconds = 10
        }
        defer { agent.remove() }
        let closed = FreePort.tcp()
        let primary: JSONValue = ["type": "redfish", "meta": ["ip": "127.0.0.1", "port": .integer(Int64(closed)), "username": "a", "password": "b", "timeoutSeconds": 3]]
        try await agent.withRouter { client in
            let started = ContinuousClock.now
            let on = try await client.execute(
                uri: "/v1/power/setPowerOn?wait=60", method: .post, headers: agent.authorization,
                body: Self.body(["connection": primary, "fallback": simulator.connection()]))
            let result = on.envelope["result"]?["result"]
            #expect(result?["via"] == "ipmi" && result?["result"]?["verified"] == true, "\(on.envelope)")
            #expect(result?["primaryError"]?["code"] == "bmc_unreachable" && result?["primaryError"]?["deviceEffect"] == "untouched", "\(on.envelope)")
            #expect(ContinuousClock.now - started < .seconds(30))
            #expect(simulator.powerState == "1")
        }
    }

    @Test func redfishSubcommandsAgainstTheEmulators() async throws {
        let sushy = try await SushyEmulator(certificate: .selfSigned)
        defer { sushy.stop() }
        let state = try TemporaryDirectory(prefix: "clistate")
        defer { state.remove() }
        let common = ["--host", "127.0.0.1", "--port", String(sushy.port), "--user", sushy.username, "--password-env", "BMC_PASSWORD", "--state-dir", state.path]
        let environment = ["BMC_PASSWORD": sushy.password, "RACKAGENT_REDFISH_MINIMUM_GAP_SECONDS": "0.05"]
        var (status, output) = try await RackAgentBinary.run(["redfish", "power", "status"] + common, environment: environment)
        #expect(status == 0 && output.contains("power: offline"), "\(output)")
        (status, output) = try await RackAgentBinary.run(["redfish", "power", "on"] + common, environment: environment)
        #expect(status == 0 && output.contains("power on (On): online, verified: PowerState read back On"), "\(output)")
        (status, output) = try await RackAgentBinary.run(["redfish", "bootdev", "pxe", "--efi"] + common, environment: environment)
        #expect(status == 0 && output.contains("boot override Pxe stored, Continuous, UEFI (asked for Once"), "\(output)")
        (status, output) = try await RackAgentBinary.run(["redfish", "media", "status"] + common, environment: environment)
        #expect(status == 0 && output.contains("virtual Cd: empty"), "\(output)")
        (status, output) = try await RackAgentBinary.run(["redfish", "media", "insert"] + common, environment: environment)
        #expect(status != 0 && output.contains("--image"), "\(output)")
        (status, output) = try await RackAgentBinary.run(["redfish", "inventory", "--json"] + common, environment: environment)
        let inventory = try #require(try? JSONCoding.decoder.decode(JSONValue.self, from: Data(output.utf8)), "\(output)")
        #expect(inventory["system"]?["powerState"] == "On")
        #expect(!output.contains(sushy.password))

        // The certificate seen first was remembered in the state database: a pin that differs is refused, and so is
        // the remembered one once forgotten and replaced by another BMC's.
        (status, output) = try await RackAgentBinary.run(
            ["redfish", "power", "off", "--certificate-sha256", String(repeating: "1", count: 64)] + common, environment: environment)
        #expect(status == 1 && output.contains("certificate_mismatch"), "\(output)")
        (status, output) = try await RackAgentBinary.run(["redfish", "certificate", "--host", "127.0.0.1", "--port", String(sushy.port), "--forget", "--state-dir", state.path])
        #expect(status == 0 && output.contains("forgot the certificate"), "\(output)")

        let bmc = try await RedfishBMCEmulator()
        defer { bmc.stop() }
        try await bmc.behave(["hideRestarts": true])
        let plain = ["--host", "127.0.0.1", "--port", String(bmc.port), "--scheme", "http", "--user", bmc.username, "--password-env", "BMC_PASSWORD",
                     "--state-dir", state.path]
        var quick = environment
        quick["BMC_PASSWORD"] = bmc.password
        quick["RACKAGENT_REDFISH_VERIFY_DEADLINE_SECONDS"] = "2"
        (status, output) = try await RackAgentBinary.run(["redfish", "power", "on"] + plain, environment: quick)
        #expect(status == 0, "\(output)")
        (status, output) = try await RackAgentBinary.run(["redfish", "power", "reset"] + plain, environment: quick)
        #expect(status == 3 && output.contains("NOT verified: the system read On throughout"), "\(output)")

        quick["NEW_PASSWORD"] = "cli-user-pass-7"
        (status, output) = try await RackAgentBinary.run(["redfish", "users", "create", "--name", "cli", "--user-privilege", "4", "--new-password-env", "NEW_PASSWORD"] + plain,
                                                         environment: quick)
        #expect(status == 0 && output.contains("user cli: slot 3, created"), "\(output)")
        (status, output) = try await RackAgentBinary.run(["redfish", "users", "list"] + plain, environment: quick)
        #expect(status == 0 && output.contains("cli") && output.contains("Administrator"), "\(output)")
        #expect(!output.contains("cli-user-pass-7"))
        (status, output) = try await RackAgentBinary.run(["redfish", "users", "delete", "--name", "cli"] + plain, environment: quick)
        #expect(status == 0 && output.contains("deleted"), "\(output)")
    }
}
