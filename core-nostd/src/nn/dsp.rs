//! Register-blocked dot products of `i16` rows packed two per `u32` word (little-endian: element
//! `2k` in the low half, `2k + 1` in the high half): the inner loop of the column convolution
//! ([`super::column`]). One call computes up to four dot products, two weight rows against two
//! patches, so every word loaded feeds two multiply-accumulates.
//!
//! # Two implementations of one arithmetic
//!
//! Each word pair contributes `lo(a)·lo(b) + hi(a)·hi(b)` to an `i32` accumulator, wrapping
//! ([`smlad_reference`], the reference twin). Wrapping sums do not depend on the order of their
//! terms, so both implementations give the same bits (see [the scheme](super)):
//!
//! - **Portable** (every target, and 32-bit Arm without the `dsp` feature): the words are viewed
//!   as `i16` and handed to the convolution's [`dot2`](super::conv2d) (32-element blocks, which
//!   LLVM turns into `pmaddwd` on x86_64).
//! - **`dsp` feature on 32-bit Arm** (Armv7E-M: Cortex-M4, M7): `SMLAD`, two 16 × 16
//!   multiply-accumulates in one instruction, on words loaded once for two products: per 8 MACs,
//!   4 word loads (with address write-back), 4 `SMLAD`, the loop count and branch: 1.25
//!   instructions per MAC.
//!
//! # Why inline assembly
//!
//! Stable Rust has no DSP intrinsics (`core::arch::arm::__smlad` is unstable), and LLVM's ARM
//! parallel-DSP pass forms `SMLAD` only from `i16` loads used once, so it cannot share a loaded
//! word between two products. The best pure-Rust loops measured 2.25 instructions per MAC in
//! their inner loop on thumbv7em (`[a0 a1]·[b0 b1]` pairs, which do become `SMLAD`, but with two
//! loads each; and one weight word against two patches, which becomes `SMLABB`/`SMLATT`). The
//! assembly is the single instruction `SMLAD`: no memory access, no
//! stack, no state but the sticky `Q` flag it may set (never, for products of a weight and a
//! centred code, see [`PAIR_BOUND`]).
//!
//! Enable `dsp` only for targets that have the DSP extension (thumbv7em-*); on other Arm targets
//! (thumbv6m, thumbv7m) `SMLAD` does not exist and the build fails to assemble.

/// Largest magnitude of a packed element in the kernels: weights are `i8` (≥ −128) and centred
/// codes `q − z` lie in `[−255, 255]`, so one `SMLAD` adds at most `2 · 128 · 255` and never
/// overflows on its own (the accumulator wraps, as everywhere in [`crate::nn`]).
pub const PAIR_BOUND: i32 = 255;

/// `acc + lo(a)·lo(b) + hi(a)·hi(b)` with wrapping `i32` arithmetic, halves read as `i16`: what
/// one `SMLAD` computes (reference twin of the Arm path).
#[inline(always)]
#[must_use]
pub fn smlad_reference(acc: i32, a: u32, b: u32) -> i32 {
    let [a0, a1] = halves(a);
    let [b0, b1] = halves(b);
    acc.wrapping_add(a0.wrapping_mul(b0))
        .wrapping_add(a1.wrapping_mul(b1))
}

/// The two `i16` halves of a word, sign-extended: `[low, high]`.
#[inline(always)]
fn halves(word: u32) -> [i32; 2] {
    let [b0, b1, b2, b3] = word.to_le_bytes();
    [
        i32::from(i16::from_le_bytes([b0, b1])),
        i32::from(i16::from_le_bytes([b2, b3])),
    ]
}

/// The dot products of two weight rows with two patches over their common length:
/// `[[w0·p0, w0·p1], [w1·p0, w1·p1]]`.
#[inline(always)]
#[must_use]
pub fn dot_2x2(w: [&[u32]; 2], p: [&[u32]; 2]) -> [[i32; 2]; 2] {
    imp::dot_2x2(w, p)
}

/// The dot products of one weight row with two patches: `[w·p0, w·p1]`.
#[inline(always)]
#[must_use]
pub fn dot_1x2(w: &[u32], p: [&[u32]; 2]) -> [i32; 2] {
    imp::dot_1x2(w, p)
}

/// One dot product `w·p`.
#[inline(always)]
#[must_use]
pub fn dot_1x1(w: &[u32], p: &[u32]) -> i32 {
    imp::dot_1x1(w, p)
}

/// The definition, one word at a time (reference twin of [`dot_2x2`], [`dot_1x2`],
/// [`dot_1x1`]): `Σ_k smlad(w[k], p[k])` over the common length.
#[must_use]
pub fn dot_reference(w: &[u32], p: &[u32]) -> i32 {
    w.iter()
        .zip(p)
        .fold(0_i32, |acc, (&a, &b)| smlad_reference(acc, a, b))
}

#[cfg(not(all(feature = "dsp", target_arch = "arm")))]
mod imp {
    use super::super::conv2d::{dot, dot2};

    /// Words as `i16` (little-endian halves: the low half is the even element).
    #[inline(always)]
    fn wide(words: &[u32]) -> &[i16] {
        bytemuck::must_cast_slice(words)
    }

