import AgentCore
import Foundation
import PeerHarness
import SNMP
import Testing

/// The `rackagent` binary built next to the test bundle, run as an operator would.
enum RackAgentBinary {
    static var path: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("rackagent").path
    }

    /// Runs the binary without blocking a cooperative thread; the output is standard output then standard error.
    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> (Int32, String) {
        let result = try await ProcessRunner().run(ProcessCommand(path, arguments, environment: environment, timeout: .seconds(120)))
        return (result.exitCode ?? -1, result.standardOutput + result.standardError)
    }
}

@Suite(.serialized) struct CommandLineTests {
    /// The installed binary carries nothing of the test harness (peers, emulators, `useradd`): benchmarks live in
    /// `rackagent-bench`.
    @Test func theProductBinaryHasNoTestHarness() async throws {
        let binary = try Data(contentsOf: URL(fileURLWithPath: RackAgentBinary.path))
        for marker in ["PeerHarness", "switch_emulator.py", "useradd"] {
            #expect(binary.range(of: Data(marker.utf8)) == nil, "the rackagent binary contains \(marker)")
        }
        let (status, output) = try await RackAgentBinary.run(["bench", "ipmi"])
        #expect(status != 0 && output.contains("unexpected arguments: 'bench'"), "\(output)")
        let bench = URL(fileURLWithPath: RackAgentBinary.path).deletingLastPathComponent().appendingPathComponent("rackagent-bench").path
        #expect(FileManager.default.isExecutableFile(atPath: bench), "the benchmarks are built as their own executable")
    }

    /// `rackagent status` asks the running agent: a failing job, a device that does not answer, a running count of
    /// nothing; and says so plainly when no agent answers.
    @Test func statusShowsTheRunningAgent() async throws {
        let live = try await InstallationRouteTests.liveAgent()
        defer { live.agent.remove() }
        let runtime = live.agent.runtime
        _ = try await runtime.networkDevices.store.put(try (["id": "dead-sw", "deviceType": "snmp_switch", "name": "dead", "host": "127.0.0.1:9",
                                                              "snmpVersion": "2c", "snmpCommunity": "x"] as JSONValue).decode(as: NetworkDevice.self, at: ""))
        _ = try await runtime.networkDevices.bandwidth.markUnreachable("dead-sw", errorCode: "snmp_timeout")
        _ = try await runtime.jobs.submitAndWait(JobRequest(kind: "test.fail", target: "bmc:10.0.0.9", description: "failing on purpose", rootType: "tests",
                                                            rootId: "1")) { _ in throw AgentError(status: .badGateway, code: "bmc_error", message: "the BMC said no") }
        let state = runtime.configuration.stateDirectory
        let (status, output) = try await RackAgentBinary.run(["status", "--api-url", live.baseURL, "--state-dir", state])
        #expect(status == 0, "\(output)")
        for expected in ["agent        \(AgentVersion.current)", "jobs         0 running, 1 failed in the last hour", "the BMC said no",
                         "devices      0 of 1 answering", "failing    dead-sw (127.0.0.1)", "dhcp         none, 0 entries", "certificate  ok",
                         "boot 127.0.0.1:\(live.bootPort)"] {
            #expect(output.contains(expected), "missing \(expected) in\n\(output)")
        }
        #expect(!output.contains("127.0.0.1:0"), "listeners show the ports they bound, not the configured 0: \(output)")
        let (jsonStatus, json) = try await RackAgentBinary.run(["status", "--json", "--api-url", live.baseURL, "--state-dir", state])
        let parsed = try JSONCoding.decoder.decode(JSONValue.self, from: Data(json.utf8))
        #expect(jsonStatus == 0 && parsed["controller"]?["outbox"]?["pending"] != nil && parsed["jobs"]?["failedLastHour"] == 1, "\(json)")
        await live.stop()
        let (downStatus, down) = try await RackAgentBinary.run(["status", "--api-url", live.baseURL, "--state-dir", state])
        #expect(downStatus == 1 && down.contains("does not answer"), "\(down)")
    }

