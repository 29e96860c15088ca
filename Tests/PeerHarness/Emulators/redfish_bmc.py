#!/usr/bin/env python3
"""A small Redfish BMC with sessions, for the behaviour sushy-tools' emulator does not have: X-Auth-Token sessions
(SessionService), a reset action listed through ActionInfo, LastResetTime, and misbehaviour on demand.

Power changes apply `apply_delay` seconds after the reset (like real BMCs). A restart turns the system off at once and
on again after the delay, and moves LastResetTime.
Test control (never part of the Redfish API):
  POST /_control/behaviour {"expireSessions": true}   every session token issued so far is refused (401) from now on
                           {"busy": N}                the next N API requests answer 503 with Retry-After: 0
                           {"ignoreResets": true}     resets answer 204 and change nothing
                           {"applyDelay": 0.5}        seconds until a power change shows
                           {"hideRestarts": true}     a restart shows neither Off nor a new LastResetTime
                           {"managerAwaySeconds": 2}   after Manager.Reset, connections are dropped unanswered this long
                                                      (0: the BMC ignores the reset and answers throughout)
                           {"busyResets": N}          the next N resets answer 503 (reads are answered)
                           {"dropAfterReset": true}   a reset is carried out, then its connection dropped unanswered
                           {"stallBody": true}        a read of the system sends its headers and then nothing
                           {"silent": true}           every request is taken and never answered (a hung BMC)
                           {"resetTypes": ["On", ...]} the reset types the ActionInfo lists (and the action takes)
                           {"slotAccounts": true}     accounts are fixed slots 1-6 (slot 1 reserved): POST and DELETE
                                                      answer 405, a user is made by filling an empty slot
AccountService: MinPasswordLength 8, MaxPasswordLength 20, and a password needs a digit (400 naming the rule).
  GET  /_control/requests  every API request seen: method, path, auth ("session", "basic" or "none"), status
Usage: redfish_bmc.py PORT USER PASSWORD
"""
import base64, http.server, json, secrets, sys, threading, time

port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
lock = threading.Lock()
sessions = {}           # token -> session id
expired_tokens = set()
requests_seen = []
behaviour = {"busy": 0, "ignoreResets": False, "applyDelay": 0.3, "hideRestarts": False, "slotAccounts": False,
             "resetTypes": ["On", "ForceOff", "GracefulShutdown", "ForceRestart", "PowerCycle"],
             "managerAwaySeconds": 2, "awayUntil": 0,
             "busyResets": 0, "dropAfterReset": False, "stallBody": False, "silent": False}
ACCOUNTS = "/redfish/v1/AccountService/Accounts"
sel_entries = [
    {"Id": "1", "EntryType": "SEL", "Severity": "Critical", "Created": "2026-11-30T10:00:00Z", "SensorType": "Temperature",
     "EntryCode": "Upper Critical - going high", "Message": "CPU1 Temp crossed its critical threshold"},
    {"Id": "2", "EntryType": "SEL", "Severity": "OK", "Created": "2026-11-30T10:05:00Z", "SensorType": "Power Supply",
     "EntryCode": "Deasserted", "Message": "PSU2 redundancy restored"},
]
ROLES = ("Administrator", "Operator", "ReadOnly", "NoAccess")
accounts = {"2": {"UserName": user, "Password": password, "RoleId": "Administrator", "Enabled": True}}
system = {"power": "Off", "pending": None, "lastReset": "2026-01-01T00:00:00+00:00", "boot": {
    "BootSourceOverrideEnabled": "Disabled", "BootSourceOverrideTarget": "None", "BootSourceOverrideMode": "UEFI"}}
SYSTEM = "/redfish/v1/Systems/1"


def settle():
    pending = system["pending"]
    if pending and time.time() >= pending[1]:
        system["power"] = pending[0]
        system["pending"] = None


