import Foundation

/// net-snmp's own `snmpd` in the foreground on a free UDP port (or an address inside a test namespace), with
/// v2c communities `public` (read) / `private` (write) and one SNMPv3 authPriv user per algorithm pair.
public final class SNMPDaemon: Sendable {
    public let directory: TemporaryDirectory
    public let host: String
    public let port: Int
    public let process: PeerProcess

    /// v3 users: name, auth algorithm, priv algorithm (passphrases authpass123 / privpass123).
    public static let users: [(name: String, authentication: String, privacy: String)] = [
        ("usr-md5-des", "MD5", "DES"), ("usr-sha-aes", "SHA", "AES"), ("usr-sha224-aes", "SHA-224", "AES"),
        ("usr-sha256-aes256", "SHA-256", "AES-256"), ("usr-sha384-aes192", "SHA-384", "AES-192"), ("usr-sha512-aes256", "SHA-512", "AES-256"),
    ]
    public static let authenticationPassphrase = "authpass123"
    public static let privacyPassphrase = "privpass123"

    /// - Parameters:
    ///   - namespace: run inside this network namespace, listening on `host`.
    ///   - extraConfiguration: more snmpd.conf lines (e.g. a `pass_persist` emulator).
    public init(host: String = "127.0.0.1", namespace: String? = nil, extraConfiguration: String = "") async throws {
        guard let snmpd = locateProgram("snmpd") else { throw HarnessError.peerFailed("snmpd is not installed") }
        directory = try TemporaryDirectory(prefix: "snmpd")
        self.host = host
        port = FreePort.udp()
        var config = "agentAddress udp:\(host):\(port)\nrocommunity public\nrwcommunity private\nsysLocation rackagent-test\n"
        for user in Self.users {
            config += "createUser \(user.name) \(user.authentication) \"\(Self.authenticationPassphrase)\" \(user.privacy) \"\(Self.privacyPassphrase)\"\n"
            config += "rouser \(user.name) priv\n"
        }
        config += "createUser usr-auth-only SHA \"\(Self.authenticationPassphrase)\"\nrouser usr-auth-only auth\n" + extraConfiguration
        try directory.write("snmpd.conf", config)
        try FileManager.default.createDirectory(atPath: directory.file("persist"), withIntermediateDirectories: true)
        let arguments = [
            "-f", "-Lo", "-C", "-c", directory.file("snmpd.conf"), "-p", directory.file("snmpd.pid"), "--persistentDir=\(directory.file("persist"))",
            "-I", "-smux",
        ]
        if let namespace {
            process = try await PeerProcess(
                name: "snmpd", executable: "/usr/sbin/ip", arguments: ["netns", "exec", namespace, snmpd] + arguments,
                environment: ["MIBS": ""], logPath: directory.file("snmpd.log"))
        } else {
            process = try await PeerProcess(name: "snmpd", executable: snmpd, arguments: arguments, environment: ["MIBS": ""], logPath: directory.file("snmpd.log"))
        }
        try await process.waitForLog { $0.contains("NET-SNMP version") }
    }

    /// What the outlet emulator's PDU does with a SET (Emulators/outlet_agent.py).
    public enum OutletMode: String, Sendable {
        /// Switches, showing a transition state for one read.
        case normal
        /// Accepts every SET and never changes (a relay that does not move).
        case stuck
        /// Refuses every SET (notWritable).
        case refuse
    }

