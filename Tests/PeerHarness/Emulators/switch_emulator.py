#!/usr/bin/python3
"""A switch CLI for tests: OpenSSH runs it as the ForceCommand of the test user.

    switch_emulator.py <dialect> <state.json>

dialect: arista, nxos, os10, ios, junos. Interface and VLAN state lives in the JSON file (read before and written
after every command), so a test sees what a change really changed. Show commands answer in the platform's own
format (EOS and NX-OS `| json`, OS10 `| display-xml`, Junos `| display json` / `| display xml`, IOS text); config
commands follow the platform's grammar; anything else is refused the way the platform refuses it.
Test switches in the state: "ignore" (substrings of config commands accepted but not applied), "refuse" (substrings
of config commands rejected with the platform's error, the ones before them applied, as a real CLI does), "hang"
(prefixes of commands that never answer), "noStructured" (no JSON/XML output, an old platform), "junosXmlOnly",
"syslog" (a syslog line before every show output), "extraConfig" (lines appended to the running configuration, e.g.
secrets). Every command received is appended to "log".
With $SSH_ORIGINAL_COMMAND (an exec request) the one command is answered and the exit status is 0 or 1.
"""
import copy
import json
import os
import sys
import time

DIALECT, STATE_PATH = sys.argv[1], sys.argv[2]
ERRORS = {
    "arista": "% Invalid input",
    "ios": "% Invalid input detected at '^' marker.",
    "nxos": "% Invalid command at '^' marker.",
    "os10": "% Error: Unrecognized command.",
    "junos": "syntax error.",
}


def load():
    with open(STATE_PATH) as handle:
        return json.load(handle)


def save(state):
    temporary = STATE_PATH + ".tmp%d" % os.getpid()
    with open(temporary, "w") as handle:
        json.dump(state, handle, indent=1, sort_keys=True)
    os.chmod(temporary, 0o666)
    os.replace(temporary, STATE_PATH)


ABBREVIATIONS = [("Et", "Ethernet"), ("Eth", "Ethernet"), ("Gi", "GigabitEthernet"), ("Te", "TenGigabitEthernet"), ("Po", "Port-Channel")]


def find_interface(state, name):
    if name in state["interfaces"]:
        return name
    for key in state["interfaces"]:
        if key.lower() == name.lower():
            return key
    for short, full in ABBREVIATIONS:
        if name.startswith(short) and not name.startswith(full) and full + name[len(short):] in state["interfaces"]:
            return full + name[len(short):]
    return None


def vlan_list(vlans):
    if vlans is None:
        return "ALL"
    if not vlans:
        return "NONE"
    vlans = sorted(set(vlans))
    parts, start = [], 0
    while start < len(vlans):
        end = start
        while end + 1 < len(vlans) and vlans[end + 1] == vlans[end] + 1:
            end += 1
        parts.append("%d-%d" % (vlans[start], vlans[end]) if end > start + 1 else ",".join(str(v) for v in vlans[start:end + 1]))
        start = end + 1
    return ",".join(parts)


def parse_vlans(text):
    text = text.strip()
    if text.lower() in ("all", "1-4094"):
        return None
    if text.lower() in ("none", ""):
        return []
    result = set()
    for part in text.replace(" ", ",").split(","):
        if not part:
            continue
        if "-" in part:
            low, high = part.split("-")
            result.update(range(int(low), int(high) + 1))
        else:
            result.add(int(part))
    return sorted(result)


def mask_to_prefix(mask):
    return sum(bin(int(octet)).count("1") for octet in mask.split("."))


