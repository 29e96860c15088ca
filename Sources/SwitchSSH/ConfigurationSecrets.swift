import AgentCore
import Foundation

/// Masks the secrets switches keep in their configuration text (SNMP communities and user keys, local user and
/// enable secrets, TACACS+/RADIUS keys, routing-protocol (BGP, OSPF, IS-IS), HSRP/VRRP and NTP keys, IKE and
/// WPA pre-shared keys, Junos `$9$`/`$6$` hashes) wherever such text is stored or returned: configuration snapshots, CLI transcripts in the action log,
/// command output through the API and the CLI.
///
/// The rules follow Oxidized's per-model `remove_secret` lists (lib/oxidized/model/ios.rb, nxos.rb, eos.rb,
/// junos.rb, os10.rb, dnos.rb), widened where those miss a form (OS10 keys, NX-OS privacy keys, `enable password`
/// without a type, Junos `display set`). Each keeps the keyword and replaces only the secret with the mask, so the
/// text still reads as configuration; applying them twice changes nothing.
public enum ConfigurationSecrets {
    /// Masks every secret in `text`.
    public static func mask(_ text: String) -> String {
        guard !text.isEmpty else { return text }
        var result = text
        for (pattern, template) in rules {
            let range = NSRange(result.startIndex..., in: result)
            result = pattern.stringByReplacingMatches(in: result, range: range, withTemplate: template)
        }
        return result
    }

    private static let mask = Secret.mask
    /// Keep group 1, mask group 2.
    private static let keepFirst = "$1" + mask
    /// Keep groups 1 and 3 around a masked group 2.
    private static let keepAround = "$1" + mask + "$3"
    /// Not an already masked value, nor the type digit in front of one (so masking twice changes nothing).
    private static let unmasked = #"(?!\*{14})(?!\S+ \*{14})"#