    /// snmpd with the outlet emulator (Emulators/outlet_agent.py) for one outlet family (a key of its FAMILIES:
    /// apc-rpdu2, apc-rpdu, apc-spdu, apc-cpdu, dell, cyberpower-epdu2, enlogic, geist-v5, ipoman, raritan-pdu1,
    /// raritan-pdu2, sentry3, sentry4, racktivity), its objects resolved from the vendor MIBs in Tests/Fixtures/mibs.
    public static func withOutlets(_ family: String, mode: OutletMode = .normal) async throws -> SNMPDaemon {
        let script = PeerTools.repositoryRoot + "/Tests/PeerHarness/Emulators/outlet_agent.py"
        let mibs = PeerTools.repositoryRoot + "/Tests/Fixtures/mibs"
        let (status, output) = try await PeerTools.run("/usr/bin/python3", [script, family, "subtree", mibs])
        let subtree = output.trimmingCharacters(in: .whitespacesAndNewlines)
        guard status == 0, subtree.hasPrefix(".1.3.6.1.4.1.") else { throw HarnessError.peerFailed("outlet_agent.py \(family): \(output)") }
        let daemon = try await SNMPDaemon(extraConfiguration: "pass_persist \(subtree) /usr/bin/python3 \(script) \(family) \(mode.rawValue) \(mibs)\n")
        // snmpd starts the emulator at the first request under its subtree, and the emulator reads the vendor MIBs:
        // seconds on a loaded machine. The peer is ready once that first answer came (bounded), not before.
        let snmpgetnext = locateProgram("snmpgetnext") ?? "/usr/bin/snmpgetnext"
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let (answered, value) = try await PeerTools.run(
                snmpgetnext, ["-v2c", "-c", "public", "-On", "-t", "5", "-r", "0", "127.0.0.1:\(daemon.port)", subtree], environment: ["MIBS": ""],
                timeout: .seconds(15))
            if answered == 0, value.hasPrefix(subtree) { return daemon }
            try await Task.sleep(for: .milliseconds(200))
        }
        daemon.stop()
        throw HarnessError.timeout("the \(family) outlet emulator never answered under \(subtree)")
    }

    public func stop() {
        process.stop()
        directory.remove()
    }
}

/// PyPI's `snmpsim`: canned devices from `.snmprec` files (community = file name), for what a real snmpd cannot
/// show on demand (wrapping counters, 32-bit-only devices, reboots, vanishing ports, writable values).
public final class SNMPSimulator: Sendable {
    public let directory: TemporaryDirectory
    public let port: Int
    public let process: PeerProcess

    /// - Parameter devices: file name (= community) → snmprec lines (`OID|type|value`).
    public init(devices: [String: [String]]) async throws {
        let responder = try PeerTools.venvProgram("snmpsim-command-responder")
        directory = try TemporaryDirectory(prefix: "snmpsim")
        port = FreePort.udp()
        for (name, lines) in devices {
            // snmpsim wants its records in OID order.
            let sorted = lines.sorted { Self.oidKey($0).lexicographicallyPrecedes(Self.oidKey($1)) }
            try directory.write("data/\(name).snmprec", sorted.joined(separator: "\n") + "\n")
        }
        try FileManager.default.createDirectory(atPath: directory.file("cache"), withIntermediateDirectories: true)
        process = try await PeerProcess(
            name: "snmpsim", executable: responder,
            arguments: [
                "--data-dir=\(directory.file("data"))", "--agent-udpv4-endpoint=127.0.0.1:\(port)", "--cache-dir=\(directory.file("cache"))",
                "--v3-user=simv3", "--v3-auth-key=authpass123", "--v3-auth-proto=SHA", "--v3-priv-key=privpass123", "--v3-priv-proto=AES",
                "--process-user=root", "--process-group=root", "--logging-method=stdout",
            ],
            logPath: directory.file("snmpsim.log"))
        try await waitUntilAnswering(community: devices.keys.sorted().first ?? "public")
    }

    static func oidKey(_ line: String) -> [UInt] {
        (line.split(separator: "|").first ?? "").split(separator: ".").compactMap { UInt($0) }
    }

    private func waitUntilAnswering(community: String) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        let snmpget = locateProgram("snmpget") ?? "/usr/bin/snmpget"
        while ContinuousClock.now < deadline {
            if let (status, _) = try? await PeerTools.run(
                snmpget, ["-v2c", "-c", community, "-t", "0.3", "-r", "0", "127.0.0.1:\(port)", "1.3.6.1.2.1.1.3.0"], environment: ["MIBS": ""], timeout: .seconds(5)),
                status == 0
            {
                return
            }
            if !process.isRunning { throw HarnessError.peerFailed("snmpsim exited: \(process.log.suffix(2000))") }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw HarnessError.timeout("snmpsim did not answer: \(process.log.suffix(2000))")
    }

