#!/usr/bin/env python3
"""ServerTech outlet tables behind net-snmp's snmpd (pass_persist), with the side effect snmpsim cannot give:
writing the control column changes the state column, through a wait state for one read, as the PDU does.

Usage: pdu_pass_persist.py sentry3|sentry4
Rows (tower.infeed.outlet / unit.cord.outlet): 1.1.1, 1.1.2 on the first infeed or cord, 1.2.1, 1.2.2 on the second.
  sentry3 (Sentry3-MIB outletEntry 1.3.6.1.4.1.1718.3.2.3.1): 3 outletName, 5 outletStatus (off 0, on 1,
          offWait 2, onWait 3), 11 outletControlAction (none 0, on 1, off 2, reboot 3).
  sentry4 (Sentry4-MIB): st4OutletName 1.3.6.1.4.1.1718.4.1.8.2.1.3, st4OutletState 1.3.6.1.4.1.1718.4.1.8.3.1.1
          (unknown 0, on 1, off 2), st4OutletControlAction 1.3.6.1.4.1.1718.4.1.8.5.1.2 (none 0, on 1, off 2, reboot 3).
"""
import sys

VENDORS = {
    "sentry3": {"name": (1, 3, 6, 1, 4, 1, 1718, 3, 2, 3, 1, 3), "state": (1, 3, 6, 1, 4, 1, 1718, 3, 2, 3, 1, 5),
                "control": (1, 3, 6, 1, 4, 1, 1718, 3, 2, 3, 1, 11), "on": 1, "off": 0, "onWait": 3, "offWait": 2},
    "sentry4": {"name": (1, 3, 6, 1, 4, 1, 1718, 4, 1, 8, 2, 1, 3), "state": (1, 3, 6, 1, 4, 1, 1718, 4, 1, 8, 3, 1, 1),
                "control": (1, 3, 6, 1, 4, 1, 1718, 4, 1, 8, 5, 1, 2), "on": 1, "off": 2, "onWait": 0, "offWait": 0},
}
vendor = VENDORS[sys.argv[1]]
rows = {(1, 1, 1): ["server-a", "on"], (1, 1, 2): ["server-b", "off"], (1, 2, 1): ["server-c", "on"], (1, 2, 2): ["server-d", "on"]}
pending = {}  # row -> state reached once the wait state has been read


def objects():
    return {column + row: (kind, row) for kind in ("name", "state", "control") for column in [vendor[kind]] for row in rows}


def parse(text):
    return tuple(int(part) for part in text.strip().strip(".").split("."))


def answer(oid, kind, row):
    if kind == "name":
        typed = "string\n" + rows[row][0]
    elif kind == "state":
        typed = "integer\n%d" % vendor[rows[row][1]]
        if row in pending:
            rows[row][1] = pending.pop(row)
    else:
        typed = "integer\n0"
    return ".%s\n%s\n" % (".".join(map(str, oid)), typed)


def set_control(oid, kind, text):
    table = objects()
    if oid not in table or table[oid][0] != "control":
        return "not-writable"
    if kind != "integer" or text not in ("0", "1", "2", "3"):
        return "wrong-value"
    row, action = table[oid][1], int(text)
    if action == 1:
        rows[row][1], pending[row] = "onWait", "on"
    elif action in (2, 3):
        rows[row][1], pending[row] = "offWait", "off" if action == 2 else "on"
    return "DONE"


def main():
    out = sys.stdout
    while True:
        command = sys.stdin.readline()
        if not command:
            return
        command = command.strip()
        if not command:
            # snmpd ends a set with an empty line; it expects no answer to it.
            continue
        if command == "PING":
            out.write("PONG\n")
        elif command in ("get", "getnext"):
            oid, table = parse(sys.stdin.readline()), objects()
            if command == "getnext":
                following = sorted(candidate for candidate in table if candidate > oid)
                oid = following[0] if following else None
            out.write(answer(oid, *table[oid]) if oid in table else "NONE\n")
        elif command == "set":
            oid = parse(sys.stdin.readline())
            kind, _, text = sys.stdin.readline().strip().partition(" ")
            out.write(set_control(oid, kind, text) + "\n")
        else:
            out.write("NONE\n")
        out.flush()


main()
