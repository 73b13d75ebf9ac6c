//! The convolution's `i16` dot products on x86_64, written with `pmaddwd` (`core::arch`): SSE2
//! (every x86_64 CPU, [`dot4_sse2`]) and AVX2 ([`dot4_avx2`], chosen at run time by
//! [`dispatch`](super::dispatch)).
//!
//! # Why not leave it to LLVM
//!
//! The portable blocks ([`conv2d`](mod@super::conv2d)'s `dot_blocks`) compile to `pmaddwd` too,
//! but LLVM reduces each 32-element block to one `i32` before adding it (a seven-instruction
//! horizontal add per block, more work than the block's multiplies), and rewriting the loop so it
//! keeps vector accumulators made LLVM shuffle every operand (2–3× slower, measured). Here the
//! accumulators are vectors: one `pmaddwd` and one `paddd` per 8 (SSE2) or 16 (AVX2) products,
//! and at the end one 4 × 4 transpose-and-add sums the lanes of four outputs at once. Four patches
//! share each weight load. Cost per output: `⌈K/16⌉` (AVX2) or `⌈K/8⌉` (SSE2) `pmaddwd` + `paddd`,
//! plus about four instructions of reduction.
//!
//! An AVX-512 VNNI version (`vpdpwssd` on 256-bit vectors: multiply, pair-add and accumulate in
//! one instruction) measured no faster on the development machine (AMD EPYC, Zen 4; layer 0
//! 15% slower, the others within 5%), so it was left out.
//!
//! # Exactness
//!
//! `pmaddwd` multiplies `i16` pairs into `i32` and adds adjacent products; both products fit in
//! 16 bits here (|weight| ≤ 128, |code − z_in| ≤ 255, see the
//! [scheme](super#quantization-scheme-tflite--cmsis-nn-int8)), and in general a pair overflows only
//! for `(−32768)·(−32768) · 2`, which wraps to the same bits as the wrapping `i32` sum of the
//! portable code. The lane sums wrap (`paddd`), and wrapping sums do not depend on the order of
//! their terms, so the result equals [`dot_scalar`](super::conv2d) bit for bit (tested against the
//! reference convolution and on every length).
//!
//! No `unsafe` here: the intrinsics are safe to call inside functions with their target feature
//! (`#[target_feature(enable = "sse2")]` or `"avx2"`) and the closures those define, and vectors
//! are loaded from `[i16; N]` arrays by value with [`bytemuck::must_cast`]. The one `unsafe` is
//! where the convolution enters such a function (`conv2d`'s dispatch, which says why the CPU has
//! the feature).

use core::arch::x86_64::{
    __m128i, __m256i, _mm_add_epi32, _mm_madd_epi16, _mm_setzero_si128, _mm_unpackhi_epi32,
    _mm_unpackhi_epi64, _mm_unpacklo_epi32, _mm_unpacklo_epi64, _mm256_add_epi32,
    _mm256_castsi256_si128, _mm256_extracti128_si256, _mm256_madd_epi16, _mm256_setzero_si256,
};

/// `[dot(a, b[0]), …, dot(a, b[3])]`, SSE2: per 8 elements, one `pmaddwd` and one `paddd` for
/// each of the four rows (the 8 weights are loaded once for all four).
#[target_feature(enable = "sse2")]
#[inline]
pub(crate) fn dot4_sse2(a: &[i16], b: [&[i16]; 4]) -> [i32; 4] {
    let n = common_len(a, &b);
    let (a8, a_tail) = a.get(..n).unwrap_or_default().as_chunks::<8>();
    let [b0, b1, b2, b3] = b.map(|row| row.get(..n).unwrap_or_default().as_chunks::<8>());
    let mut acc = [_mm_setzero_si128(); 4];
    for ((((&w, &x0), &x1), &x2), &x3) in a8.iter().zip(b0.0).zip(b1.0).zip(b2.0).zip(b3.0) {
        let w: __m128i = bytemuck::must_cast(w);
        for (acc, x) in acc.iter_mut().zip([x0, x1, x2, x3]) {
            *acc = _mm_add_epi32(*acc, _mm_madd_epi16(w, bytemuck::must_cast(x)));
        }
    }
    let mut sums = reduce4_sse2(acc);
    for (sum, tail) in sums.iter_mut().zip([b0.1, b1.1, b2.1, b3.1]) {
        *sum = sum.wrapping_add(super::conv2d::dot_scalar(a_tail, tail));
    }
    sums
}

