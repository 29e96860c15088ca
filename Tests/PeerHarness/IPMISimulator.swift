import AgentCore
import Foundation

/// OpenIPMI's `ipmi_sim` as a BMC on a loopback address (127.0.0.1 unless told; a free UDP port), with a chassis_control script that keeps
/// power and boot device in files the test can read and write (recipe: shared/test-peers.md).
/// Users: `admin`/`secret` (ADMINISTRATOR, slot 2) and the anonymous slot 1. The script also plays the host
/// OS: an ACPI soft shutdown request powers the chassis off half a second later. A power-on less than 1.5 s after a
/// power-off (ipmi_sim's power cycle turns the chassis back on after 1 s) is applied 4 s later, as a real chassis
/// stays off for seconds: a one-second off phase is missed by status polls on a loaded machine (ipmitool sessions
/// took 2.4 s each beside the qemu installer tests), and a cycle could then not be told from nothing.
public final class IPMISimulator: Sendable {
    public let directory: TemporaryDirectory
    public let port: Int
    public let process: PeerProcess
    public static let adminUser = "admin"
    public static let adminPassword = "secret"

    /// The loopback address it answers on.
    public let address: String

    /// `serialPort`: the TCP port of the machine's serial line (a qemu `-serial tcp:...,server`) that SOL carries;
    /// nil: the BMC has no SOL (it answers SOL commands with "Invalid command"). `address`: a 127.0.0.0/8 address, so
    /// that a fleet of BMCs can have one address each, as tools that name BMCs by address expect.
    public init(serialPort: Int? = nil, address: String = "127.0.0.1") async throws {
        self.address = address
        guard let simulator = locateProgram("ipmi_sim") else { throw HarnessError.peerFailed("ipmi_sim is not installed (openipmi)") }
        directory = try TemporaryDirectory(prefix: "ipmi-sim")
        port = FreePort.udp()
        let path = directory.path
        try directory.write(
            "lan.conf",
            """
            name "bmc\(port)"
            set_working_mc 0x20
              startlan 1
                addr \(address) \(port)
                priv_limit admin
                allowed_auths_callback none md2 md5 straight
                allowed_auths_user none md2 md5 straight
                allowed_auths_operator none md2 md5 straight
                allowed_auths_admin none md2 md5 straight
                guid a123456789abcdefa123456789abcdef
              endlan
              chassis_control "\(path)/chassis.sh 0x20"
            \(serialPort.map { "  sol \"tcp:127.0.0.1:\($0)\" 115200" } ?? "")
              user 1 true  ""      "test"   user   10 none md2 md5 straight
              user 2 true  "admin" "secret" admin  10 none md2 md5 straight

            """)
        try directory.write(
            "bmc.emu",
            """
            mc_setbmc 0x20
            mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr
            sel_enable 0x20 1000 0x0a
            sensor_add 0x20 0 0 35 0x6f event-only
            sensor_set_event_support 0x20 0 0 enable scanning per-state 000000000001111 000000000000000 000000000001111 000000000000000
            mc_enable 0x20

            """)
        try directory.write(
            "chassis.sh",
            """
            #!/bin/sh
            echo "$(date +%T) $*" >> \(path)/chassis.log
            st=\(path)/power.state; [ -f $st ] || echo 0 > $st
            mc=$1; op=$2; shift 2
            case "$op" in
              check) exit 0;;
              get) for p in "$@"; do case $p in
                      power) echo "power:$(cat $st)";;
                      boot) echo "boot:$(cat \(path)/boot.state 2>/dev/null || echo default)";;
                   esac; done;;
              set) while [ $# -gt 1 ]; do case $1 in
                      power) now=$(date +%s%N)
                             if [ "$2" = 0 ]; then echo $now > \(path)/off.at; echo 0 > $st
                             else off=$(cat \(path)/off.at 2>/dev/null || echo 0)
                                  if [ $(( (now - off) / 1000000 )) -lt 1500 ]; then
                                      (sleep 4; [ "$(cat \(path)/off.at)" = "$off" ] && echo 1 > $st) >/dev/null 2>&1 &
                                  else echo 1 > $st; fi
                             fi;;
                      boot) echo $2 > \(path)/boot.state;;
                      shutdown) [ "$2" = 1 ] && (sleep 0.5; date +%s%N > \(path)/off.at; echo 0 > $st) >/dev/null 2>&1 &;;
                   esac; shift 2; done;;
            esac
            exit 0

            """, mode: 0o755)
        try FileManager.default.createDirectory(atPath: directory.file("state"), withIntermediateDirectories: true)
        process = try await PeerProcess(
            name: "ipmi_sim", executable: simulator,
            arguments: ["-c", directory.file("lan.conf"), "-f", directory.file("bmc.emu"), "-s", directory.file("state"), "-n"],
            workingDirectory: path, logPath: directory.file("ipmi_sim.log"))
        try await waitUntilAnswering()
    }

