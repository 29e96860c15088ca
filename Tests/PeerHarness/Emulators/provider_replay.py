#!/usr/bin/env python3
"""Replay servers for the provider APIs of seeds 001 (IONOS Cloud Panel), 002/003 (Venocix) and 004 (CloudSigma 1.0).

Answers are the seeds' own examples (same keys, values and error texts), with state: a power action changes what
the next status read returns, one read later than the call (as real providers pass through POWERING_* states).
Test control (never part of a provider API):
  POST /_control/queue     {"status": 429, "headers": {...}, "body": "..."}  answered to the next API request
  GET  /_control/requests  every API request seen: method, path, authorization, body
  POST /_control/state     {"server": "<id>", "key": "value"...}  overrides server fields
Usage: provider_replay.py ionos|venocix|cloudsigma PORT
"""
import base64, copy, http.server, json, re, sys, threading, uuid

provider, port = sys.argv[1], int(sys.argv[2])
lock = threading.Lock()
queued, requests = [], []

IONOS_TOKEN = "ionos-test-token-0123456789abcdef"
VENOCIX_TOKEN = "1|qpVodrZ3edt0DV4Q81dxQekTAessUHcH0Zjqv4t6"
SIGMA_USER, SIGMA_PASSWORD = "foo.bar@example.com", "sigma-secret-pw"

ionos_servers = {
    "39AA65F5D5B02FA02D58173094EBAF95": {
        "id": "39AA65F5D5B02FA02D58173094EBAF95", "cloudpanel_id": "958FA92", "name": "My Server 1", "description": "",
        "server_type": "cloud", "creation_date": "2015-05-04T06:32:15+00:00", "first_password": "Fg52K21nz8", "ssh_password": True,
        "status": {"state": "POWERED_ON", "percent": None},
        "image": {"id": "3C3F2FA3DB91318E8DCCB9F405339F76", "name": "centos7-64std"},
        "ips": [{"id": "8D135204687B9CF9E79E7A93C096E336", "ip": "10.4.140.213", "type": "IPV4", "reverse_dns": None, "main": True,
                 "firewall_policy": {"id": "7DFF10879F4EBA8D478A1D58A46665AE", "name": "Linux"}, "load_balancers": []}],
    },
}
ionos_pending = {}  # server id -> list of states the next status reads return
ionos_appliances = [
    {"id": "55726DEDA20C99CF6F2AF8F18CAC9963", "name": "w2012r2datacenter64iso", "os_family": "Windows", "os": "WindowsDatacenter",
     "os_version": "Windows2012R2", "architecture": 64, "os_image_type": "ISO_OS", "type": "ISO", "automatic_installation": False},
    {"id": "B5F778B85C041347BCDCFC3172AB3F3C", "name": "centos7-64std", "os_family": "Linux", "os": "CentOS", "os_version": "CentOS7",
     "architecture": 64, "os_image_type": "Standard", "type": "IMAGE", "automatic_installation": True},
]

venocix_vms = {"4001": {"cpu": 0, "mem": 455467008, "memfree": 577208320, "netin": 52240, "netout": 47492, "uptime": 1164, "state": "running",
                        "iso": None}}
# Seed 003's ISO list; inserting one restarts the VM from it ("rebooted": true beside the result).
venocix_isos = [{"id": "ISOs:iso/debian-11.5.0-amd64-netinst-0.iso", "name": "debian-11.5.0-amd64-netinst.iso"}]
venocix_dedicated = {"9": {"orderId": 324, "traffic": 0, "netin": 0, "netout": 0, "uptime": 0, "state": "running", "status": "online",
                           "installation": False, "installation_reads": 0, "template": "Debian Jessie"}}
venocix_pending = {}
venocix_jobs = {}