/// `dot(a, b)`, SSE2 (one row; [`dot4_sse2`]'s loop).
#[target_feature(enable = "sse2")]
#[inline]
pub(crate) fn dot_sse2(a: &[i16], b: &[i16]) -> i32 {
    let n = a.len().min(b.len());
    let (a8, a_tail) = a.get(..n).unwrap_or_default().as_chunks::<8>();
    let (b8, b_tail) = b.get(..n).unwrap_or_default().as_chunks::<8>();
    let mut acc = _mm_setzero_si128();
    for (&w, &x) in a8.iter().zip(b8) {
        let products = _mm_madd_epi16(bytemuck::must_cast(w), bytemuck::must_cast(x));
        acc = _mm_add_epi32(acc, products);
    }
    lanes_sum(bytemuck::must_cast::<__m128i, [i32; 4]>(acc))
        .wrapping_add(super::conv2d::dot_scalar(a_tail, b_tail))
}

/// [`dot4_sse2`] with AVX2: 16 elements per `vpmaddwd`.
#[target_feature(enable = "avx2")]
#[inline]
pub(crate) fn dot4_avx2(a: &[i16], b: [&[i16]; 4]) -> [i32; 4] {
    let n = common_len(a, &b);
    let (a16, a_tail) = a.get(..n).unwrap_or_default().as_chunks::<16>();
    let [b0, b1, b2, b3] = b.map(|row| row.get(..n).unwrap_or_default().as_chunks::<16>());
    let mut acc = [_mm256_setzero_si256(); 4];
    for ((((&w, &x0), &x1), &x2), &x3) in a16.iter().zip(b0.0).zip(b1.0).zip(b2.0).zip(b3.0) {
        let w: __m256i = bytemuck::must_cast(w);
        for (acc, x) in acc.iter_mut().zip([x0, x1, x2, x3]) {
            *acc = _mm256_add_epi32(*acc, _mm256_madd_epi16(w, bytemuck::must_cast(x)));
        }
    }
    // Each accumulator's two 128-bit halves added, then the four reduced together.
    let halves =
        acc.map(|v| _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v)));
    let mut sums = reduce4_sse2(halves);
    for (sum, tail) in sums.iter_mut().zip([b0.1, b1.1, b2.1, b3.1]) {
        *sum = sum.wrapping_add(super::conv2d::dot_scalar(a_tail, tail));
    }
    sums
}

/// [`dot_sse2`] with AVX2.
#[target_feature(enable = "avx2")]
#[inline]
pub(crate) fn dot_avx2(a: &[i16], b: &[i16]) -> i32 {
    let n = a.len().min(b.len());
    let (a16, a_tail) = a.get(..n).unwrap_or_default().as_chunks::<16>();
    let (b16, b_tail) = b.get(..n).unwrap_or_default().as_chunks::<16>();
    let mut acc = _mm256_setzero_si256();
    for (&w, &x) in a16.iter().zip(b16) {
        let products = _mm256_madd_epi16(bytemuck::must_cast(w), bytemuck::must_cast(x));
        acc = _mm256_add_epi32(acc, products);
    }
    lanes_sum(bytemuck::must_cast::<__m256i, [i32; 8]>(acc))
        .wrapping_add(super::conv2d::dot_scalar(a_tail, b_tail))
}