def system_document():
    settle()
    return {
        "@odata.id": SYSTEM, "Id": "1", "Name": "Test system", "PowerState": system["power"], "LastResetTime": system["lastReset"],
        "Manufacturer": "RackAgent tests", "Model": "redfish_bmc.py", "SerialNumber": "RB-0001",
        "Boot": dict(system["boot"], **{"BootSourceOverrideTarget@Redfish.AllowableValues": ["None", "Pxe", "Hdd", "Cd", "BiosSetup"]}),
        "Actions": {"#ComputerSystem.Reset": {"target": SYSTEM + "/Actions/ComputerSystem.Reset",
                                              "@Redfish.ActionInfo": SYSTEM + "/ResetActionInfo"}},
        "Links": {"ManagedBy": [{"@odata.id": "/redfish/v1/Managers/BMC"}]},
        "EthernetInterfaces": {"@odata.id": SYSTEM + "/EthernetInterfaces"},
        "LogServices": {"@odata.id": SYSTEM + "/LogServices"},
    }


DOCUMENTS = {
    "/redfish/v1": lambda: {"@odata.id": "/redfish/v1", "RedfishVersion": "1.15.0", "Systems": {"@odata.id": "/redfish/v1/Systems"},
                            "Managers": {"@odata.id": "/redfish/v1/Managers"}, "SessionService": {"@odata.id": "/redfish/v1/SessionService"},
                            "AccountService": {"@odata.id": "/redfish/v1/AccountService"},
                            "Links": {"Sessions": {"@odata.id": "/redfish/v1/SessionService/Sessions"}}},
    "/redfish/v1/Systems": lambda: {"Members": [{"@odata.id": SYSTEM}], "Members@odata.count": 1},
    SYSTEM: system_document,
    SYSTEM + "/ResetActionInfo": lambda: {"Parameters": [{"Name": "ResetType", "Required": True, "AllowableValues": behaviour["resetTypes"]}]},
    SYSTEM + "/EthernetInterfaces": lambda: {"Members": [{"@odata.id": SYSTEM + "/EthernetInterfaces/NIC1"}]},
    SYSTEM + "/EthernetInterfaces/NIC1": lambda: {"Id": "NIC1", "MACAddress": "52:54:00:AB:CD:01", "SpeedMbps": 10000, "LinkStatus": "LinkUp"},
    SYSTEM + "/LogServices": lambda: {"Members": [{"@odata.id": SYSTEM + "/LogServices/Sel"}]},
    SYSTEM + "/LogServices/Sel": lambda: {"Id": "Sel", "LogEntryType": "SEL", "Entries": {"@odata.id": SYSTEM + "/LogServices/Sel/Entries"},
                                          "Actions": {"#LogService.ClearLog": {"target": SYSTEM + "/LogServices/Sel/Actions/LogService.ClearLog"}}},
    SYSTEM + "/LogServices/Sel/Entries": lambda: {"Members": [dict(entry) for entry in sel_entries]},
    "/redfish/v1/AccountService": lambda: {"MinPasswordLength": 8, "MaxPasswordLength": 20, "Accounts": {"@odata.id": ACCOUNTS}},
    ACCOUNTS: lambda: {"Members": [{"@odata.id": f"{ACCOUNTS}/{key}"} for key in sorted(accounts, key=int)]},
    "/redfish/v1/Managers": lambda: {"Members": [{"@odata.id": "/redfish/v1/Managers/BMC"}]},
    "/redfish/v1/Managers/BMC": lambda: {"@odata.id": "/redfish/v1/Managers/BMC", "FirmwareVersion": "1.0.0", "Model": "redfish_bmc.py",
                                         "Actions": {"#Manager.Reset": {"target": "/redfish/v1/Managers/BMC/Actions/Manager.Reset",
                                                                        "ResetType@Redfish.AllowableValues": ["GracefulRestart", "ForceRestart"]}}},
}


def account_document(key):
    account = accounts[key]
    return {"@odata.id": f"{ACCOUNTS}/{key}", "Id": key, "UserName": account["UserName"], "Password": None,
            "RoleId": account["RoleId"], "Enabled": account["Enabled"], "Locked": False, "AccountTypes": ["Redfish"]}


def password_problem(value):
    # Like real firmware (PropertyValueFormatError), the message echoes the value it refused.
    if len(value) < 8 or len(value) > 20:
        return f"The value '{value}' for the property Password must be 8 to 20 characters long"
    if not any(character.isdigit() for character in value):
        return f"The value '{value}' for the property Password does not meet the complexity requirements: at least one digit"
    return None


