import AgentCore
import PeerHarness
import SwitchSSH
import Testing

/// Vendor configuration lines with secrets (the forms Oxidized's remove_secret lists cover, and the ones they miss),
/// and lines that only look like secrets.
enum SecretSamples {
    /// Each line and the secret in it that must not survive.
    static let masked: [(line: String, secret: String)] = [
        ("snmp-server community public RO", "public"),
        ("snmp-server community s3cr3tRW rw", "s3cr3tRW"),
        ("snmp-server host 10.0.0.5 vrf MGMT informs version 2c trapcomm udp-port 162", "trapcomm"),
        ("snmp-server mib community-map mapcomm context c1", "mapcomm"),
        ("snmp-server user admin network-admin auth md5 0x2ab6c7d8 priv 0x33cc44dd localizedkey", "0x2ab6c7d8"),
        ("snmp-server user admin network-admin auth md5 0x2ab6c7d8 priv aes-128 0x33cc44dd localizedkey", "0x33cc44dd"),
        ("snmp-server user nms G v3 localized 80000ae6d3 auth sha512 4b1a9f priv aes256 6ac7e0", "6ac7e0"),
        ("username admin privilege 15 secret 5 $1$mERr$hx5rVt7rPNoS4wqbXKX7m0", "$1$mERr$hx5rVt7rPNoS4wqbXKX7m0"),
        ("username admin privilege 15 role network-admin secret sha512 $6$Zx1$LongHashValue", "$6$Zx1$LongHashValue"),
        ("username admin password 5 $5$KLLsaTkd$wKr3  role network-admin", "$5$KLLsaTkd$wKr3"),
        ("username admin password $6$q9QmXy$osTenHash role sysadmin priv-lvl 15", "$6$q9QmXy$osTenHash"),
        ("enable secret 5 $1$enab$secretHashXyz", "$1$enab$secretHashXyz"),
        ("enable password cisco123", "cisco123"),
        ("aaa root secret sha512 $6$root$hash", "$6$root$hash"),
        (" password 7 094F471A1A0A", "094F471A1A0A"),
        ("tacacs-server key 7 0822455D0A16", "0822455D0A16"),
        ("tacacs-server host 10.0.0.1 key 7 \"fewhg123\" port 49", "fewhg123"),
        ("radius-server host 10.1.1.1 key 9 3a95c2e4f1", "3a95c2e4f1"),
        ("tacacs server ISE\n address ipv4 10.0.0.1\n key 7 0822455D0A16B", "0822455D0A16B"),
        (" neighbor 10.0.0.2 password 7 0822455D0A17", "0822455D0A17"),
        (" ip ospf message-digest-key 1 md5 7 0822455D0A18", "0822455D0A18"),
        (" ip ospf authentication-key 7 0822455D0A19", "0822455D0A19"),
        ("  key-string 7 0822455D0A1A", "0822455D0A1A"),
        ("ntp authentication-key 1 md5 104D000A0618 7", "104D000A0618"),
        ("crypto isakmp key 6 SECRETKEY address 10.0.0.1", "SECRETKEY"),
        ("  pre-shared-key local 6 Secr3tPsk", "Secr3tPsk"),
        ("set system root-authentication encrypted-password \"$6$junosroot$hash\"", "$6$junosroot$hash"),
        ("secret \"$9$AbCdEfG\";", "$9$AbCdEfG"),
        ("set protocols bgp group EXT authentication-key \"$9$bgpKey\"", "$9$bgpKey"),
        ("    community junosPublic {", "junosPublic"),
        ("set snmp community junosSet authorization read-only", "junosSet"),
        ("      key 1234abcd 7 0a1b2c3d4e5f", "0a1b2c3d4e5f"),
        (" standby 1 authentication hsrpPlain", "hsrpPlain"),
        (" standby 1 authentication text hsrpText", "hsrpText"),
        (" standby 2 authentication md5 key-string 7 0822455D0A1B", "0822455D0A1B"),
        (" vrrp 1 authentication text vrrpText", "vrrpText"),
        (" vrrp 5 authentication md5 key-string vrrpMd5Key", "vrrpMd5Key"),
        ("   vrrp 3 peer authentication text eosVrrp", "eosVrrp"),
        (" isis password isisIfPass level-2", "isisIfPass"),
        (" area-password isisArea", "isisArea"),
        (" domain-password isisDomain", "isisDomain"),
        ("   authentication key 0 eosIsisKey level-2", "eosIsisKey"),
        (" isis authentication key 7 0822455D0A1C", "0822455D0A1C"),
        (" wpa-psk ascii 7 wifiPsk0822", "wifiPsk0822"),
        (" lsp-password hmac-md5 encrypted 0822455D0A1D level 1", "0822455D0A1D"),
        (" hello-password text clear xrHello", "xrHello"),
        (" vrrp 2 authentication text 7 0822455D0A1E", "0822455D0A1E"),
    ]