    /// `config check` refuses what `serve` refuses (unknown key, bad value, unreadable file, taken port), naming the
    /// key; a good file prints back as an equivalent configuration with its secrets masked; `serve` refuses the same file.
    @Test func configCheckRefusesWhatServeRefuses() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        func write(_ name: String, _ text: String) throws -> String {
            let path = directory.file(name)
            try text.write(toFile: path, atomically: false, encoding: .utf8)
            return path
        }
        let good = try write("good.yaml", "controller:\n  url: https://127.0.0.1:9/events\n  token: \"ctl-Secret-77\"\nsnmp:\n  timeoutSeconds: 2.5\n"
            + "api:\n  listen: \"127.0.0.1:0\"\nboot:\n  listen: \"127.0.0.1:0\"\nconsole:\n  listen: \"127.0.0.1:0\"\n")
        var (status, output) = try await RackAgentBinary.run(["config", "check", good])
        #expect(status == 0 && output.contains("timeoutSeconds: 2.5") && !output.contains("ctl-Secret-77") && output.contains(Secret.mask), "\(output)")
        // What it prints is itself a configuration that means the same (the secret aside).
        let printed = try write("printed.yaml", output.replacingOccurrences(of: Secret.mask, with: "ctl-Secret-77"))
        let (_, first) = try await RackAgentBinary.run(["config", "check", "--json", good])
        let (_, second) = try await RackAgentBinary.run(["config", "check", "--json", printed])
        #expect(first == second && first.contains("\"timeoutSeconds\" : 2.5"), "\(first)\n\(second)")

        (status, output) = try await RackAgentBinary.run(["config", "check", try write("typo.yaml", "snmp:\n  timeoutSecondz: 2\n")])
        #expect(status == 1 && output.contains("unknown configuration key snmp.timeoutSecondz"), "\(output)")
        (status, output) = try await RackAgentBinary.run(["config", "check", try write("bad.yaml", "snmp:\n  timeoutSeconds: -1\n")])
        #expect(status == 1 && output.contains("snmp.timeoutSeconds"), "\(output)")
        let missingCertificate = try write("tls.yaml", "api:\n  listen: \"127.0.0.1:0\"\n  tlsCertificateFile: \(directory.file("nope.crt"))\n  tlsKeyFile: \(good)\n")
        (status, output) = try await RackAgentBinary.run(["config", "check", "--no-ports", missingCertificate])
        #expect(status == 1 && output.contains("api.tlsCertificateFile: \(directory.file("nope.crt")) does not exist"), "\(output)")
        // serve refuses the same file before it binds anything.
        (status, output) = try await RackAgentBinary.run(["serve", "--config", missingCertificate, "--state-dir", directory.file("state")])
        #expect(status != 0 && output.contains("api.tlsCertificateFile"), "\(output)")

