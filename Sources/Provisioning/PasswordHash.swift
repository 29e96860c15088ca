import Crypto
import Foundation

/// SHA-512 crypt (`$6$salt$hash`, Ulrich Drepper's "Unix crypt using SHA-256 and SHA-512"), the hash
/// kickstart (`rootpw --iscrypted`), preseed (`passwd/root-password-crypted`) and cloud-init expect.
public enum SHA512Crypt {
    static let alphabet = Array("./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

    /// Hashes `password` with a random 16-character salt and 5000 rounds.
    public static func hash(_ password: String) -> String {
        var generator = SystemRandomNumberGenerator()
        let salt = String((0..<16).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
        return hash(password, salt: salt)
    }

    /// Hashes with a given salt (at most 16 characters are used) and rounds (5000 is the default and omitted).
    public static func hash(_ password: String, salt: String, rounds: Int = 5000) -> String {
        let key = Array(password.utf8)
        let saltBytes = Array(salt.utf8.prefix(16))
        let rounds = min(max(rounds, 1000), 999_999_999)

        var alternate = SHA512()
        alternate.update(data: key)
        alternate.update(data: saltBytes)
        alternate.update(data: key)
        let alternateDigest = Array(alternate.finalize())

        var main = SHA512()
        main.update(data: key)
        main.update(data: saltBytes)
        main.update(data: repeated(alternateDigest, length: key.count))
        var length = key.count
        while length > 0 {
            main.update(data: length & 1 != 0 ? alternateDigest : key)
            length >>= 1
        }
        var digest = Array(main.finalize())

        var keyHash = SHA512()
        for _ in 0..<key.count { keyHash.update(data: key) }
        let keySequence = repeated(Array(keyHash.finalize()), length: key.count)

        var saltHash = SHA512()
        for _ in 0..<(16 + Int(digest[0])) { saltHash.update(data: saltBytes) }
        let saltSequence = repeated(Array(saltHash.finalize()), length: saltBytes.count)

        for round in 0..<rounds {
            var step = SHA512()
            step.update(data: round & 1 != 0 ? keySequence : digest)
            if round % 3 != 0 { step.update(data: saltSequence) }
            if round % 7 != 0 { step.update(data: keySequence) }
            step.update(data: round & 1 != 0 ? digest : keySequence)
            digest = Array(step.finalize())
        }

        let order: [(Int, Int, Int)] = [
            (0, 21, 42), (22, 43, 1), (44, 2, 23), (3, 24, 45), (25, 46, 4), (47, 5, 26), (6, 27, 48), (28, 49, 7), (50, 8, 29), (9, 30, 51),
            (31, 52, 10), (53, 11, 32), (12, 33, 54), (34, 55, 13), (56, 14, 35), (15, 36, 57), (37, 58, 16), (59, 17, 38), (18, 39, 60),
            (40, 61, 19), (62, 20, 41),
        ]
        var encoded = ""
        for (first, second, third) in order { encoded += base64(digest[first], digest[second], digest[third], count: 4) }
        encoded += base64(0, 0, digest[63], count: 2)
        let prefix = rounds == 5000 ? "$6$" : "$6$rounds=\(rounds)$"
        return prefix + String(decoding: saltBytes, as: UTF8.self) + "$" + encoded
    }

    /// `bytes` repeated (and cut) to `length`.
    static func repeated(_ bytes: [UInt8], length: Int) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(length)
        while result.count < length { result += bytes.prefix(length - result.count) }
        return result
    }

    static func base64(_ high: UInt8, _ middle: UInt8, _ low: UInt8, count: Int) -> String {
        var value = UInt32(high) << 16 | UInt32(middle) << 8 | UInt32(low)
        var text = ""
        for _ in 0..<count {
            text.append(alphabet[Int(value & 0x3f)])
            value >>= 6
        }
        return text
    }
}