    private static let rules: [(NSRegularExpression, String)] = {
        let sources: [(String, String)] = [
            // Junos: every secret is a quoted $9$ / $1$ / $5$ / $6$ string (encrypted-password, secret, authentication-key, pre-shared-key).
            (#"(")(\$[0-9]{1,2}\$[^"]*)(")"#, keepAround),
            // Junos SNMP communities: `community public {` and `set snmp community public ...`.
            (#"^([ \t]*community )(?!\*{14})("[^"]*"|[^\s{;"]+)( \{)"#, keepAround),
            (#"^([ \t]*set snmp (?:\S+ )*?community )"# + unmasked + #"("[^"]*"|\S+)"#, keepFirst),
            // SNMP communities (IOS, NX-OS, EOS, OS10), in hosts and community maps too.
            (#"^([ \t]*snmp-server community )"# + unmasked + #"(\S+)"#, keepFirst),
            (#"^([ \t]*snmp-server host \S+(?: vrf \S+)?(?: informs| traps)?(?: version (?:1|2c))? )"#
                + #"(?!(?:version|vrf|use-vrf|filter-vrf|source-interface|informs|traps)\b)"# + unmasked + #"(\S+)"#, keepFirst),
            (#"^([ \t]*snmp-server mib community-map )"# + unmasked + #"(\S+)"#, keepFirst),
            // SNMPv3 users: authentication, privacy and localized keys.
            (#"^([ \t]*snmp-server user \S+ .*?\bauth (?:md5|sha(?:-?[0-9]{3})?) (?:(?:encrypted|[0-9]) )?)"# + unmasked + #"(\S+)"#, keepFirst),
            (#"^([ \t]*snmp-server user \S+ .*?\bpriv (?:(?:des56|3des|des|aes(?: [0-9]{3}|-?[0-9]{3})?) )?)"# + unmasked + #"(\S+)"#, keepFirst),
            (#"^([ \t]*snmp-server user \S+ .*?\blocalized )"# + unmasked + #"(\S+)"#, keepFirst),
            // Local users and enable secrets (IOS `secret 5`, EOS `secret sha512`, NX-OS `password 5`, OS10 `password $6$`).
            (#"^([ \t]*username \S+ (?:.*? )?(?:password|secret)(?: (?:[0-9]{1,2}|sha512|encrypted))? )"# + unmasked + #"(\S+)"#, keepFirst),
            (#"^([ \t]*enable (?:algorithm-type \S+ )?(?:password|secret)(?: level [0-9]+)?(?: (?:[0-9]{1,2}|sha512))? )"# + unmasked + #"(\S+)"#,
             keepFirst),
            (#"^([ \t]*aaa root secret (?:[0-9]{1,2} |sha512 )?)"# + unmasked + #"(\S+)"#, keepFirst),
            // Indented `password 7 ...` (line vty, BGP neighbours in NX-OS / OS10 blocks); not EOS `password minimum length`.
            (#"^([ \t]+(?:password|secret) (?:[0-9]{1,2} )?)(?!(?:minimum|policy|encryption|strength-check)\b)(?!")"# + unmasked + #"(\S+)"#,
             keepFirst),
            // TACACS+ and RADIUS keys, on one line or inside a `tacacs server X` block.
            (#"^([ \t]*(?:tacacs-server|radius-server)\b.*? key(?: [0-9]{1,2})? )"# + unmasked + #"("[^"]*"|\S+)"#, keepFirst),
            (#"^((?:tacacs|radius) server \S+[^\n]*\n(?:[ \t]+[^\n]*\n)*?[ \t]+(?:pac )?key(?: [0-9])? )"# + unmasked + #"(\S+)"#, keepFirst),
            // Routing protocols, key chains, NTP, IKE.
            (#"^([ \t]*neighbor \S+ password (?:[0-9] )?)"# + unmasked + #"(\S.*)$"#, keepFirst),
            (#"^([ \t]*ip ospf message-digest-key [0-9]+ md5 (?:[0-9] )?)"# + unmasked + #"(\S+)"#, keepFirst),
            (#"^([ \t]*ip ospf authentication-key (?:[0-9] )?)"# + unmasked + #"(\S+)"#, keepFirst),
            (#"^([ \t]+key-string (?:[0-9] )?)"# + unmasked + #"(\S.*)$"#, keepFirst),
            (#"^([ \t]*ntp authentication-key [0-9]+ \S+ (?:[0-9] (?=\S))?)"# + unmasked + #"(\S+)"#, keepFirst),
            (#"^([ \t]*crypto isakmp key (?:[0-9] )?)"# + unmasked + #"(\S+)"#, keepFirst),
            (#"^([ \t]+pre-shared-key (?:(?:local|remote) )?+(?:[0-9] )?)(?!(?:ascii-text|hexadecimal)\b)(?!")"# + unmasked + #"(\S+)"#, keepFirst),
            // First-hop redundancy (HSRP `standby 1 authentication s3cret` / `text`, VRRP `authentication text`), key
            // strings after `authentication md5` on any line, IS-IS passwords and keys, wireless pre-shared keys.
            (#"^([ \t]*standby (?:[0-9]+ )?authentication )(?!(?:md5|text|sha)\b)"# + unmasked + #"(\S+)"#, keepFirst),
            (#"(\bauthentication (?:text|plaintext) (?:[0-9] )?)"# + unmasked + #"(\S+)"#, keepFirst),
            (#"(\bkey-string (?:[0-9] )?)"# + unmasked + #"(\S+)"#, keepFirst),
            // (possessive: an already masked line must not match with the keywords taken for the secret)
            (#"^([ \t]*(?:isis password|area-password|domain-password|lsp-password|hello-password) (?!keychain\b)(?:(?:hmac-md5|text) )?+"#
                + #"(?:(?:encrypted|clear) )?+(?:[0-9] )?+)"# + unmasked + #"(\S+)"#, keepFirst),
            (#"^([ \t]+(?:isis )?authentication key (?:[0-9] )?)"# + unmasked + #"(\S+)"#, keepFirst),
            (#"(\bwpa-psk (?:ascii|hex) (?:[0-9] )?)"# + unmasked + #"(\S+)"#, keepFirst),
            // EOS MACsec `key <CKN> 7 <CAK>`.
            (#"^([ \t]+key [0-9A-Fa-f]+ 7 )"# + unmasked + #"([0-9A-Fa-f]+)"#, keepFirst),
            // Whatever type-7 key or typed password is left.
            (#"^(.*\bkey 7 )"# + unmasked + #"([0-9]{2}[0-9A-Fa-f]+)"#, keepFirst),
            (#"\b((?:password|secret) (?:[0-9]{1,2}|sha512) )(?!")"# + unmasked + #"(\S+)"#, keepFirst),
        ]
        return sources.map { source, template in
            do {
                return (try NSRegularExpression(pattern: source, options: [.anchorsMatchLines]), template)
            } catch {
                preconditionFailure("configuration secret rule does not compile: \(source): \(error)")
            }
        }
    }()
}

/// Masks a switch's own credentials and every configuration secret in text about to be stored or returned.
public struct SwitchTextRedactor: Sendable {
    let credentials: Redactor

    public init(secrets: [Secret]) {
        credentials = Redactor(secrets: secrets)
    }

    public func redact(_ text: String) -> String {
        credentials.redact(ConfigurationSecrets.mask(text))
    }
}

extension ConfigurationSecrets {
    /// Every string in `value` masked: action-log rows are masked again when read, so a transcript stored before a
    /// rule existed does not show the secret it missed.
    public static func mask(json value: JSONValue) -> JSONValue {
        switch value {
        case .string(let text): return .string(mask(text))
        case .array(let items): return .array(items.map { mask(json: $0) })
        case .object(let members): return .object(members.mapValues { mask(json: $0) })
        case .null, .bool, .integer, .double: return value
        }
    }
}
