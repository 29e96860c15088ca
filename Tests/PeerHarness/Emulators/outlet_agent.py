#!/usr/bin/env python3
"""A switched PDU's outlet tables behind net-snmp's snmpd (pass_persist), for every outlet family the agent knows,
with the side effect snmpsim cannot give: writing the command column changes the state column, through a
transition the PDU shows for one read.

The families are written here by MIB object NAME and enumeration LABEL, and resolved to numbers from the vendor MIB
files (Tests/Fixtures/mibs/*.xz, copies of the vendors' MIBs): an OID or a value transcribed wrongly in the agent's
dialects does not meet the right object here. (CPDU-MIB and the Racktivity MIB are not among the fixtures; those
two families are given by number, from the MIB texts cited beside them.)

Usage: outlet_agent.py FAMILY MODE MIBDIR
  FAMILY  a key of FAMILIES below
  MODE    subtree: print the OID to register the emulator on (snmpd.conf `pass_persist`) and exit;
  MODE    normal: a SET of on/off changes the state (after one read of the transition state);
          stuck:  a SET is accepted and nothing changes (a PDU whose relay never moves);
          refuse: every SET is refused (notWritable), as a PDU refuses a column it does not let be written.
   or: outlet_agent.py resolve MIBDIR MODULE OBJECT[:LABEL]...
          prints one line per argument: the object's OID, and with a label the label's INTEGER value (for tests that
          write .snmprec data from a MIB's own tables and enumerations).
Outlets: server-a on, server-b off, server-c on, server-d on; families with a number column add a filler row numbered 0.
Meters on outlet 1: 1.2 A, 230 W, 15.5 kWh in each MIB's own units; the unit's own load 4.8 A, 1100 W, 321.5 kWh.
"""
import lzma
import os
import re
import sys

# --- MIB text to numbers -------------------------------------------------------------------------------------------

DEFINITION = re.compile(
    r"^[ \t]*([a-zA-Z][\w-]*)[ \t\r\n]+(OBJECT-TYPE|OBJECT[ \t]+IDENTIFIER|MODULE-IDENTITY|OBJECT-IDENTITY|NOTIFICATION-TYPE"
    r"|OBJECT-GROUP|NOTIFICATION-GROUP|MODULE-COMPLIANCE|TRAP-TYPE|AGENT-CAPABILITIES)\b", re.M)
CONVENTION = re.compile(r"^[ \t]*([A-Z][\w-]*)[ \t]*::=[ \t\r\n]*TEXTUAL-CONVENTION\b", re.M)
ENUMERATION = re.compile(r"SYNTAX\s+INTEGER\s*\{([^}]*)\}")
LABEL = re.compile(r"([a-zA-Z][\w-]*)\s*\(\s*(-?\d+)\s*\)")
ROOTS = {"iso": (1,), "org": (1, 3), "dod": (1, 3, 6), "internet": (1, 3, 6, 1), "private": (1, 3, 6, 1, 4),
         "enterprises": (1, 3, 6, 1, 4, 1), "mib-2": (1, 3, 6, 1, 2, 1)}


def without_comments_and_strings(text):
    """Blanks `--` comments and quoted text (whose `::=` or labels must not count), keeping offsets."""
    out, quoted, index = [], False, 0
    while index < len(text):
        char = text[index]
        if char == '"':
            quoted = not quoted
            out.append(char)
        elif quoted:
            out.append("\n" if char == "\n" else " ")
        elif text.startswith("--", index):
            end = text.find("\n", index)
            end = len(text) if end < 0 else end
            out.append(" " * (end - index))
            index = end
            continue
        else:
            out.append(char)
        index += 1
    return "".join(out)


