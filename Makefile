# RackAgent: two commands on a fresh Debian 12 machine with the Swift toolchain:
#   make run    installs system packages, builds, runs the agent on embedded defaults in ./.rackagent
#   make test   installs the test peers too, runs swift test
SHELL := /bin/bash
SWIFT ?= swift
PREFIX ?= /usr/local
STATE_DIR ?= $(CURDIR)/.rackagent
PEERS_VENV ?= $(CURDIR)/.peers-venv
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export DEBIAN_FRONTEND := noninteractive

# What the agent needs to build and run.
RUN_PACKAGES := pkg-config libsnmp-dev libssh2-1-dev libsqlite3-dev ipmitool snmp dnsmasq ipxe libjs-xterm node-xterm novnc
# The real peers the tests talk to (test-peers.md).
TEST_PACKAGES := openipmi snmpd openssh-server isc-dhcp-server kea-dhcp4-server tftp-hpa \
	udhcpc isc-dhcp-client dhcping qemu-system-x86 ipxe-qemu iproute2 iputils-ping python3 python3-venv \
	curl wget dmidecode pciutils debconf chromium openssl debian-installer-12-netboot-amd64 ovmf
# PyPI peers: snmpsim (+ the two modules it needs but does not declare), fakenos, pykickstart (ksvalidator),
# pyghmi (the misbehaving BMC), the OpenAPI validator, schemathesis (status-code conformance of openapi.yaml), sushy-tools
# (the Redfish emulator; its bcrypt also writes the emulator's htpasswd).
PIP_PEERS := snmpsim==1.2.2 pysmi cryptography fakenos==1.2.1 pykickstart openapi-spec-validator pyghmi==1.6.19 schemathesis==4.32.5 \
	sushy-tools==2.2.0
# The venv is (re)filled whenever this list changes.
PEERS_STAMP := $(PEERS_VENV)/.rackagent-peers

# The reference tools the benchmarks measure the agent against (`make bench`; not needed to run or test the agent).
BENCH_PACKAGES := wrk nginx-light freeipmi-tools prometheus-snmp-exporter
BENCH_VENV ?= $(CURDIR)/.bench-venv
BENCH_PIP := netmiko==4.5.0

.PHONY: run test test-slow bench build release install-system install-test-peers install clean doctor deb deb-check fuzz

run: install-system release
	.build/release/rackagent serve --state-dir $(STATE_DIR)

test: install-system install-test-peers
	RACKAGENT_PEERS_VENV=$(PEERS_VENV) $(SWIFT) test

# The real Debian installer netbooting in qemu (BIOS, UEFI, rescue mode): minutes of emulated CPU each, run after the
# suite with the machine to themselves (beside it they starved the time bounds other tests hold). CI runs it too.
test-slow: install-system install-test-peers
	RACKAGENT_PEERS_VENV=$(PEERS_VENV) RACKAGENT_SLOW_TESTS=1 $(SWIFT) test --filter DebianInstallerEndToEndTests

# Installs the reference tools and builds the benchmark executable (release); README's Benchmarks section has the runs.
bench: install-test-peers
	$(call apt_install,$(BENCH_PACKAGES))
	@if [ "$$(cat $(BENCH_VENV)/.rackagent-bench 2>/dev/null)" != "$(BENCH_PIP)" ]; then \
		python3 -m venv $(BENCH_VENV) && $(BENCH_VENV)/bin/pip install -q $(BENCH_PIP) && echo "$(BENCH_PIP)" > $(BENCH_VENV)/.rackagent-bench; \
	fi
	$(SWIFT) build -c release --product rackagent-bench

build:
	$(SWIFT) build

release:
	$(SWIFT) build -c release --product rackagent

doctor: release
	.build/release/rackagent doctor --state-dir $(STATE_DIR)

# apt-get only when something is missing, so a second run costs nothing.
define apt_install
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		$(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	fi
endef

install-system:
	$(call apt_install,$(RUN_PACKAGES))

install-test-peers: install-system
	$(call apt_install,$(TEST_PACKAGES))
	@if [ "$$(cat $(PEERS_STAMP) 2>/dev/null)" != "$(PIP_PEERS)" ]; then \
		python3 -m venv $(PEERS_VENV) && $(PEERS_VENV)/bin/pip install -q $(PIP_PEERS) && echo "$(PIP_PEERS)" > $(PEERS_STAMP); \
	fi

install: release
	id rackagent >/dev/null 2>&1 || $(SUDO) useradd --system --home-dir /var/lib/rackagent --shell /usr/sbin/nologin rackagent
	$(SUDO) install -D -m 0755 .build/release/rackagent $(DESTDIR)$(PREFIX)/bin/rackagent
	$(SUDO) install -D -m 0644 systemd/rackagent.service $(DESTDIR)/etc/systemd/system/rackagent.service
	$(SUDO) install -D -m 0640 -g rackagent agent.example.yaml $(DESTDIR)/etc/rackagent/agent.yaml.example
	$(SUDO) mkdir -p $(DESTDIR)/usr/share/rackagent
	$(SUDO) cp -r pxe-templates $(DESTDIR)/usr/share/rackagent/
	$(SUDO) install -D -m 0644 README.md $(DESTDIR)/usr/share/doc/rackagent/README.md

# A Debian package for site agents: the Swift runtime linked in, man pages from the argument parser, completions.
deb: install-system
	$(call apt_install,dpkg-dev binutils)
	# The manual comes from the debug build (the same command-line definitions, and no second release build); the static
	# release build is the packaged binary.
	rm -rf .build/plugins/GenerateManual/outputs
	$(SWIFT) package generate-manual --configuration debug
	$(SWIFT) build -c release --product rackagent --static-swift-stdlib
	packaging/build-deb.sh .build/release/rackagent .build/plugins/GenerateManual/outputs/rackagent .build/deb

# Installs the package on this machine, checks it (lintian, user, permissions, doctor, API), then purges it.
deb-check: deb
	$(call apt_install,lintian curl man-db)
	$(SUDO) packaging/check-deb.sh .build/deb/rackagent_$$(.build/release/rackagent --version)_amd64.deb

# Every parser of untrusted text under libFuzzer with AddressSanitizer, FUZZ_SECONDS each (CI: a short pass).
FUZZ_SECONDS ?= 60
fuzz: install-system
	$(SWIFT) build --scratch-path .build/fuzz --product rackagent-fuzz \
		-Xswiftc -sanitize=fuzzer,address -Xswiftc -DRACKAGENT_FUZZING -Xswiftc -use-ld=lld
	Tests/Fuzz/run.sh .build/fuzz/debug/rackagent-fuzz $(FUZZ_SECONDS)

clean:
	rm -rf .build $(PEERS_VENV) $(BENCH_VENV)