    /// Polls (bounded) with ipmitool until the simulator answers.
    private func waitUntilAnswering() async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(30))
            if let output = try? await runIpmitool(["chassis", "power", "status"]), output.contains("Chassis Power") { return }
        }
        throw HarnessError.timeout("ipmi_sim on port \(port) did not answer: \(process.log)")
    }

    /// Runs ipmitool directly as admin (test assertions that bypass the agent).
    public func runIpmitool(
        _ arguments: [String], user: String = adminUser, password: String = adminPassword, privilege: String = "ADMINISTRATOR", retries: Int = 1
    ) async throws -> String {
        let (status, text) = try await PeerTools.run(
            locateProgram("ipmitool") ?? "/usr/bin/ipmitool",
            ["-I", "lanplus", "-C", "3", "-H", address, "-p", String(port), "-U", user, "-E", "-L", privilege, "-N", "1", "-R", String(retries)] + arguments,
            environment: ["IPMI_PASSWORD": password], timeout: .seconds(20))
        guard status == 0 else { throw HarnessError.peerFailed("ipmitool \(arguments.joined(separator: " ")): \(text)") }
        return text
    }

    /// Whether `user` can open a session. ipmi_sim frees a user's session slot lazily, so a login right after
    /// another one by the same user may be refused; up to three attempts, 300 ms apart.
    public func canLogIn(user: String, password: String, privilege: String = "ADMINISTRATOR") async -> Bool {
        for attempt in 0..<3 {
            if attempt > 0 { try? await Task.sleep(for: .milliseconds(300)) }
            if (try? await runIpmitool(["chassis", "power", "status"], user: user, password: password, privilege: privilege)) != nil {
                return true
            }
        }
        return false
    }

    /// The "hardware" power state as the chassis script stored it: "1" on, "0" off.
    public var powerState: String {
        ((try? String(contentsOfFile: directory.file("power.state"), encoding: .utf8)) ?? "0").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public func setPowerState(on: Bool) throws {
        try directory.write("power.state", on ? "1\n" : "0\n")
    }

    /// The boot device the chassis script last stored (pxe, default ...).
    public var bootState: String {
        ((try? String(contentsOfFile: directory.file("boot.state"), encoding: .utf8)) ?? "default").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// What the chassis script was asked to do, one line per call.
    public var chassisLog: String { (try? String(contentsOfFile: directory.file("chassis.log"), encoding: .utf8)) ?? "" }

    /// The seed's ipmi connection object for this simulator: `{"type": "ipmi", "meta": {...}}`.
    public func connection(username: String = adminUser, password: String = adminPassword, extra: [String: JSONValue] = [:]) -> JSONValue {
        var meta: [String: JSONValue] = [
            "ip": .string(address), "username": .string(username), "password": .string(password), "bmcPort": .string(String(port)),
        ]
        for (key, value) in extra { meta[key] = value }
        return ["type": "ipmi", "meta": .object(meta)]
    }

    /// ipmi_sim ignores SIGTERM when started with -n, so it is killed outright.
    public func stop() {
        process.stop(grace: .zero)
        directory.remove()
    }

    /// Kills the simulator and waits until it is gone (a BMC that must not answer any more).
    public func terminate() async {
        await process.terminate(grace: .zero)
        directory.remove()
    }
}
