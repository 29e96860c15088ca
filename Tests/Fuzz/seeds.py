#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target into OUTPUT/<target>/ from real outputs the repository already holds:
the captured tool and device outputs in the tests (their triple-quoted Swift strings), the snmprec captures, the
recorded Redfish answers (Tests/Fixtures/redfish), the PXE templates and the example configuration. Nothing here is invented except the few
short seeds of the address validators and the SNMP packets, which are encoded from captured values.

Usage: seeds.py REPOSITORY OUTPUT
"""
import glob
import hashlib
import os
import re
import struct
import sys

repository, output = sys.argv[1], sys.argv[2]
shared = os.path.join(repository, "..", "shared")


def swift_blocks(*patterns):
    """The contents of the triple-quoted strings in the Swift files matching the patterns (indentation removed)."""
    blocks = []
    for pattern in patterns:
        for path in sorted(glob.glob(os.path.join(repository, pattern))):
            text = open(path, encoding="utf-8").read()
            for match in re.finditer(r'#?"""\n(.*?)\n(\s*)"""#?', text, re.S):
                indent = len(match.group(2))
                lines = [line[indent:] if line[:indent].isspace() else line for line in match.group(1).split("\n")]
                blocks.append("\n".join(lines).replace("\\(", "(").encode())
    return blocks


def files(*patterns):
    found = []
    for pattern in patterns:
        for path in sorted(glob.glob(pattern, recursive=True)):
            if os.path.isfile(path) and os.path.getsize(path) < 256 * 1024:
                found.append(open(path, "rb").read())
    return found


def snmprec_lines(limit=400):
    """Chunks of the snmprec captures, small enough for the fuzzer's input size."""
    chunks = []
    for data in files(os.path.join(repository, "Tests/Fixtures/snmprec/*.snmprec"), os.path.join(shared, "snmprec/*.snmprec")):
        lines = data.split(b"\n")
        for start in range(0, len(lines), limit):
            chunks.append(b"\n".join(lines[start:start + limit])[:4000])
    return chunks


def ber_length(length):
    if length < 0x80:
        return bytes([length])
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(encoded)]) + encoded


def ber(tag, content):
    return bytes([tag]) + ber_length(len(content)) + content


