import AgentCore
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import PeerHarness
import Provisioning
import Testing

/// Rendered installer files checked by the installers' own validators where they exist here (ksvalidator,
/// debconf-set-selections, bash -n), by parsing otherwise (YAML, XML).
@Suite struct InstallationRenderingTests {
    typealias F = InstallationFixtures

    func write(_ text: String, _ name: String, in directory: TemporaryDirectory) throws -> String {
        try directory.write(name, text)
    }

    /// debconf-set-selections takes debconf's database lock even to check a file: two at once make one fail.
    static let debconfTurn = AsyncSemaphore(permits: 1)

    /// `debconf-set-selections --checkonly` on `text`, one at a time.
    func debconfCheck(_ text: String) async throws -> (Int32, String) {
        let directory = try TemporaryDirectory(prefix: "preseed")
        defer { directory.remove() }
        let path = try write(text, "preseed.cfg", in: directory)
        try await Self.debconfTurn.acquire()
        defer { Self.debconfTurn.release() }
        return try await PeerTools.run("/usr/bin/debconf-set-selections", ["--checkonly", path])
    }

    /// ksvalidator exits 0 and prints nothing for a valid file. It leaves a copy of the file in its temporary directory,
    /// so that is the test's own.
    func ksvalidate(_ text: String) async throws -> (Int32, String) {
        let directory = try TemporaryDirectory(prefix: "ks")
        defer { directory.remove() }
        let path = try write(text, "ks.cfg", in: directory)
        return try await PeerTools.run(try PeerTools.venvProgram("ksvalidator"), ["-v", "RHEL9", path], environment: ["TMPDIR": directory.path])
    }

    @Test(arguments: ["auto_raid", "auto_raid_0", "auto_raid_1", "auto_raid_5", "auto_raid_10", "largest_disk", "smallest_disk"])
    func kickstartWithEveryStockLayoutPassesKsvalidator(internalKey: String) async throws {
        let rendered = try F.render(F.body(profile: F.profile("kickstart"), overrides: ["disklayout": F.layout(internalKey), "hardware": ["disks": 4]]))
        let kickstart = try #require(rendered.files["kickstart"]?.content)
        let (status, output) = try await ksvalidate(kickstart)
        #expect(status == 0, "ksvalidator: \(output)\n\(kickstart)")
        #expect(kickstart.contains("rootpw --iscrypted $6$rackagenttests00$"))
        #expect(kickstart.contains("network --device=52:54:00:12:34:56 --bootproto=static --ip=10.10.10.30 --netmask=255.255.255.0 --gateway=10.10.10.1 --nameserver=10.10.10.2,9.9.9.9"))
        #expect(kickstart.contains("level=\"\(DiskLayoutLevel(internalKey: internalKey)!.rawValue)\""))
        #expect(kickstart.contains("sshkey --username=root \"\(F.sshKey)\""))
        #expect(kickstart.contains("vim-enhanced\ntmux\n"))
        #expect(rendered.answerFile == "kickstart")
        #expect(rendered.files["ipxe"]?.content.contains("inst.ks=http://10.10.10.1:8080/boot/0123456789abcdef0123456789abcdef/kickstart") == true)
        #expect(rendered.files["ipxe"]?.content.contains("kernel http://10.10.10.1:8080/boot/files/rocky9/images/pxeboot/vmlinuz") == true)
    }

