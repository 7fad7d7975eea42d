//! A stable 128-bit hash (MurmurHash3 x64_128, fixed seed) for canonical forms
//! and op names. Its output is part of archmotif's public contract: motif ids
//! are built from it, so it must never change within a major version. std's
//! hashers make no such promise across Rust releases, hence our own.

const C1: u64 = 0x87c3_7b91_1142_53d5;
const C2: u64 = 0x4cf5_ad43_2745_937f;

#[inline]
fn fmix(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

/// MurmurHash3 x64_128 of `data` with `seed`, as one `u128` (`h2 << 64 | h1`).
pub fn murmur3_128(data: &[u8], seed: u64) -> u128 {
    let (mut h1, mut h2) = (seed, seed);
    let mut chunks = data.chunks_exact(16);
    for c in &mut chunks {
        let k1 = u64::from_le_bytes(c[0..8].try_into().expect("8 bytes"));
        let k2 = u64::from_le_bytes(c[8..16].try_into().expect("8 bytes"));
        h1 ^= k1.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2);
        h1 = h1
            .rotate_left(27)
            .wrapping_add(h2)
            .wrapping_mul(5)
            .wrapping_add(0x52dc_e729);
        h2 ^= k2.wrapping_mul(C2).rotate_left(33).wrapping_mul(C1);
        h2 = h2
            .rotate_left(31)
            .wrapping_add(h1)
            .wrapping_mul(5)
            .wrapping_add(0x3849_5ab5);
    }
    let tail = chunks.remainder();
    let (mut k1, mut k2) = (0u64, 0u64);
    for (i, &b) in tail.iter().enumerate() {
        if i < 8 {
            k1 |= (b as u64) << (8 * i);
        } else {
            k2 |= (b as u64) << (8 * (i - 8));
        }
    }
    if tail.len() > 8 {
        h2 ^= k2.wrapping_mul(C2).rotate_left(33).wrapping_mul(C1);
    }
    if !tail.is_empty() {
        h1 ^= k1.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2);
    }
    let len = data.len() as u64;
    h1 ^= len;
    h2 ^= len;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    h1 = fmix(h1);
    h2 = fmix(h2);
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    ((h2 as u128) << 64) | h1 as u128
}

/// Seed of every archmotif hash ("archmot1" in ASCII).
pub const SEED: u64 = 0x6172_6368_6d6f_7431;

/// The 64-bit label of an op name: the low half of its 128-bit hash.
pub fn op_label(name: &str) -> u64 {
    murmur3_128(name.as_bytes(), SEED) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_reference_murmur3_vectors() {
        // Reference values of MurmurHash3_x64_128 (seed 0), printed as h1, h2.
        assert_eq!(murmur3_128(b"", 0), 0);
        let h = murmur3_128(b"hello", 0);
        assert_eq!(h as u64, 0xcbd8_a7b3_41bd_9b02);
        assert_eq!((h >> 64) as u64, 0x5b1e_906a_48ae_1d19);
        let h = murmur3_128(b"The quick brown fox jumps over the lazy dog", 0);
        assert_eq!(h as u64, 0xe34b_bc7b_bc07_1b6c);
        assert_eq!((h >> 64) as u64, 0x7a43_3ca9_c49a_9347);
    }

    #[test]
    fn op_labels_are_stable() {
        assert_eq!(op_label("convolution"), op_label("convolution"));
        assert_ne!(op_label("convolution"), op_label("relu"));
    }
}
