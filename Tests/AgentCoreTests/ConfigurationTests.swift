import AgentCore
import Foundation
import PeerHarness
import Testing

@Suite struct ConfigurationTests {
    @Test func missingFileAtTheDefaultPathMeansDefaults() throws {
        let configuration = try ConfigurationLoader(environment: [:]).load(path: "/nonexistent/agent.yaml", required: false)
        #expect(configuration == AgentConfiguration())
        #expect(configuration.api.listen == "127.0.0.1:8443")
        #expect(configuration.boot.listen == "0.0.0.0:8080")
    }

    @Test func explicitMissingFileIsAnError() {
        #expect(throws: ConfigurationError.unreadable(path: "/nonexistent/agent.yaml", reason: "no such file")) {
            try ConfigurationLoader(environment: [:]).load(path: "/nonexistent/agent.yaml", required: true)
        }
    }

    @Test func unreadableFileIsAnError() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // A directory where the file should be: unreadable as a file even for root.
        try FileManager.default.createDirectory(atPath: directory.file("agent.yaml"), withIntermediateDirectories: true)
        #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader(environment: [:]).load(path: directory.file("agent.yaml"), required: false)
        }
    }

    @Test func yamlOverridesDefaultsSectionBySection() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write(
            "agent.yaml",
            """
            stateDirectory: /srv/rackagent
            api:
              listen: "[::1]:9443"
              allowedSources: [10.0.0.0/8, 192.168.1.0/24]
            controller:
              url: https://panel.example/api/agent/events
              token: s3cret
            ipmi:
              minimumGapSeconds: 0.5
            dhcp:
              backend: kea
              keaControlSocket: /run/kea/kea4-ctrl-socket
              subnets:
                - subnet: 10.10.10.0/24
                  range: 10.10.10.100-10.10.10.150
            """)
        let configuration = try ConfigurationLoader(environment: [:]).load(path: path, required: true)
        #expect(configuration.stateDirectory == "/srv/rackagent")
        #expect(configuration.api.listen == "[::1]:9443")
        #expect(configuration.api.maxBodyBytes == 1_048_576)
        #expect(configuration.api.allowedSources == ["10.0.0.0/8", "192.168.1.0/24"])
        #expect(configuration.controller.token?.revealed == "s3cret")
        #expect(configuration.controller.batchSize == 100)
        #expect(configuration.ipmi.minimumGapSeconds == 0.5)
        #expect(configuration.ipmi.maxConcurrentCommands == 64)
        #expect(configuration.dhcp.backend == .kea)
        #expect(configuration.dhcp.subnets.first?.range == "10.10.10.100-10.10.10.150")
    }

    @Test func emptySectionKeepsDefaults() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write("agent.yaml", "api:\nipmi: {}\n")
        let configuration = try ConfigurationLoader(environment: [:]).load(path: path, required: true)
        #expect(configuration.api == APIConfiguration())
    }

    /// An empty agent.yaml (a fresh install, a truncated file) is all defaults; an environment variable still applies.
    @Test func anEmptyFileIsAllDefaults() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write("agent.yaml", "")
        let configuration = try ConfigurationLoader(environment: ["RACKAGENT_API_LISTEN": "127.0.0.1:9443"]).load(path: path, required: true)
        #expect(configuration.api.listen == "127.0.0.1:9443")
        #expect(configuration.ipmi == IPMIConfiguration())
    }

    @Test func unknownKeyFailsNamingIt() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write("agent.yaml", "api:\n  lisen: 127.0.0.1:1\n")
        #expect(throws: ConfigurationError.unknownKey("api.lisen")) {
            try ConfigurationLoader(environment: [:]).load(path: path, required: true)
        }
        let topLevel = try directory.write("top.yaml", "stateDir: /x\n")
        #expect(throws: ConfigurationError.unknownKey("stateDir")) {
            try ConfigurationLoader(environment: [:]).load(path: topLevel, required: true)
        }
    }

    @Test func badValuesFailNamingTheKey() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let cases: [(String, String)] = [
            ("ipmi:\n  maxConcurrentCommands: lots\n", "ipmi.maxConcurrentCommands"),
            ("dhcp:\n  backend: bind\n", "dhcp.backend"),
            ("api:\n  listen: nonsense\n", "api.listen"),
            ("api:\n  allowedSources: [10.0.0.0/33]\n", "api.allowedSources[0]"),
            ("controller:\n  url: ftp://x\n", "controller.url"),
            ("boot:\n  idleTimeoutSeconds: 0\n", "boot.idleTimeoutSeconds"),
            ("api:\n  requestTimeoutSeconds: -1\n", "api.requestTimeoutSeconds"),
            ("providers:\n  restartEvidenceSeconds: 0\n", "providers.restartEvidenceSeconds"),
            ("dhcp:\n  tftpRoot: \"/srv/tftp\\ndhcp-script=/tmp/x\"\n", "dhcp.tftpRoot"),
            ("dhcp:\n  configDirectory: relative/dir\n", "dhcp.configDirectory"),
            ("dhcp:\n  backend: kea\n  keaControlSocket: \"/run/kea socket\"\n", "dhcp.keaControlSocket"),
            ("dhcp:\n  efiBootFile: \"http://10.0.0.1/ipxe.efi;reboot\"\n", "dhcp.efiBootFile"),
        ]
        for (index, (yaml, key)) in cases.enumerated() {
            let path = try directory.write("bad\(index).yaml", yaml)
            do {
                _ = try ConfigurationLoader(environment: [:]).load(path: path, required: true)
                Issue.record("\(yaml) was accepted")
            } catch let ConfigurationError.invalidValue(failedKey, _) {
                #expect(failedKey == key)
            }
        }
    }

    @Test func environmentOverridesFileAndDefaults() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write("agent.yaml", "api:\n  listen: 127.0.0.1:1111\n")
        let environment = [
            "RACKAGENT_API_LISTEN": "127.0.0.1:2222",
            "RACKAGENT_CONTROLLER_CA_FILE": "/etc/ca.pem",
            "RACKAGENT_API_ALLOWED_SOURCES": "[127.0.0.0/8]",
            "RACKAGENT_IPMI_MINIMUM_GAP_SECONDS": "0",
            "RACKAGENT_IPMI_ALLOW_RAW_COMMANDS": "true",
            "RACKAGENT_STATE_DIRECTORY": "/tmp/x",
            "RACKAGENT_CONTROLLER_TOKEN": "12345",
        ]
        let configuration = try ConfigurationLoader(environment: environment).load(path: path, required: true)
        #expect(configuration.api.listen == "127.0.0.1:2222")
        #expect(configuration.controller.caFile == "/etc/ca.pem")
        #expect(configuration.api.allowedSources == ["127.0.0.0/8"])
        #expect(configuration.ipmi.minimumGapSeconds == 0)
        #expect(configuration.ipmi.allowRawCommands)
        #expect(configuration.stateDirectory == "/tmp/x")
        #expect(configuration.controller.token?.revealed == "12345")
    }

    @Test func environmentVariableNames() {
        #expect(ConfigurationLoader.upperSnake("caFile") == "CA_FILE")
        #expect(ConfigurationLoader.upperSnake("allowedSources") == "ALLOWED_SOURCES")
        #expect(ConfigurationLoader.upperSnake("unknownMACAction") == "UNKNOWN_MACACTION")
        #expect(ConfigurationLoader.upperSnake("ipmi") == "IPMI")
    }

    @Test func listenAddressForms() throws {
        #expect(try ListenAddress(parsing: "127.0.0.1:8443", key: "k") == ListenAddress(host: "127.0.0.1", port: 8443))
        #expect(try ListenAddress(parsing: "[::1]:8443", key: "k") == ListenAddress(host: "::1", port: 8443))
        #expect(try ListenAddress(parsing: ":8080", key: "k") == ListenAddress(host: "0.0.0.0", port: 8080))
        #expect(throws: ConfigurationError.self) { try ListenAddress(parsing: "::1:8443", key: "k") }
        #expect(throws: ConfigurationError.self) { try ListenAddress(parsing: "host:99999", key: "k") }
    }
}