    /// Lines that look like secrets and are not: they must come through unchanged.
    static let kept = [
        "username admin privilege 15", "username admin nopassword", "service password-encryption", "no enable password", "no enable secret",
        "password strength-check", "   password minimum length 12", "ip ssh server password-authentication",
        "authentication-order [ radius password ];", "snmp-server host 10.1.1.1 use-vrf management",
        "snmp-server host 10.0.0.5 version 3 priv v3user", "snmp-server enable traps", "ntp trusted-key 7",
        "aaa authentication login default group tacacs+ local", "interface GigabitEthernet1/0/1",
        " standby 1 authentication md5 key-chain HSRP-KEYS", " isis authentication mode md5", " isis authentication key-chain ISIS",
        "   authentication mode md5", " vrrp 1 authentication md5 key-chain VRRP", " lsp-password keychain ISIS-KEYS",
    ]
}

@Suite struct ConfigurationSecretsTests {
    @Test func everyVendorSecretIsMasked() {
        for (line, secret) in SecretSamples.masked {
            let masked = ConfigurationSecrets.mask(line)
            #expect(!masked.contains(secret), "\(line) → \(masked)")
            #expect(masked.contains(Secret.mask), "\(line) → \(masked)")
            #expect(ConfigurationSecrets.mask(masked) == masked, "masking twice changes \(masked)")
        }
    }

    @Test func linesThatOnlyLookLikeSecretsStay() {
        for line in SecretSamples.kept {
            #expect(ConfigurationSecrets.mask(line) == line)
        }
    }

    @Test func keywordsStayReadable() {
        #expect(ConfigurationSecrets.mask("snmp-server community public RO") == "snmp-server community \(Secret.mask) RO")
        #expect(ConfigurationSecrets.mask("enable secret 5 $1$x$y") == "enable secret 5 \(Secret.mask)")
    }
}

/// Every stored or returned switch text, against the emulator whose running configuration carries the secrets.
@Suite(.serialized) struct SwitchSecretsTests {
    /// A snapshot stored unmasked (by an older agent, or before a rule existed) is masked as it is read, the
    /// device's own credentials too.
    @Test func aSnapshotIsMaskedAgainWhenRead() async throws {
        let fixture = try SwitchFixture()
        defer { fixture.remove() }
        let raw = SecretSamples.masked.map(\.line).joined(separator: "\n") + "\nbanner motd deviceLoginPassw0rd"
        let id = try await fixture.service.store.saveSnapshot(deviceId: "sw1", jobId: nil, vendor: "ciscoSsh", content: raw)
        let snapshot = try #require(try await fixture.service.store.snapshot(
            deviceId: "sw1", id: id, redactor: SwitchTextRedactor(secrets: [Secret("deviceLoginPassw0rd")])))
        let content = try #require(snapshot["content"]?.stringValue)
        for (_, secret) in SecretSamples.masked {
            #expect(!content.contains(secret), "\(secret)")
        }
        #expect(!content.contains("deviceLoginPassw0rd"))
    }

    @Test(arguments: DialectCase.all)
    func snapshotsTranscriptsAndOutputCarryNoSecret(dialect: DialectCase) async throws {
        let peer = try await dialect.peer()
        defer { peer.stop() }
        try peer.update { $0["extraConfig"] = .array(SecretSamples.masked.map { .string($0.line) }) }
        let fixture = try SwitchFixture()
        defer { fixture.remove() }
        let target = SwitchFixture.target(peer, vendor: dialect.vendor)
        let result = try await fixture.service.changeInterface(
            target, name: dialect.interfaces[0], change: InterfaceChange(description: "masked"), dryRun: false, jobId: "job-s")
        let snapshotId = try #require(result.snapshotId)
        let snapshot = try #require(try await fixture.service.store.snapshot(deviceId: "sw1", id: snapshotId, redactor: SwitchTextRedactor(secrets: [])))
        let content = try #require(snapshot["content"]?.stringValue)
        #expect(content.contains(Secret.mask), "the secrets were in the configuration: \(content.prefix(300))")
        let output = try await fixture.service.run(target, command: dialect.emulator == "junos" ? "show configuration | display set" : "show running-config")
        let log = try await fixture.actionLog.recent(limit: 20, rootType: nil, rootId: "sw1").map { $0.meta.jsonText + $0.description }.joined()
        for (_, secret) in SecretSamples.masked {
            #expect(!content.contains(secret), "\(dialect.vendor): snapshot keeps \(secret)")
            #expect(!output.contains(secret), "\(dialect.vendor): run output keeps \(secret)")
            #expect(!log.contains(secret), "\(dialect.vendor): action log keeps \(secret)")
        }
    }
}