/// The lane sums of four vectors at once, `[Σ a, Σ b, Σ c, Σ d]`: a 4 × 4 transpose folded into
/// the additions (six shuffles and adds instead of four separate horizontal sums).
#[target_feature(enable = "sse2")]
#[inline]
fn reduce4_sse2([a, b, c, d]: [__m128i; 4]) -> [i32; 4] {
    // [a0+a2, b0+b2, a1+a3, b1+b3] and the same for c, d.
    let ab = _mm_add_epi32(_mm_unpacklo_epi32(a, b), _mm_unpackhi_epi32(a, b));
    let cd = _mm_add_epi32(_mm_unpacklo_epi32(c, d), _mm_unpackhi_epi32(c, d));
    let sums = _mm_add_epi32(_mm_unpacklo_epi64(ab, cd), _mm_unpackhi_epi64(ab, cd));
    bytemuck::must_cast(sums)
}

/// The length all five rows have (the dot products' common length).
#[inline(always)]
fn common_len(a: &[i16], b: &[&[i16]; 4]) -> usize {
    b.iter().fold(a.len(), |n, row| n.min(row.len()))
}

/// The wrapping sum of a vector's `i32` lanes.
#[inline(always)]
fn lanes_sum<const N: usize>(lanes: [i32; N]) -> i32 {
    lanes
        .iter()
        .fold(0_i32, |sum, &lane| sum.wrapping_add(lane))
}

#[cfg(test)]
#[allow(unsafe_code)]
mod tests {
    extern crate std;
    use super::*;
    use crate::nn::dispatch::{self, Isa};
    use std::vec::Vec;

    /// Rows of every length 0..100 with values over the whole `i16` range, including the one
    /// `pmaddwd` pair that wraps (`−32768 · −32768 · 2`, at `i = 26, 27` in every row).
    fn rows(n: usize, seed: i32) -> [Vec<i16>; 5] {
        core::array::from_fn(|r| {
            (0..n)
                .map(|i| {
                    let x = (i as i32 * 7919 + r as i32 * 104_729 + seed).wrapping_mul(2_654_435);
                    if i % 13 < 2 {
                        i16::MIN
                    } else {
                        (x >> 8) as i16
                    }
                })
                .collect()
        })
    }

    fn want(a: &[i16], b: &[i16]) -> i32 {
        a.iter().zip(b).fold(0_i32, |s, (&x, &y)| {
            s.wrapping_add(i32::from(x).wrapping_mul(i32::from(y)))
        })
    }

    #[test]
    fn sse2_dot_products_equal_the_scalar_loop() {
        for n in 0..100 {
            let [a, b0, b1, b2, b3] = rows(n, 1);
            let expected = [&b0, &b1, &b2, &b3].map(|b| want(&a, b));
            // SAFETY: SSE2 is part of every x86_64 target.
            let got = unsafe { dot4_sse2(&a, [&b0, &b1, &b2, &b3]) };
            assert_eq!(got, expected, "n = {n}");
            // SAFETY: as above.
            assert_eq!(unsafe { dot_sse2(&a, &b0) }, expected[0], "n = {n}");
        }
    }

    #[test]
    fn avx2_dot_products_equal_the_scalar_loop() {
        // `conv2d`'s `every_isa_level_is_tested` fails loudly on a CPU without AVX2.
        if dispatch::detected() < Isa::Avx2 {
            std::eprintln!("WARNING: no AVX2 on this CPU: the AVX2 dot products are NOT tested");
            return;
        }
        for n in 0..100 {
            let [a, b0, b1, b2, b3] = rows(n, 2);
            let expected = [&b0, &b1, &b2, &b3].map(|b| want(&a, b));
            // SAFETY: the CPU has AVX2 (checked above).
            let got = unsafe { dot4_avx2(&a, [&b0, &b1, &b2, &b3]) };
            assert_eq!(got, expected, "n = {n}");
            // SAFETY: as above.
            assert_eq!(unsafe { dot_avx2(&a, &b0) }, expected[0], "n = {n}");
        }
    }
}