        let holder = try TCPPortHolder()
        defer { holder.close() }
        (status, output) = try await RackAgentBinary.run(["config", "check", try write("port.yaml", "api:\n  listen: \"127.0.0.1:\(holder.port)\"\n")])
        #expect(status == 1 && output.contains("api.listen: 127.0.0.1:\(holder.port) is in use"), "\(output)")
        (status, _) = try await RackAgentBinary.run(["config", "check", "--no-ports", try write("port2.yaml", "api:\n  listen: \"127.0.0.1:\(holder.port)\"\n")])
        #expect(status == 0)
    }

    @Test func switchSubcommandsAgainstTheEmulator() async throws {
        let peer = try await SSHSwitchPeer(dialect: "ios", state: SSHSwitchPeer.initialState(dialect: "ios", interfaces: ["GigabitEthernet1/0/1"]))
        defer { peer.stop() }
        let state = try TemporaryDirectory(prefix: "clistate")
        defer { state.remove() }
        let common = ["--vendor", "ciscoIosSsh", "--host", "127.0.0.1", "--port", String(peer.port), "--user", SSHSwitchPeer.user,
                      "--password-env", "SWITCH_PASSWORD", "--state-dir", state.path]
        let environment = ["SWITCH_PASSWORD": SSHSwitchPeer.password]

        var (status, output) = try await RackAgentBinary.run(["switch", "show-interface", "GigabitEthernet1/0/1"] + common, environment: environment)
        #expect(status == 0, "\(output)")
        #expect(output.contains("GigabitEthernet1/0/1: enabled, access VLAN 1"), "\(output)")

        (status, output) = try await RackAgentBinary.run(["switch", "set-port", "GigabitEthernet1/0/1", "disabled", "--dry-run"] + common, environment: environment)
        #expect(status == 0 && output.contains("dry run") && output.contains("  shutdown"), "\(output)")
        #expect(peer.state["interfaces"]?["GigabitEthernet1/0/1"]?["enabled"] == true)

        (status, output) = try await RackAgentBinary.run(["switch", "set-port", "GigabitEthernet1/0/1", "disabled", "--json"] + common, environment: environment)
        #expect(status == 0, "\(output)")
        let result = try #require(try? JSONCoding.decoder.decode(JSONValue.self, from: Data(output.utf8)), "\(output)")
        #expect(result["changed"] == true)
        #expect(peer.state["interfaces"]?["GigabitEthernet1/0/1"]?["enabled"] == false)

        let before = peer.commandLog.count
        (status, output) = try await RackAgentBinary.run(["switch", "set-description", "GigabitEthernet1/0/1", "x; reload"] + common, environment: environment)
        #expect(status != 0 && output.contains("description"), "\(output)")
        #expect(peer.commandLog.count == before, "nothing was sent")

        (status, output) = try await RackAgentBinary.run(["switch", "vlans"] + common, environment: environment)
        #expect(status == 0 && output.contains("servers"), "\(output)")
        (status, output) = try await RackAgentBinary.run(["switch", "run", "show vlan brief"] + common, environment: environment)
        #expect(status == 0 && output.contains("VLAN Name"), "\(output)")
        (status, output) = try await RackAgentBinary.run(["switch", "run", "--exec", "show running-config interface GigabitEthernet1/0/1"] + common, environment: environment)
        #expect(status == 0 && output.contains(" shutdown"), "\(output)")
        (status, output) = try await RackAgentBinary.run(["switch", "run", "--exec", "bogus"] + common, environment: environment)
        #expect(status == 1, "exit status of the exec channel: \(output)")
        #expect(!output.contains(SSHSwitchPeer.password))
    }

    @Test func pxeRenderPrintsEveryFile() async throws {
        let files = try TemporaryDirectory(prefix: "render")
        defer { files.remove() }
        let profile = try files.write("profile.json", InstallationBodies.profile("kickstart").jsonText)
        guard case .object(var body) = InstallationBodies.body(profile: InstallationBodies.profile("kickstart")) else { return }
        body["profile"] = nil
        let server = try files.write("server.json", JSONValue.object(body).jsonText)
        var (status, output) = try await RackAgentBinary.run(["pxe", "render", "--profile", profile, "--server", server, "--boot-url", "http://10.0.0.1:8080"])
        #expect(status == 0, "\(output)")
        #expect(output.contains("==> kickstart <=="))
        #expect(output.contains("==> ipxe <=="))
        #expect(output.contains("==> script/1 <=="))
        #expect(!output.contains("secretpassword"))
        body["rootpassword"] = "short"
        let bad = try files.write("bad.json", JSONValue.object(body).jsonText)
        (status, output) = try await RackAgentBinary.run(["pxe", "render", "--profile", profile, "--server", bad])
        #expect(status == 1 && output.contains("rootpassword: must be at least 8 characters"), "\(output)")
    }

    /// Long operations report progress on stderr and keep stdout for the result: a cache fetch ends each download with
    /// its summary line (bytes, time, rate) when stderr is not a terminal, a walk with its count; `--json` prints the
    /// result alone (stdout and stderr together parse as one JSON document).
    @Test func longOperationsReportProgressExceptInJSON() async throws {
        let mirror = try await InstallationRouteTests.mirror()
        defer {
            mirror.stop()
            mirror.root.remove()
        }
        let files = try TemporaryDirectory(prefix: "progress")
        defer { files.remove() }
        let profile = try files.write("profile.json", InstallationBodies.profile(
            "kickstart", overrides: ["mirrorUrl": .string("\(mirror.baseURL)/rocky/"), "cacheDirectory": "rocky9"]).jsonText)
        let state = files.file("state")
        var (status, output) = try await RackAgentBinary.run(["pxe", "cache", "fetch", "--profile", profile, "--state-dir", state])
        #expect(status == 0, "\(output)")
        #expect(output.contains("rocky9/images/pxeboot/vmlinuz  39.1 KiB in "), "\(output)")
        #expect(output.contains("rocky9/images/pxeboot/initrd.img  87.9 KiB in "), "\(output)")
        #expect(output.contains("rocky9: 2 downloaded, 0 revalidated, 0 reused"), "\(output)")
        #expect(!output.contains("\u{1B}"), "no terminal control characters when stderr is not a terminal")

        try FileManager.default.removeItem(atPath: state)
        (status, output) = try await RackAgentBinary.run(["pxe", "cache", "fetch", "--profile", profile, "--state-dir", state, "--json"])
        let fetched = try JSONCoding.decoder.decode(JSONValue.self, from: Data(output.utf8))
        #expect(status == 0 && fetched["downloaded"] == ["images/pxeboot/vmlinuz", "images/pxeboot/initrd.img"], "\(output)")

        let daemon = try await SNMPDaemon()
        defer { daemon.stop() }
        let community = try files.write("community", "public")
        let target = ["--host", "127.0.0.1:\(daemon.port)", "--community-file", community, "--max-repetitions", "10"]
        (status, output) = try await RackAgentBinary.run(["snmp", "walk", "1.3.6.1.2.1.1"] + target)
        let lines = output.split(separator: "\n")
        #expect(status == 0 && lines.contains { $0.hasPrefix("1.3.6.1.2.1.1.6.0 = STRING: rackagent-test") }, "\(output)")
        let values = lines.filter { $0.hasPrefix("1.3.6.1.2.1.1.") }.count
        #expect(lines.last?.hasPrefix("walk 1.3.6.1.2.1.1  \(values) values in ") == true, "\(output)")
        (status, output) = try await RackAgentBinary.run(["snmp", "walk", "1.3.6.1.2.1.1", "--json"] + target)
        let walked = try JSONCoding.decoder.decode(JSONValue.self, from: Data(output.utf8))
        guard case .array(let bindings) = walked else { throw AgentError.internalError("not a list: \(output)") }
        #expect(status == 0 && bindings.count == values)
    }

    /// `pxe follow` prints each step an installation reports and ends with its outcome: exit 0 for a completed one;
    /// with `--json` one object per step and the final status, exit 1 for one that was cancelled.
    @Test func pxeFollowShowsAnInstallationToItsEnd() async throws {
        let simulator = try await IPMISimulator()
        defer { simulator.stop() }
        let mirror = try await InstallationRouteTests.mirror()
        defer {
            mirror.stop()
            mirror.root.remove()
        }
        let live = try await InstallationRouteTests.liveAgent()
        defer { live.agent.remove() }
        let boot = "http://127.0.0.1:\(live.bootPort)"
        let follow = ["--api-url", live.baseURL, "--state-dir", live.agent.runtime.configuration.stateDirectory, "--interval", "0.2"]
        try await live.withClient { client in
            let api = live.baseURL
            let body = InstallationRouteTests.body(mirror: mirror, overrides: ["connection": simulator.connection()])
            let (created, started, text) = try await InstallationRouteTests.call(client, .PUT, "\(api)/v1/installations/81?wait=60", token: live.agent.token, body: body)
            #expect(created == 201, "\(text)")
            let bootToken = InstallationRouteTests.token(of: try #require(started["result"]))
            async let followed = RackAgentBinary.run(["pxe", "follow", "81"] + follow)
            try await Task.sleep(for: .seconds(1))
            _ = try await InstallationRouteTests.call(client, .GET, "\(boot)/boot/\(bootToken)/kickstart")
            _ = try await InstallationRouteTests.call(client, .GET, "\(boot)/boot/\(bootToken)/progress?step=post&message=installation+finished")
            _ = try await InstallationRouteTests.call(client, .POST, "\(boot)/boot/\(bootToken)/done?event=installerFinished")
            _ = try await InstallationRouteTests.call(client, .GET, "\(boot)/boot/\(bootToken)/done?event=firstBootAfterScriptExecution")
            let (status, output) = try await followed
            #expect(status == 0, "\(output)")
            let lines = output.split(separator: "\n").map(String.init)
            #expect(lines.contains { $0.hasSuffix("step 5 waitingForBoot: waiting for 52:54:00:12:34:56 to fetch its boot script") }, "\(output)")
            #expect(lines.contains { $0.contains("post: installation finished") }, "\(output)")
            #expect(lines.last?.hasPrefix("server 81: install completed in ") == true, "\(output)")
            #expect(!output.contains("\u{1B}"))

            _ = try await InstallationRouteTests.call(client, .PUT, "\(api)/v1/installations/82?wait=60", token: live.agent.token, body: body)
            async let cancelled = RackAgentBinary.run(["pxe", "follow", "82", "--json"] + follow)
            try await Task.sleep(for: .seconds(1))
            _ = try await InstallationRouteTests.call(client, .DELETE, "\(api)/v1/installations/82?wait=60", token: live.agent.token)
            let (cancelStatus, json) = try await cancelled
            let objects = try json.split(separator: "\n").map { try JSONCoding.decoder.decode(JSONValue.self, from: Data($0.utf8)) }
            #expect(cancelStatus == 1, "\(json)")
            #expect(objects.count >= 2 && objects.dropLast().allSatisfy { $0["step"] != nil && $0["message"] != nil }, "\(json)")
            #expect(objects.last?["state"] == "aborted" && objects.last?["serverId"] == "82", "\(json)")

            _ = try await InstallationRouteTests.call(client, .PUT, "\(api)/v1/installations/84?wait=60", token: live.agent.token, body: body)
            let (stopped, stoppedOutput) = try await RackAgentBinary.run(["pxe", "follow", "84", "--timeout", "1"] + follow)
            #expect(stopped == 2 && stoppedOutput.contains("stopped following server 84") && stoppedOutput.contains("still running"), "\(stoppedOutput)")

            let (unknown, refused) = try await RackAgentBinary.run(["pxe", "follow", "83"] + follow)
            #expect(unknown == 1 && refused.contains("HTTP 404"), "\(refused)")
        }
        await live.stop()
    }

    @Test func providerSubcommandsAgainstTheReplays() async throws {
        let sigma = try await ProviderReplayPeer(provider: "cloudsigma")
        defer { sigma.stop() }
        let venocix = try await ProviderReplayPeer(provider: "venocix")
        defer { venocix.stop() }
        let state = try TemporaryDirectory(prefix: "clistate")
        defer { state.remove() }
        let environment = ["SIGMA_PASSWORD": ProviderReplayPeer.cloudSigmaPassword, "VENOCIX_TOKEN": ProviderReplayPeer.venocixToken,
                           "RACKAGENT_PROVIDERS_POLL_INTERVAL_SECONDS": "0.05"]
        let sigmaOptions = ["--type", "cloudsigma", "--user", ProviderReplayPeer.cloudSigmaUser, "--credential-env", "SIGMA_PASSWORD",
                            "--base-url", sigma.baseURL, "--server", ProviderReplayPeer.cloudSigmaServer, "--state-dir", state.path]
        var (status, output) = try await RackAgentBinary.run(["provider", "status"] + sigmaOptions, environment: environment)
        #expect(status == 0 && output.hasPrefix("online (active)"), "\(output)")
        (status, output) = try await RackAgentBinary.run(["provider", "power", "reboot"] + sigmaOptions, environment: environment)
        #expect(status == 0 && output.contains("reboot: online (active), verified: state read back stopped, then active, composed by the agent") && output.contains("  verified stopped"), "\(output)")
        (status, output) = try await RackAgentBinary.run(["provider", "templates"] + sigmaOptions, environment: environment)
        #expect(status == 0 && output.contains("a49e25b3-69f4-440b-87a8-d79fa78ace53  Debian 11 standard image"), "\(output)")
        (status, output) = try await RackAgentBinary.run(["provider", "console"] + sigmaOptions, environment: environment)
        #expect(output.contains("vnc://91.203.56.72:5900 password KD9R3jcF"), "\(output)")
        (status, output) = try await RackAgentBinary.run(["provider", "status", "--server", "00000000-0000"] + sigmaOptions.dropLast(4) + ["--state-dir", state.path],
                                                         environment: environment)
        #expect(status == 1 && output.contains("cloudsigma: Not Found"), "\(output)")
        #expect(!output.contains(ProviderReplayPeer.cloudSigmaPassword))

        let venocixOptions = ["--type", "venocix", "--credential-env", "VENOCIX_TOKEN", "--base-url", venocix.baseURL, "--server", "4001", "--state-dir", state.path]
        (status, output) = try await RackAgentBinary.run(["provider", "reinstall", "--template", "Debian10.0", "--json"] + venocixOptions, environment: environment)
        #expect(status == 0, "\(output)")
        let result = try #require(try? JSONCoding.decoder.decode(JSONValue.self, from: Data(output.utf8)), "\(output)")
        #expect(result["password"] == "Vx-Job-Pass-7731")
        (status, output) = try await RackAgentBinary.run(["provider", "iso", "--insert", "ISOs:iso/debian-11.5.0-amd64-netinst-0.iso"] + venocixOptions,
                                                         environment: environment)
        #expect(status == 0 && output.contains("iso: ISOs:iso/debian-11.5.0-amd64-netinst-0.iso") && output.contains("verified: true"), "\(output)")
        (status, output) = try await RackAgentBinary.run(["provider", "password-reset", "--json"] + venocixOptions, environment: environment)
        #expect(status == 0 && output.contains("Vx-Reset-Pass-4411"), "\(output)")
        (status, output) = try await RackAgentBinary.run(["provider", "power", "explode"] + venocixOptions, environment: environment)
        #expect(status != 0 && output.contains("action must be on, off, shutdown, reboot or reset"), "\(output)")
        (status, output) = try await RackAgentBinary.run(["provider", "support"])
        #expect(output.contains("| reboot | native | native | native | emulated |"), "\(output)")
    }

    @Test func pduSubcommandsAgainstSnmpsim() async throws {
        let simulator = try await SNMPSimulator(devices: [
            "pdu1": [
                "1.3.6.1.2.1.1.5.0|4|pdu1.lab", "1.3.6.1.4.1.318.1.1.12.3.3.1.1.2.1|4|server-a",
                "1.3.6.1.4.1.318.1.1.12.3.3.1.1.4.1|2:writecache|value=1",
            ],
        ])
        defer { simulator.stop() }
        let options = ["--type", "apc", "--host", "127.0.0.1:\(simulator.port)", "--community-env", "PDU_COMMUNITY", "--cycle-delay", "0.2"]
        let environment = ["PDU_COMMUNITY": "pdu1"]
        var (status, output) = try await RackAgentBinary.run(["pdu", "outlets"] + options, environment: environment)
        #expect(status == 0 && output == "# APC PowerNet-MIB rPDU\n1\ton\tserver-a\n", "\(output)")
        (status, output) = try await RackAgentBinary.run(["pdu", "switch", "1", "cycle"] + options, environment: environment)
        #expect(status == 0 && output.contains("outlet 1: on -> on, verified (off verified, on verified)"), "\(output)")
        (status, output) = try await RackAgentBinary.run(["pdu", "switch", "7", "off"] + options, environment: environment)
        #expect(status == 1 && output.contains("outlet 7"), "\(output)")
    }

    /// The other families through the CLI: a Vertiv PDU behind snmpd (meters, a switch read back), a transfer switch
    /// and a console switch, and the catalogue of every type.
    @Test func pduFamiliesTransferAndConsoleSwitchesThroughTheCLI() async throws {
        let daemon = try await SNMPDaemon.withOutlets("geist-v5")
        defer { daemon.stop() }
        let environment = ["PDU_COMMUNITY": "public", "PDU_WRITE": "private"]
        let geist = ["--type", "geistV5", "--host", "127.0.0.1:\(daemon.port)", "--community-env", "PDU_COMMUNITY", "--write-community-env", "PDU_WRITE"]
        var (status, output) = try await RackAgentBinary.run(["pdu", "outlets"] + geist, environment: environment)
        #expect(status == 0 && output.hasPrefix("# Vertiv/Geist VERTIV-V5-MIB\n1\ton\tserver-a\t1.2 A 230.0 W 15.5 kWh\n2\toff\tserver-b\n"), "\(output)")
        #expect(output.hasSuffix("load: 4.8 A, 1100.0 W, 321.5 kWh\n"), "\(output)")
        (status, output) = try await RackAgentBinary.run(["pdu", "switch", "2", "on"] + geist, environment: environment)
        #expect(status == 0 && output.contains("outlet 2: off -> on, verified (on verified)"), "\(output)")

        let simulator = try await SNMPSimulator(devices: [
            "ats": try await DeviceTypeTests.transferSwitchRecords(), "kvm": try await DeviceTypeTests.consolePortRecords(),
        ])
        defer { simulator.stop() }
        func options(_ type: String) -> [String] {
            ["--type", type, "--host", "127.0.0.1:\(simulator.port)", "--community-env", "COMMUNITY"]
        }
        (status, output) = try await RackAgentBinary.run(["pdu", "ats", "--json"] + options("cyberpowerAts"), environment: ["COMMUNITY": "ats"])
        let ats = try #require(try? JSONCoding.decoder.decode(JSONValue.self, from: Data(output.utf8)), "\(output)")
        #expect(ats["selectedSource"] == "B" && ats["sources"]?.jsonText.contains(#""voltage":230.1"#) == true, "\(output)")
        (status, output) = try await RackAgentBinary.run(["pdu", "console-ports"] + options("raritanDominionKXIII"), environment: ["COMMUNITY": "kvm"])
        #expect(status == 0 && output.hasPrefix("1\tconnected\tweb-01\tDCIM-USBG2\n2\tavailable\tdb-01\tDCIM-USBG2\n16\tinactive\t\n"), "\(output)")
        (status, output) = try await RackAgentBinary.run(["pdu", "outlets"] + options("cyberpowerAts"), environment: ["COMMUNITY": "ats"])
        #expect(status != 0 && output.contains("transfer switch has no outlets"), "\(output)")
        (status, output) = try await RackAgentBinary.run(["pdu", "types"])
        #expect(status == 0 && output.contains("azepdu\tno outlet control: AZE publishes no SNMP MIB"), "\(output)")
        #expect(output.contains("apc\toutlets: APC PowerNet-MIB rPDU2, then APC PowerNet-MIB rPDU, then APC PowerNet-MIB sPDU"), "\(output)")
    }

    /// argument-parser validates a command's options only when it is used: ask every subcommand for its help, so a
    /// clash (two options with one name) fails here rather than for an operator.
    @Test func everySubcommandExplainsItself() async throws {
        var pending: [[String]] = [[]]
        var checked = 0
        while let path = pending.popLast(), checked < 200 {
            checked += 1
            let (status, output) = try await RackAgentBinary.run(["help"] + path)
            #expect(status == 0 && output.contains("USAGE:"), "rackagent \(path.joined(separator: " ")): \(output)")
            guard let section = output.components(separatedBy: "SUBCOMMANDS:").dropFirst().first else { continue }
            for line in section.split(separator: "\n") where line.hasPrefix("  ") && !line.hasPrefix("   ") {
                guard let name = line.split(separator: " ").first.map(String.init), name != "help", !name.hasPrefix("-") else { continue }
                pending.append(path + [name])
            }
        }
        #expect(checked > 40, "walked \(checked) commands")
    }

    @Test func bmcUserSubcommandsAgainstIPMISim() async throws {
        let bmc = try await IPMISimulator()
        defer { bmc.stop() }
        let connection = ["--host", "127.0.0.1", "--port", String(bmc.port), "--user", IPMISimulator.adminUser, "--password-env", "BMC_PASSWORD"]
        let environment = ["BMC_PASSWORD": IPMISimulator.adminPassword, "NEW_PASSWORD": "operator-pass-1"]
        var (status, output) = try await RackAgentBinary.run(
            ["ipmi", "users", "create", "--name", "ops", "--user-privilege", "3", "--new-password-env", "NEW_PASSWORD"] + connection, environment: environment)
        #expect(status == 0 && output.hasPrefix("user ops: slot"), "\(output)")
        #expect(!output.contains("operator-pass-1"))
        (status, output) = try await RackAgentBinary.run(["ipmi", "users", "list"] + connection, environment: environment)
        #expect(status == 0 && output.contains("ops") && output.contains("OPERATOR"), "\(output)")
        for command in [["disable"], ["enable"], ["set-privilege", "2"], ["delete"]] {
            (status, output) = try await RackAgentBinary.run(["ipmi", "users"] + command + ["--name", "ops"] + connection, environment: environment)
            #expect(status == 0, "\(command): \(output)")
        }
        (status, output) = try await RackAgentBinary.run(["ipmi", "users", "list"] + connection, environment: environment)
        #expect(status == 0 && !output.contains("ops"), "\(output)")
    }

    /// ipmi_sim ignores a reset and keeps no restart evidence: the command says NOT verified and exits 3; a cycle it
    /// does perform (off, then on a second later) is verified by seeing the off phase.
    @Test func powerSubcommandSaysWhenARestartIsNotVerified() async throws {
        let bmc = try await IPMISimulator()
        defer { bmc.stop() }
        try bmc.setPowerState(on: true)
        let state = try TemporaryDirectory(prefix: "clistate")
        defer { state.remove() }
        let connection = ["--host", "127.0.0.1", "--port", String(bmc.port), "--user", IPMISimulator.adminUser, "--password-env", "BMC_PASSWORD",
                          "--state-dir", state.path]
        let environment = ["BMC_PASSWORD": IPMISimulator.adminPassword, "RACKAGENT_IPMI_VERIFY_DEADLINE_SECONDS": "2",
                           "RACKAGENT_IPMI_MINIMUM_GAP_SECONDS": "0.02"]
        var (status, output) = try await RackAgentBinary.run(["ipmi", "power", "reset"] + connection, environment: environment)
        #expect(status == 3 && output.contains("power reset: online, NOT verified: the BMC accepted the reset but showed no evidence"), "\(output)")
        var patient = environment
        patient["RACKAGENT_IPMI_VERIFY_DEADLINE_SECONDS"] = "15"
        (status, output) = try await RackAgentBinary.run(["ipmi", "power", "cycle"] + connection, environment: patient)
        #expect(status == 0 && output.contains("power cycle: online, verified: power read off, then on again"), "\(output)")
    }
}
