//! Register-blocked `i8` dot products over word-interleaved operands: the inner loop of the column
//! convolution ([`super::column`]).
//!
//! # Operands
//!
//! A word is four `i8`, little-endian. The **panel** holds patches two by two, interleaved word
//! by word: `[p₀ q₀ p₁ q₁ …]` for patches `p`, `q`. The **weights** of two output channels `a`,
//! `b` are prepared once per panel by [`unpack_weights`]: per word, its even bytes (0 and 2) and
//! its odd bytes (1 and 3) as pairs of `i16` halves, `[a₀ₑ a₀ₒ b₀ₑ b₀ₒ a₁ₑ …]`. [`dot_panel`]
//! gives, for every pair block, the four dot products `a·p, b·p, a·q, b·q`: every word loaded
//! feeds two multiply-accumulates, and one pointer walks each operand.
//!
//! # Two implementations of one arithmetic
//!
//! `Σ_k x[k] · y[k]` in `i32`, wrapping ([`dot_panel_reference`], the reference twin). Wrapping
//! sums do not depend on the order of their terms, so both implementations give the same bits
//! (see [the scheme](super)):
//!
//! - **Portable** (every target, and 32-bit Arm without the `dsp` feature): byte loops.
//! - **`dsp` feature on 32-bit Arm** (Armv7E-M: Cortex-M4, M7): `SXTB16` sign-extends bytes 0
//!   and 2 of a patch word into the two 16-bit halves of a register and `SXTB16 …, ROR #8` bytes 1
//!   and 3; `SMLAD` multiplies and accumulates both halves at once against the matching weight
//!   halves, so the even bytes meet the even bytes and the odd the odd: exactly the four products
//!   of the word. Per 16 MACs: the four weight halves (two `LDRD`), the two patch words (one
//!   `LDRD`), 4 `SXTB16`, 8 `SMLAD`, the loop's count and branch: 17 instructions, about 1.06 per
//!   MAC, with 13 registers live (four accumulators, two pointers, the count, four weight halves,
//!   two patch halves).
//!
//! # Why inline assembly
//!
//! Stable Rust has no DSP intrinsics (`core::arch::arm::__smlad` and `__sxtb16` are unstable), and
//! LLVM's ARM parallel-DSP pass forms `SMLAD` only from `i16` loads used once, so it cannot share
//! a loaded word between two products or sign-extend bytes in pairs. The best pure-Rust loops
//! measured 2.25 instructions per MAC in their inner loop on thumbv7em, before the cost of widening
//! the operands to `i16`. The assembly is two single instructions, `SXTB16` and `SMLAD`: no memory
//! access, no stack, no state but the sticky `Q` flag `SMLAD` may set (never here: each product of
//! two `i8` is at most 2^14).
//!
//! Enable `dsp` only for targets that have the DSP extension (thumbv7em-*); on other Arm targets
//! (thumbv6m, thumbv7m) these instructions do not exist and the build fails to assemble.

/// The weight words `a` and `b` (four `i8` each, of two output channels) as the four words
/// [`dot_panel`] reads: `[even(a), odd(a), even(b), odd(b)]`, where `even(x)` holds bytes 0 and
/// 2 of `x` sign-extended to `i16` (low, high half) and `odd(x)` bytes 1 and 3.
#[inline(always)]
#[must_use]
pub fn unpack_weights(a: u32, b: u32) -> [u32; 4] {
    imp::unpack_weights(a, b)
}

/// For every pair block of `panel` (`2 · n` words: two patches interleaved by word) the dot
/// products with the two weight rows prepared in `weights` (`4 · n` words, see
/// [`unpack_weights`]): `out[2q] = [a·p, b·p]`, `out[2q + 1] = [a·q, b·q]` for block `q` with
/// patches `p`, `q` and rows `a`, `b`. Stops at the shorter of the blocks and `out`. Cost: `8 · n`
/// `SMLAD` per block on a Cortex-M4.
#[inline(always)]
pub fn dot_panel(weights: &[u32], panel: &[u32], out: &mut [[i32; 2]]) {
    imp::dot_panel(weights, panel, out);
}

/// Bytes 0 and 2 (`shift` 0) or 1 and 3 (`shift` 8) of `x` as sign-extended halves of a word.
#[cfg_attr(all(feature = "dsp", target_arch = "arm"), allow(dead_code))] // The portable path's.
fn halves_of(x: u32, shift: u32) -> u32 {
    let [b0, b1, b2, b3] = x.to_le_bytes();
    let (lo, hi) = if shift == 0 { (b0, b2) } else { (b1, b3) };
    u32::from(i16::from(lo as i8) as u16) | (u32::from(i16::from(hi as i8) as u16) << 16)
}

