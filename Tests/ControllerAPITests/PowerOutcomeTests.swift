import AgentCore
@testable import ControllerAPI
@testable import IPMI
import Power
import Providers
import Provisioning
import Testing

/// The typed power outcomes and the one place that turns them into the seed's shapes.
struct PowerOutcomeTests {
    let off = ProviderPowerReport(
        action: "off", powerState: .offline, providerState: "POWERED_OFF", verified: true, evidence: "state read back POWERED_OFF", reason: nil,
        emulated: false, steps: ["off", "verified POWERED_OFF"], checks: 2, seconds: 1.5)
    let boot = BootDeviceReport(
        device: "pxe", efi: true, persistent: false, stored: BootFlags(deviceSelector: "Force PXE", device: .pxe, persistent: false, efi: true, valid: true))

    @Test func outcomesEncodeToTheSeedShapes() throws {
        #expect(try PowerOutcome.state(.online).seedValue() == "online")
        #expect(try PowerOutcome.state("rebooting").seedValue() == "rebooting")
        #expect(try PowerOutcome.commandOutput("System Power : on").seedValue() == "System Power : on")
        let change = try PowerOutcome.change(off).seedValue()
        #expect(change["powerState"] == "offline" && change["verified"] == true && change["providerState"] == "POWERED_OFF" && change["reason"] == nil)
        #expect(try PowerOutcome.bootDevice(boot).seedValue()["stored"]?["deviceSelector"] == "Force PXE")
        let reset = try PowerOutcome.bmcReset(BMCResetReport(reset: "warm", verified: true, seconds: 3.25)).seedValue()
        #expect(reset == ["result": "executed", "reset": "warm", "verified": true, "seconds": 3.25])
    }

    @Test func onlyReadsAndChangesTellAPowerState() {
        #expect(PowerOutcome.state(.offline).powerState == .offline)
        #expect(PowerOutcome.change(off).powerState == .offline)
        #expect(PowerOutcome.bootDevice(boot).powerState == nil)
        #expect(PowerOutcome.commandOutput("online").powerState == nil, "a command's output is never read as a state")
    }

    @Test func aFallbacksAnswerSaysWhyThePrimaryDidNot() throws {
        #expect(try PowerResult(outcome: .change(off)).jobResult()["powerState"] == "offline")
        let failover = PowerFailover(
            via: "pdu", primaryError: AgentError(status: .badGateway, code: "bmc_unreachable", message: "no answer"), deviceEffect: .untouched)
        let result = try PowerResult(outcome: .change(off), failover: failover).jobResult()
        #expect(result["result"]?["powerState"] == "offline" && result["via"] == "pdu")
        #expect(result["primaryError"] == ["code": "bmc_unreachable", "message": "no answer", "deviceEffect": "untouched"])
    }

    @Test func installationStepsSayHowTheyWereChecked() throws {
        #expect(try RouterInstallationPower.check(.change(off)) == PowerStepCheck(verified: true, summary: "verified offline: state read back POWERED_OFF"))
        var unverified = off
        unverified.verified = false
        unverified.evidence = nil
        unverified.reason = "the provider still says POWERING_OFF"
        #expect(try RouterInstallationPower.check(.change(unverified))
            == PowerStepCheck(verified: false, summary: "offline, not verified: the provider still says POWERING_OFF"))
        let stored = try RouterInstallationPower.check(.bootDevice(boot))
        let line = InstallationPowerStep.bootDevice("pxe", stored).description
        #expect(stored.verified && line.hasPrefix("pxe (read back {") && line.contains(#""deviceSelector":"Force PXE""#) && line.contains(#""efi":true"#), "\(line)")
        #expect(InstallationPowerStep.leftOff.description == "server is off, left off")
        #expect(InstallationPowerStep.restarted(hard: false, PowerStepCheck(verified: true, summary: "verified online")).description
            == "power cycled (verified online)")
        #expect(InstallationPowerStep.poweredOn(PowerStepCheck(verified: true, summary: "verified online")).description
            == "was off, powered on (verified online)")
    }
}