    /// iPXE's BIOS bzImage loader hands the kernel every image still loaded as its initramfs (iPXE 2019, as Debian ships
    /// it): an image fetched only to report progress must be freed before `boot`, or the installer's initrd begins with
    /// the report and the kernel panics (what the real Debian installer showed). Every stock script leaves only the
    /// kernel and its initrds loaded.
    @Test(arguments: ["kickstart", "preseed", "autoinstall", "windows", "rescue", "preseed-rescue"])
    func stockBootScriptsLeaveNoStrayImagesForTheKernel(pxeType: String) throws {
        let body = switch pxeType {
        case "rescue": F.body(profile: F.rescueProfile(), overrides: ["kind": "rescue"])
        case "preseed-rescue":
            F.body(profile: F.rescueProfile(overrides: ["pxeType": "preseed", "mirrorUrl": "http://127.0.0.1:9/debian/dists/bookworm/"]), overrides: ["kind": "rescue"])
        default: F.body(profile: F.profile(pxeType))
        }
        let rendered = try F.render(body)
        let script = try #require(rendered.files["ipxe"]?.content)
        let fetches = script.split(separator: "\n").filter { $0.hasPrefix("imgfetch") }
        #expect(!fetches.isEmpty, "\(script)")
        for line in fetches {
            let words = line.split(separator: " ")
            guard let flag = words.firstIndex(of: "--name"), flag + 1 < words.count else {
                Issue.record("an image fetched without a name cannot be freed: \(line)")
                continue
            }
            #expect(line.contains("&& imgfree \(words[flag + 1])"), "\(line)")
        }
    }

    /// Runs the layout's %pre on this machine with a stand-in lsblk reporting `disks` disks, puts its output where
    /// the %include is and gives the whole file to ksvalidator: the partitioning the installer would get is valid.
    @Test(arguments: [("auto_raid", 1), ("auto_raid", 2), ("auto_raid", 3), ("auto_raid", 5), ("auto_raid_0", 2), ("auto_raid_1", 2),
                      ("auto_raid_5", 3), ("auto_raid_10", 4), ("auto_raid_10", 6), ("largest_disk", 3), ("smallest_disk", 2)])
    func kickstartPartitioningGeneratedOnTheMachineIsValid(internalKey: String, disks: Int) async throws {
        let rendered = try F.render(F.body(profile: F.profile("kickstart"), overrides: ["disklayout": F.layout(internalKey)]))
        let kickstart = try #require(rendered.files["kickstart"]?.content)
        let directory = try TemporaryDirectory(prefix: "kspre")
        defer { directory.remove() }
        let start = try #require(kickstart.range(of: "%pre --interpreter=/bin/bash --log=/tmp/rackagent-partitioning.log\n"))
        let end = try #require(kickstart.range(of: "\n%end", range: start.upperBound..<kickstart.endIndex))
        let pre = try write(String(kickstart[start.upperBound..<end.lowerBound]), "pre.sh", in: directory)
        let sizes = [960_197_124_096, 480_103_981_056, 1_920_383_410_176, 480_103_981_056, 960_197_124_096, 3_840_755_982_336]
        let lines = (0..<disks).map { "sd\(Character(UnicodeScalar(97 + $0)!)) \(sizes[$0]) disk 0 0" } + ["sr0 1073741312 rom 0 1", "zram0 0 disk 0 0"]
        try FileManager.default.createDirectory(atPath: directory.path + "/bin", withIntermediateDirectories: true)
        _ = try directory.write("bin/lsblk", "#!/bin/sh\nprintf '%s\\n' \(lines.map { "'\($0)'" }.joined(separator: " "))\n", mode: 0o755)
        for efi in [false, true] {
            let output = directory.path + "/partitioning-\(efi)"
            var environment = ["PATH": directory.path + "/bin:/usr/bin:/bin", "RACKAGENT_PARTITIONING_OUT": output]
            environment["RACKAGENT_EFI_DIR"] = efi ? directory.path : directory.path + "/missing"
            let (status, log) = try await PeerTools.run("/bin/bash", [pre], environment: environment)
            try #require(status == 0, "%pre failed: \(log)")
            let partitioning = try String(contentsOfFile: output, encoding: .utf8)
            let flattened = kickstart.replacingOccurrences(of: "%include /tmp/rackagent-partitioning", with: partitioning)
            let (valid, complaint) = try await ksvalidate(flattened)
            #expect(valid == 0, "\(internalKey) on \(disks) disks (efi \(efi)): \(complaint)\n\(partitioning)")
            switch DiskLayoutLevel(internalKey: internalKey)! {
            case .largest: #expect(partitioning.contains("ignoredisk --only-use=sdc\n"))
            case .smallest: #expect(partitioning.contains("ignoredisk --only-use=sdb\n"))
            case .raid1: #expect(partitioning.contains("raid pv.root --level=1 "))
            case .raid10: #expect(partitioning.contains("raid pv.root --level=10 "))
            case .auto where disks == 1: #expect(!partitioning.contains("raid "))
            case .auto where disks == 3: #expect(partitioning.contains("raid pv.root --level=5 "))
            case .auto where disks == 5: #expect(partitioning.contains("raid pv.root --level=10 ") && !partitioning.contains("sdc"), "the largest disk is left out")
            default: break
            }
            #expect(partitioning.contains("/boot/efi") == efi)
        }
    }

