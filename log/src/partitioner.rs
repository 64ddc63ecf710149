//! partitioner.rs owns key → partition: Kafka's murmur2 hash and default partitioner, and
//! the sticky partitioner used for records without a key.

use std::sync::atomic::{AtomicU32, Ordering};

/// Kafka's `Utils.murmur2`: 32-bit murmur2 with seed `0x9747b28c`, bit-for-bit the same as
/// the Java client (so a key lands on the same partition as it would in Kafka).
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let length = data.len();
    let mut h: u32 = SEED ^ (length as u32);
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    // Java: switch (length % 4) with fall-through; bytes are sign-extended then masked.
    if rest.len() >= 3 {
        h ^= (rest[2] as u32) << 16;
    }
    if rest.len() >= 2 {
        h ^= (rest[1] as u32) << 8;
    }
    if !rest.is_empty() {
        h ^= rest[0] as u32;
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// Kafka's `Utils.toPositive`.
pub fn to_positive(n: i32) -> i32 {
    n & 0x7fff_ffff
}

/// Kafka's default partitioner for a keyed record:
/// `toPositive(murmur2(key)) % num_partitions`.
pub fn kafka_partition(key: &[u8], num_partitions: u32) -> u32 {
    // One partition (or none) needs no hash: this runs once per record written.
    if num_partitions <= 1 {
        return 0;
    }
    (to_positive(murmur2(key)) as u32) % num_partitions
}

/// Partitioning for records without a key: stay on one partition for a whole batch
/// (one `produce` call), then move on round-robin.
#[derive(Debug, Default)]
pub struct StickyPartitioner {
    next: AtomicU32,
}

impl StickyPartitioner {
    /// A sticky partitioner starting at partition 0.
    pub fn new() -> StickyPartitioner {
        StickyPartitioner::default()
    }

    /// The partition for the next batch of keyless records; each call moves on by one.
    pub fn next_partition(&self, num_partitions: u32) -> u32 {
        if num_partitions == 0 {
            return 0;
        }
        self.next.fetch_add(1, Ordering::Relaxed) % num_partitions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_kafka_utils_test() {
        // From Kafka's UtilsTest.testMurmur2.
        let cases: &[(&[u8], i32)] = &[
            (b"21", -973932308),
            (b"foobar", -790332482),
            (b"a-little-bit-long-string", -985981536),
            (b"a-little-bit-longer-string", -1486304829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58897971,
            ),
            (b"abc", 479470107), // Kafka's byte[] {'a', 'b', 'c'}
        ];
        for (input, expected) in cases {
            assert_eq!(
                murmur2(input),
                *expected,
                "murmur2({:?})",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn kafka_partition_is_positive_mod() {
        for n in 1..20u32 {
            let p = kafka_partition(b"foobar", n);
            assert_eq!(p, ((-790332482i32 & 0x7fffffff) as u32) % n);
            assert!(p < n);
        }
    }

    #[test]
    fn sticky_moves_round_robin() {
        let s = StickyPartitioner::new();
        let got: Vec<u32> = (0..6).map(|_| s.next_partition(3)).collect();
        assert_eq!(got, vec![0, 1, 2, 0, 1, 2]);
        assert_eq!(s.next_partition(0), 0);
    }
}
