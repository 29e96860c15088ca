@testable import Console
import Testing

@Suite struct VNCAuthenticationTests {
    /// FIPS 81's worked example (and the classic textbook vector).
    @Test func desMatchesTheStandardsExamples() {
        func hex(_ text: String) -> [UInt8] {
            stride(from: 0, to: text.count, by: 2).map { UInt8(text.dropFirst($0).prefix(2), radix: 16)! }
        }
        let schedule = DES.keySchedule(hex("133457799BBCDFF1"))
        #expect(DES.encryptBlock(hex("0123456789ABCDEF"), schedule) == hex("85E813540F0AB405"))
        let fips = DES.keySchedule(hex("0123456789ABCDEF"))
        #expect(DES.encryptBlock(hex("4E6F772069732074"), fips) == hex("3FA40E8A984D4815"))
    }

    /// The VNC variant mirrors each key byte and pads or cuts the password to 8 bytes.
    @Test func vncKeyQuirks() {
        #expect(VNCAuthentication.mirror(0b0000_0001) == 0b1000_0000)
        #expect(VNCAuthentication.mirror(0b1100_1010) == 0b0101_0011)
        let challenge = [UInt8](0..<16)
        #expect(VNCAuthentication.response(to: challenge, password: "secret12") == VNCAuthentication.response(to: challenge, password: "secret12-ignored"))
        #expect(VNCAuthentication.response(to: challenge, password: "secret") != VNCAuthentication.response(to: challenge, password: "secret1"))
    }
}