    @Test func kickstartPartitioningRefusesTooFewDisks() async throws {
        let rendered = try F.render(F.body(profile: F.profile("kickstart"), overrides: ["disklayout": F.layout("auto_raid_10")]))
        let kickstart = try #require(rendered.files["kickstart"]?.content)
        let directory = try TemporaryDirectory(prefix: "kspre")
        defer { directory.remove() }
        let start = try #require(kickstart.range(of: "%pre --interpreter=/bin/bash --log=/tmp/rackagent-partitioning.log\n"))
        let end = try #require(kickstart.range(of: "\n%end", range: start.upperBound..<kickstart.endIndex))
        let pre = try write(String(kickstart[start.upperBound..<end.lowerBound]).replacingOccurrences(of: "http://10.10.10.1:8080", with: "http://127.0.0.1:9"), "pre.sh", in: directory)
        try FileManager.default.createDirectory(atPath: directory.path + "/bin", withIntermediateDirectories: true)
        _ = try directory.write("bin/lsblk", "#!/bin/sh\nprintf '%s\\n' 'sda 1000 disk 0 0' 'sdb 1000 disk 0 0'\n", mode: 0o755)
        let (status, log) = try await PeerTools.run("/bin/bash", [pre], environment: ["PATH": directory.path + "/bin:/usr/bin:/bin", "RACKAGENT_PARTITIONING_OUT": directory.path + "/out"])
        #expect(status != 0)
        #expect(log.contains("only 2 disks, the layout needs 4"))
    }

    @Test func kickstartWithTheControllersOwnLayoutAndTemplate() async throws {
        let rendered = try F.render(F.body(profile: F.profile("kickstart"), overrides: ["userprovidedDiskLayout": "zerombr\nclearpart --all --initlabel\nautopart --type=lvm"]))
        let kickstart = try #require(rendered.files["kickstart"]?.content)
        #expect(kickstart.contains("autopart --type=lvm"))
        let (status, output) = try await ksvalidate(kickstart)
        #expect(status == 0, "ksvalidator: \(output)")

        let own = F.profile("kickstart", overrides: ["autoInstallTemplate": "text\nurl --url={{mirrorUrl}}\nrootpw --iscrypted {{rootPasswordHash}}\n{{diskLayout}}\nreboot\n%packages\n@^minimal-environment\n%end\n"])
        let custom = try F.render(F.body(profile: own, overrides: ["disklayout": F.layout("", text: "zerombr\nclearpart --all --initlabel\npart / --fstype=xfs --size=1 --grow --ondisk={{#ipv4}}sda{{/ipv4}}")]))
        let text = try #require(custom.files["kickstart"]?.content)
        #expect(text.contains("part / --fstype=xfs --size=1 --grow --ondisk=sda"))
        await #expect(try ksvalidate(text).0 == 0)
    }

