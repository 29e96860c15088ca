import Foundation

/// `rackagent-fuzz`: built with `-sanitize=fuzzer` and `-DRACKAGENT_FUZZING` (`make fuzz`) it is a libFuzzer binary
/// for the target named by `RACKAGENT_FUZZ_TARGET`; in an ordinary build it lists the targets or replays saved inputs
/// through one, so a crash found by `make fuzz` can be replayed under a debugger and the regression inputs stay run.
@main
enum FuzzCommand {
    static func main() {
        #if RACKAGENT_FUZZING
        let name = ProcessInfo.processInfo.environment["RACKAGENT_FUZZ_TARGET"] ?? ""
        guard name != "list" else {
            for target in FuzzTargets.all { print(target.name) }
            return
        }
        guard FuzzTargets.named(name) != nil else {
            fail("RACKAGENT_FUZZ_TARGET must name one of: \(FuzzTargets.all.map(\.name).joined(separator: " ")) (or be `list`)")
        }
        // SwiftPM makes this function the program's entry, so libFuzzer's own main never runs: hand it the run.
        var count = CommandLine.argc
        var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&count, &arguments, fuzzOneInput))
        #else
        replay(Array(CommandLine.arguments.dropFirst()))
        #endif
    }

    static func replay(_ arguments: [String]) {
        switch arguments.first {
        case "list":
            for target in FuzzTargets.all { print("\(target.name)\t\(target.input)") }
        case "replay" where arguments.count >= 3:
            guard let target = FuzzTargets.named(arguments[1]) else { fail("no target \(arguments[1]); `rackagent-fuzz list` names them") }
            var count = 0
            for path in arguments.dropFirst(2) {
                for file in files(at: path) {
                    guard let data = FileManager.default.contents(atPath: file) else { fail("cannot read \(file)") }
                    target.run(Array(data))
                    count += 1
                }
            }
            print("\(target.name): \(count) inputs replayed")
        default:
            fail("usage: rackagent-fuzz list | rackagent-fuzz replay TARGET FILE_OR_DIRECTORY...")
        }
    }

    static func files(at path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { fail("no such file: \(path)") }
        guard isDirectory.boolValue else { return [path] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { "\(path)/\($0)" }
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("\(message)\n".utf8))
        exit(2)
    }
}

#if RACKAGENT_FUZZING
/// libFuzzer's driver (compiler-rt), given the arguments and the function it calls with each input.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// One input for the target named by `RACKAGENT_FUZZ_TARGET`.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    selectedTarget.run(bytes)
    return 0
}

/// Checked by `main` before the driver starts.
let selectedTarget = FuzzTargets.named(ProcessInfo.processInfo.environment["RACKAGENT_FUZZ_TARGET"] ?? "")!
#endif
