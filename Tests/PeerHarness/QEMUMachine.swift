import Foundation

/// A virtual machine that boots from the network: qemu-system-x86_64 with TCG (nested KVM resets before DHCP
/// on this machine, test-peers.md), an e1000 NIC whose iPXE ROM comes from ipxe-qemu, on a tap device in a test
/// namespace. Serial console output goes to its log. Stopped by its PID.
public final class QEMUMachine: Sendable {
    public let process: PeerProcess
    public let directory: TemporaryDirectory

    /// The firmware a network-booting machine starts with.
    public enum Firmware: Sendable {
        /// SeaBIOS, booting the e1000's iPXE ROM (ipxe-qemu): iPXE from the start.
        case bios
        /// OVMF (Debian's `ovmf`) with a virtio NIC and no option ROM: the firmware's own PXE client, which fetches
        /// `ipxe.efi` over TFTP, as a UEFI server does.
        case uefi
    }

    public init(namespace: NetworkNamespace, tap: String, mac: String, memoryMB: Int = 256, firmware: Firmware = .bios) async throws {
        directory = try TemporaryDirectory(prefix: "qemu")
        guard let qemu = locateProgram("qemu-system-x86_64") else { throw HarnessError.peerFailed("qemu-system-x86_64 is not installed") }
        // At the lowest priority: an emulated installer keeps a core busy for minutes, and the tests running beside it
        // hold time bounds of their own (a BMC's off phase seen, a start refused within 10 s).
        var arguments = [
            "netns", "exec", namespace.name, "/usr/bin/nice", "-n", "19", qemu, "-accel", "tcg", "-m", String(memoryMB), "-nographic", "-no-reboot", "-boot", "n",
            "-netdev", "tap,id=n0,ifname=\(tap),script=no,downscript=no",
        ]
        switch firmware {
        case .bios:
            arguments += ["-device", "e1000,netdev=n0,mac=\(mac)"]
        case .uefi:
            let ovmf = "/usr/share/ovmf/OVMF.fd"
            guard FileManager.default.fileExists(atPath: ovmf) else { throw HarnessError.peerFailed("\(ovmf) is missing (Debian's ovmf)") }
            arguments += ["-bios", ovmf, "-device", "virtio-net-pci,netdev=n0,mac=\(mac),romfile="]
        }
        process = try await PeerProcess(name: "qemu", executable: "/usr/sbin/ip", arguments: arguments, logPath: directory.file("console.log"))
    }

    /// The serial port on a TCP server (`serialPort`, for ipmi_sim's SOL to connect to, as a BMC reaches the UART),
    /// the screen on a VNC server at 127.0.0.1:`vncPort` (with RFB over WebSocket on `vncWebSocketPort`, and a
    /// password when given), a user-mode NIC whose iPXE ROM finds nothing to boot (`restrict=on`: nothing leaves the
    /// machine). It starts paused: ``start()`` lets it run, once whoever watches is attached.
    public init(consoleSerialPort serialPort: Int, vncDisplay: Int, vncPassword: String? = nil) async throws {
        directory = try TemporaryDirectory(prefix: "qemu-console")
        guard let qemu = locateProgram("qemu-system-x86_64") else { throw HarnessError.peerFailed("qemu-system-x86_64 is not installed") }
        // SeaBIOS mirrors the screen to the serial port when fw_cfg names the port (0x3f8, little-endian): what -nographic
        // does, while the VGA card stays for VNC.
        try Data([0xf8, 0x03]).write(to: URL(fileURLWithPath: directory.file("sercon-port")))
        var vnc = "127.0.0.1:\(vncDisplay),websocket=on"
        if vncPassword != nil { vnc += ",password=on" }
        process = try await PeerProcess(
            name: "qemu", executable: qemu,
            arguments: [
                "-accel", "tcg", "-m", "128", "-S", "-no-reboot", "-boot", "n", "-display", "none", "-vga", "std", "-vnc", vnc,
                "-serial", "tcp:127.0.0.1:\(serialPort),server=on,wait=off", "-monitor", "unix:\(directory.file("monitor.sock")),server=on,wait=off",
                "-nic", "user,model=e1000,restrict=on", "-fw_cfg", "name=etc/sercon-port,file=\(directory.file("sercon-port"))",
            ],
            logPath: directory.file("qemu.log"))
        try await waitForMonitor()
        if let vncPassword { _ = try await monitor("set_password vnc \(vncPassword)") }
    }

    /// VNC display numbers whose RFB port (5900 + n) and WebSocket port (5700 + n) are both free now.
    public static func freeVNCDisplay() -> Int {
        for _ in 0..<50 {
            let port = FreePort.tcp()
            guard port > 6000 else { continue }
            let display = port - 5900
            // qemu also listens on 5700 + display (the VNC WebSocket): claimed too, or another peer could be handed
            // it (an sshd that then cannot bind, and a test that talks SSH to qemu).
            if !FreePort.canConnect(5700 + display), FreePort.isFree(5700 + display), FreePort.reserve(5700 + display) { return display }
        }
        preconditionFailure("no free VNC display")
    }

    /// Lets a machine made paused run.
    public func start() async throws {
        _ = try await monitor("cont")
    }

    /// Sends one command to the human monitor and returns what it printed (bounded).
    public func monitor(_ command: String) async throws -> String {
        let path = directory.file("monitor.sock")
        return try await Task.detached {
            let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            guard descriptor >= 0 else { throw HarnessError.peerFailed("socket() failed") }
            defer { close(descriptor) }
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { buffer in
                let bytes = Array(path.utf8)
                buffer.copyBytes(from: bytes)
                buffer[bytes.count] = 0
            }
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard connected == 0 else { throw HarnessError.peerFailed("qemu monitor at \(path): \(String(cString: strerror(errno)))") }
            let line = Array((command + "\n").utf8)
            _ = write(descriptor, line, line.count)
            var answer: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            // A banner and "(qemu) " on connecting, then the echoed command, its output and "(qemu) " again.
            while String(decoding: answer, as: UTF8.self).components(separatedBy: "(qemu)").count < 3 {
                let count = read(descriptor, &buffer, buffer.count)
                if count <= 0 { break }
                answer += buffer[0..<count]
            }
            return String(decoding: answer, as: UTF8.self)
        }.value
    }

    private func waitForMonitor() async throws {
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            if FileManager.default.fileExists(atPath: directory.file("monitor.sock")), (try? await monitor("info status")) != nil { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw HarnessError.timeout("qemu's monitor did not come up")
    }

    /// The serial console so far.
    public var console: String { process.log }

    public func stop() {
        process.stop(grace: .seconds(1))
        directory.remove()
    }
}
