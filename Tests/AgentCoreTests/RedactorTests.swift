import AgentCore
import Foundation
import Testing

@Suite struct RedactorTests {
    @Test func knownSecretsAreMaskedWherever_they_appear() {
        let redactor = Redactor(secretStrings: ["hunter2", "public"])
        #expect(redactor.redact("login failed for admin/hunter2 at 10.0.0.1") == "login failed for admin/\(Secret.mask) at 10.0.0.1")
        #expect(!redactor.redact("community public refused").contains("public"))
    }

    @Test func keyValueFormsAreMasked() {
        let redactor = Redactor()
        #expect(redactor.redact("password=abc123 user=x") == "password=\(Secret.mask) user=x")
        #expect(redactor.redact(#"{"rootpassword":"abcdefgh","host":"a"}"#) == #"{"rootpassword":"\#(Secret.mask)","host":"a"}"#)
        #expect(redactor.redact("Authorization: Bearer abc.def") == "Authorization: Bearer \(Secret.mask)")
        #expect(redactor.redact("token: 0123456789") == "token: \(Secret.mask)")
    }

    @Test func secretsEncodeAsTheMask() throws {
        struct Holder: Codable { let password: Secret }
        let holder = try JSONDecoder().decode(Holder.self, from: Data(#"{"password":"topsecret"}"#.utf8))
        #expect(holder.password.revealed == "topsecret")
        #expect("\(holder.password)" == Secret.mask)
        let encoded = String(decoding: try JSONEncoder().encode(holder), as: UTF8.self)
        #expect(!encoded.contains("topsecret"))
    }
}