    @Test func preseedPassesDebconfCheckAndItsPartitioningScriptParses() async throws {
        let rendered = try F.render(F.body(profile: F.profile("preseed"), overrides: ["disklayout": F.layout("auto_raid_10"), "hardware": ["disks": 4]]))
        let preseed = try #require(rendered.files["preseed"]?.content)
        let directory = try TemporaryDirectory(prefix: "preseed")
        defer { directory.remove() }
        let (status, output) = try await debconfCheck(preseed)
        #expect(status == 0 && output.isEmpty, "debconf-set-selections: \(output)")
        #expect(preseed.contains("d-i mirror/http/hostname string 127.0.0.1:9"))
        #expect(preseed.contains("d-i mirror/http/directory string /debian"))
        #expect(preseed.contains("d-i passwd/root-password-crypted password $6$"))
        #expect(preseed.contains("d-i netcfg/get_nameservers string 10.10.10.2 9.9.9.9"))
        for script in ["script/partitioning", "script/late", "script/firstboot"] {
            let scriptPath = try write(try #require(rendered.files[script]?.content), "check.sh", in: directory)
            let (syntax, message) = try await PeerTools.run("/bin/sh", ["-n", scriptPath])
            #expect(syntax == 0, "\(script): \(message)")
        }
        #expect(rendered.files["script/partitioning"]?.content.contains("level=\"10\"") == true)
        #expect(rendered.files["script/late"]?.content.contains("up ip addr add %s dev %s") == true)
    }

    /// The partman early command run here with stand-ins for the installer's list-devices, blockdev and debconf-set.
    @Test(arguments: [("auto_raid", 1, ""), ("auto_raid", 3, "5 3 0 ext4 / "), ("auto_raid_1", 2, "1 2 0 ext4 / "), ("largest_disk", 3, "")])
    func preseedPartitioningPicksDisksOnTheMachine(internalKey: String, disks: Int, raidRecipe: String) async throws {
        let rendered = try F.render(F.body(profile: F.profile("preseed"), overrides: ["disklayout": F.layout(internalKey)]))
        let directory = try TemporaryDirectory(prefix: "partman")
        defer { directory.remove() }
        let script = try write(try #require(rendered.files["script/partitioning"]?.content), "partitioning.sh", in: directory)
        let sizes = ["sda": 960_197_124_096, "sdb": 480_103_981_056, "nvme0n1": 1_920_383_410_176]
        let names = Array(["sda", "sdb", "nvme0n1"].prefix(disks))
        try FileManager.default.createDirectory(atPath: directory.path + "/bin", withIntermediateDirectories: true)
        _ = try directory.write("bin/list-devices", "#!/bin/sh\n" + names.map { "echo /dev/\($0)\n" }.joined(), mode: 0o755)
        _ = try directory.write("bin/blockdev", "#!/bin/sh\ncase \"$2\" in\n" + names.map { "/dev/\($0)) echo \(sizes[$0]!) ;;\n" }.joined() + "esac\n", mode: 0o755)
        _ = try directory.write("bin/debconf-set", "#!/bin/sh\nprintf '%s=%s\\n' \"$1\" \"$2\" >> \(directory.path)/answers\n", mode: 0o755)
        let (status, log) = try await PeerTools.run("/bin/sh", [script], environment: ["PATH": directory.path + "/bin:/usr/bin:/bin", "RACKAGENT_EFI_DIR": directory.path + "/missing"])
        try #require(status == 0, "\(log)")
        let answers = try String(contentsOfFile: directory.path + "/answers", encoding: .utf8)
        if raidRecipe.isEmpty {
            #expect(answers.contains("partman-auto/method=regular"))
            let expected = internalKey == "largest_disk" ? "/dev/nvme0n1" : "/dev/sda"
            #expect(answers.contains("partman-auto/disk=\(expected)\n"), "\(answers)")
        } else {
            #expect(answers.contains("partman-auto/method=raid"))
            #expect(answers.contains("partman-auto-raid/recipe=1 \(disks) 0 ext4 /boot "), "\(answers)")
            #expect(answers.contains(raidRecipe), "\(answers)")
            if disks == 3 { #expect(answers.contains("/dev/nvme0n1p3")) }
        }
        #expect(answers.contains("biosgrub"))
    }

    @Test func autoinstallUserDataHasTheSchemasRequiredKeys() throws {
        let rendered = try F.render(F.body(profile: F.profile("autoinstall"), overrides: ["disklayout": F.layout("largest_disk")]))
        let userData = try #require(rendered.files["autoinstall/user-data"]?.content)
        #expect(userData.hasPrefix("#cloud-config\n"))
        #expect(rendered.files["autoinstall/meta-data"]?.content.contains("local-hostname: node61") == true)
        #expect(rendered.files["ipxe"]?.content.contains("url=http://10.10.10.1:8080/boot/files/ubuntu2404/ubuntu-24.04-live-server-amd64.iso") == true)
        #expect(rendered.files["ipxe"]?.content.contains("ds=nocloud-net;s=http://10.10.10.1:8080/boot/0123456789abcdef0123456789abcdef/autoinstall/user-data/") == false)
        #expect(rendered.files["ipxe"]?.content.contains("ds=nocloud-net;s=http://10.10.10.1:8080/boot/0123456789abcdef0123456789abcdef/autoinstall/") == true)
        #expect(userData.contains("- \"10.10.10.31/24\""))
        #expect(userData.contains("size: largest"))
        #expect(userData.contains("password: \"$6$rackagenttests00$"))
    }

    @Test func unattendIsWellFormedAndCarriesNoClearPassword() throws {
        let rendered = try F.render(F.body(profile: F.profile("windows"), overrides: ["hostname": "win-node61.example.com"]))
        let unattend = try #require(rendered.files["unattend"]?.content)
        let document = try XMLDocument(data: Data(unattend.utf8), options: [])
        #expect(document.rootElement()?.name == "unattend")
        #expect(unattend.contains("<Value>Windows Server 2022 SERVERSTANDARD</Value>"))
        #expect(unattend.contains("<ComputerName>WIN-NODE61</ComputerName>"))
        #expect(unattend.contains("<Key>VDYBN-27WPP-V4HQT-9VMD4-VMK7H</Key>"))
        #expect(unattend.contains("BypassTPMCheck"))
        #expect(unattend.contains("<TimeZone>W. Europe Standard Time</TimeZone>"))
        #expect(unattend.contains("<Identifier>52-54-00-12-34-56</Identifier>"))
        #expect(unattend.contains("<Value>\(WindowsPassword.encode("secretpassword", purpose: "AdministratorPassword"))</Value>"))
        #expect(rendered.files["script/install.bat"]?.content.contains("net use S: \"\\\\10.0.0.1\\install\\win2k22\"\r\n") == true)
        #expect(rendered.files["ipxe"]?.content.contains("kernel http://10.10.10.1:8080/boot/files/win2k22/wimboot") == true)
    }

    /// A controller's own unattend template is checked before anything happens: broken XML is a 400 that says where;
    /// a processing instruction without data (which crashes Foundation's XML parser) is no crash.
    @Test func aControllerUnattendTemplateIsCheckedAsXML() throws {
        let broken = F.profile("windows", overrides: ["autoInstallTemplate": "<unattend>\n<settings>{{hostname}}</unattend>\n<a/>\n<b/>\n"])
        do {
            _ = try F.render(F.body(profile: broken))
            Issue.record("broken XML was rendered")
        } catch let error as AgentError {
            #expect(error.code == "template_invalid_output" && error.message.contains("line 2,") && error.message.contains("does not match"), "\(error.message)")
        }
        let declared = F.profile("windows", overrides: ["autoInstallTemplate": "<!DOCTYPE u [<!ATTLIST u b CDATA #IMPLIED>]><unattend/>"])
        #expect(throws: AgentError.self, "a document type is refused, not parsed") { _ = try F.render(F.body(profile: declared)) }
        let instruction = F.profile("windows", overrides: ["autoInstallTemplate": "<?xml version=\"1.0\"?><unattend><?pi?><c>{{hostname}}</c></unattend>"])
        let rendered = try F.render(F.body(profile: instruction))
        #expect(rendered.files["unattend"]?.content.contains("<c>node61.example.com</c>") == true)
    }

    @Test(arguments: ["kickstart", "preseed", "autoinstall", "windows"])
    func noRenderedFileHoldsTheClearPassword(pxeType: String) throws {
        let rendered = try F.render(F.body(profile: F.profile(pxeType)))
        #expect(!rendered.files.isEmpty)
        for (name, file) in rendered.files {
            #expect(!file.content.contains("secretpassword"), "\(name) holds the clear password")
        }
    }

    @Test(arguments: InstallationKind.allCases.filter { $0 != .install })
    func rescueKindsRenderTheirScriptAndItParses(kind: InstallationKind) async throws {
        let rendered = try F.render(F.body(profile: F.rescueProfile(), overrides: ["kind": .string(kind.rawValue), "diskWipeMode": "secure", "installPowerAction": "powerCycle", "connection": ["type": "ipmi", "meta": ["ip": "127.0.0.1"]]]))
        let name = try #require(TemplateContext.kindScriptName(kind))
        let script = try #require(rendered.files["script/\(name)"]?.content)
        let directory = try TemporaryDirectory(prefix: "kind")
        defer { directory.remove() }
        let path = try write(script, "script.sh", in: directory)
        let (status, output) = try await PeerTools.run("/bin/bash", ["-n", path])
        #expect(status == 0, "\(name): \(output)")
        #expect(!script.contains("secretpassword"))
        let ipxe = try #require(rendered.files["ipxe"]?.content)
        #expect(ipxe.contains("netscript=http://10.10.10.1:8080/boot/0123456789abcdef0123456789abcdef/script/\(name)"))
        #expect(rendered.answerFile == nil)
        if kind == .diskWipe { #expect(script.contains("mode=\"secure\"")) }
    }

    @Test func unknownVariableNamesTheVariableAndLine() throws {
        let profile = F.profile("kickstart", overrides: ["pxeConfig": "#!ipxe\necho {{hostname}}\nkernel {{urls.kernal}}\nboot\n"])
        #expect(throws: TemplateError.unknownVariable(template: "profile.pxeConfig", name: "urls.kernal", line: 3)) {
            try F.render(F.body(profile: profile))
        }
        let layoutBody = F.body(profile: F.profile("kickstart"), overrides: ["disklayout": F.layout("", text: "part / --size={{rootSize}}")])
        #expect(throws: TemplateError.unknownVariable(template: "disklayout.disklayout", name: "rootSize", line: 1)) {
            try F.render(layoutBody)
        }
    }

    @Test func badRequestsNameTheField() throws {
        func field(_ body: JSONValue) -> String? {
            do {
                _ = try F.render(body)
                return nil
            } catch {
                return AgentError.from(error).details["field"]?.stringValue
            }
        }
        let kickstart = F.profile("kickstart")
        #expect(field(F.body(profile: kickstart, overrides: ["rootpassword": "short"])) == "rootpassword")
        #expect(field(F.body(profile: kickstart, overrides: ["hostname": "bad host"])) == "hostname")
        #expect(field(F.body(profile: kickstart, overrides: ["hostname": "node\nrootpw --plaintext x"])) == "hostname")
        #expect(field(F.body(profile: kickstart, overrides: ["disklayout": F.layout("auto_raid_1", minDisks: 2), "hardware": ["disks": 1]])) == "disklayout.min_disks")
        #expect(field(F.body(profile: kickstart, overrides: ["disklayout": F.layout("auto_raid_10"), "hardware": ["disks": 3]])) == "disklayout.min_disks")
        #expect(field(F.body(profile: kickstart, overrides: ["sshkeys": ["ssh-rsa AAAA\"; reboot"]])) == "sshkeys[0]")
        #expect(field(F.body(profile: kickstart, overrides: ["mac": "52:54:00:12:34"])) == "mac")
        #expect(field(F.body(profile: kickstart, overrides: ["installPowerAction": "powerCycle"])) == "connection")
        #expect(field(F.body(profile: kickstart, overrides: ["installPowerAction": "explode"])) == "installPowerAction")
        #expect(field(F.body(profile: kickstart, overrides: ["runScripts": [7]])) == "runScripts[0]")
        #expect(field(F.body(profile: F.profile("kickstart", overrides: ["packages": "vim; reboot"]))) == "profile.packages")
        #expect(field(F.body(profile: F.profile("kickstart", overrides: ["timezone": "Europe/Berlin\nreboot"]))) == "profile.timezone")
        #expect(field(F.body(profile: F.profile("kickstart", overrides: ["mirrorUrl": "http://mirror/x\" inst.sshd"]))) == "profile.mirrorUrl")
        #expect(field(F.body(profile: F.profile("kickstart", overrides: ["customPostScript": "echo\nRACKAGENT_CUSTOM_POST\nreboot"]))) == "profile.customPostScript")
        #expect(field(F.body(profile: F.profile("kickstart", overrides: ["cacheDirectory": "../etc"]))) == "profile.cacheDirectory")
        #expect(field(F.body(profile: F.profile("kickstart", overrides: ["keep_dhcp_minutes": 0]))) == "profile.keep_dhcp_minutes")
        #expect(field(F.body(profile: F.profile("kickstart"), overrides: ["ipassignments": []])) == "ipassignments")
        #expect(field(F.body(profile: F.rescueProfile(), overrides: ["kind": "install"])) == "kind")
        #expect(field(F.body(profile: F.profile("kickstart"), overrides: ["kind": "diskWipe"])) == "profile.isRescue")
        let installerRescue = F.rescueProfile(overrides: ["pxeType": "preseed", "mirrorUrl": "http://127.0.0.1:9/debian/dists/bookworm/"])
        #expect(field(F.body(profile: installerRescue, overrides: ["kind": "diskWipe"])) == "kind")
    }

    /// A rescue profile of pxeType preseed boots the Debian installer's rescue mode: its boot files, the rescue
    /// preseed (debconf accepts it) whose early command reports and completes the rescue.
    @Test func installerRescueModeRendersItsPreseed() async throws {
        let profile = F.rescueProfile(overrides: ["pxeType": "preseed", "mirrorUrl": "http://127.0.0.1:9/debian/dists/bookworm/", "cacheDirectory": "debian12"])
        let rendered = try F.render(F.body(profile: profile, overrides: ["kind": "rescue"]))
        let script = try #require(rendered.files["ipxe"]?.content)
        #expect(script.contains("rescue/enable=true") && script.contains("/boot/files/debian12/main/installer-amd64/current/images/netboot/debian-installer/amd64/linux"))
        #expect(rendered.answerFile == "preseed" && rendered.files["script/rescue"] == nil)
        let preseed = try #require(rendered.files["preseed"]?.content)
        let (status, output) = try await debconfCheck(preseed)
        #expect(status == 0 && output.isEmpty, "debconf-set-selections: \(output)")
        #expect(preseed.contains("d-i rescue/enable boolean true") && preseed.contains("done?event=rescueReady"))
    }

    @Test func seedShapedValuesAreTolerated() throws {
        let profile = F.profile("kickstart", overrides: ["set_root_password": "0", "allow_ssh_keys": false, "keep_dhcp_minutes": "30", "pxe_file_caching_policy": "someFuturePolicy"])
        let request = try F.request(F.body(profile: profile, overrides: ["configure_all_ipvfour": "1", "runScripts": ["2"], "rootpassword": nil]))
        #expect(request.profile?.keepDHCPMinutes == 30)
        #expect(request.profile?.cachingPolicy == "someFuturePolicy")
        #expect(request.configureAllIPv4)
        #expect(request.scripts.map(\.name) == ["Hello"])
        let rendered = try F.render(F.body(profile: profile, overrides: ["rootpassword": nil, "dns": [], "runScripts": [], "scripts": []]))
        let kickstart = try #require(rendered.files["kickstart"]?.content)
        #expect(kickstart.contains("rootpw --lock"))
        #expect(!kickstart.contains("--nameserver"), "no empty option without name servers")
        #expect(rendered.files["script/firstboot"]?.content.contains("running+script") == false, "no run scripts, no script steps")
        #expect(!kickstart.contains("sshkey"))
    }
}