/// The signed halves of a word: `[low, high]`.
fn halves(x: u32) -> [i32; 2] {
    [
        i32::from(x as u16 as i16),
        i32::from((x >> 16) as u16 as i16),
    ]
}

/// The definition, one product at a time (reference twin of [`dot_panel`]): weight byte `j` of
/// word `i` of row `r` is half `j / 2` of `weights[4i + 2r + j % 2]`, patch byte `j` of word `i`
/// of patch `s` is byte `j` of `block[2i + s]`.
pub fn dot_panel_reference(weights: &[u32], panel: &[u32], out: &mut [[i32; 2]]) {
    let words = weights.len() / 4;
    let block_len = words.saturating_mul(2).max(1);
    for (block, pair) in panel.chunks_exact(block_len).zip(out.chunks_mut(2)) {
        for (s, acc) in pair.iter_mut().enumerate() {
            for (r, sum) in acc.iter_mut().enumerate() {
                *sum = 0;
                for i in 0..words {
                    let at = i.saturating_mul(2).saturating_add(s);
                    let patch = block.get(at).copied().unwrap_or(0).to_le_bytes();
                    for (j, &code) in patch.iter().enumerate() {
                        let at = i
                            .saturating_mul(4)
                            .saturating_add(r.saturating_mul(2))
                            .saturating_add(j % 2);
                        let word = weights.get(at).copied().unwrap_or(0);
                        let weight = halves(word).get(j / 2).copied().unwrap_or(0);
                        *sum = sum.wrapping_add(weight.wrapping_mul(i32::from(code as i8)));
                    }
                }
            }
        }
    }
}

#[cfg(not(all(feature = "dsp", target_arch = "arm")))]
mod imp {
    use super::{halves, halves_of};

    pub(super) fn unpack_weights(a: u32, b: u32) -> [u32; 4] {
        [
            halves_of(a, 0),
            halves_of(a, 8),
            halves_of(b, 0),
            halves_of(b, 8),
        ]
    }

    /// `lo(x)·lo(y) + hi(x)·hi(y)` on the signed halves (what one `SMLAD` adds).
    #[inline(always)]
    fn dual(x: u32, y: u32) -> i32 {
        let [x0, x1] = halves(x);
        let [y0, y1] = halves(y);
        x0.wrapping_mul(y0).wrapping_add(x1.wrapping_mul(y1))
    }

    pub(super) fn dot_panel(weights: &[u32], panel: &[u32], out: &mut [[i32; 2]]) {
        let (rows, _) = weights.as_chunks::<4>();
        let block_len = rows.len().saturating_mul(2).max(1);
        for (block, pair) in panel.chunks_exact(block_len).zip(out.chunks_mut(2)) {
            let (patches, _) = block.as_chunks::<2>();
            let (mut a, mut b, mut c, mut d) = (0_i32, 0_i32, 0_i32, 0_i32);
            for (&[ae, ao, be, bo], &[u, v]) in rows.iter().zip(patches) {
                let (ue, uo, ve, vo) = (
                    halves_of(u, 0),
                    halves_of(u, 8),
                    halves_of(v, 0),
                    halves_of(v, 8),
                );
                a = a.wrapping_add(dual(ae, ue)).wrapping_add(dual(ao, uo));
                b = b.wrapping_add(dual(be, ue)).wrapping_add(dual(bo, uo));
                c = c.wrapping_add(dual(ae, ve)).wrapping_add(dual(ao, vo));
                d = d.wrapping_add(dual(be, ve)).wrapping_add(dual(bo, vo));
            }
            if let [first, second] = pair {
                *first = [a, b];
                *second = [c, d];
            } else if let [first] = pair {
                *first = [a, b];
            }
        }
    }
}

#[cfg(all(feature = "dsp", target_arch = "arm"))]
mod imp {
    /// `acc + lo(a)·lo(b) + hi(a)·hi(b)` on the signed 16-bit halves: the `SMLAD` instruction.
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

