import Foundation

/// A virtual machine that boots from the network: qemu-system-x86_64 with TCG (nested KVM resets before DHCP
/// on this machine, test-peers.md), an e1000 NIC whose iPXE ROM comes from ipxe-qemu, on a tap device in a test
/// namespace. Serial console output goes to its log. Stopped by its PID.
public final class QEMUMachine: Sendable {
    public let process: PeerProcess
    public let directory: TemporaryDirectory

    public init(namespace: NetworkNamespace, tap: String, mac: String, memoryMB: Int = 256) async throws {
        directory = try TemporaryDirectory(prefix: "qemu")
        guard let qemu = locateProgram("qemu-system-x86_64") else { throw HarnessError.peerFailed("qemu-system-x86_64 is not installed") }
        process = try await PeerProcess(
            name: "qemu", executable: "/usr/sbin/ip",
            arguments: [
                "netns", "exec", namespace.name, qemu, "-accel", "tcg", "-m", String(memoryMB), "-nographic", "-no-reboot", "-boot", "n",
                "-netdev", "tap,id=n0,ifname=\(tap),script=no,downscript=no", "-device", "e1000,netdev=n0,mac=\(mac)",
            ],
            logPath: directory.file("console.log"))
    }

    /// The serial console so far.
    public var console: String { process.log }

    public func stop() {
        process.stop(grace: .seconds(1))
        directory.remove()
    }
}
