#!/usr/bin/env python3
"""A ServerTech Sentry3 outlet table behind net-snmp's snmpd (pass_persist), with the side effect snmpsim cannot
give: writing outletControlAction changes outletStatus, through the wait state for one read, as the PDU does.

Rows (tower.infeed.outlet): 1.1.1, 1.1.2 on infeed A and 1.2.1, 1.2.2 on infeed B.
Columns of outletEntry (1.3.6.1.4.1.1718.3.2.3.1): 3 outletName, 5 outletStatus (off 0, on 1, offWait 2,
onWait 3), 11 outletControlAction (none 0, on 1, off 2, reboot 3).
"""
import sys

BASE = (1, 3, 6, 1, 4, 1, 1718, 3, 2, 3, 1)
rows = {(1, 1, 1): ["server-a", 1], (1, 1, 2): ["server-b", 0], (1, 2, 1): ["server-c", 1], (1, 2, 2): ["server-d", 1]}
pending = {}  # row -> final status after the wait state has been read once


def value(column, row):
    if column == 3:
        return "string", rows[row][0]
    if column == 5:
        return "integer", str(rows[row][1])
    return "integer", "0"


def objects():
    return sorted(BASE + (column,) + row for column in (3, 5, 11) for row in rows)


def parse(text):
    return tuple(int(part) for part in text.strip().strip(".").split("."))


def show(oid):
    return "." + ".".join(str(part) for part in oid)


def answer(oid):
    column, row = oid[len(BASE)], oid[len(BASE) + 1:]
    kind, text = value(column, row)
    if column == 5 and row in pending:
        rows[row][1] = pending.pop(row)
    return "%s\n%s\n%s\n" % (show(oid), kind, text)


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
            oid = parse(sys.stdin.readline())
            if command == "get":
                out.write(answer(oid) if oid in objects() else "NONE\n")
            else:
                following = [candidate for candidate in objects() if candidate > oid]
                out.write(answer(following[0]) if following else "NONE\n")
        elif command == "set":
            oid = parse(sys.stdin.readline())
            kind, _, text = sys.stdin.readline().strip().partition(" ")
            column, row = oid[len(BASE)] if len(oid) > len(BASE) else None, oid[len(BASE) + 1:]
            if column != 11 or row not in rows:
                out.write("not-writable\n")
            elif kind != "integer" or text not in ("0", "1", "2", "3"):
                out.write("wrong-value\n")
            else:
                action = int(text)
                if action == 1:
                    rows[row][1], pending[row] = 3, 1
                elif action == 2:
                    rows[row][1], pending[row] = 2, 0
                elif action == 3:
                    rows[row][1], pending[row] = 2, 1
                out.write("DONE\n")
        else:
            out.write("NONE\n")
        out.flush()


main()
