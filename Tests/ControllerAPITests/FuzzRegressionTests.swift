import AgentCore
import Foundation
import PeerHarness
import Testing

/// Every input a fuzz target once failed on (`Tests/Fuzz/Regressions/<target>/`) runs through its target again in the
/// ordinary build: a parser that traps on one of them again fails here, long before `make fuzz` runs.
@Suite struct FuzzRegressionTests {
    @Test func everyRegressionInputRunsCleanly() async throws {
        let binary = URL(fileURLWithPath: RackAgentBinary.path).deletingLastPathComponent().appendingPathComponent("rackagent-fuzz").path
        let (listed, list) = try await PeerTools.run(binary, ["list"])
        #expect(listed == 0, "\(list)")
        let targets = Set(list.split(separator: "\n").compactMap { $0.split(separator: "\t").first.map(String.init) })
        let root = PeerTools.repositoryRoot + "/Tests/Fuzz/Regressions"
        let directories = try FileManager.default.contentsOfDirectory(atPath: root).filter { !$0.hasPrefix(".") }.sorted()
        #expect(!directories.isEmpty, "the regression inputs are missing")
        for target in directories {
            #expect(targets.contains(target), "Tests/Fuzz/Regressions/\(target) names no fuzz target")
            let inputs = try FileManager.default.contentsOfDirectory(atPath: "\(root)/\(target)").filter { !$0.hasPrefix(".") }
            let (status, output) = try await PeerTools.run(binary, ["replay", target, "\(root)/\(target)"])
            #expect(status == 0 && output.contains("\(target): \(inputs.count) inputs replayed"), "\(target): \(output)")
        }
    }
}