    #[inline(always)]
    pub(super) fn dot_2x2(w: [&[u32]; 2], p: [&[u32]; 2]) -> [[i32; 2]; 2] {
        let [p0, p1] = p.map(wide);
        w.map(|w| dot2(wide(w), p0, p1))
    }

    #[inline(always)]
    pub(super) fn dot_1x2(w: &[u32], p: [&[u32]; 2]) -> [i32; 2] {
        let [p0, p1] = p.map(wide);
        dot2(wide(w), p0, p1)
    }

    #[inline(always)]
    pub(super) fn dot_1x1(w: &[u32], p: &[u32]) -> i32 {
        dot(wide(w), wide(p))
    }
}

#[cfg(all(feature = "dsp", target_arch = "arm"))]
mod imp {
    /// `acc + lo(a)·lo(b) + hi(a)·hi(b)`: the `SMLAD` instruction (Armv7E-M DSP extension).
    #[inline(always)]
    fn smlad(acc: i32, a: u32, b: u32) -> i32 {
        let out: i32;
        // SAFETY: SMLAD reads three registers and writes one; it touches no memory and no stack
        // (`nomem`, `nostack`) and depends only on its inputs (`pure`). It may set the sticky Q
        // flag, so `preserves_flags` is not claimed.
        #[allow(unsafe_code)]
        unsafe {
            core::arch::asm!(
                "smlad {out}, {a}, {b}, {acc}",
                out = lateout(reg) out,
                a = in(reg) a,
                b = in(reg) b,
                acc = in(reg) acc,
                options(pure, nomem, nostack),
            );
        }
        out
    }

    // Not inlined, and not unrolled: the 2 × 2 block keeps four accumulators, four pointers and
    // four loaded words live, which is all a Cortex-M4 has. Unrolled twice, or inlined into the
    // column kernel, LLVM spilled to the stack (measured 25 instructions per 16 MACs, and 16 per
    // 8, against 10 per 8 here: four loads with write-back, four SMLAD, the count, the branch).
    // The call costs about a dozen instructions per K/2 loop iterations.
    #[inline(never)]
    pub(super) fn dot_2x2([w0, w1]: [&[u32]; 2], [p0, p1]: [&[u32]; 2]) -> [[i32; 2]; 2] {
        let (mut a, mut b, mut c, mut d) = (0, 0, 0, 0);
        for (((&x, &y), &u), &v) in w0.iter().zip(w1).zip(p0).zip(p1) {
            a = smlad(a, x, u);
            b = smlad(b, x, v);
            c = smlad(c, y, u);
            d = smlad(d, y, v);
        }
        [[a, b], [c, d]]
    }

    #[inline(never)]
    pub(super) fn dot_1x2(w: &[u32], [p0, p1]: [&[u32]; 2]) -> [i32; 2] {
        let (mut a, mut b) = (0, 0);
        for ((&x, &u), &v) in w.iter().zip(p0).zip(p1) {
            a = smlad(a, x, u);
            b = smlad(b, x, v);
        }
        [a, b]
    }

    #[inline(always)]
    pub(super) fn dot_1x1(w: &[u32], p: &[u32]) -> i32 {
        w.iter().zip(p).fold(0, |acc, (&x, &u)| smlad(acc, x, u))
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    fn words(n: usize, seed: u32) -> Vec<u32> {
        let mut state = seed | 1;
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                // Halves in [−255, 255] like centred codes and weights.
                let lo = (state % 511) as i32 - 255;
                let hi = ((state >> 9) % 511) as i32 - 255;
                (lo as u16 as u32) | ((hi as u16 as u32) << 16)
            })
            .collect()
    }

    #[test]
    fn smlad_reference_is_the_sum_of_half_products() {
        let a = (3_u16 as u32) | (((-7_i16) as u16 as u32) << 16);
        let b = ((-5_i16) as u16 as u32) | ((11_u16 as u32) << 16);
        assert_eq!(smlad_reference(100, a, b), 100 - 15 - 77);
        // Wraps like every accumulator of the kernels.
        assert_eq!(smlad_reference(i32::MAX, a, b), i32::MAX.wrapping_sub(92));
    }

    #[test]
    fn blocked_dots_equal_the_reference_for_every_length() {
        for n in 0..70 {
            let w0 = words(n, 1 + n as u32);
            let w1 = words(n, 1000 + n as u32);
            let p0 = words(n, 2000 + n as u32);
            let p1 = words(n, 3000 + n as u32);
            let r = |w: &[u32], p: &[u32]| dot_reference(w, p);
            assert_eq!(
                dot_2x2([&w0, &w1], [&p0, &p1]),
                [[r(&w0, &p0), r(&w0, &p1)], [r(&w1, &p0), r(&w1, &p1)]],
                "n = {n}"
            );
            assert_eq!(dot_1x2(&w0, [&p0, &p1]), [r(&w0, &p0), r(&w0, &p1)]);
            assert_eq!(dot_1x1(&w1, &p1), r(&w1, &p1));
        }
    }
}