@Suite struct ExampleConfigurationTests {
    /// agent.example.yaml documents every key with its default, so it must load and equal the defaults.
    @Test func exampleFileLoadsAndShowsTheDefaults() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("agent.example.yaml").path
        let configuration = try ConfigurationLoader(environment: [:]).load(path: path, required: true)
        #expect(configuration == AgentConfiguration())
    }

    /// Every key of the configuration type (optional ones included, found by reflection) is in agent.example.yaml,
    /// set or commented out, in its own section: the example cannot fall behind the type.
    @Test func exampleFileNamesEveryKey() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("agent.example.yaml").path
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var missing: [String] = []
        for top in Mirror(reflecting: AgentConfiguration()).children {
            guard let name = top.label else { continue }
            let nested = Mirror(reflecting: top.value)
            let isSection = nested.displayStyle == .struct && !nested.children.isEmpty
            guard let start = lines.firstIndex(where: { $0.hasPrefix("\(name):") || $0.hasPrefix("# \(name):") }) else {
                missing.append(name)
                continue
            }
            guard isSection else { continue }
            let end = lines[(start + 1)...].firstIndex { !$0.isEmpty && !$0.hasPrefix(" ") && !$0.hasPrefix("#") } ?? lines.endIndex
            let block = lines[(start + 1)..<end].map { $0.trimmingCharacters(in: .whitespaces) }
            for child in nested.children {
                guard let key = child.label else { continue }
                if !block.contains(where: { $0.hasPrefix("\(key):") || $0.hasPrefix("# \(key):") }) { missing.append("\(name).\(key)") }
            }
        }
        #expect(missing.isEmpty, "agent.example.yaml lacks \(missing)")
    }

    /// The checks `serve` and `rackagent config check` share: unreadable files and taken ports, each naming its key.
    @Test func preflightNamesUnreadableFilesAndTakenPorts() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var configuration = AgentConfiguration()
        configuration.api.tlsCertificateFile = directory.file("missing.crt")
        configuration.api.tlsKeyFile = directory.path
        configuration.controller.caFile = "/etc/hostname"
        #expect(ConfigurationPreflight.fileProblems(configuration).map(\.key) == ["api.tlsCertificateFile", "api.tlsKeyFile"])
        #expect(ConfigurationPreflight.fileProblems(configuration).last?.reason.contains("is a directory") == true)

        let holder = try TCPPortHolder()
        defer { holder.close() }
        let taken = holder.port
        configuration.api.listen = "127.0.0.1:\(taken)"
        configuration.boot.listen = "127.0.0.1:0"
        configuration.console.listen = "127.0.0.1:0"
        let ports = ConfigurationPreflight.portProblems(configuration)
        #expect(ports.map(\.key) == ["api.listen"] && ports.first?.reason.contains("in use") == true, "\(ports)")
    }
}