    /// One value straight from the simulator with net-snmp's snmpget (bypassing the agent), as `-Oqv` prints it.
    public func get(community: String, oid: String) async throws -> String {
        let snmpget = locateProgram("snmpget") ?? "/usr/bin/snmpget"
        let (status, output) = try await PeerTools.run(
            snmpget, ["-v2c", "-c", community, "-Oqv", "-t", "1", "-r", "1", "127.0.0.1:\(port)", oid], environment: ["MIBS": ""], timeout: .seconds(10))
        guard status == 0 else { throw HarnessError.peerFailed("snmpget \(oid): \(output)") }
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public func stop() {
        process.stop()
        directory.remove()
    }
}

/// A network namespace with a veth link to the test's own namespace: `hostAddress` on our side, `peerAddress`
/// inside. Removed (with its links) by `remove()`.
public final class NetworkNamespace: Sendable {
    public let name: String
    public let hostInterface: String
    public let peerInterface: String
    public let hostAddress: String
    public let peerAddress: String

    /// - Parameters:
    ///   - subnet: the third octet of 10.231.<subnet>.0/24 used for the link.
    ///   - peerMAC: the MAC of the interface inside (a DHCP client's identity).
    ///   - addressPeer: false leaves the inside interface without an address (for DHCP clients).
    public init(prefix: String = "ra", subnet: Int, peerMAC: String? = nil, addressPeer: Bool = true) async throws {
        let suffix = String(UUID().uuidString.prefix(6)).lowercased()
        name = "\(prefix)-\(suffix)"
        hostInterface = "vh\(suffix)"
        peerInterface = "vp\(suffix)"
        hostAddress = "10.231.\(subnet).1"
        peerAddress = "10.231.\(subnet).2"
        try FileManager.default.createDirectory(atPath: "/etc/netns/\(name)", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: "/etc/netns/\(name)/resolv.conf", contents: Data())
        try await Self.ip(["netns", "add", name])
        try await Self.ip(["link", "add", hostInterface, "type", "veth", "peer", "name", peerInterface])
        try await Self.ip(["link", "set", peerInterface, "netns", name])
        try await Self.ip(["addr", "add", "\(hostAddress)/24", "dev", hostInterface])
        try await Self.ip(["link", "set", hostInterface, "up"])
        if let peerMAC { try await Self.ip(["-n", name, "link", "set", peerInterface, "address", peerMAC]) }
        if addressPeer { try await Self.ip(["-n", name, "addr", "add", "\(peerAddress)/24", "dev", peerInterface]) }
        try await Self.ip(["-n", name, "link", "set", peerInterface, "up"])
        try await Self.ip(["-n", name, "link", "set", "lo", "up"])
    }

    /// Adds a veth pair inside the namespace: two IF-MIB rows with real counters. (This kernel has no
    /// dummy driver; veth is always there.)
    public func addInterfacePair(_ first: String, _ second: String) async throws {
        try await Self.ip(["-n", name, "link", "add", first, "type", "veth", "peer", "name", second])
        try await Self.ip(["-n", name, "link", "set", first, "up"])
        try await Self.ip(["-n", name, "link", "set", second, "up"])
    }

    /// Puts the inside end of the veth link into a bridge with a new tap device, for a virtual machine whose NIC
    /// must be on the link (qemu `-netdev tap,ifname=<tap>`).
    public func addBridgedTap(_ tap: String, bridge: String = "br0") async throws {
        try await Self.ip(["-n", name, "link", "add", bridge, "type", "bridge"])
        try await Self.ip(["-n", name, "link", "set", peerInterface, "master", bridge])
        try await Self.ip(["-n", name, "tuntap", "add", "dev", tap, "mode", "tap"])
        try await Self.ip(["-n", name, "link", "set", tap, "master", bridge])
        try await Self.ip(["-n", name, "link", "set", tap, "up"])
        try await Self.ip(["-n", name, "link", "set", bridge, "up"])
    }

    /// Runs a command inside the namespace.
    @discardableResult
    public func run(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(30)) async throws -> (Int32, String) {
        try await PeerTools.run("/usr/sbin/ip", ["netns", "exec", name, executable] + arguments, timeout: timeout)
    }

    /// Removes the link and the namespace (called from `defer`, so it waits for `ip` on this thread: milliseconds).
    public func remove() {
        _ = PeerTools.runToCompletionBlocking("/usr/sbin/ip", ["link", "del", hostInterface])
        _ = PeerTools.runToCompletionBlocking("/usr/sbin/ip", ["netns", "del", name])
        try? FileManager.default.removeItem(atPath: "/etc/netns/\(name)")
    }