def prefix_to_mask(prefix):
    value = (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF
    return ".".join(str((value >> shift) & 255) for shift in (24, 16, 8, 0))


class Switch:
    def __init__(self):
        self.mode = "exec" if DIALECT in ("nxos", "os10") else "user"
        self.context = None  # ("interface", name) / ("vlan", id)
        self.candidate = None  # Junos private candidate
        self.output = []

    # ---------- prompts ----------
    def prompt(self, state):
        host = state["hostname"]
        if DIALECT == "junos":
            return "%s@%s%s " % (state.get("user", "admin"), host, "#" if self.mode == "config" else ">")
        if self.mode == "user":
            return host + ">"
        if self.mode == "exec":
            return host + "#"
        if self.context is None:
            return host + "(config)#"
        kind, value = self.context
        if DIALECT == "arista":
            if kind == "vlan":
                return "%s(config-vlan-%s)#" % (host, value)
            short = value.replace("Ethernet", "Et").replace("Vlan", "Vl").replace("Port-Channel", "Po")
            return "%s(config-if-%s)#" % (host, short)
        if DIALECT == "os10":
            if value.startswith("vlan"):
                return "%s(conf-if-vl-%s)#" % (host, value[4:])
            return "%s(conf-if-%s)#" % (host, value.replace("ethernet", "eth"))
        return "%s(config-%s)#" % (host, "vlan" if kind == "vlan" else "if")

    def say(self, text=""):
        self.output.append(text)

    def error(self):
        self.say(ERRORS[DIALECT])
        return False

    # ---------- dispatch ----------
    def handle(self, state, line):
        command = line.strip()
        if not command:
            return True
        state.setdefault("log", []).append(command)
        for prefix in state.get("hang", []):
            if command.startswith(prefix):
                save(state)
                time.sleep(600)
        if self.mode == "config" and any(token in command for token in state.get("refuse", [])):
            return self.error()
        if state.get("syslog") and command.startswith("show"):
            self.say("*Nov 23 10:00:00.123: %LINK-3-UPDOWN: Interface GigabitEthernet1/0/9, changed state to up")
        if DIALECT == "junos":
            return self.junos(state, command)
        return self.ios_family(state, command)

    # ---------- the IOS family (arista, nxos, os10, ios) ----------
    def ios_family(self, state, command):
        words = command.split()
        if command in ("exit", "quit", "logout") and self.mode in ("user", "exec"):
            raise SystemExit(0)
        if command == "enable":
            if DIALECT in ("arista", "ios"):
                self.mode = "exec"
                return True
            return self.error() if DIALECT != "nxos" else True
        if words[:2] == ["terminal", "length"]:
            state["pagingDisabled"] = words[2] == "0"
            if DIALECT == "arista":
                self.say("Pagination disabled.")
            return True
        if words[:2] == ["terminal", "width"]:
            if DIALECT == "arista" and len(words) > 2:
                self.say("Width set to %s columns." % words[2])
            return True
        if self.mode == "user":
            if command.startswith("show version"):
                self.say("Switch emulator (%s)" % DIALECT)
                return True
            return self.error()
        if self.mode == "exec":
            if command in ("configure terminal", "configure") and not (DIALECT != "arista" and command == "configure"):
                self.mode = "config"
                self.context = None
                if DIALECT == "ios":
                    self.say("Enter configuration commands, one per line.  End with CNTL/Z.")
                return True
            if command in ("write memory", "copy running-config startup-config"):
                state["saved"] = state.get("saved", 0) + 1
                self.say({"arista": "Copy completed successfully.", "ios": "Building configuration...\n[OK]",
                          "nxos": "[########################################] 100%\nCopy complete.", "os10": ""}[DIALECT])
                return True
            if command.startswith("show "):
                return self.show(state, command)
            return self.error()
        return self.configure(state, command, words)

    def structured(self, state, command, suffix):
        if not command.endswith(suffix):
            return False
        return not state.get("noStructured")

    def show(self, state, command):
        if DIALECT in ("arista", "nxos") and command.endswith("| json") and state.get("noStructured"):
            return self.error()
        if DIALECT == "os10" and command.endswith("| display-xml") and state.get("noStructured"):
            return self.error()
        words = command.split()
        if command in ("show version | json",):
            self.say(json.dumps({"arista": {"modelName": "vEOS-lab", "version": "4.27.0F", "architecture": "x86_64"},
                                 "nxos": {"chassis_id": "Nexus9000 C9300v Chassis", "nxos_ver_str": "9.3(8)", "host_name": state["hostname"]}}[DIALECT], indent=2))
            return True
        if command == "show version | display-xml":
            self.say('<?xml version="1.0"?>\n<rpc-reply xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">\n  <data>\n    <system-sw-state xmlns="http://www.dell.com/dellemc/os10/dell-system-software">\n      <sw-version>\n        <sw-version>10.5.2.3</sw-version>\n        <sw-platform>S4148F-ON</sw-platform>\n      </sw-version>\n    </system-sw-state>\n  </data>\n</rpc-reply>')
            return True
        if command in ("show running-config", "show running-configuration"):
            self.say(self.running_config(state))
            return True
        if command == "show running-config | section interface Vlan":
            self.say(self.svi_config(state))
            return True
        if DIALECT == "arista" and command == "show vlan | json":
            self.say(json.dumps({"vlans": {vid: {"name": vlan["name"], "status": "active", "interfaces": {}, "dynamic": False}
                                           for vid, vlan in state["vlans"].items()}, "sourceDetail": ""}, indent=2))
            return True
        if DIALECT == "nxos" and command == "show vlan brief | json":
            rows = [{"vlanshowbr-vlanid": vid, "vlanshowbr-vlanid-utf": vid, "vlanshowbr-vlanname": vlan["name"], "vlanshowbr-vlanstate": "active",
                     "vlanshowbr-shutstate": "noshutdown", "vlanshowplist-ifidx": ""} for vid, vlan in sorted(state["vlans"].items(), key=lambda item: int(item[0]))]
            self.say(json.dumps({"TABLE_vlanbriefxbrief": {"ROW_vlanbriefxbrief": rows[0] if len(rows) == 1 else rows}}))
            return True
        if DIALECT == "ios" and command == "show vlan brief":
            self.say("\nVLAN Name                             Status    Ports\n---- -------------------------------- --------- -------------------------------")
            for vid, vlan in sorted(state["vlans"].items(), key=lambda item: int(item[0])):
                self.say("%-4s %-32s active    " % (vid, vlan["name"]))
            self.say("1002 fddi-default                     act/unsup \n1003 token-ring-default               act/unsup ")
            return True
        if DIALECT == "os10" and command == "show running-configuration interface vlan":
            blocks = []
            for vid, vlan in sorted(state["vlans"].items(), key=lambda item: int(item[0])):
                lines = ["!", "interface vlan%s" % vid]
                if vlan["name"] and vid != "1":
                    lines.append(" description %s" % vlan["name"])
                lines.append(" no shutdown")
                for index, address in enumerate(vlan.get("l3Ips", [])):
                    lines.append(" ip address %s%s" % (address, " secondary" if index else ""))
                blocks.append("\n".join(lines))
            self.say("\n".join(blocks))
            return True
        # per-interface shows
        if len(words) >= 3 and words[1] in ("interface", "interfaces", "running-config", "running-configuration"):
            name_index = 3 if words[1].startswith("running") else 2
            if len(words) <= name_index:
                return self.error()
            name = find_interface(state, words[name_index])
            if name is None:
                self.say({"arista": "% Interface does not exist", "nxos": "% Invalid range at '^' marker.",
                          "os10": "% Error: Illegal parameter.", "ios": "                                    ^\n% Invalid input detected at '^' marker."}[DIALECT])
                return False
            port = state["interfaces"][name]
            rest = " ".join(words[name_index + 1:])
            if DIALECT == "arista" and rest == "| json":
                self.say(json.dumps({"interfaces": {name: {
                    "name": name, "description": port["description"], "interfaceStatus": "disabled" if not port["enabled"] else "connected",
                    "lineProtocolStatus": "up" if port["enabled"] else "down", "forwardingModel": "routed" if port.get("routed") else "bridged",
                    "mtu": 9214, "bandwidth": 10000000000, "interfaceAddress": [], "physicalAddress": "5254.0012.3456"}}}, indent=2))
                return True
            if DIALECT == "arista" and rest == "switchport | json":
                info = {"mode": port["mode"], "accessVlanId": port["accessVlan"], "accessVlanName": "default", "trunkingNativeVlanId": port["nativeVlan"],
                        "trunkingNativeVlanName": "default", "trunkAllowedVlans": vlan_list(port["trunkVlans"]), "tpid": "0x8100", "macLearning": True,
                        "staticTrunkGroups": [], "dynamicTrunkGroups": []}
                self.say(json.dumps({"switchports": {} if port.get("routed") else {name: {"enabled": True, "switchportInfo": info}}}, indent=2))
                return True
            if DIALECT == "nxos" and rest == "| json":
                row = {"interface": name, "state": "up" if port["enabled"] else "down", "admin_state": "up" if port["enabled"] else "down",
                       "eth_hw_desc": "100/1000/10000 Ethernet", "eth_mtu": "1500", "eth_bw": 10000000}
                if not port["enabled"]:
                    row["state_rsn_desc"] = "Administratively down"
                if port["description"]:
                    row["desc"] = port["description"]
                self.say(json.dumps({"TABLE_interface": {"ROW_interface": row}}))
                return True
            if DIALECT == "nxos" and rest == "switchport | json":
                row = {"interface": name, "switchport": "Disabled" if port.get("routed") else "Enabled", "switchport_monitor": "Not enabled",
                       "oper_mode": port["mode"], "access_vlan": str(port["accessVlan"]), "access_vlan_name": "default",
                       "native_vlan": str(port["nativeVlan"]), "native_vlan_name": "default",
                       "trunk_vlans": "1-4094" if port["trunkVlans"] is None else (vlan_list(port["trunkVlans"]) if port["trunkVlans"] else "none")}
                self.say(json.dumps({"TABLE_interface": {"ROW_interface": row}}))
                return True
            if DIALECT == "os10" and rest == "| display-xml":
                description = "<description>%s</description>" % port["description"] if port["description"] else ""
                self.say('<?xml version="1.0"?>\n<rpc-reply xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">\n  <data>\n    <interfaces xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces">\n      <interface>\n        <name>%s</name>\n        <type xmlns:ianaift="urn:ietf:params:xml:ns:yang:iana-if-type">ianaift:ethernetCsmacd</type>\n        <enabled>%s</enabled>\n        %s\n        <mtu>1532</mtu>\n        <mode xmlns="http://www.dell.com/dellemc/os10/dell-interface">%s</mode>\n      </interface>\n    </interfaces>\n  </data>\n</rpc-reply>' % (
                    name, "true" if port["enabled"] else "false", description, "MODE_L3" if port.get("routed") else "MODE_L2"))
                return True
            if words[1].startswith("running") and rest == "":
                self.say(self.interface_config(name, port))
                return True
        return self.error()

    def interface_config(self, name, port):
        lines = []
        if DIALECT == "ios":
            lines += ["Building configuration...", "", "Current configuration : 180 bytes", "!"]
        if DIALECT == "os10":
            lines.append("!")
        lines.append("interface %s" % name)
        indent = "   " if DIALECT == "arista" else (" " if DIALECT in ("ios", "os10") else "  ")
        if port["description"]:
            lines.append(indent + "description %s" % port["description"])
        if port.get("routed"):
            lines.append(indent + "no switchport")
        elif DIALECT == "os10":
            if port["mode"] == "trunk":
                lines.append(indent + "switchport mode trunk")
                if port["nativeVlan"] != 1:
                    lines.append(indent + "switchport access vlan %d" % port["nativeVlan"])
                if port["trunkVlans"]:
                    lines.append(indent + "switchport trunk allowed vlan %s" % vlan_list(port["trunkVlans"]))
            elif port["accessVlan"] != 1:
                lines.append(indent + "switchport access vlan %d" % port["accessVlan"])
        else:
            if port["accessVlan"] != 1:
                lines.append(indent + "switchport access vlan %d" % port["accessVlan"])
            if port["nativeVlan"] != 1:
                lines.append(indent + "switchport trunk native vlan %d" % port["nativeVlan"])
            if port["trunkVlans"] is not None:
                lines.append(indent + "switchport trunk allowed vlan %s" % (vlan_list(port["trunkVlans"]).lower() if port["trunkVlans"] else "none"))
            if port["mode"] == "trunk":
                lines.append(indent + "switchport mode trunk")
            elif DIALECT == "ios":
                lines.append(indent + "switchport mode access")
        if not port["enabled"]:
            lines.append(indent + "shutdown")
        elif DIALECT in ("os10", "nxos"):
            lines.append(indent + "no shutdown")
        if DIALECT == "ios":
            lines.append("end")
        return "\n".join(lines)

    def svi_config(self, state):
        blocks = []
        for vid, vlan in sorted(state["vlans"].items(), key=lambda item: int(item[0])):
            if not vlan.get("svi"):
                continue
            indent = "   " if DIALECT == "arista" else (" " if DIALECT == "ios" else "  ")
            lines = ["interface Vlan%s" % vid]
            if DIALECT == "nxos":
                lines.append(indent + "no shutdown")
            for index, address in enumerate(vlan.get("l3Ips", [])):
                text = address
                if DIALECT == "ios":
                    ip, prefix = address.split("/")
                    text = "%s %s" % (ip, prefix_to_mask(int(prefix)))
                lines.append(indent + "ip address %s%s" % (text, " secondary" if index else ""))
            blocks.append("\n".join(lines))
        return ("\n!\n" if DIALECT != "nxos" else "\n\n").join(blocks)

    def running_config(self, state):
        parts = ["! emulated %s configuration of %s" % (DIALECT, state["hostname"])]
        for vid, vlan in sorted(state["vlans"].items(), key=lambda item: int(item[0])):
            parts.append("vlan %s\n  name %s" % (vid, vlan["name"]))
        for name, port in sorted(state["interfaces"].items()):
            parts.append(self.interface_config(name, port))
        parts.append(self.svi_config(state))
        parts += state.get("extraConfig", [])
        return "\n!\n".join(parts)

    def ignored(self, state, command):
        return any(token in command for token in state.get("ignore", []))

    def configure(self, state, command, words):
        if command == "end":
            self.mode, self.context = "exec", None
            return True
        if command == "exit":
            if self.context is None:
                self.mode = "exec"
            self.context = None
            return True
        if DIALECT == "nxos" and command == "feature interface-vlan":
            state["featureInterfaceVlan"] = True
            return True
        if words[0] == "interface" and len(words) == 2:
            name = words[1]
            lower = name.lower()
            if lower.startswith("vlan") and lower[4:].isdigit():
                vid = lower[4:]
                if DIALECT == "nxos" and not state.get("featureInterfaceVlan"):
                    return self.error()
                if DIALECT == "os10":
                    state["vlans"].setdefault(vid, {"name": "VLAN%04d" % int(vid), "l3Ips": []})
                elif vid not in state["vlans"]:
                    state["vlans"][vid] = {"name": "VLAN%04d" % int(vid), "l3Ips": []}
                state["vlans"][vid]["svi"] = True
                self.context = ("interface", "vlan" + vid if DIALECT == "os10" else "Vlan" + vid)
                return True
            found = find_interface(state, name)
            if found is None:
                return self.error()
            self.context = ("interface", found)
            return True
        if words[0] == "vlan" and len(words) == 2 and words[1].isdigit() and DIALECT != "os10":
            state["vlans"].setdefault(words[1], {"name": "VLAN%04d" % int(words[1]), "l3Ips": []})
            self.context = ("vlan", words[1])
            return True
        if self.context is None:
            return self.error()
        kind, target = self.context
        if self.ignored(state, command):
            return True
        if kind == "vlan":
            if words[0] == "name" and len(words) == 2:
                state["vlans"][target]["name"] = words[1]
                return True
            return self.error()
        if target.lower().startswith("vlan"):
            vlan = state["vlans"][target[4:]]
            return self.address(vlan, command, words) if "ip" in words else self.svi_misc(vlan, command, words)
        port = state["interfaces"][target]
        return self.port_command(port, command, words)

    def svi_misc(self, vlan, command, words):
        if command in ("no shutdown", "shutdown"):
            return True
        if DIALECT == "os10" and words[0] == "description":
            vlan["name"] = command[len("description "):]
            return True
        return self.error()

    def address(self, vlan, command, words):
        negate = words[0] == "no"
        if negate:
            words = words[1:]
        if words[:2] != ["ip", "address"]:
            return self.error()
        arguments = words[2:]
        secondary = bool(arguments) and arguments[-1] == "secondary"
        if secondary:
            arguments = arguments[:-1]
        addresses = vlan.setdefault("l3Ips", [])
        if negate and not arguments:
            vlan["l3Ips"] = []
            return True
        if not arguments:
            return self.error()
        address = arguments[0]
        if len(arguments) == 2:
            if DIALECT not in ("ios",):
                return self.error()
            address = "%s/%d" % (arguments[0], mask_to_prefix(arguments[1]))
        elif "/" not in address or DIALECT == "ios":
            return self.error()
        if negate:
            if address in addresses:
                if not secondary and addresses and addresses[0] == address and len(addresses) > 1:
                    self.say("% Secondary addresses must be removed first" if DIALECT != "os10" else "% Error: remove secondary addresses first")
                    return False
                addresses.remove(address)
            return True
        if secondary:
            if not addresses:
                self.say("% Primary address must be configured first")
                return False
            if address not in addresses:
                addresses.append(address)
        else:
            if addresses:
                addresses[0] = address
            else:
                addresses.append(address)
        return True

    def port_command(self, port, command, words):
        if words[0] == "description" and len(words) > 1:
            port["description"] = command[len("description "):]
            return True
        if command == "no description":
            port["description"] = ""
            return True
        if command == "shutdown":
            port["enabled"] = False
            return True
        if command == "no shutdown":
            port["enabled"] = True
            return True
        if command == "no switchport":
            port["routed"] = True
            return True
        if words[:2] == ["switchport", "mode"] and len(words) == 3 and words[2] in ("access", "trunk"):
            port["routed"] = False
            if port["mode"] != words[2] and DIALECT == "os10" and words[2] == "trunk":
                port["trunkVlans"] = []
                port["nativeVlan"] = port["accessVlan"]
            if port["mode"] != words[2] and DIALECT == "os10" and words[2] == "access":
                port["accessVlan"] = port["nativeVlan"]
            port["mode"] = words[2]
            return True
        if words[:3] == ["switchport", "access", "vlan"] and len(words) == 4 and words[3].isdigit():
            vid = int(words[3])
            if DIALECT == "os10" and port["mode"] == "trunk":
                port["nativeVlan"] = vid
            port["accessVlan"] = vid
            return True
        if command == "no switchport access vlan":
            if DIALECT == "os10" and port["mode"] == "trunk":
                port["nativeVlan"] = 1
            port["accessVlan"] = 1
            return True
        if words[:4] == ["switchport", "trunk", "native", "vlan"] and len(words) == 5 and DIALECT != "os10":
            port["nativeVlan"] = int(words[4])
            return True
        if command == "no switchport trunk native vlan" and DIALECT != "os10":
            port["nativeVlan"] = 1
            return True
        if words[:4] == ["switchport", "trunk", "allowed", "vlan"] and len(words) >= 5:
            rest = words[4:]
            current = port["trunkVlans"] if port["trunkVlans"] is not None else list(range(1, 4095))
            if DIALECT == "os10":
                port["trunkVlans"] = sorted(set((port["trunkVlans"] or []) + (parse_vlans(rest[0]) or [])))
            elif rest[0] == "add":
                port["trunkVlans"] = sorted(set(current + parse_vlans(rest[1])))
            elif rest[0] == "remove":
                port["trunkVlans"] = [v for v in current if v not in parse_vlans(rest[1])]
            else:
                port["trunkVlans"] = parse_vlans(rest[0])
            if port["trunkVlans"] is not None and len(port["trunkVlans"]) >= 4094:
                port["trunkVlans"] = None
            return True
        if DIALECT == "os10" and words[:5] == ["no", "switchport", "trunk", "allowed", "vlan"] and len(words) == 6:
            remove = parse_vlans(words[5]) or []
            port["trunkVlans"] = [v for v in (port["trunkVlans"] or []) if v not in remove]
            return True
        return self.error()

    # ---------- Junos ----------
    def junos(self, state, command):
        words = command.split()
        if self.mode != "config":
            if command in ("exit", "quit"):
                raise SystemExit(0)
            if words[:3] == ["set", "cli", "screen-length"]:
                state["pagingDisabled"] = words[3] == "0"
                self.say("Screen length set to %s" % words[3])
                return True
            if words[:3] == ["set", "cli", "screen-width"]:
                self.say("Screen width set to %s" % words[3])
                return True
            if command == "configure private":
                self.mode = "config"
                self.candidate = copy.deepcopy(state["junos"])
                self.say("warning: uncommitted changes will be discarded on exit\nEntering configuration mode\n\n[edit]")
                return True
            return self.junos_show(state, command, state["junos"])
        if command in ("exit configuration-mode", "exit", "quit"):
            self.mode = "user"
            self.candidate = None
            self.say("Exiting configuration mode")
            return True
        if command.startswith("run "):
            return self.junos_show(state, command[4:], state["junos"])
        if command.startswith("commit"):
            if "confirmed" in words:
                state["junosRollback"] = copy.deepcopy(state["junos"])
                self.say("commit confirmed will be automatically rolled back in 5 minutes unless confirmed")
            state["junos"] = copy.deepcopy(self.candidate)
            state.setdefault("commits", []).append(command)
            self.say("commit complete\n\n[edit]")
            return True
        if command == "rollback 0":
            self.candidate = copy.deepcopy(state["junos"])
            self.say("load complete\n\n[edit]")
            return True
        if command == "rollback 1":
            self.candidate = copy.deepcopy(state.get("junosRollback", state["junos"]))
            self.say("load complete\n\n[edit]")
            return True
        if any(token in command for token in state.get("ignore", [])):
            self.say("\n[edit]")
            return True
        if self.junos_edit(self.candidate, command, words):
            self.say("\n[edit]")
            return True
        self.say("\n[edit]")
        return self.error()

    def junos_edit(self, config, command, words):
        interfaces, vlans = config["interfaces"], config["vlans"]
        verb = words[0]
        if verb not in ("set", "delete", "rename"):
            return False
        if verb == "rename" and words[1] == "vlans" and len(words) == 5 and words[3] == "to" and words[2] in vlans:
            vlans[words[4]] = vlans.pop(words[2])
            return True
        if words[1] == "vlans" and len(words) >= 4:
            name = words[2]
            if verb == "set" and words[3] == "vlan-id" and len(words) == 5:
                vlans.setdefault(name, {})["vlan-id"] = int(words[4])
                return True
            if verb == "set" and words[3] == "l3-interface" and len(words) == 5 and name in vlans:
                vlans[name]["l3-interface"] = words[4]
                return True
            if verb == "delete" and words[3] == "l3-interface" and name in vlans:
                vlans[name].pop("l3-interface", None)
                return True
            return False
        if words[1] != "interfaces" or len(words) < 4:
            return False
        name = words[2]
        if name == "irb" and words[3:4] == ["unit"] and len(words) == 9 and words[5:8] == ["family", "inet", "address"]:
            addresses = config.setdefault("irb", {}).setdefault(words[4], [])
            if verb == "set" and words[8] not in addresses:
                addresses.append(words[8])
            if verb == "delete" and words[8] in addresses:
                addresses.remove(words[8])
            return True
        if name not in interfaces:
            return False
        port = interfaces[name]
        rest = words[3:]
        if rest[0] == "description":
            if verb == "set" and len(rest) > 1:
                text = command.split("description", 1)[1].strip()
                port["description"] = text[1:-1] if text.startswith('"') and text.endswith('"') else text
                return True
            if verb == "delete":
                port.pop("description", None)
                return True
            return False
        if rest == ["disable"]:
            if verb == "set":
                port["disable"] = True
            else:
                port.pop("disable", None)
            return True
        if rest[0] == "native-vlan-id":
            if verb == "set" and len(rest) == 2:
                port["native-vlan-id"] = int(rest[1])
            elif verb == "delete":
                port.pop("native-vlan-id", None)
            return True
        if rest[:4] == ["unit", "0", "family", "ethernet-switching"]:
            tail = rest[4:]
            if tail[:1] == ["interface-mode"] and verb == "set" and len(tail) == 2 and tail[1] in ("access", "trunk"):
                port["interface-mode"] = tail[1]
                return True
            if tail[:2] == ["vlan", "members"]:
                if verb == "delete":
                    port["members"] = []
                    return True
                values = [value for value in tail[2:] if value not in ("[", "]")]
                if not values:
                    return False
                port["members"] = sorted(set(port.get("members", []) + values), key=lambda value: (not value.isdigit(), int(value) if value.isdigit() else value))
                return True
        return False

    def junos_show(self, state, command, config):
        words = command.split()
        if state.get("junosXmlOnly") and command.endswith("| display json"):
            self.say("                                    ^\nsyntax error.")
            return False
        if len(words) == 4 and words[:2] == ["show", "interfaces"] and words[3] == "terse":
            if words[2] not in config["interfaces"]:
                self.say("error: device %s not found" % words[2])
                return False
            port = config["interfaces"][words[2]]
            self.say("Interface               Admin Link Proto    Local                 Remote\n%-23s %-5s down" % (words[2], "down" if port.get("disable") else "up"))
            return True
        if command == "show configuration | display set":
            self.say("\n".join(self.junos_set_lines(config) + state.get("extraConfig", [])))
            return True
        if words[:2] == ["show", "configuration"] and len(words) >= 5 and words[-2:] in (["display", "json"], ["display", "xml"]) and words[-3] == "|":
            path = words[2:-3]
            document = self.junos_document(config, path)
            if document is None and words[-1] == "xml":
                self.say('<rpc-reply xmlns:junos="http://xml.juniper.net/junos/20.4R3/junos">\n    <configuration junos:changed-seconds="1700000000"/>\n</rpc-reply>')
                return True
            if document is None:
                self.say("")
                return True
            if words[-1] == "json":
                self.say(json.dumps({"configuration": document}, indent=4))
            else:
                self.say('<rpc-reply xmlns:junos="http://xml.juniper.net/junos/20.4R3/junos">\n    <configuration junos:changed-seconds="1700000000" junos:changed-localtime="2023-11-14 22:13:20 UTC">\n%s\n    </configuration>\n    <cli>\n        <banner></banner>\n    </cli>\n</rpc-reply>' % self.to_xml(document, 2))
            return True
        self.say("                 ^\nsyntax error, expecting <command>.")
        return False

    def junos_interface_json(self, name, port):
        entry = {"name": name}
        if port.get("description"):
            entry["description"] = port["description"]
        if port.get("disable"):
            entry["disable"] = [None]
        if "native-vlan-id" in port:
            entry["native-vlan-id"] = port["native-vlan-id"]
        switching = {}
        if "interface-mode" in port:
            switching["interface-mode"] = port["interface-mode"]
        if port.get("members"):
            switching["vlan"] = {"members": port["members"]}
        if switching:
            entry["unit"] = [{"name": 0, "family": {"ethernet-switching": switching}}]
        return entry

    def junos_document(self, config, path):
        if path == ["vlans"]:
            vlans = [dict({"name": name}, **values) for name, values in sorted(config["vlans"].items())]
            return {"vlans": {"vlan": vlans}} if vlans else None
        if path == ["interfaces", "irb"]:
            units = [{"name": int(unit), "family": {"inet": {"address": [{"name": address} for address in addresses]}}}
                     for unit, addresses in sorted(config.get("irb", {}).items()) if addresses]
            return {"interfaces": {"interface": [{"name": "irb", "unit": units}]}} if units else None
        if len(path) == 2 and path[0] == "interfaces" and path[1] in config["interfaces"]:
            entry = self.junos_interface_json(path[1], config["interfaces"][path[1]])
            return {"interfaces": {"interface": [entry]}} if len(entry) > 1 else None
        return None

    def to_xml(self, value, depth, name=None):
        pad = "    " * depth
        if isinstance(value, dict):
            inner = "\n".join(self.to_xml(child, depth + 1, key) for key, child in value.items())
            return inner if name is None else "%s<%s>\n%s\n%s</%s>" % (pad, name, inner, pad, name)
        if isinstance(value, list):
            return "\n".join(self.to_xml(item, depth, name) for item in value)
        if value is None:
            return "%s<%s/>" % (pad, name)
        return "%s<%s>%s</%s>" % (pad, name, value, name)

    def junos_set_lines(self, config):
        lines = []
        for name, port in sorted(config["interfaces"].items()):
            if port.get("description"):
                lines.append('set interfaces %s description "%s"' % (name, port["description"]))
            if port.get("disable"):
                lines.append("set interfaces %s disable" % name)
            for member in port.get("members", []):
                lines.append("set interfaces %s unit 0 family ethernet-switching vlan members %s" % (name, member))
        for name, values in sorted(config["vlans"].items()):
            lines.append("set vlans %s vlan-id %s" % (name, values.get("vlan-id")))
        return lines


def main():
    switch = Switch()
    exec_command = os.environ.get("SSH_ORIGINAL_COMMAND")
    if exec_command:
        state = load()
        switch.mode = "exec" if DIALECT != "junos" else "user"
        ok = switch.handle(state, exec_command)
        save(state)
        sys.stdout.write("\n".join(switch.output) + ("\n" if switch.output else ""))
        sys.stdout.flush()
        sys.exit(0 if ok else 1)
    state = load()
    sys.stdout.write("\r\n*** rackagent switch emulator (%s) ***\r\nUnauthorized access is prohibited.\r\n\r\n" % DIALECT)
    sys.stdout.write(switch.prompt(state))
    sys.stdout.flush()
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        state = load()
        switch.output = []
        try:
            switch.handle(state, line)
        except SystemExit:
            save(state)
            raise
        save(state)
        text = "\n".join(switch.output)
        if text:
            sys.stdout.write(text.replace("\n", "\r\n") + "\r\n")
        sys.stdout.write(switch.prompt(state))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