sigma_servers = {
    "bb783ced-d2b4-4003-a66e-87337ea6427e": {
        "status": "active", "name": "dbserver1", "tx": "0", "nic:1:model": "e1000", "mem": "4096", "rx": "0", "boot": "ide:0:0",
        "vnc:password": "KD9R3jcF", "persistent": "true", "ide:0:0": "529ec0ce-f930-4b69-8aca-d438e9bbe6d3", "cpu": "4000",
        "user": "f2e19d5c-eaa1-44e5-94aa-dc194594bd7b", "nic:0:model": "e1000", "vnc:ip": "91.203.56.72", "smp": "4",
        "server": "bb783ced-d2b4-4003-a66e-87337ea6427e", "nic:0:dhcp": "91.203.56.72",
    },
}
sigma_drives = {
    "529ec0ce-f930-4b69-8aca-d438e9bbe6d3": {"status": "active", "user": "f2e19d5c-eaa1-44e5-94aa-dc194594bd7b", "size": "5368709120",
                                              "name": "root", "drive": "529ec0ce-f930-4b69-8aca-d438e9bbe6d3"},
    "7e8ab721-81c9-4cb9-a651-4cafbfe1501c": {"status": "active", "user": "f2e19d5c-eaa1-44e5-94aa-dc194594bd7b", "size": "1073741824",
                                              "name": "gentoo-livecd", "drive": "7e8ab721-81c9-4cb9-a651-4cafbfe1501c"},
    "a49e25b3-69f4-440b-87a8-d79fa78ace53": {"status": "active", "user": "00000000-0000-0000-0000-000000000001", "size": "2147483648",
                                              "name": "Debian 11 standard image", "drive": "a49e25b3-69f4-440b-87a8-d79fa78ace53"},
}
sigma_standard_images = ["a49e25b3-69f4-440b-87a8-d79fa78ace53"]
sigma_pending = {}