def ber_integer(value):
    return ber(0x02, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def ber_oid(text):
    parts = [int(part) for part in text.strip(".").split(".")]
    body = bytes([40 * parts[0] + parts[1]])
    for part in parts[2:]:
        chunk = [part & 0x7F]
        part >>= 7
        while part:
            chunk.insert(0, 0x80 | (part & 0x7F))
            part >>= 7
        body += bytes(chunk)
    return ber(0x06, body)


def snmp_packets():
    """GetResponse PDUs (what snmp_pdu_parse reads) carrying the values of the snmprec captures, type by type."""
    tags = {"2": 0x02, "4": 0x04, "6": 0x06, "64": 0x40, "65": 0x41, "66": 0x42, "67": 0x43, "70": 0x46, "5": 0x05}
    bindings = []
    for chunk in snmprec_lines():
        for line in chunk.decode("utf-8", "replace").split("\n"):
            fields = line.split("|", 2)
            if len(fields) != 3 or fields[1].rstrip("x") not in tags:
                continue
            oid, tag, value = fields
            try:
                if tag in ("4", "64"):
                    content = value.encode()
                elif tag.endswith("x"):
                    content = bytes.fromhex(value)
                elif tag == "6":
                    bindings.append(ber(0x30, ber_oid(oid) + ber_oid(value)))
                    continue
                elif tag == "5":
                    content = b""
                else:
                    number = int(value)
                    content = number.to_bytes(max(1, (number.bit_length() + 8) // 8), "big", signed=True)
                bindings.append(ber(0x30, ber_oid(oid) + ber(tags[tag.rstrip("x")], content)))
            except ValueError:
                continue
    packets = []
    for start in range(0, min(len(bindings), 600), 6):
        varbinds = ber(0x30, b"".join(bindings[start:start + 6]))
        packets.append(ber(0xA2, ber_integer(1234 + start) + ber_integer(0) + ber_integer(0) + varbinds))
    return packets


ipmi = swift_blocks("Tests/IPMITests/*.swift", "Tests/PeerHarness/FakeBMC.swift")
switches = swift_blocks("Tests/SwitchSSHTests/*.swift")
hardware = swift_blocks("Tests/ProvisioningTests/CapturedHardware.swift")
redfish_documents = files(os.path.join(repository, "Tests/Fixtures/redfish/**/*.json"))
json_documents = redfish_documents[:120] + [b for b in swift_blocks("Tests/ProvidersTests/*.swift", "Tests/ControllerAPITests/*.swift") if b.lstrip()[:1] in (b"{", b"[")]
templates = files(os.path.join(repository, "pxe-templates/**/*"))
oids = sorted({line.split(b"|")[0] for chunk in snmprec_lines() for line in chunk.split(b"\n") if line.count(b"|") >= 2})[:200]

corpus = {
    "snmp-value-decoding": snmp_packets(),
    "snmp-interface-table": snmprec_lines(),
    "snmp-oid": oids + [b".1.3.6.1.2.1.2.2.1.2", b"1.3.6.1.4.1.318.1.1.12.3.3.1.1.4.1"],
    # FuzzInput reads a flag as one byte and every number as eight: a 64-bit port that wrapped, then a 32-bit one.
    "counter-math": [struct.pack(">BQQQQBQQQBQQ", 1, 1, 2**64 - 1000, 10, 1000, 0, 4000, 20, 1000, 1, 7, 2**32 - 5)],
    "pdu-outlet-state": [b"1", b"2", b"on", b"off", b"0", b"-1", b"3"],
    "cli-prompt-and-pager": switches + [b"switch#", b"\x1b[2Kswitch>", b"line 1\r\n --More-- \x08\x08\x08\x08\x08\x08\x08\x08\x08\x08", b"user@vqfx> "],
    "cloudsigma-text": [b for b in swift_blocks("Tests/ProvidersTests/*.swift") if not b.lstrip()[:1] in (b"{", b"[")]
    + [b"uuid 0f9a\nstatus running\nname node1\n", b"field: name, message: required\n"],
    # Status 200, each provider and call in turn, then a document.
    "provider-answers": [bytes([0, index % 3, index % 7]) + document for index, document in enumerate(json_documents)]
    + [b"\x05\x00\x01" + b"{\"error\":\"not found\"}"],
    "hardware-inventory": hardware,
    "redfish-documents": redfish_documents,
    "template-engine": templates,
    "request-bodies": json_documents,
    "yaml-configuration": files(os.path.join(repository, "agent.example.yaml")),
    "address-validators": [b"52:54:00:12:34:56", b"52-54-00-12-34-56", b"5254.0012.3456", b"10.0.0.1", b"10.0.0.0/8", b"fe80::1",
                           b"2001:db8::/32", b"[2001:db8::1]:623", b"bmc.example.com:623", b"pxelinux.0", b"ipxe.efi", b"Ethernet1/1"],
}
for target in ["ipmi-chassis-power", "ipmi-restart-cause", "ipmi-boot-flags", "ipmi-users", "ipmi-sensors", "ipmi-sel", "ipmi-fru", "ipmi-lan"]:
    corpus[target] = ipmi
for target in ["switch-arista", "switch-nxos", "switch-os10", "switch-ios", "switch-junos"]:
    # Each input is the answers to a dialect's commands in turn, NUL-separated: consecutive captured outputs.
    corpus[target] = [b"\x00".join(switches[start:start + 4]) for start in range(0, len(switches))]

# Whole XML texts: the switches' XML answers among the captured outputs, the stock Windows answer file, and the
# declarations corelibs Foundation crashed on (a processing instruction without data, a document type's ATTLIST).
corpus["xml-tree"] = [seed for seed in switches if b"<" in seed] + [seed for seed in templates if b"<unattend" in seed] + [
    b'<?xml version="1.0"?><rpc-reply><?pi?><data/></rpc-reply>',
    b'<?xml version="1.0"?><!DOCTYPE r [<!ATTLIST r b CDATA #IMPLIED><!NOTATION n SYSTEM "x">]><r/>',
]
for target, seeds in corpus.items():
    directory = os.path.join(output, target)
    os.makedirs(directory, exist_ok=True)
    for seed in seeds:
        if seed:
            name = hashlib.sha1(seed).hexdigest()
            with open(os.path.join(directory, name), "wb") as handle:
                handle.write(seed)
    print(f"{target}: {len(os.listdir(directory))} seeds")