    static func ip(_ arguments: [String]) async throws {
        let (status, output) = try await PeerTools.run("/usr/sbin/ip", arguments)
        guard status == 0 else { throw HarnessError.peerFailed("ip \(arguments.joined(separator: " ")): \(output)") }
    }
}

/// busybox udhcpc in a test namespace, always with a script of our own (never the default one, which would
/// rewrite the machine's /etc/resolv.conf).
public enum DHCPClient {
    /// Asks for a lease; returns the variables udhcpc hands its script on "bound" (ip, siaddr, boot_file ...), or
    /// nil when no server answered.
    /// - Parameter options: extra udhcpc arguments, e.g. `["-x", "0x5d:0007"]` (client arch 7) or `["-x", "0xaf:01"]` (option 175).
    public static func lease(namespace: NetworkNamespace, options: [String] = []) async throws -> [String: String]? {
        let directory = try TemporaryDirectory(prefix: "udhcpc")
        defer { directory.remove() }
        chmod(directory.path, 0o755)
        let output = directory.file("bound.env")
        let script = try directory.write(
            "script.sh", "#!/bin/sh\nif [ \"$1\" = bound ]; then env > \(output); fi\nexit 0\n", mode: 0o755)
        let udhcpc = locateProgram("udhcpc") ?? "/usr/bin/udhcpc"
        let (status, log) = try await namespace.run(
            udhcpc, ["-i", namespace.peerInterface, "-n", "-q", "-f", "-t", "4", "-T", "1", "-A", "1", "-s", script] + options, timeout: .seconds(30))
        guard status == 0, let text = try? String(contentsOfFile: output, encoding: .utf8) else {
            _ = log
            return nil
        }
        var variables: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            variables[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return variables
    }
}

/// Object names and enumeration labels of the vendor MIBs in Tests/Fixtures/mibs, resolved by the outlet
/// emulator's MIB reader: for tests that write .snmprec data from a MIB's own tables.
public enum VendorMIB {
    /// One line per argument (`object` or `object:label`): the object's OID (with a leading dot), and after a space
    /// the label's INTEGER value.
    public static func resolve(_ module: String, _ objects: [String]) async throws -> [String: (oid: String, value: Int?)] {
        let script = PeerTools.repositoryRoot + "/Tests/PeerHarness/Emulators/outlet_agent.py"
        let (status, output) = try await PeerTools.run(
            "/usr/bin/python3", [script, "resolve", PeerTools.repositoryRoot + "/Tests/Fixtures/mibs", module] + objects)
        let lines = output.split(separator: "\n").map(String.init)
        guard status == 0, lines.count == objects.count else { throw HarnessError.peerFailed("resolving \(objects) in \(module): \(output)") }
        var resolved: [String: (oid: String, value: Int?)] = [:]
        for (object, line) in zip(objects, lines) {
            let parts = line.split(separator: " ")
            resolved[object] = (String(parts[0].dropFirst()), parts.count > 1 ? Int(parts[1]) : nil)
        }
        return resolved
    }
}

/// A web server on 127.0.0.1 that wants HTTP Basic credentials (Python's http.server), as a TELEJET resetter's
/// Digi One SP answers on its web port.
public final class BasicAuthWebServer: Sendable {
    public let port: Int
    let process: PeerProcess
    let directory: TemporaryDirectory

    static let server = #"""
    import base64, http.server, sys
    port, expected = int(sys.argv[1]), "Basic " + base64.b64encode(sys.argv[2].encode()).decode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="Digi One SP"')
                self.end_headers()
                return
            body = b"<html><title>Digi One SP</title></html>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.HTTPServer(("127.0.0.1", port), Handler)
    print("listening", flush=True)
    server.serve_forever()
    """#

    public init(username: String, password: String) async throws {
        directory = try TemporaryDirectory(prefix: "basic-auth")
        let script = try directory.write("server.py", Self.server)
        port = FreePort.tcp()
        process = try await PeerProcess(
            name: "basic-auth-web", executable: "/usr/bin/python3", arguments: ["-u", script, String(port), "\(username):\(password)"],
            logPath: directory.file("server.log"))
        try await process.waitForLog { $0.contains("listening") }
    }

    public func stop() {
        process.stop()
        directory.remove()
    }
}
