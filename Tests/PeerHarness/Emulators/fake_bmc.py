#!/usr/bin/env python3
"""A scriptable fake IPMI BMC (RMCP+/lanplus on UDP 127.0.0.1) built on pyghmi's `pyghmi.ipmi.bmc.Bmc`,
for tests that need a BMC which misbehaves.

Usage: fake_bmc.py --port PORT --state-dir DIR [--address 127.0.0.1] [--user admin] [--password secret]
                   [--mode normal|ignore-power|ignore-reset|silent-power|silent-chassis] [--cycle-off-seconds 2.0] [--initial-power on|off]

Prints `fake_bmc ready on 127.0.0.1:PORT` once listening. Client: `ipmitool -I lanplus -C 3 ...` (pyghmi only
speaks cipher suite 3; it also answers Get Channel Cipher Suites, so leaving out -C works too).

State shared with the test (DIR):
  power.state   "1" on / "0" off; re-read on every status query, so a test may write it to inject a state.
  commands.log  one line per chassis control / restart-cause request: `power on`, `power off`, `power cycle`,
                `power reset`, `power diag`, `power soft`, `restart_cause` (status queries are not logged).

Modes (every chassis control command is answered with completion code 0 in every mode):
  normal        on/off/soft set the state; on from off records a restart. reset keeps the state on and records
                a restart; cycle powers off, then after --cycle-off-seconds powers on and records a restart.
  ignore-power  every power control is accepted but the state never changes and no restart is recorded.
  ignore-reset  on/off/soft as in normal mode; reset and cycle are accepted and do nothing.
  silent-power  power control acts as in normal mode (once per request; retransmissions are not acted on again),
                but its answer is never sent: the reply "lost on the way back".
  silent-chassis as silent-power, and status reads (Get Chassis Status) go unanswered too.

Get System Restart Cause (netfn chassis 0x00, cmd 0x07) answers [cause, channel]: cause 0x0 (unknown) until a
restart is recorded, then 0x1 (chassis control command), channel 1 (the LAN channel).
"""
import argparse
import os
import sys
import threading

import pyghmi.ipmi.bmc as bmc

NETFN_CHASSIS = 0x00
CMD_GET_CHASSIS_STATUS = 0x01
CMD_CHASSIS_CONTROL = 0x02
CMD_GET_RESTART_CAUSE = 0x07
CAUSE_UNKNOWN = 0x0
CAUSE_CHASSIS_CONTROL = 0x1
LAN_CHANNEL = 1