    /// Bytes 0 and 2 of `x` sign-extended into the low and high halves: `SXTB16`.
    #[inline(always)]
    fn even(x: u32) -> u32 {
        let out: u32;
        // SAFETY: one register in, one out; no memory, no stack, no flags.
        #[allow(unsafe_code)]
        unsafe {
            core::arch::asm!(
                "sxtb16 {out}, {x}",
                out = lateout(reg) out,
                x = in(reg) x,
                options(pure, nomem, nostack, preserves_flags),
            );
        }
        out
    }

    /// Bytes 1 and 3 of `x` sign-extended into the low and high halves: `SXTB16 …, ROR #8`.
    #[inline(always)]
    fn odd(x: u32) -> u32 {
        let out: u32;
        // SAFETY: one register in, one out; no memory, no stack, no flags.
        #[allow(unsafe_code)]
        unsafe {
            core::arch::asm!(
                "sxtb16 {out}, {x}, ror #8",
                out = lateout(reg) out,
                x = in(reg) x,
                options(pure, nomem, nostack, preserves_flags),
            );
        }
        out
    }

    pub(super) fn unpack_weights(a: u32, b: u32) -> [u32; 4] {
        [even(a), odd(a), even(b), odd(b)]
    }

    // Out of line, so that the loop gets the registers to itself (inlined into the column kernel,
    // LLVM spilled accumulators to the stack inside the loop).
    #[inline(never)]
    pub(super) fn dot_panel(weights: &[u32], panel: &[u32], out: &mut [[i32; 2]]) {
        let (rows, _) = weights.as_chunks::<4>();
        let block_len = rows.len().saturating_mul(2).max(1);
        for (block, pair) in panel.chunks_exact(block_len).zip(out.chunks_mut(2)) {
            let (patches, _) = block.as_chunks::<2>();
            let (mut a, mut b, mut c, mut d) = (0, 0, 0, 0);
            for (&[ae, ao, be, bo], &[u, v]) in rows.iter().zip(patches) {
                let (ue, uo) = (even(u), odd(u));
                a = smlad(smlad(a, ae, ue), ao, uo);
                b = smlad(smlad(b, be, ue), bo, uo);
                let (ve, vo) = (even(v), odd(v));
                c = smlad(smlad(c, ae, ve), ao, vo);
                d = smlad(smlad(d, be, ve), bo, vo);
            }
            if let [first, second] = pair {
                *first = [a, b];
                *second = [c, d];
            } else if let [first] = pair {
                *first = [a, b];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec;
    use std::vec::Vec;

    fn words(n: usize, seed: u32) -> Vec<u32> {
        let mut state = seed | 1;
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state
            })
            .collect()
    }

    #[test]
    fn panel_dots_equal_the_reference() {
        for n in 1..20 {
            for blocks in 0..4 {
                let rows = words(2 * n, 7 + n as u32);
                let weights: Vec<u32> = rows
                    .chunks_exact(2)
                    .flat_map(|pair| unpack_weights(pair[0], pair[1]))
                    .collect();
                let panel = words(2 * n * blocks, 99 + blocks as u32);
                let mut want = vec![[0x5555_i32; 2]; 2 * blocks];
                dot_panel_reference(&weights, &panel, &mut want);
                let mut got = vec![[0x1234_i32; 2]; 2 * blocks];
                dot_panel(&weights, &panel, &mut got);
                assert_eq!(got, want, "{n} words, {blocks} blocks");
                // Against plain byte products.
                for (q, pair) in want.chunks(2).enumerate() {
                    for (s, acc) in pair.iter().enumerate() {
                        for (r, &sum) in acc.iter().enumerate() {
                            let mut expected = 0_i32;
                            for i in 0..n {
                                let w = rows[2 * i + r].to_le_bytes();
                                let p = panel[q * 2 * n + 2 * i + s].to_le_bytes();
                                for j in 0..4 {
                                    expected += i32::from(w[j] as i8) * i32::from(p[j] as i8);
                                }
                            }
                            assert_eq!(sum, expected);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn unpacking_splits_even_and_odd_bytes() {
        let a = u32::from_le_bytes([1, 0xFE, 3, 0x80]); // 1, −2, 3, −128
        let b = u32::from_le_bytes([0x7F, 5, 0xFF, 6]); // 127, 5, −1, 6
        let [ae, ao, be, bo] = unpack_weights(a, b);
        assert_eq!(halves(ae), [1, 3]);
        assert_eq!(halves(ao), [-2, -128]);
        assert_eq!(halves(be), [127, -1]);
        assert_eq!(halves(bo), [5, 6]);
    }
}