class MIB:
    """Object names to OIDs and INTEGER labels to values, from one MIB module's text."""

    def __init__(self, text):
        text = without_comments_and_strings(text)
        starts = [(match.start(), match.group(1)) for match in DEFINITION.finditer(text)]
        conventions = [(match.start(), match.group(1)) for match in CONVENTION.finditer(text)]
        boundaries = sorted(starts + conventions)
        self.parents, self.labels, self.syntax, self.conventions = {}, {}, {}, {}
        for position, (start, name) in enumerate(boundaries):
            end = boundaries[position + 1][0] if position + 1 < len(boundaries) else len(text)
            body = text[start:end]
            enumeration = ENUMERATION.search(body)
            labels = {label: int(value) for label, value in LABEL.findall(enumeration.group(1))} if enumeration else None
            if (start, name) in conventions:
                if labels:
                    self.conventions[name] = labels
                continue
            assignment = re.search(r"::=\s*\{([^}]*)\}", body)
            if not assignment:
                continue
            parts = assignment.group(1).split()
            self.parents[name] = (parts[0], tuple(int(re.match(r"(?:[A-Za-z][\w-]*\()?(-?\d+)\)?", part).group(1)) for part in parts[1:]))
            if labels:
                self.labels[name] = labels
            else:
                syntax = re.search(r"SYNTAX\s+([A-Z][\w-]*)", body)
                if syntax:
                    self.syntax[name] = syntax.group(1)
        for name, convention in self.syntax.items():
            if convention in self.conventions:
                self.labels[name] = self.conventions[convention]

    def oid(self, name, depth=0):
        if name in ROOTS:
            return ROOTS[name]
        if depth > 64 or name not in self.parents:
            raise KeyError("no object %s in the MIB" % name)
        parent, path = self.parents[name]
        return self.oid(parent, depth + 1) + path

    def value(self, name, label):
        return self.labels[name][label]


def load_mib(directory, module):
    with lzma.open(os.path.join(directory, module + ".xz"), "rt", encoding="utf-8", errors="replace") as handle:
        return MIB(handle.read())


# --- The families ----------------------------------------------------------------------------------------------------
# name/state/command/number: object names in `mib` (or numeric OIDs as tuples with `values`);
# state: (object, {"on": label, "off": label}, transition label or None); command: (object, {"on": label, "off": label}).
# meters: object -> raw value on outlet 1 (a tuple key (object, suffix) for sensor tables); unit: object instance -> raw.

