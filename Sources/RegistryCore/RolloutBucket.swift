/// Sticky routing of request keys during a rollout (docs/ROLLOUT.md).
///
/// `bucket = murmur3_x86_32(UTF-8 of "<model>:<rollout_id>:<key>", seed 0) mod 10000`; the
/// candidate serves a key when `bucket < percent × 100`. A key's bucket never changes during a
/// rollout, so raising the percentage never moves a key off the candidate.
public enum RolloutBucket {
    public static let buckets: UInt32 = 10_000

    public static func bucket(model: String, rolloutID: Int, key: String) -> Int {
        Int(murmur3_x86_32(Array("\(model):\(rolloutID):\(key)".utf8), seed: 0) % buckets)
    }

    public static func servesCandidate(bucket: Int, percent: Int) -> Bool { bucket < percent * 100 }

    /// MurmurHash3 x86_32 by Austin Appleby (public domain), as in SMHasher.
    public static func murmur3_x86_32(_ data: [UInt8], seed: UInt32) -> UInt32 {
        let c1: UInt32 = 0xcc9e_2d51
        let c2: UInt32 = 0x1b87_3593
        var h1 = seed
        let blocks = data.count / 4
        data.withUnsafeBytes { bytes in
            for i in 0..<blocks {
                // Blocks are read little-endian, whatever the machine.
                var k1 = UInt32(bytes[i * 4]) | UInt32(bytes[i * 4 + 1]) << 8 | UInt32(bytes[i * 4 + 2]) << 16
                    | UInt32(bytes[i * 4 + 3]) << 24
                k1 &*= c1
                k1 = (k1 << 15) | (k1 >> 17)
                k1 &*= c2
                h1 ^= k1
                h1 = (h1 << 13) | (h1 >> 19)
                h1 = h1 &* 5 &+ 0xe654_6b64
            }
        }
        let tail = blocks * 4
        var k1: UInt32 = 0
        let remainder = data.count & 3
        if remainder >= 3 { k1 ^= UInt32(data[tail + 2]) << 16 }
        if remainder >= 2 { k1 ^= UInt32(data[tail + 1]) << 8 }
        if remainder >= 1 {
            k1 ^= UInt32(data[tail])
            k1 &*= c1
            k1 = (k1 << 15) | (k1 >> 17)
            k1 &*= c2
            h1 ^= k1
        }
        h1 ^= UInt32(truncatingIfNeeded: data.count)
        h1 ^= h1 >> 16
        h1 &*= 0x85eb_ca6b
        h1 ^= h1 >> 13
        h1 &*= 0xc2b2_ae35
        h1 ^= h1 >> 16
        return h1
    }
}
