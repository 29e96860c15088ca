/// RFB's "VNC Authentication" (security type 2, RFC 6143 section 7.2.2): the server sends 16 random bytes, the
/// client answers them DES-encrypted (ECB, two blocks) with the password as the key — the first 8 bytes of the
/// password, zero-padded, each byte's bits mirrored (the protocol's historical quirk).
///
/// The agent answers the challenge itself, so a VNC password never reaches the viewer's browser. DES is written
/// out here because no package the agent may use offers it (swift-crypto does not; BoringSSL's DES is not a product);
/// it is tested against FIPS 81's example and against qemu's VNC server.
public enum VNCAuthentication {
    /// The 16-byte response to `challenge`.
    public static func response(to challenge: [UInt8], password: String) -> [UInt8] {
        precondition(challenge.count == 16, "a VNC challenge is 16 bytes")
        var key = Array(password.utf8.prefix(8))
        key += Array(repeating: 0, count: 8 - key.count)
        let mirrored = key.map(mirror)
        let schedule = DES.keySchedule(mirrored)
        return DES.encryptBlock(Array(challenge[0..<8]), schedule) + DES.encryptBlock(Array(challenge[8..<16]), schedule)
    }

    static func mirror(_ byte: UInt8) -> UInt8 {
        var result: UInt8 = 0
        for bit in 0..<8 where byte & (1 << bit) != 0 { result |= 1 << (7 - bit) }
        return result
    }
}

/// The Data Encryption Standard (FIPS 46-3), encryption of one 64-bit block. Tables are 1-based bit positions as the
/// standard prints them, bit 1 being the most significant.
enum DES {
    static func keySchedule(_ key: [UInt8]) -> [UInt64] {
        let permuted = permute(block(key), table: permutedChoice1, width: 64)
        var left = (permuted >> 28) & 0xFFF_FFFF
        var right = permuted & 0xFFF_FFFF
        var keys: [UInt64] = []
        for shift in shifts {
            left = ((left << shift) | (left >> (28 - shift))) & 0xFFF_FFFF
            right = ((right << shift) | (right >> (28 - shift))) & 0xFFF_FFFF
            keys.append(permute((left << 28) | right, table: permutedChoice2, width: 56))
        }
        return keys
    }

    static func encryptBlock(_ bytes: [UInt8], _ keys: [UInt64]) -> [UInt8] {
        let permuted = permute(block(bytes), table: initialPermutation, width: 64)
        var left = UInt32(truncatingIfNeeded: permuted >> 32)
        var right = UInt32(truncatingIfNeeded: permuted)
        for key in keys {
            (left, right) = (right, left ^ feistel(right, key))
        }
        let output = permute((UInt64(right) << 32) | UInt64(left), table: finalPermutation, width: 64)
        return (0..<8).map { UInt8(truncatingIfNeeded: output >> (56 - 8 * UInt64($0))) }
    }

    static func feistel(_ half: UInt32, _ key: UInt64) -> UInt32 {
        let expanded = permute(UInt64(half), table: expansion, width: 32) ^ key
        var substituted: UInt32 = 0
        for box in 0..<8 {
            let six = Int((expanded >> (42 - 6 * UInt64(box))) & 0x3F)
            let row = ((six & 0x20) >> 4) | (six & 0x01)
            let column = (six >> 1) & 0x0F
            substituted = (substituted << 4) | UInt32(substitutionBoxes[box][row * 16 + column])
        }
        return UInt32(truncatingIfNeeded: permute(UInt64(substituted), table: permutation, width: 32))
    }

    static func block(_ bytes: [UInt8]) -> UInt64 {
        bytes.reduce(0) { ($0 << 8) | UInt64($1) }
    }

    /// Output bit i (from the most significant) is input bit `table[i]` of a `width`-bit input.
    static func permute(_ input: UInt64, table: [Int], width: Int) -> UInt64 {
        var output: UInt64 = 0
        for position in table {
            output = (output << 1) | ((input >> UInt64(width - position)) & 1)
        }
        return output
    }

    static let initialPermutation = [
        58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4, 62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40, 32, 24, 16, 8,
        57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3, 61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7,
    ]
    static let finalPermutation = [
        40, 8, 48, 16, 56, 24, 64, 32, 39, 7, 47, 15, 55, 23, 63, 31, 38, 6, 46, 14, 54, 22, 62, 30, 37, 5, 45, 13, 53, 21, 61, 29,
        36, 4, 44, 12, 52, 20, 60, 28, 35, 3, 43, 11, 51, 19, 59, 27, 34, 2, 42, 10, 50, 18, 58, 26, 33, 1, 41, 9, 49, 17, 57, 25,
    ]
    static let expansion = [
        32, 1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9, 8, 9, 10, 11, 12, 13, 12, 13, 14, 15, 16, 17,
        16, 17, 18, 19, 20, 21, 20, 21, 22, 23, 24, 25, 24, 25, 26, 27, 28, 29, 28, 29, 30, 31, 32, 1,
    ]
    static let permutation = [16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10, 2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25]
    static let permutedChoice1 = [
        57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18, 10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36,
        63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22, 14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4,
    ]
    static let permutedChoice2 = [
        14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2,
        41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
    ]
    static let shifts: [UInt64] = [1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1]
    static let substitutionBoxes: [[UInt8]] = [
        [14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7, 0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8,
         4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0, 15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13],
        [15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10, 3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5,
         0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15, 13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9],
        [10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8, 13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1,
         13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7, 1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12],
        [7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15, 13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9,
         10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4, 3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14],
        [2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9, 14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6,
         4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14, 11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3],
        [12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11, 10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8,
         9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6, 4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13],
        [4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1, 13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6,
         1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2, 6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12],
        [13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7, 1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2,
         7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8, 2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11],
    ]
}