FAMILIES = {
    "apc-rpdu2": dict(
        mib="PowerNet-MIB", subtree="apc", rows=[(1,), (2,), (3,), (4,)],
        name="rPDU2OutletSwitchedStatusName", state=("rPDU2OutletSwitchedStatusState", {"on": "on", "off": "off"}, None),
        command=("rPDU2OutletSwitchedControlCommand", {"on": "immediateOn", "off": "immediateOff"}),
        meters={"rPDU2OutletMeteredStatusCurrent": 12, "rPDU2OutletMeteredStatusPower": 230, "rPDU2OutletMeteredStatusEnergy": 155},
        unit={("rPDU2PhaseStatusCurrent", 1): 48, ("rPDU2DeviceStatusPower", 1): 110, ("rPDU2DeviceStatusEnergy", 1): 3215}),
    "apc-rpdu": dict(
        mib="PowerNet-MIB", subtree="apc", rows=[(1,), (2,), (3,), (4,)],
        name="rPDUOutletControlOutletName", state=("rPDUOutletControlOutletCommand", {"on": "immediateOn", "off": "immediateOff"}, None),
        command=("rPDUOutletControlOutletCommand", {"on": "immediateOn", "off": "immediateOff"}),
        meters={"rPDUOutletStatusLoad": 12},
        unit={("rPDULoadStatusLoad", 1): 48, ("rPDUIdentDevicePowerWatts", 0): 1100}),
    "apc-spdu": dict(
        mib="PowerNet-MIB", subtree="apc", rows=[(1,), (2,), (3,), (4,)],
        name="sPDUOutletCtlName", state=("sPDUOutletCtl", {"on": "outletOn", "off": "outletOff"}, "outletUnknown"),
        command=("sPDUOutletCtl", {"on": "outletOn", "off": "outletOff"}), meters={}, unit={("rPDULoadStatusLoad", 1): 48}),
    # CPDU-MIB (APC NetShelter Advanced; apc 1.1.32), not among the fixtures: pduOutletSwitchedStatusTable 5.4.1 (2 Number,
    # 3 Name, 4 State off(0)/on(1)), pduOutletSwitchedControlTable 5.5.1 (4 Command immediateOff(1)/immediateOn(2)),
    # pduOutletMeteredStatusTable 5.9.1 (5 Current 0.01 A, 6 ActivePower W, 11 ResettableEnergy 0.1 kWh), pduUnitStatusTable
    # 2.4.1 (4 ActivePower W, 9 Energy 0.1 kWh).
    "apc-cpdu": dict(
        subtree=(1, 3, 6, 1, 4, 1, 318, 1, 1, 32), rows=[(1, 1), (1, 2), (1, 3), (1, 4)], filler=(1, 5),
        name=(1, 3, 6, 1, 4, 1, 318, 1, 1, 32, 5, 4, 1, 3), number=(1, 3, 6, 1, 4, 1, 318, 1, 1, 32, 5, 4, 1, 2),
        state=((1, 3, 6, 1, 4, 1, 318, 1, 1, 32, 5, 4, 1, 4), {"on": 1, "off": 0}, None),
        command=((1, 3, 6, 1, 4, 1, 318, 1, 1, 32, 5, 5, 1, 4), {"on": 2, "off": 1}),
        meters={(1, 3, 6, 1, 4, 1, 318, 1, 1, 32, 5, 9, 1, 5): 120, (1, 3, 6, 1, 4, 1, 318, 1, 1, 32, 5, 9, 1, 6): 230,
                (1, 3, 6, 1, 4, 1, 318, 1, 1, 32, 5, 9, 1, 11): 155},
        unit={((1, 3, 6, 1, 4, 1, 318, 1, 1, 32, 2, 4, 1, 4), 1): 1100, ((1, 3, 6, 1, 4, 1, 318, 1, 1, 32, 2, 4, 1, 9), 1): 3215}),
    "dell": dict(
        mib="DellrPDU-MIB", subtree="dell", rows=[(1,), (2,), (3,), (4,)],
        name="rPDUOutletSwitchedStatusName", state=("rPDUOutletSwitchedStatusState", {"on": "on", "off": "off"}, "unknown"),
        command=("rPDUOutletSwitchedControlCmd", {"on": "outletOn", "off": "outletOff"}),
        meters={"rPDUOutletMeteredStatusCurrent": 1, "rPDUOutletMeteredStatusPower": 230, "rPDUOutletMeteredStatusEnergy": 15},
        unit={("rPDUPhaseStatusCurrent", 1): 48, ("rPDUDeviceStatusPower", 1): 110, ("rPDUDeviceStatusEnergy", 1): 3215}),
    "cyberpower-epdu2": dict(
        mib="CPS-MIB", subtree="cps", rows=[(1,), (2,), (3,), (4,)],
        name="ePDU2OutletSwitchedStatusName", state=("ePDU2OutletSwitchedStatusState", {"on": "outletStatusOn", "off": "outletStatusOff"}, None),
        command=("ePDU2OutletSwitchedControlCommand", {"on": "immediateOn", "off": "immediateOff"}),
        meters={"ePDU2OutletMeteredStatusLoad": 12, "ePDU2OutletMeteredStatusActivePower": 230, "ePDU2OutletMeteredStatusEnergy": 155},
        unit={("ePDU2DeviceStatusCurrentLoad", 1): 48, ("ePDU2DeviceStatusPowerLoad", 1): 1100, ("ePDU2DeviceStatusEnergy", 1): 3215}),
    "enlogic": dict(
        mib="ENLOGIC-PDU-MIB", subtree="enlogic", rows=[(1, 1), (1, 2), (1, 3), (1, 4)], filler=(1, 5),
        name="pduOutletSwitchedStatusName", number="pduOutletSwitchedStatusNumber",
        state=("pduOutletSwitchedStatusState", {"on": "on", "off": "off"}, None),
        command=("pduOutletSwitchedControlCommand", {"on": "immediateOn", "off": "immediateOff"}),
        meters={"pduOutletMeteredStatusCurrent": 120, "pduOutletMeteredStatusActivePower": 230, "pduOutletMeteredStatusResettableEnergy": 155},
        unit={("pduInputPhaseStatusCurrent", 1, 1): 480, ("pduUnitStatusActivePower", 1): 1100, ("pduUnitStatusEnergy", 1): 3215}),
    "geist-v5": dict(
        mib="VERTIV-V5-MIB", subtree="vertiv", rows=[(1,), (2,), (3,), (4,)],
        name="pduOutletSwitchLabel", state=("pduOutletSwitchState", {"on": "on", "off": "off"}, None),
        transitions={"on": "off2on", "off": "on2off"},
        command=("pduOutletSwitchControl", {"on": "on", "off": "off"}), command_reads="none",
        meters={"pduOutletMeterCurrent": 120, "pduOutletMeterRealPower": 230, "pduOutletMeterEnergy": 15500},
        unit={("pduPhaseCurrent", 1): 480, ("pduTotalRealPower", 1): 1100, ("pduTotalEnergy", 1): 321500}),
    "ipoman": dict(
        mib="IPOMANII-MIB", subtree="ingrasys", rows=[(1,), (2,), (3,), (4,)],
        name="outletConfigDesc", state=("outletStatusStatus", {"on": "outletOn", "off": "outletOff"}, None),
        transitions={"on": "outletOffToOn", "off": "outletOnToOff"},
        command=("outletControlControl", {"on": "onImmediately", "off": "offImmediately"}), command_reads="none",
        meters={"outletStatusCurrent": 1200, "outletStatusKwatt": 15500}, unit={("inletStatusCurrent", 1): 4800}),
    "raritan-pdu1": dict(
        mib="PDU-MIB", subtree="raritan", rows=[(1,), (2,), (3,), (4,)],
        name="outletLabel", state=("outletOperationalState", {"on": "on", "off": "off"}, "cycling"),
        command=("outletOperationalState", {"on": "on", "off": "off"}),
        meters={"outletCurrent": 1200, "outletActivePower": 230, "outletWattHours": 15500},
        unit={("inletCurrent", 1): 4800, ("inletActivePower", 1): 1100, ("inletActiveEnergy", 1): 321500}),
    # Sensor tables: the state is the onOff sensor, meters are sensor values with each sensor's decimal digits.
    "raritan-pdu2": dict(
        mib="PDU2-MIB", subtree="raritan", rows=[(1, 1), (1, 2), (1, 3), (1, 4)],
        name="outletName", state=("measurementsOutletSensorState", {"on": "on", "off": "off"}, None), state_suffix=("onOff",),
        command=("switchingOperation", {"on": "on", "off": "off"}),
        meters={("measurementsOutletSensorValue", "rmsCurrent"): 12, ("outletSensorDecimalDigits", "rmsCurrent"): 1,
                ("measurementsOutletSensorValue", "activePower"): 230, ("outletSensorDecimalDigits", "activePower"): 0,
                ("measurementsOutletSensorValue", "activeEnergy"): 15500, ("outletSensorDecimalDigits", "activeEnergy"): 0},
        unit={("measurementsInletSensorValue", 1, 1, "rmsCurrent"): 4800, ("inletSensorDecimalDigits", 1, 1, "rmsCurrent"): 3,
              ("measurementsInletSensorValue", 1, 1, "activePower"): 1100, ("inletSensorDecimalDigits", 1, 1, "activePower"): 0,
              ("measurementsInletSensorValue", 1, 1, "activeEnergy"): 321500, ("inletSensorDecimalDigits", 1, 1, "activeEnergy"): 0}),
    "sentry3": dict(
        mib="Sentry3-MIB", subtree="sentry3", rows=[(1, 1, 1), (1, 1, 2), (1, 2, 1), (1, 2, 2)],
        name="outletName", state=("outletStatus", {"on": "on", "off": "off"}, None), transitions={"on": "onWait", "off": "offWait"},
        command=("outletControlAction", {"on": "on", "off": "off"}), command_reads="none",
        meters={"outletLoadValue": 120}, unit={}),
    "sentry4": dict(
        mib="Sentry4-MIB", subtree="sentry4", rows=[(1, 1, 1), (1, 1, 2), (1, 2, 1), (1, 2, 2)],
        name="st4OutletName", state=("st4OutletState", {"on": "on", "off": "off"}, "unknown"),
        command=("st4OutletControlAction", {"on": "on", "off": "off"}), command_reads="none",
        meters={"st4OutletCurrent": 120, "st4OutletActivePower": 230}, unit={}),
    # ES-RACKTIVITY-MIB (observium mibs/racktivity; not among the fixtures): the power module's port objects under
    # 1.3.6.1.4.1.34097.9.80.1.1, rows module.port: pPortName 10034, pStatePortCur 8 (odd values are powered),
    # pPortState 10035 (off 0, on 1), pCurrent 6 (0.001 A), pPower 7 (W), pActiveEnergy 9 (0.001 kWh).
    "racktivity": dict(
        subtree=(1, 3, 6, 1, 4, 1, 34097), rows=[(1, 1), (1, 2), (1, 3), (1, 4)],
        name=(1, 3, 6, 1, 4, 1, 34097, 9, 80, 1, 1, 10034), state=((1, 3, 6, 1, 4, 1, 34097, 9, 80, 1, 1, 8), {"on": 1, "off": 0}, None),
        command=((1, 3, 6, 1, 4, 1, 34097, 9, 80, 1, 1, 10035), {"on": 1, "off": 0}),
        meters={(1, 3, 6, 1, 4, 1, 34097, 9, 80, 1, 1, 6): 1200, (1, 3, 6, 1, 4, 1, 34097, 9, 80, 1, 1, 7): 230,
                (1, 3, 6, 1, 4, 1, 34097, 9, 80, 1, 1, 9): 15500}, unit={}),
}
NAMES = ["server-a", "server-b", "server-c", "server-d"]
STATES = ["on", "off", "on", "on"]


