import AgentCore
import Foundation

/// Request bodies shaped like the controller's: the seed's startReinstallation fields plus the resolved objects.
public enum InstallationBodies {
    public static let sshKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHh6cmFja2FnZW50dGVzdGtleWZvcnJlbmRlcmluZw== admin@example"

    public static func profile(_ pxeType: String, overrides: [String: JSONValue] = [:]) -> JSONValue {
        var members: [String: JSONValue] = [
            "id": 2, "tags": ["kickstart"], "osName": "Rocky Linux 9", "pxeType": .string(pxeType), "networkConfigMode": nil,
            "defaultDiskLayout": "", "customPostScript": "echo post > /root/post.txt", "customFirstBoot": "echo first > /root/first.txt",
            "packages": "vim-enhanced\ntmux", "language": "en_US", "autoInstallTemplate": "", "timezone": "Europe/Berlin",
            "mirrorUrl": "http://127.0.0.1:9/rocky/9/BaseOS/x86_64/os/", "cacheDirectory": "rocky9", "httpdirectory": "", "version": nil,
            "isStockTemplate": 1, "isDisabled": 0, "allow_ssh_keys": 1, "allow_set_hostname": 1, "set_root_password": 1,
            "mark_installation_completed_event": "firstBootAfterScriptExecution", "pxe_file_caching_policy": "smartCaching",
            "keep_dhcp_minutes": 120, "windows_activation_key": nil, "windows_use_empty_activation_key": nil,
            "windows_key_location_userdata": nil, "windows_key_location_specialize": nil, "windows_skip_oobe": nil,
            "windows_bypass_system_requirements_check": nil, "licensekey": nil, "additionalDriversUrl": nil, "isRescue": 0,
        ]
        switch pxeType {
        case "preseed":
            members["osName"] = "Debian 12"
            members["mirrorUrl"] = "http://127.0.0.1:9/debian/dists/bookworm/"
            members["cacheDirectory"] = "debian12"
            members["packages"] = "vim tmux"
        case "autoinstall":
            members["osName"] = "Ubuntu 24.04"
            members["mirrorUrl"] = "http://127.0.0.1:9/ubuntu/"
            members["cacheDirectory"] = "ubuntu2404"
            members["packages"] = "vim"
            members["cacheFiles"] = ["casper/vmlinuz", "casper/initrd", "ubuntu-24.04-live-server-amd64.iso"]
        case "windows":
            members["osName"] = "Windows Server 2022"
            members["version"] = "Windows Server 2022 SERVERSTANDARD"
            members["mirrorUrl"] = "http://127.0.0.1:9/win2k22/"
            members["cacheDirectory"] = "win2k22"
            members["packages"] = ""
            members["windows_activation_key"] = "VDYBN-27WPP-V4HQT-9VMD4-VMK7H"
            members["windows_skip_oobe"] = 1
            members["windows_bypass_system_requirements_check"] = true
            members["windowsInstallShare"] = "\\\\10.0.0.1\\install\\win2k22"
        default:
            break
        }
        for (key, value) in overrides { members[key] = value }
        return .object(members)
    }

    public static func rescueProfile(overrides: [String: JSONValue] = [:]) -> JSONValue {
        var members: [String: JSONValue] = [
            "id": 9, "osName": "Rescue System", "pxeType": "rescue", "isRescue": 1, "mirrorUrl": "http://127.0.0.1:9/rescue/",
            "cacheDirectory": "rescue", "keep_dhcp_minutes": 60,
        ]
        for (key, value) in overrides { members[key] = value }
        return .object(members)
    }

    public static func layout(_ internalKey: String, minDisks: JSONValue = nil, text: String = "") -> JSONValue {
        [
            "id": 4, "tags": ["kickstart", "preseed"], "disklayout": .string(text), "name": "RAID 1", "isDisabled": 0, "isStockTemplate": 1,
            "internal_key": .string(internalKey), "isAutoRaid": 1, "min_disks": minDisks, "partition_size_boot": 1024, "partition_size_efi": 512,
        ]
    }

    public static func body(profile: JSONValue, overrides: [String: JSONValue] = [:]) -> JSONValue {
        var members: [String: JSONValue] = [
            "profileId": 2, "rootpassword": "secretpassword", "disklayoutId": 4, "runScripts": [1, 2], "hostname": "node61.example.com",
            "sshkeys": [.string(sshKey)], "configure_all_ipvfour": true, "configure_all_ipvsix": false, "installPowerAction": "noRestart",
            "profile": profile, "disklayout": layout("auto_raid_1", minDisks: 2),
            "scripts": [["id": 1, "name": "System Upgrade", "script": "#!/bin/sh\ndnf -y upgrade\n"], ["id": 2, "name": "Hello", "script": "#!/bin/sh\necho hello\n"]],
            "mac": "52:54:00:12:34:56",
            "ipassignments": [
                ["ip": "10.10.10.30", "primary_ip": 1, "subnetinformation": ["subnet": "10.10.10.0", "netmask": "255.255.255.0", "gw": "10.10.10.1", "type": "v4"]],
                ["ip": "10.10.10.31", "primary_ip": 0, "subnetinformation": ["subnet": "10.10.10.0", "netmask": "255.255.255.0", "gw": "10.10.10.1", "type": "v4"]],
                ["ip": "2001:db8::30", "primary_ip": 0, "subnetinformation": ["cidr": 64, "gw": "2001:db8::1", "type": "v6"]],
            ],
            "dns": ["10.10.10.2", "9.9.9.9"],
        ]
        for (key, value) in overrides { members[key] = value }
        return .object(members)
    }
}