class FakeBmc(bmc.Bmc):
    def __init__(self, args):
        super().__init__({args.user: args.password}, port=args.port, address=args.address)
        self.mode = args.mode
        self.cycle_off_seconds = args.cycle_off_seconds
        self.state_file = os.path.join(args.state_dir, "power.state")
        self.log_file = os.path.join(args.state_dir, "commands.log")
        self.restart_cause = CAUSE_UNKNOWN
        self.lock = threading.Lock()  # the cycle timer thread and the IPMI loop share the state
        self.cycle_timer = None
        self.last_silent_sequence = None
        self.write_power(args.initial_power == "on")

    # -- state files --------------------------------------------------------------------------------------

    def read_power(self):
        try:
            with open(self.state_file) as f:
                return f.read().strip() == "1"
        except OSError:
            return False

    def write_power(self, on):
        temporary = self.state_file + ".tmp"
        with open(temporary, "w") as f:
            f.write("1\n" if on else "0\n")
        os.replace(temporary, self.state_file)  # atomic, a reader never sees an empty file

    def log(self, line):
        with open(self.log_file, "a") as f:
            f.write(line + "\n")

    # -- behaviour ----------------------------------------------------------------------------------------

    def cancel_cycle(self):
        if self.cycle_timer is not None:
            self.cycle_timer.cancel()
            self.cycle_timer = None

    def set_power(self, on):
        """An explicit on/off (also ends a cycle in progress). Power on from off counts as a restart."""
        with self.lock:
            self.cancel_cycle()
            if on and not self.read_power():
                self.restart_cause = CAUSE_CHASSIS_CONTROL
            self.write_power(on)

    def finish_cycle(self):
        with self.lock:
            self.cycle_timer = None
            self.write_power(True)
            self.restart_cause = CAUSE_CHASSIS_CONTROL

    # pyghmi hooks: each must return a completion code (None is mapped to 0 by control_chassis, but not by
    # cold_reset, so always return 0 explicitly).

    def get_power_state(self):
        return "on" if self.read_power() else "off"

    def power_on(self):
        self.log("power on")
        if self.mode != "ignore-power":
            self.set_power(True)
        return 0

    def power_off(self):
        self.log("power off")
        if self.mode != "ignore-power":
            self.set_power(False)
        return 0

    def power_shutdown(self):  # ACPI soft off: the "OS" obeys at once
        self.log("power soft")
        if self.mode != "ignore-power":
            self.set_power(False)
        return 0

    def power_reset(self):
        self.log("power reset")
        if self.mode == "normal":
            with self.lock:
                self.cancel_cycle()
                self.write_power(True)
                self.restart_cause = CAUSE_CHASSIS_CONTROL
        return 0

    def power_cycle(self):
        self.log("power cycle")
        if self.mode == "normal":
            with self.lock:
                self.cancel_cycle()
                self.write_power(False)
                self.cycle_timer = threading.Timer(self.cycle_off_seconds, self.finish_cycle)
                self.cycle_timer.daemon = True
                self.cycle_timer.start()
        return 0

    def pulse_diag(self):
        self.log("power diag")
        return 0

    def act_without_answering(self, request, session):
        """Carries out a chassis control request and sends nothing back. ipmitool repeats an unanswered request
        with the same sequence number (pyghmi keeps the request's in `seqlun` in server mode); only the first copy
        acts."""
        sequence = (id(session), getattr(session, "seqlun", None))
        if sequence == self.last_silent_sequence:
            return
        self.last_silent_sequence = sequence
        actions = {0: self.power_off, 1: self.power_on, 2: self.power_cycle, 3: self.power_reset, 4: self.pulse_diag, 5: self.power_shutdown}
        action = actions.get(request["data"][0] if request["data"] else None)
        if action is not None:
            with_normal_behaviour = self.mode
            self.mode = "normal"
            try:
                action()
            finally:
                self.mode = with_normal_behaviour

    def cold_reset(self):
        return 0  # "mc reset cold": accepted, the fake keeps running

    def handle_raw_request(self, request, session):
        if self.mode in ("silent-power", "silent-chassis") and request["netfn"] == NETFN_CHASSIS and request["command"] == CMD_CHASSIS_CONTROL:
            self.act_without_answering(request, session)
            return None
        if self.mode == "silent-chassis" and request["netfn"] == NETFN_CHASSIS and request["command"] == CMD_GET_CHASSIS_STATUS:
            return None
        if request["netfn"] == NETFN_CHASSIS and request["command"] == CMD_GET_RESTART_CAUSE:
            self.log("restart_cause")
            with self.lock:
                cause = self.restart_cause
            return session.send_ipmi_response(data=[cause & 0x0F, LAN_CHANNEL])
        return super().handle_raw_request(request, session)


def main():
    parser = argparse.ArgumentParser(description="Scriptable fake IPMI BMC (pyghmi) for tests.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--address", default="127.0.0.1", choices=["127.0.0.1"], help="loopback only")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password", default="secret")
    parser.add_argument("--mode", default="normal", choices=["normal", "ignore-power", "ignore-reset", "silent-power", "silent-chassis"])
    parser.add_argument("--cycle-off-seconds", type=float, default=2.0)
    parser.add_argument("--initial-power", default="off", choices=["on", "off"])
    args = parser.parse_args()
    os.makedirs(args.state_dir, exist_ok=True)
    fake = FakeBmc(args)  # binds the UDP socket here
    print(f"fake_bmc ready on {args.address}:{args.port}", flush=True)
    fake.listen(timeout=30)  # runs until killed


if __name__ == "__main__":
    sys.exit(main())