class Device:
    def __init__(self, family, mode, mib_directory):
        spec = FAMILIES[family]
        self.mode = mode
        mib = load_mib(mib_directory, spec["mib"]) if "mib" in spec else None
        oid = (lambda name: name) if mib is None else mib.oid
        enum = (lambda obj, label: label) if mib is None else mib.value
        self.subtree = spec["subtree"] if isinstance(spec["subtree"], tuple) else oid(spec["subtree"])
        self.rows = spec["rows"]
        self.names = {row: NAMES[i] for i, row in enumerate(self.rows)}
        self.states = {row: STATES[i] for i, row in enumerate(self.rows)}
        self.transient = {}  # row -> the state shown for one more read before the new one
        state_object, state_labels, unknown = spec["state"]
        self.state_column = oid(state_object)
        self.state_suffix = tuple(sensor_type(mib, label) for label in spec.get("state_suffix", ()))
        self.state_values = {state: enum(state_object, label) for state, label in state_labels.items()}
        transitions = spec.get("transitions", {})
        self.transition_values = {state: enum(state_object, label) for state, label in transitions.items()}
        self.unknown_value = enum(state_object, unknown) if unknown else None
        command_object, command_labels = spec["command"]
        self.command_column = oid(command_object)
        self.command_values = {enum(command_object, label): state for state, label in command_labels.items()}
        self.command_reads = enum(command_object, spec["command_reads"]) if "command_reads" in spec else None
        self.objects = {}
        for row in self.rows:
            self.objects[oid(spec["name"]) + row] = ("string", lambda row=row: self.names[row])
            self.objects[self.state_column + row + self.state_suffix] = ("integer", lambda row=row: self.read_state(row))
            if self.command_column != self.state_column:
                self.objects[self.command_column + row] = ("integer", lambda: self.command_reads or 0)
            if "number" in spec:
                self.objects[oid(spec["number"]) + row] = ("integer", lambda number=self.rows.index(row) + 1: number)
        if "filler" in spec:
            # A fixed-size table's unused row: number 0, no name, off.
            filler = spec["filler"]
            self.objects[oid(spec["name"]) + filler] = ("string", lambda: "")
            self.objects[oid(spec["number"]) + filler] = ("integer", lambda: 0)
            self.objects[self.state_column + filler] = ("integer", lambda: self.state_values["off"])
        for key, raw in spec["meters"].items():
            if isinstance(key, tuple) and len(key) == 2 and isinstance(key[1], str):
                instance = self.rows[0] + (sensor_type(mib, key[1]),)
                self.objects[oid(key[0]) + instance] = ("integer", lambda raw=raw: raw)
            else:
                self.objects[oid(key) + self.rows[0]] = ("integer", lambda raw=raw: raw)
        for key, raw in spec["unit"].items():
            instance = tuple(sensor_type(mib, part) if isinstance(part, str) else part for part in key[1:])
            self.objects[oid(key[0]) + instance] = ("integer", lambda raw=raw: raw)
        self.order = sorted(self.objects)

    def read_state(self, row):
        if row in self.transient:
            return self.transient.pop(row)
        return self.state_values[self.states[row]]

    def set(self, oid, kind, text):
        if self.mode == "refuse":
            return "not-writable"
        row = next((row for row in self.rows if oid == self.command_column + row), None)
        if row is None:
            return "not-writable"
        if kind != "integer" or not re.fullmatch(r"-?\d+", text):
            return "wrong-type"
        wanted = self.command_values.get(int(text))
        if wanted is None:
            return "wrong-value"
        if self.mode == "stuck":
            return "DONE"
        if wanted != self.states[row]:
            shown = self.transition_values.get(wanted, self.unknown_value)
            if shown is None:
                shown = self.state_values[self.states[row]]  # the old state for one more read
            self.transient[row] = shown
            self.states[row] = wanted
        return "DONE"