def account_change(key, changes):
    """Applies a PATCH (or a slot fill); answers (status, error message or None)."""
    if "Password" in changes and password_problem(changes["Password"]):
        return 400, password_problem(changes["Password"])
    if "RoleId" in changes and changes["RoleId"] not in ROLES:
        return 400, f"The value {changes['RoleId']} for RoleId is not in the list of acceptable values"
    name = changes.get("UserName")
    if name and any(other["UserName"] == name for other_key, other in accounts.items() if other_key != key):
        return 409, f"UserName {name} exists"
    for field in ("UserName", "Password", "RoleId", "Enabled"):
        if field in changes:
            accounts[key][field] = changes[field]
    return 204, None


def error_body(message):
    return {"error": {"code": "Base.1.0.GeneralError", "message": message, "@Message.ExtendedInfo": [{"Message": message}]}}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, document=None, headers=()):
        body = json.dumps(document).encode() if document is not None else b""
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if document is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        return json.loads(self.raw_body or b"{}")

    def control(self):
        if self.command == "GET" and self.path == "/_control/requests":
            with lock:
                return self.answer(200, requests_seen)
        if self.command == "POST" and self.path == "/_control/behaviour":
            changes = self.body()
            with lock:
                if changes.pop("expireSessions", False):
                    expired_tokens.update(sessions.keys())
                if changes.get("slotAccounts") and not behaviour["slotAccounts"]:
                    for key in ("1", "3", "4", "5", "6"):
                        accounts.setdefault(key, {"UserName": "", "Password": "", "RoleId": "NoAccess", "Enabled": False})
                behaviour.update(changes)
            return self.answer(204)
        return self.answer(404, error_body("no such control"))

    def handle_api(self):
        # Read the whole body first: an answer that leaves it unread would corrupt the next request on this connection.
        self.raw_body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = self.path.split("?")[0].rstrip("/") or "/"
        if path.startswith("/_control/"):
            return self.control()
        token = self.headers.get("X-Auth-Token")
        authorization = self.headers.get("Authorization", "")
        auth = "session" if token else ("basic" if authorization.startswith("Basic ") else "none")
        with lock:
            record = {"method": self.command, "path": path, "auth": auth}
            requests_seen.append(record)
            if time.time() < behaviour["awayUntil"]:
                # Rebooting: the connection goes away unanswered.
                record["status"] = 0
                self.close_connection = True
                self.connection.shutdown(2)
                return None
            if behaviour["silent"]:
                record["status"] = 0
                return self.hang()
            if behaviour["busy"] > 0:
                behaviour["busy"] -= 1
                record["status"] = 503
                return self.answer(503, error_body("The service is temporarily unavailable"), [("Retry-After", "0")])
            if path == "/redfish/v1" and self.command == "GET":
                record["status"] = 200
                return self.answer(200, DOCUMENTS[path]())
            if path == "/redfish/v1/SessionService/Sessions" and self.command == "POST":
                body = self.body()
                if body.get("UserName") != user or body.get("Password") != password:
                    record["status"] = 401
                    return self.answer(401, error_body("Invalid credentials"))
                new_token = secrets.token_hex(16)
                sessions[new_token] = str(len(sessions) + 1)
                record["status"] = 201
                return self.answer(201, {"Id": sessions[new_token], "UserName": user},
                                   [("X-Auth-Token", new_token), ("Location", "/redfish/v1/SessionService/Sessions/" + sessions[new_token])])
            authorised = (token in sessions and token not in expired_tokens) or \
                authorization == "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
            if not authorised:
                record["status"] = 401
                return self.answer(401, error_body("The session is not valid"))
            record["status"] = 200
            if self.command == "GET" and path == SYSTEM and behaviour["stallBody"]:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "100000")
                self.end_headers()
                self.wfile.write(b'{"Id": "1", ')
                self.wfile.flush()
                return self.hang()
            if self.command == "GET" and path in DOCUMENTS:
                return self.answer(200, DOCUMENTS[path]())
            if self.command == "POST" and path == SYSTEM + "/Actions/ComputerSystem.Reset":
                reset = self.body().get("ResetType")
                if behaviour["busyResets"] > 0:
                    behaviour["busyResets"] -= 1
                    record["status"] = 503
                    return self.answer(503, error_body("The service is temporarily unavailable"), [("Retry-After", "0")])
                if reset not in behaviour["resetTypes"]:
                    record["status"] = 400
                    return self.answer(400, error_body(f"ResetType {reset} is not supported"))
                record["status"] = 204
                if behaviour["ignoreResets"]:
                    return self.answer(204)
                settle()
                due = time.time() + behaviour["applyDelay"]
                if reset in ("On",):
                    system["pending"] = ("On", due)
                elif reset in ("ForceOff", "GracefulShutdown"):
                    system["pending"] = ("Off", due)
                elif not behaviour["hideRestarts"]:
                    system["power"] = "Off"
                    system["lastReset"] = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
                    system["pending"] = ("On", due)
                if behaviour["dropAfterReset"]:
                    record["status"] = 0
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return None
                return self.answer(204)
            if path.startswith(ACCOUNTS + "/") and path.count("/") == 5:
                key = path.rsplit("/", 1)[1]
                if key not in accounts:
                    record["status"] = 404
                    return self.answer(404, error_body("no such account"))
                if self.command == "GET":
                    return self.answer(200, account_document(key))
                if self.command == "PATCH":
                    status, problem = account_change(key, self.body())
                    record["status"] = status
                    return self.answer(status, error_body(problem) if problem else None)
                if self.command == "DELETE":
                    if behaviour["slotAccounts"]:
                        record["status"] = 405
                        return self.answer(405, error_body("Accounts are fixed slots"))
                    del accounts[key]
                    record["status"] = 204
                    return self.answer(204)
            if path == ACCOUNTS and self.command == "POST":
                if behaviour["slotAccounts"]:
                    record["status"] = 405
                    return self.answer(405, error_body("Accounts are fixed slots"))
                body = self.body()
                if not body.get("UserName") or "Password" not in body:
                    record["status"] = 400
                    return self.answer(400, error_body("UserName and Password are required"))
                key = str(max(int(k) for k in accounts) + 1)
                accounts[key] = {"UserName": "", "Password": "", "RoleId": "ReadOnly", "Enabled": False}
                status, problem = account_change(key, {k: body[k] for k in ("UserName", "Password", "RoleId", "Enabled") if k in body})
                if problem:
                    del accounts[key]
                    record["status"] = status
                    return self.answer(status, error_body(problem))
                record["status"] = 201
                return self.answer(201, account_document(key), [("Location", f"{ACCOUNTS}/{key}")])
            if self.command == "POST" and path == SYSTEM + "/LogServices/Sel/Actions/LogService.ClearLog":
                sel_entries[:] = [{"Id": "1", "EntryType": "SEL", "Severity": "OK", "Created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                   "SensorType": "Event Logging Disabled", "EntryCode": "Log Area Reset/Cleared", "Message": "Log cleared"}]
                record["status"] = 204
                return self.answer(204)
            if self.command == "POST" and path == "/redfish/v1/Managers/BMC/Actions/Manager.Reset":
                record["status"] = 204
                behaviour["awayUntil"] = time.time() + 0.5 + behaviour["managerAwaySeconds"] if behaviour["managerAwaySeconds"] > 0 else 0
                return self.answer(204)
            if self.command == "DELETE" and path.startswith("/redfish/v1/SessionService/Sessions/"):
                ended = [t for t, number in sessions.items() if "/redfish/v1/SessionService/Sessions/" + number == path]
                if not ended:
                    record["status"] = 404
                    return self.answer(404, error_body("no such session"))
                for t in ended:
                    expired_tokens.add(t)
                record["status"] = 204
                return self.answer(204)
            if self.command == "PATCH" and path == SYSTEM:
                boot = self.body().get("Boot") or {}
                for key in ("BootSourceOverrideTarget", "BootSourceOverrideEnabled", "BootSourceOverrideMode"):
                    if key in boot:
                        system["boot"][key] = boot[key]
                record["status"] = 204
                return self.answer(204)
            record["status"] = 404
            return self.answer(404, error_body("not found"))

    def hang(self):
        """Holds the request unanswered for 30 s without blocking other requests, then drops the connection."""
        lock.release()
        try:
            time.sleep(30)
        finally:
            lock.acquire()
        self.close_connection = True
        return None

    do_GET = do_POST = do_PATCH = do_DELETE = handle_api


server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
print(f"listening on {port}", flush=True)
server.serve_forever()
