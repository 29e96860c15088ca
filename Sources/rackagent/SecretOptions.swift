import AgentCore
import ArgumentParser
import Foundation

/// Where a secret comes from on the command line: a file, an environment variable or a prompt — never a
/// plain flag, so it stays out of `ps` and shell history.
struct SecretSource {
    let file: String?
    let environment: String?
    let prompt: String

    func read() throws -> Secret {
        if let file {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw CommandFailure(message: "cannot read the secret file \(file)")
            }
            return Secret(text.trimmingCharacters(in: .newlines))
        }
        if let environment {
            guard let value = ProcessInfo.processInfo.environment[environment] else {
                throw CommandFailure(message: "environment variable \(environment) is not set")
            }
            return Secret(value)
        }
        return try Self.promptWithoutEcho(prompt)
    }

    /// Reads a line from the terminal with echo off.
    static func promptWithoutEcho(_ prompt: String) throws -> Secret {
        let terminal = open("/dev/tty", O_RDWR)
        guard terminal >= 0 else {
            throw CommandFailure(message: "no terminal to prompt for the secret; use a --...-file or --...-env option")
        }
        defer { close(terminal) }
        var saved = termios()
        tcgetattr(terminal, &saved)
        var silent = saved
        silent.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(terminal, TCSANOW, &silent)
        defer { tcsetattr(terminal, TCSANOW, &saved) }
        _ = prompt.withCString { write(terminal, $0, strlen($0)) }
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while Glibc.read(terminal, &byte, 1) == 1, byte != 0x0a, byte != 0x0d, bytes.count < 4096 { bytes.append(byte) }
        _ = write(terminal, "\n", 1)
        return Secret(String(decoding: bytes, as: UTF8.self))
    }
}