def sensor_type(mib, label):
    """Raritan PDU2-MIB sensor tables are indexed by sensor type (SensorTypeEnumeration)."""
    return mib.conventions["SensorTypeEnumeration"][label]


def parse(text):
    return tuple(int(part) for part in text.strip().strip(".").split("."))


def resolve(directory, module, names):
    mib = load_mib(directory, module)
    for argument in names:
        name, _, label = argument.partition(":")
        oid = "." + ".".join(map(str, mib.oid(name)))
        print("%s %d" % (oid, mib.value(name, label)) if label else oid)


def main():
    if sys.argv[1] == "resolve":
        resolve(sys.argv[2], sys.argv[3], sys.argv[4:])
        return
    device = Device(sys.argv[1], sys.argv[2], sys.argv[3])
    if sys.argv[2] == "subtree":
        print("." + ".".join(map(str, device.subtree)))
        return
    source, sink = sys.stdin, sys.stdout
    while True:
        command = source.readline()
        if not command:
            return
        command = command.strip()
        if not command:
            continue  # snmpd ends a set with an empty line and expects no answer
        if command == "PING":
            sink.write("PONG\n")
        elif command in ("get", "getnext"):
            oid = parse(source.readline())
            if command == "getnext":
                oid = next((candidate for candidate in device.order if candidate > oid), None)
            if oid in device.objects:
                kind, value = device.objects[oid]
                sink.write(".%s\n%s\n%s\n" % (".".join(map(str, oid)), kind, value()))
            else:
                sink.write("NONE\n")
        elif command == "set":
            oid = parse(source.readline())
            kind, _, text = source.readline().strip().partition(" ")
            sink.write(device.set(oid, kind, text) + "\n")
        else:
            sink.write("NONE\n")
        sink.flush()


if __name__ == "__main__":
    main()