def ionos_status(server_id):
    server = ionos_servers[server_id]
    pending = ionos_pending.get(server_id)
    if pending:
        state, percent = pending.pop(0)
        server["status"] = {"state": state, "percent": percent}
    return server["status"]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def reply(self, status, body, content_type="application/json", headers=None):
        data = body if isinstance(body, bytes) else (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = self.path.split("?")[0]
        if path.startswith("/_control/"):
            return self.control(method, path, raw)
        with lock:
            requests.append({"method": method, "path": self.path, "authorization": self.headers.get("Authorization"),
                             "xToken": self.headers.get("X-TOKEN"), "contentType": self.headers.get("Content-Type"),
                             "body": raw.decode(errors="replace")})
            if queued:
                canned = queued.pop(0)
                return self.reply(canned.get("status", 200), canned.get("body", ""), canned.get("contentType", "application/json"),
                                  canned.get("headers"))
            try:
                return getattr(self, provider)(method, path, raw)
            except KeyError:
                return self.not_found(path)

    def control(self, method, path, raw):
        with lock:
            if path == "/_control/queue":
                queued.append(json.loads(raw))
                return self.reply(200, {"queued": len(queued)})
            if path == "/_control/requests":
                return self.reply(200, requests)
            if path == "/_control/state":
                change = json.loads(raw)
                server = change.pop("server")
                table = {"ionos": ionos_servers, "venocix": venocix_vms, "cloudsigma": sigma_servers}[provider]
                table.get(server, venocix_dedicated.get(server, {})).update(change)
                return self.reply(200, {"ok": True})
        return self.reply(404, {"error": "unknown control"})

    def not_found(self, path):
        if provider == "ionos":
            return self.reply(404, {"Type": "SERVER_NOT_FOUND", "Message": "Server not found", "Errors": None})
        if provider == "venocix":
            match = re.search(r"/(?:server|dedicated)/([^/]+)", path)
            return self.reply(404, {"result": False, "error": "0x01: no vm with id %s found" % (match.group(1) if match else "?")})
        return self.reply(404, "Not Found: %s\n" % path, "text/plain")

    # IONOS Cloud Panel (seed 001) ---------------------------------------------------------------
    def ionos(self, method, path, raw):
        limits = {"X-Rate-Limit-Limit": "25", "X-Rate-Limit-Remaining": "24", "X-Rate-Limit-Reset": "60"}
        if self.headers.get("X-TOKEN") != IONOS_TOKEN:
            return self.reply(401, {"type": "UNAUTHORIZED", "message": "The Token you are using is not valid", "errors": None}, headers=limits)
        if path == "/v1/ping_auth":
            return self.reply(200, ["PONG"], headers=limits)
        if path == "/v1/servers" and method == "GET":
            return self.reply(200, [dict(s) for s in ionos_servers.values()], headers=limits)
        if path == "/v1/server_appliances":
            return self.reply(200, ionos_appliances, headers=limits)
        if path == "/v1/dvd_isos":
            # Seed 001's /dvd_isos example (first entry).
            return self.reply(200, [{"id": "55726DEDA20C99CF6F2AF8F18CAC9963", "name": "w2012r2datacenter64iso",
                                     "os_family": "Windows", "os": "WindowsDatacenter", "os_version": "Windows2012R2",
                                     "architecture": 64, "type": "ISO"}], headers=limits)
        match = re.fullmatch(r"/v1/servers/([^/]+)(/.*)?", path)
        if match:
            server_id, rest = match.group(1), match.group(2) or ""
            server = ionos_servers[server_id]
            if rest == "/status" and method == "GET":
                return self.reply(200, ionos_status(server_id), headers=limits)
            if rest == "/status/action" and method == "PUT":
                body = json.loads(raw or b"{}")
                action, how = body.get("action"), body.get("method")
                if action not in ("POWER_ON", "POWER_OFF", "REBOOT"):
                    return self.reply(400, {"Type": "INVALID_PARAMETERS", "Message": "Required field(s) action missing or empty. ",
                                            "Errors": {"action": action}}, headers=limits)
                if body.get("recovery_mode") and not body.get("recovery_image_id"):
                    return self.reply(400, {"Type": "INVALID_PARAMETERS", "Message": "Required field(s) recovery_image_id missing or empty. ",
                                            "Errors": {"recovery_image_id": None}}, headers=limits)
                server["recovery_mode"] = bool(body.get("recovery_mode"))
                if action == "POWER_ON":
                    ionos_pending[server_id] = [("POWERING_ON", None), ("POWERED_ON", None)]
                    server["status"] = {"state": "POWERING_ON", "percent": None}
                elif action == "POWER_OFF":
                    ionos_pending[server_id] = [("POWERING_OFF", None), ("POWERED_OFF", None)]
                    server["status"] = {"state": "POWERING_OFF", "percent": None}
                else:
                    ionos_pending[server_id] = [("REBOOTING", None), ("POWERED_ON", None)]
                    server["status"] = {"state": "REBOOTING", "percent": None}
                server["last_action"] = {"action": action, "method": how}
                return self.reply(202, server, headers=limits)
            if rest == "/image" and method == "PUT":
                body = json.loads(raw or b"{}")
                if not body.get("id"):
                    return self.reply(400, {"Type": "INVALID_PARAMETERS", "Message": "Required field(s) id missing or empty. ",
                                            "Errors": {"id": "15287F3524A6D41E0A03E951D64960E3"}}, headers=limits)
                appliance = next((a for a in ionos_appliances if a["id"] == body["id"]), None)
                if appliance is None:
                    return self.reply(404, {"Type": "NOT_FOUND", "Message": "Image not found", "Errors": None}, headers=limits)
                server["image"] = {"id": appliance["id"], "name": appliance["name"]}
                server["first_password"] = None if body.get("password") else "Qa3xFdc4MW"
                ionos_pending[server_id] = [("DEPLOYING", 15), ("DEPLOYING", 60), ("CONFIGURING", 90), ("POWERED_ON", None)]
                server["status"] = {"state": "DEPLOYING", "percent": 15}
                return self.reply(202, server, headers=limits)
            if rest == "/dvd":
                if method == "GET":
                    return self.reply(200, server.get("dvd"), headers=limits)
                if method == "PUT":
                    dvd_id = json.loads(raw or b"{}").get("id")
                    if dvd_id != "55726DEDA20C99CF6F2AF8F18CAC9963":
                        return self.reply(404, {"Type": "NOT_FOUND", "Message": "DVD not found", "Errors": None}, headers=limits)
                    server["dvd"] = {"id": dvd_id, "name": "w2012r2datacenter64iso"}
                    return self.reply(202, server, headers=limits)
                if method == "DELETE":
                    server["dvd"] = None
                    return self.reply(202, server, headers=limits)
            if rest == "/ips" and method == "GET":
                return self.reply(200, server["ips"], headers=limits)
        match = re.fullmatch(r"/v1/public_ips/([^/]+)", path)
        if match and method == "PUT":
            for server in ionos_servers.values():
                for address in server["ips"]:
                    if address["id"] == match.group(1):
                        address["reverse_dns"] = json.loads(raw)["reverse_dns"]
                        return self.reply(202, {"id": address["id"], "ip": address["ip"], "type": "IPV4", "reverse_dns": address["reverse_dns"]},
                                          headers=limits)
            raise KeyError(match.group(1))
        match = re.fullmatch(r"/v1/monitoring_center/([^/]+)", path)
        if match:
            server = ionos_servers[match.group(1)]
            data = [{"date": "2015-19-05T00:%02d:00Z" % minute, "downstream": minute * 10, "upstream": minute * 20} for minute in (5, 10, 15)]
            return self.reply(200, {"id": server["id"], "name": server["name"], "status": {"state": server["status"]["state"]},
                                    "transfer": {"warning": 1000, "critical": 2000, "data": data,
                                                 "unit": {"downstream": "bps", "upstream": "bps"}}}, headers=limits)
        return self.reply(405, {"type": "METHOD_NOT_ALLOWED", "message": "Method not allowed", "errors": None}, headers=limits)

    # Venocix (seeds 002 and 003) ------------------------------------------------------------------
    def venocix(self, method, path, raw):
        if self.headers.get("Authorization") != "Bearer " + VENOCIX_TOKEN:
            return self.reply(401, {"result": False, "error": "0x03: unauthorized"})
        path = path[len("/api/v1"):] if path.startswith("/api/v1") else path
        if path == "/datacenter/server" and method == "GET":
            return self.reply(200, {"result": [int(sid) for sid in venocix_vms]})
        if path == "/datacenter/dedicated" and method == "GET":
            return self.reply(200, {"result": [{"id": int(sid), "orderComplete": True} for sid in venocix_dedicated]})
        if path == "/datacenter/templates":
            return self.reply(200, {"result": ["Debian10.0"]})
        if path == "/datacenter/dedicated/templates":
            return self.reply(200, {"result": ["Debian 10 Buster (DE)", "Ubuntu 20.04 LTS"]})
        match = re.fullmatch(r"/job/([^/]+)", path)
        if match:
            job = venocix_jobs.get(match.group(1))
            if job is None:
                return self.reply(404, {"result": False, "error": "0xc1: job not found"})
            step = job["steps"].pop(0) if len(job["steps"]) > 1 else job["steps"][0]
            return self.reply(200, {"result": step})
        match = re.fullmatch(r"/datacenter/(server|dedicated)/([^/]+)/(.+)", path)
        if not match:
            raise KeyError(path)
        kind, sid, command = match.groups()
        table = venocix_vms if kind == "server" else venocix_dedicated
        if sid not in table:
            return self.reply(404, {"result": False, "error": "0x01: no vm with id %s found" % sid})
        server = table[sid]
        pending = venocix_pending.setdefault(sid, [])
        if command == "status" and method == "GET":
            if pending:
                server["state"] = pending.pop(0)
                if kind == "dedicated":
                    server["status"] = "online" if server["state"] == "running" else "offline"
            shown = {k: v for k, v in server.items()
                     if k not in ("installation", "installation_reads", "template", "installing", "rdns", "iso") and not k.startswith("_")}
            return self.reply(200, {"result": shown})
        transitions = {"start": "running", "stop": "stopped", "shutdown": "stopped", "reboot": "running", "reboot/force": "running",
                       "reset": "running"}
        if kind == "dedicated":
            transitions = {"start": "running", "shutdown": "halted", "reboot": "running"}
        if command in transitions and method == "PUT":
            target = transitions[command]
            if command.startswith("reboot") or command == "reset":
                pending[:] = ["stopped" if kind == "server" else "halted", target]
            else:
                pending[:] = [target]
            return self.reply(200, {"result": True})
        if command == "reinstall" and method == "PUT":
            body = json.loads(raw or b"{}")
            if kind == "dedicated":
                if not body.get("template"):
                    return self.reply(401, {"result": False, "error": "0xb1: Missing required parameter template"})
                server["template"] = body["template"]
                server["installation_reads"] = 0
                server["installing"] = True
                return self.reply(200, {"result": True})
            job_id = str(15 + len(venocix_jobs))
            if body.get("template") == "Oversized":
                steps = [{"status": "queued", "progress": 0, "output": None},
                         {"status": "executing", "progress": 0.33, "output": None},
                         {"status": "failed", "progress": 0.33, "output": "0xb0: Requested resources exceed administrative limits"}]
            else:
                steps = [{"status": "queued", "progress": 0, "output": None},
                         {"status": "executing", "progress": 0.33, "output": None},
                         {"status": "finished", "progress": 1,
                          "output": {"vmid": int(sid), "ips": ["37.114.41.200"], "user": "root", "password": "Vx-Job-Pass-7731"}}]
            venocix_jobs[job_id] = {"steps": steps}
            return self.reply(200, {"result": {"status": "queued", "jobId": int(job_id), "progress": 0}})
        if command == "installation" and kind == "dedicated" and method == "GET":
            if server.get("installing"):
                server["installation_reads"] += 1
                if server["installation_reads"] > 2:
                    server["installing"] = False
            return self.reply(200, {"result": {"ssh": {"root": {"password": "UOosKBueLhn8"}, "user": {"username": "user", "password": "UOosKBueLhn8"}},
                                               "installation": server.get("installing", False), "template": server["template"], "mac": ""}})
        if command == "password/reset" and method == "PUT" and kind == "server":
            body = json.loads(raw or b"{}")
            password = body.get("password")
            if password is not None and len(password) < 6:
                return self.reply(500, {"result": False, "error": "0xa1: failed to set config on vm"})
            server["_root_password"] = password or "Vx-Reset-Pass-4411"
            return self.reply(200, {"result": {"status": "success", "password": server["_root_password"]}})
        if command == "config" and method == "GET" and kind == "server":
            # Seed 003's VM configuration, where the inserted ISO shows.
            return self.reply(200, {"result": {"cpuCores": 2, "mem": 2048, "disk": "100G", "ips": ["37.114.41.200"],
                                               "template": server.get("template", "Debian10.0"), "iso": server.get("iso")}})
        if command == "iso" and kind == "server":
            if method == "GET":
                return self.reply(200, {"result": venocix_isos})
            if method == "POST":
                iso_id = json.loads(raw or b"{}").get("isoId")
                if iso_id not in [iso["id"] for iso in venocix_isos]:
                    return self.reply(404, {"result": False, "error": "0x01: no iso %s found" % iso_id})
                server["iso"] = iso_id
                pending[:] = ["stopped", "running"]
                return self.reply(200, {"result": True, "rebooted": True})
            if method == "DELETE":
                server["iso"] = None
                return self.reply(200, {"result": True})
        if command == "console" and method == "GET":
            return self.reply(200, {"result": "https://hosterapi.de/novnc/vnc.html?host=hosterapi.de&password=PVEVNC:604F72EF::e+9gopwLaB77&path=novnc%2Fproxy%2F" + sid})
        if command == "rdns" and method in ("POST", "PUT"):
            body = json.loads(raw or b"{}")
            if not body.get("ip") or not body.get("hostname"):
                return self.reply(401, {"result": False, "error": "0xb1: Missing required parameter hostname"})
            server["rdns"] = {body["ip"]: body["hostname"]}
            return self.reply(200, {"result": True})
        return self.reply(404, {"result": False, "error": "0x01: no vm with id %s found" % sid})

    # CloudSigma 1.0 (seed 004) -------------------------------------------------------------------
    def cloudsigma(self, method, path, raw):
        expected = "Basic " + base64.b64encode(("%s:%s" % (SIGMA_USER, SIGMA_PASSWORD)).encode()).decode()
        if self.headers.get("Authorization") != expected:
            return self.reply(401, "HTTP Basic Authentication missing or incorrect\n", "text/plain")
        text = lambda obj: "".join("%s %s\n" % (k, v) for k, v in obj.items())
        if path == "/profile/info":
            return self.reply(200, "uuid f2e19d5c-eaa1-44e5-94aa-dc194594bd7b\nemail foo.bar@example.com\nfirst_name Foo\nlast_name Bar\n", "text/plain")
        if path == "/servers/info":
            return self.reply(200, "\n".join(text(s) for s in sigma_servers.values()), "text/plain")
        if path == "/drives/standard/img/list":
            return self.reply(200, "".join(d + "\n" for d in sigma_standard_images), "text/plain")
        match = re.fullmatch(r"/servers/([^/]+)/(info|start|stop|shutdown|set)", path)
        if match:
            uuid_, command = match.groups()
            server = sigma_servers[uuid_]
            pending = sigma_pending.setdefault(uuid_, [])
            if command == "info":
                if pending:
                    server["status"] = pending.pop(0)
                return self.reply(200, text(server), "text/plain")
            if command == "set":
                if method != "POST":
                    return self.reply(405, "GET used on command expecting POST\n", "text/plain")
                for line in raw.decode().splitlines():
                    if line.strip():
                        key, _, value = line.strip().partition(" ")
                        if key.startswith("ide:") and value not in sigma_drives:
                            return self.reply(400, "errors:%s Drive %s not found\n" % (key, value), "text/plain")
                        server[key] = value
                return self.reply(200, text(server), "text/plain")
            if command == "start":
                if server["status"] == "active":
                    return self.reply(409, "errors:status Server is already running\n", "text/plain")
                server["status"] = "active"
            elif command == "stop":
                server["status"] = "stopped"
            elif command == "shutdown":
                pending[:] = ["active", "stopped"]
            return self.reply(204, b"", "text/plain")
        match = re.fullmatch(r"/drives/([^/]+)/(info|clone)", path)
        if match:
            drive_id, command = match.groups()
            drive = sigma_drives[drive_id]
            if command == "info":
                reads = drive.get("_imaging")
                if reads:
                    drive["imaging"] = reads.pop(0)
                    if not reads:
                        drive.pop("_imaging")
                        drive.pop("imaging")
                        drive["status"] = "active"
                return self.reply(200, text({k: v for k, v in drive.items() if not k.startswith("_")}), "text/plain")
            if method != "POST":
                return self.reply(405, "GET used on command expecting POST\n", "text/plain")
            fields = dict(line.strip().partition(" ")[::2] for line in raw.decode().splitlines() if line.strip())
            if "name" not in fields:
                return self.reply(400, "errors:name * This field is required.\n", "text/plain")
            if int(fields.get("size", "0")) < int(drive["size"]):
                return self.reply(400, "errors:size The new size is less than the original\n", "text/plain")
            new_id = str(uuid.uuid4())
            sigma_drives[new_id] = {"status": "inactive", "user": "f2e19d5c-eaa1-44e5-94aa-dc194594bd7b", "size": fields["size"],
                                    "name": fields["name"], "drive": new_id, "imaging": "0%", "_imaging": ["45%", "90%", "done"]}
            return self.reply(200, text({k: v for k, v in sigma_drives[new_id].items() if not k.startswith("_")}), "text/plain")
        raise KeyError(path)

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_DELETE(self):
        self.handle_any("DELETE")


server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
print("listening on", port, flush=True)
server.serve_forever()
