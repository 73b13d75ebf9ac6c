//! Register-blocked `i8` dot products over operands widened to `i16` halves: the inner loop of the
//! column convolution ([`super::column`]).
//!
//! # Operands
//!
//! A word is four `i8`, little-endian. [`unpack`] widens it to two words of two sign-extended
//! `i16` halves each: `even(x)` holds bytes 0 and 2 (low, high half), `odd(x)` bytes 1 and 3. Both
//! operands of [`dot_panel`] are stored widened, so that its loop only loads and multiplies:
//!
//! - the **weights** of two output channels `a`, `b`: per word `i` of a row, the four words
//!   `[even(aᵢ), odd(aᵢ), even(bᵢ), odd(bᵢ)]` ([`unpack_weights`]), `4 · n` words for `n`-word
//!   rows;
//! - the **panel**: patches two by two in **pair blocks** of `4 · n` words, per word `i`
//!   `[even(pᵢ), odd(pᵢ), even(qᵢ), odd(qᵢ)]` for patches `p`, `q`.
//!
//! [`dot_panel`] gives, for every pair block, the four dot products `a·p, b·p, a·q, b·q`.
//!
//! # Two implementations of one arithmetic
//!
//! `Σ_k x[k] · y[k]` in `i32`, wrapping ([`dot_panel_reference`], the reference twin). Wrapping
//! sums do not depend on the order of their terms, so both implementations give the same bits
//! (see [the scheme](super)):
//!
//! - **Portable** (every target, and 32-bit Arm without the `dsp` feature): plain loops.
//! - **`dsp` feature on 32-bit Arm** (Armv7E-M: Cortex-M4, M7): one hand-written loop. `SMLAD`
//!   multiplies the two halves of a weight word by the two halves of a patch word and adds both
//!   products to an accumulator, so per word of the rows (16 multiply-accumulates: two channels ×
//!   two patches × four bytes) the loop runs four `LDRD` (the four weight halves, the four halves
//!   of each patch) and eight `SMLAD`: 12 instructions, plus the count and branch once per eight
//!   words, **0.77 instructions per MAC**, and about 20 instructions per pair block (first word
//!   with `SMUAD`, the remainder of the count modulo 8, the four results stored with one `STM`).
//!   It keeps 13 registers busy (four accumulators, six operands, two pointers, the count), more
//!   than the compiler finds beside the frame pointer `r7`, which is why it is a naked function
//!   (it saves and restores the callee-saved registers, `r7` included, itself). The weight
//!   widening ([`unpack_weight_runs`]) and the requantizing store ([`requantize_rows`]) are
//!   naked loops too.
//!
//! # Why assembly
//!
//! Stable Rust has no DSP intrinsics (`core::arch::arm::__smlad` and `__sxtb16` are unstable), and
//! LLVM's ARM parallel-DSP pass forms `SMLAD` only from `i16` loads used once. A Rust loop over
//! one-instruction `asm!` wrappers measured 21 instructions per 16 MACs (the compiler spilled an
//! accumulator); this loop runs 12.25 per 16.
//!
//! Enable `dsp` only for targets that have the DSP extension (thumbv7em-*); on other Arm targets
//! (thumbv6m, thumbv7m) these instructions do not exist and the build fails to assemble.

/// A word of four `i8` as `[even(x), odd(x)]`: bytes 0 and 2, then bytes 1 and 3, each pair
/// sign-extended into the low and high `i16` halves of a word (`SXTB16`, `SXTB16 … ROR #8`: two
/// instructions on a Cortex-M4 with the `dsp` feature).
#[inline(always)]
#[must_use]
pub fn unpack(x: u32) -> [u32; 2] {
    imp::unpack(x)
}

/// The weight words `a` and `b` (four `i8` each, of two output channels) as the four words
/// [`dot_panel`] reads: `[even(a), odd(a), even(b), odd(b)]` (see [`unpack`]).
#[inline(always)]
#[must_use]
pub fn unpack_weights(a: u32, b: u32) -> [u32; 4] {
    let [ae, ao] = unpack(a);
    let [be, bo] = unpack(b);
    [ae, ao, be, bo]
}

/// [`unpack_weights`] of two rows of weight words (`a[i]`, `b[i]`: four `i8` each) into `out`,
/// as far as the shortest of the three goes. Cost on a Cortex-M4 with `dsp`: 9 instructions per
/// word (two loads, four `SXTB16`, one `STM`, the loop).
#[inline(always)]
pub fn unpack_weight_rows(a: &[[i8; 4]], b: &[[i8; 4]], out: &mut [[u32; 4]]) {
    imp::unpack_weight_rows(a, b, out);
}

/// [`unpack_weight_rows`] of `runs` runs of `run` words each, the runs `stride` bytes apart in
/// both rows `a` and `b` (`stride ≥ 4 · run`), into consecutive slots of `out`: slot
/// `r · run + i` gets word `i` of run `r`. Does nothing unless the rows hold every run and `out`
/// every slot. The column kernel prepares its weights with it one tap column at a time (the
/// `kh` runs of `C` codes under one kernel column are `kw · C` bytes apart in OHWI rows). Cost
/// on a Cortex-M4 with `dsp`: 9 instructions per word and 5 per run.
#[inline(always)]
pub fn unpack_weight_runs(
    a: &[i8],
    b: &[i8],
    [run, runs, stride]: [usize; 3],
    out: &mut [[u32; 4]],
) {
    let Some(last) = runs.checked_sub(1) else {
        return;
    };
    let bytes = run.checked_mul(4);
    let needed = last
        .checked_mul(stride)
        .zip(bytes)
        .and_then(|(start, bytes)| start.checked_add(bytes));
    let slots = run.checked_mul(runs);
    let fits = matches!((needed, slots, bytes), (Some(needed), Some(slots), Some(bytes))
        if run > 0 && stride >= bytes && a.len() >= needed && b.len() >= needed
            && out.len() >= slots);
    if fits {
        imp::unpack_weight_runs(a, b, [run, runs, stride], out);
    }
}

/// The column kernel's store loop: `output[j · stride] = requantize(sums[j][side])` for every `j`
/// whose output index lies in `output` (`side` 0 or 1; larger reads as 1).
///
/// `requantize` is [`BoundedRequantizer::apply`](super::requant::BoundedRequantizer::apply) and
/// `constants` its fields `[2 · bias, M, round, e, min, max]`: the portable path calls
/// `requantize`, the `dsp` path on 32-bit Arm runs the same arithmetic in one assembly loop when
/// `max` is 127 (`ADD` of the doubled sum to `2 · bias`, `SMMULR`, the rounding `ADD`s, `ASR`,
/// the clamp with `SSAT` on top, `STRB`: 14 instructions per output) and calls `requantize`
/// otherwise.
#[inline(always)]
pub fn requantize_rows(
    sums: &[[i32; 2]],
    side: usize,
    constants: [i32; 6],
    output: &mut [i8],
    stride: usize,
    requantize: impl Fn(i32) -> i8,
) {
    imp::requantize_rows(sums, side.min(1), constants, output, stride, requantize);
}

/// `(a · b + 2^31) >> 32`: the high word of the product, rounded to nearest with ties toward +∞
/// (`SMMULR`, one instruction on a Cortex-M4 with the `dsp` feature).
#[inline(always)]
#[must_use]
pub fn multiply_high_rounded(a: i32, b: i32) -> i32 {
    imp::multiply_high_rounded(a, b)
}

/// For every pair block of `panel` (`4 · n` words, see the [module docs](self)) the dot products
/// with the two weight rows prepared in `weights` (`4 · n` words): `out[2q] = [a·p, b·p]`,
/// `out[2q + 1] = [a·q, b·q]` for block `q` with patches `p`, `q` and rows `a`, `b`. Stops at
/// the shorter of the blocks and `out` (an odd `out` gets the `p` pair of its last block); with
/// no weight words it writes nothing. Cost on a Cortex-M4 with `dsp`: 12.25 instructions per 16
/// MACs and about 20 per block.
#[inline(always)]
pub fn dot_panel(weights: &[u32], panel: &[u32], out: &mut [[i32; 2]]) {
    imp::dot_panel(weights, panel, out);
}

/// The signed halves of a word: `[low, high]`.
const fn halves(x: u32) -> [i32; 2] {
    [x as u16 as i16 as i32, (x >> 16) as u16 as i16 as i32]
}

/// Bytes 0 and 2 (`shift` 0) or 1 and 3 (`shift` 8) of `x` as sign-extended halves of a word.
#[cfg_attr(all(feature = "dsp", target_arch = "arm"), allow(dead_code))] // The portable path's.
fn halves_of(x: u32, shift: u32) -> u32 {
    let [b0, b1, b2, b3] = x.to_le_bytes();
    let (lo, hi) = if shift == 0 { (b0, b2) } else { (b1, b3) };
    u32::from(i16::from(lo as i8) as u16) | (u32::from(i16::from(hi as i8) as u16) << 16)
}

/// The definition, one product at a time (reference twin of [`dot_panel`]): half `h` of weight
/// word `4i + 2r + e` (row `r`, parity `e`) times half `h` of panel word `4i + 2s + e` of the
/// block (patch `s`), summed over `i`, `e` and `h`.
pub fn dot_panel_reference(weights: &[u32], panel: &[u32], out: &mut [[i32; 2]]) {
    let words = weights.len() / 4;
    let Some(block_len) = words.checked_mul(4).filter(|&n| n > 0) else {
        return;
    };
    for (q, block) in panel.chunks_exact(block_len).enumerate() {
        for s in 0..2_usize {
            let Some(acc) = out.get_mut(q.saturating_mul(2).saturating_add(s)) else {
                return;
            };
            for (r, sum) in acc.iter_mut().enumerate() {
                *sum = 0;
                for i in 0..words {
                    for e in 0..2_usize {
                        let base = i.saturating_mul(4).saturating_add(e);
                        let w = weights
                            .get(base.saturating_add(r.saturating_mul(2)))
                            .copied();
                        let p = block.get(base.saturating_add(s.saturating_mul(2))).copied();
                        let (w, p) = (halves(w.unwrap_or(0)), halves(p.unwrap_or(0)));
                        for (x, y) in w.iter().zip(&p) {
                            *sum = sum.wrapping_add(x.wrapping_mul(*y));
                        }
                    }
                }
            }
        }
    }
}

/// How many full pair blocks both `panel` and `out` hold for `words`-word rows, and whether an
/// odd `out` has one more block with one output (`(blocks, tail)`).
fn block_counts(words: usize, panel: &[u32], out: &[[i32; 2]]) -> (usize, bool) {
    let in_panel = panel
        .len()
        .checked_div(words.saturating_mul(4))
        .unwrap_or(0);
    let in_out = out.len() / 2;
    let blocks = in_panel.min(in_out);
    (
        blocks,
        in_panel > blocks && out.len() > blocks.saturating_mul(2),
    )
}

#[cfg(not(all(feature = "dsp", target_arch = "arm")))]
mod imp {
    use super::{block_counts, halves, halves_of};

    pub(super) fn unpack(x: u32) -> [u32; 2] {
        [halves_of(x, 0), halves_of(x, 8)]
    }

    pub(super) fn unpack_weight_rows(a: &[[i8; 4]], b: &[[i8; 4]], out: &mut [[u32; 4]]) {
        let word = |codes: &[i8; 4]| u32::from_le_bytes(codes.map(|c| c as u8));
        for (slot, (a, b)) in out.iter_mut().zip(a.iter().zip(b)) {
            *slot = super::unpack_weights(word(a), word(b));
        }
    }

    pub(super) fn unpack_weight_runs(
        a: &[i8],
        b: &[i8],
        [run, runs, stride]: [usize; 3],
        out: &mut [[u32; 4]],
    ) {
        let bytes = run.saturating_mul(4);
        for (r, out) in out.chunks_exact_mut(run.max(1)).take(runs).enumerate() {
            let start = r.saturating_mul(stride);
            let end = start.saturating_add(bytes);
            let (Some(a), Some(b)) = (a.get(start..end), b.get(start..end)) else {
                return;
            };
            unpack_weight_rows(a.as_chunks::<4>().0, b.as_chunks::<4>().0, out);
        }
    }

    pub(super) fn requantize_rows(
        sums: &[[i32; 2]],
        side: usize,
        _constants: [i32; 6],
        output: &mut [i8],
        stride: usize,
        requantize: impl Fn(i32) -> i8,
    ) {
        let mut index = 0_usize;
        for &[first, second] in sums {
            if let Some(slot) = output.get_mut(index) {
                *slot = requantize(if side == 0 { first } else { second });
            }
            index = index.wrapping_add(stride);
        }
    }

    pub(super) fn multiply_high_rounded(a: i32, b: i32) -> i32 {
        // |a · b| ≤ 2^62: no overflow of the sum, and the high word is an i32.
        (i64::from(a)
            .wrapping_mul(i64::from(b))
            .wrapping_add(1 << 31)
            >> 32) as i32
    }

    /// `lo(x)·lo(y) + hi(x)·hi(y)` on the signed halves (what one `SMLAD` adds).
    #[inline(always)]
    fn dual(x: u32, y: u32) -> i32 {
        let [x0, x1] = halves(x);
        let [y0, y1] = halves(y);
        x0.wrapping_mul(y0).wrapping_add(x1.wrapping_mul(y1))
    }

    /// The four sums of one pair block.
    #[inline(always)]
    fn block_dots(rows: &[[u32; 4]], block: &[u32]) -> [[i32; 2]; 2] {
        let (patches, _) = block.as_chunks::<4>();
        let (mut a, mut b, mut c, mut d) = (0_i32, 0_i32, 0_i32, 0_i32);
        for (&[ae, ao, be, bo], &[ue, uo, ve, vo]) in rows.iter().zip(patches) {
            a = a.wrapping_add(dual(ae, ue)).wrapping_add(dual(ao, uo));
            b = b.wrapping_add(dual(be, ue)).wrapping_add(dual(bo, uo));
            c = c.wrapping_add(dual(ae, ve)).wrapping_add(dual(ao, vo));
            d = d.wrapping_add(dual(be, ve)).wrapping_add(dual(bo, vo));
        }
        [[a, b], [c, d]]
    }

    pub(super) fn dot_panel(weights: &[u32], panel: &[u32], out: &mut [[i32; 2]]) {
        let (rows, _) = weights.as_chunks::<4>();
        let (blocks, tail) = block_counts(rows.len(), panel, out);
        let block_len = rows.len().saturating_mul(4).max(1);
        let mut blocks_of = panel.chunks_exact(block_len);
        let (pairs, last) = out.as_chunks_mut::<2>();
        for (pair, block) in pairs.iter_mut().zip(blocks_of.by_ref()).take(blocks) {
            *pair = block_dots(rows, block);
        }
        if tail && let (Some(block), Some(first)) = (blocks_of.next(), last.first_mut()) {
            *first = block_dots(rows, block)[0];
        }
    }
}

#[cfg(all(feature = "dsp", target_arch = "arm"))]
mod imp {
    use super::block_counts;

    /// `(a · b + 2^31) >> 32`: `SMMULR`.
    #[inline(always)]
    pub(super) fn multiply_high_rounded(a: i32, b: i32) -> i32 {
        let out: i32;
        // SAFETY: one instruction, two registers in, one out; no memory, no stack, no flags.
        #[allow(unsafe_code)]
        unsafe {
            core::arch::asm!(
                "smmulr {out}, {a}, {b}",
                out = lateout(reg) out,
                a = in(reg) a,
                b = in(reg) b,
                options(pure, nomem, nostack, preserves_flags),
            );
        }
        out
    }

    /// `[even(x), odd(x)]`: `SXTB16` and `SXTB16 …, ROR #8`.
    #[inline(always)]
    pub(super) fn unpack(x: u32) -> [u32; 2] {
        let (even, odd): (u32, u32);
        // SAFETY: two instructions, one register in, two out; no memory, no stack, no flags.
        #[allow(unsafe_code)]
        unsafe {
            core::arch::asm!(
                "sxtb16 {even}, {x}",
                "sxtb16 {odd}, {x}, ror #8",
                even = out(reg) even,
                odd = lateout(reg) odd,
                x = in(reg) x,
                options(pure, nomem, nostack, preserves_flags),
            );
        }
        [even, odd]
    }

    /// The store loop of [`super::requantize_rows`] for `max = 127`: `count ≥ 1` outputs, the
    /// sums every 8 bytes from `sums`, the codes every `stride` bytes from `out`; `constants` as
    /// there; the clamp is `max(·, min)` and `SSAT` to 8 bits (`min ≥ −128`).
    ///
    /// # Safety
    ///
    /// `sums` readable at `sums + 8j` and `out` writable at `out + j · stride` for `j < count`,
    /// `sums` and `constants` word-aligned; `count ≥ 1`.
    #[unsafe(naked)]
    #[allow(unsafe_code)]
    unsafe extern "C" fn requantize_saturating(
        sums: *const i32,
        count: usize,
        constants: *const i32,
        out: *mut i8,
        stride: usize,
    ) {
        core::arch::naked_asm!(
            "push {{r4-r11, lr}}",
            "ldr r12, [sp, #36]",
            // r4 2·bias, r5 M, r6 round, r8 e, r9 min (r10 max = 127: SSAT).
            "ldm r2, {{r4, r5, r6, r8, r9, r10}}",
            "2:",
            "ldr r2, [r0], #8",
            "add.w r2, r4, r2, lsl #1",
            "smmulr r2, r2, r5",
            "add.w r11, r6, r2, asr #31",
            "add r2, r2, r11",
            "asr.w r2, r2, r8",
            "cmp r2, r9",
            "it lt",
            "movlt r2, r9",
            "ssat r2, #8, r2",
            "strb r2, [r3]",
            "add r3, r3, r12",
            "subs r1, r1, #1",
            "bne 2b",
            "pop {{r4-r11, pc}}",
        );
    }

    pub(super) fn requantize_rows(
        sums: &[[i32; 2]],
        side: usize,
        constants: [i32; 6],
        output: &mut [i8],
        stride: usize,
        requantize: impl Fn(i32) -> i8,
    ) {
        let [.., max] = constants;
        if max != 127 {
            // A clamp below 127 (no model in this repository has one): the portable loop.
            let mut index = 0_usize;
            for &[first, second] in sums {
                if let Some(slot) = output.get_mut(index) {
                    *slot = requantize(if side == 0 { first } else { second });
                }
                index = index.wrapping_add(stride);
            }
            return;
        }
        // Outputs j with j · stride < output.len().
        let rows = match output.len().checked_sub(1) {
            None => 0,
            Some(last) => last
                .checked_div(stride)
                .map_or(sums.len(), |n| n.saturating_add(1)),
        };
        let count = rows.min(sums.len());
        if count == 0 {
            return;
        }
        let first = sums.as_ptr().cast::<i32>().wrapping_add(side);
        // SAFETY: sums[j][side] for j < count ≤ sums.len() is at first + 8j bytes, aligned;
        // out + j · stride < out + output.len() for j < count ≤ rows; constants is 6 aligned
        // i32 on the stack; count ≥ 1.
        #[allow(unsafe_code)]
        unsafe {
            requantize_saturating(
                first,
                count,
                constants.as_ptr(),
                output.as_mut_ptr(),
                stride,
            );
        }
    }

    /// `runs ≥ 1` runs of `run ≥ 1` words, `stride` bytes apart in `a` and `b`, unpacked into
    /// `out` (four words per word).
    ///
    /// # Safety
    ///
    /// `a` and `b` readable for `(runs − 1) · stride + 4 · run` bytes (any alignment), `out`
    /// writable for `4 · run · runs` words, word-aligned; `run ≥ 1`, `runs ≥ 1`,
    /// `stride ≥ 4 · run`.
    #[unsafe(naked)]
    #[allow(unsafe_code)]
    unsafe extern "C" fn unpack_runs(
        a: *const i8,
        b: *const i8,
        run: usize,
        out: *mut u32,
        runs: usize,
        stride: usize,
    ) {
        core::arch::naked_asm!(
            "push {{r4-r8, lr}}",
            // r7 runs left, r8 the gap from a run's end to the next run's start.
            "ldrd r7, r8, [sp, #24]",
            "sub.w r8, r8, r2, lsl #2",
            "2:",
            "mov lr, r2",
            "3:",
            "ldr r4, [r0], #4",
            "ldr r6, [r1], #4",
            "sxtb16 r5, r4, ror #8",
            "sxtb16 r4, r4",
            "sxtb16 r12, r6, ror #8",
            "sxtb16 r6, r6",
            "stmia r3!, {{r4, r5, r6, r12}}",
            "subs lr, lr, #1",
            "bne 3b",
            "add r0, r0, r8",
            "add r1, r1, r8",
            "subs r7, r7, #1",
            "bne 2b",
            "pop {{r4-r8, pc}}",
        );
    }

    pub(super) fn unpack_weight_runs(
        a: &[i8],
        b: &[i8],
        [run, runs, stride]: [usize; 3],
        out: &mut [[u32; 4]],
    ) {
        // SAFETY: the public wrapper checked run ≥ 1, runs ≥ 1, stride ≥ 4·run, both rows at
        // least (runs − 1)·stride + 4·run bytes and out at least run·runs slots of four aligned
        // u32.
        #[allow(unsafe_code)]
        unsafe {
            unpack_runs(
                a.as_ptr(),
                b.as_ptr(),
                run,
                out.as_mut_ptr().cast(),
                runs,
                stride,
            );
        }
    }

    pub(super) fn unpack_weight_rows(a: &[[i8; 4]], b: &[[i8; 4]], out: &mut [[u32; 4]]) {
        let words = a.len().min(b.len()).min(out.len());
        if words > 0 {
            // SAFETY: one run of `words ≥ 1` words: `a` and `b` hold at least 4·words bytes,
            // `out` at least `words` slots of four aligned u32; the stride is the run's length.
            #[allow(unsafe_code)]
            unsafe {
                unpack_runs(
                    a.as_ptr().cast(),
                    b.as_ptr().cast(),
                    words,
                    out.as_mut_ptr().cast(),
                    1,
                    words.wrapping_mul(4),
                );
            }
        }
    }

    /// One word of the rows against one word of the pair block: the weight pointer `r0`, the
    /// panel pointer `r2`; accumulators `r3` (a·p), `r4` (b·p), `r5` (a·q), `r6` (b·q); operands
    /// `r8`–`r9` (weight halves), `r10`–`r11` (p), `r12`–`lr` (q).
    macro_rules! word {
        () => {
            concat!(
                "ldrd r8, r9, [r0], #8\n",
                "ldrd r10, r11, [r2], #8\n",
                "ldrd r12, lr, [r2], #8\n",
                "smlad r3, r8, r10, r3\n",
                "smlad r3, r9, r11, r3\n",
                "smlad r5, r8, r12, r5\n",
                "smlad r5, r9, lr, r5\n",
                "ldrd r8, r9, [r0], #8\n",
                "smlad r4, r8, r10, r4\n",
                "smlad r4, r9, r11, r4\n",
                "smlad r6, r8, r12, r6\n",
                "smlad r6, r9, lr, r6\n",
            )
        };
    }

    /// `blocks ≥ 1` pair blocks of `words ≥ 1` words against the prepared weights; four `i32` per
    /// block to `out`.
    ///
    /// # Safety
    ///
    /// `weights` readable for `4 · words` words, `panel` for `4 · words · blocks` words, `out`
    /// writable for `4 · blocks` `i32`, all word-aligned; `words ≥ 1`, `blocks ≥ 1`.
    #[unsafe(naked)]
    #[allow(unsafe_code)]
    unsafe extern "C" fn dot_blocks(
        weights: *const u32,
        words: usize,
        panel: *const u32,
        blocks: usize,
        out: *mut i32,
    ) {
        core::arch::naked_asm!(
            // AAPCS: r0–r3 the first four arguments, `out` on the stack; r4–r11 callee-saved.
            "push {{r4-r11, lr}}",
            "ldr r7, [sp, #36]",
            // [sp] weights, [sp, #4] words, [sp, #8] blocks left.
            "push {{r0, r1, r3}}",
            "2:",
            "ldr r0, [sp]",
            "ldr r1, [sp, #4]",
            // The first word multiplies without accumulating (no accumulator to clear).
            "ldrd r8, r9, [r0], #8",
            "ldrd r10, r11, [r2], #8",
            "ldrd r12, lr, [r2], #8",
            "smuad r3, r8, r10",
            "smlad r3, r9, r11, r3",
            "smuad r5, r8, r12",
            "smlad r5, r9, lr, r5",
            "ldrd r8, r9, [r0], #8",
            "smuad r4, r8, r10",
            "smlad r4, r9, r11, r4",
            "smuad r6, r8, r12",
            "smlad r6, r9, lr, r6",
            // words − 1 left: one, two and four words for its low three bits, then eight per
            // iteration.
            "subs r1, r1, #1",
            "lsrs r1, r1, #1",
            "bcc 3f",
            word!(),
            "3:",
            "lsrs r1, r1, #1",
            "bcc 4f",
            word!(),
            word!(),
            "4:",
            "lsrs r1, r1, #1",
            "bcc 5f",
            word!(),
            word!(),
            word!(),
            word!(),
            "5:",
            "cmp r1, #0",
            "beq 7f",
            "6:",
            word!(),
            word!(),
            word!(),
            word!(),
            word!(),
            word!(),
            word!(),
            word!(),
            "subs r1, r1, #1",
            "bne 6b",
            "7:",
            "stmia r7!, {{r3, r4, r5, r6}}",
            "ldr r1, [sp, #8]",
            "subs r1, r1, #1",
            "str r1, [sp, #8]",
            "bne 2b",
            "add sp, sp, #12",
            "pop {{r4-r11, pc}}",
        );
    }

    pub(super) fn dot_panel(weights: &[u32], panel: &[u32], out: &mut [[i32; 2]]) {
        let words = weights.len() / 4;
        if words == 0 {
            return;
        }
        let (blocks, tail) = block_counts(words, panel, out);
        if blocks > 0 {
            // SAFETY: `weights` holds 4·words words; `panel` holds at least `blocks` blocks of
            // 4·words words and `out` at least 2·blocks pairs (block_counts); `&[u32]` and
            // `[[i32; 2]]` are word-aligned; words, blocks ≥ 1.
            #[allow(unsafe_code)]
            unsafe {
                dot_blocks(
                    weights.as_ptr(),
                    words,
                    panel.as_ptr(),
                    blocks,
                    out.as_mut_ptr().cast(),
                );
            }
        }
        if tail {
            let start = blocks.saturating_mul(words).saturating_mul(4);
            let mut pair = [[0_i32; 2]; 2];
            if let (Some(block), Some(first)) =
                (panel.get(start..), out.get_mut(blocks.saturating_mul(2)))
            {
                // SAFETY: as above for one block: `block` holds at least 4·words words
                // (block_counts saw one more block), `pair` four i32.
                #[allow(unsafe_code)]
                unsafe {
                    dot_blocks(
                        weights.as_ptr(),
                        words,
                        block.as_ptr(),
                        1,
                        pair.as_mut_ptr().cast(),
                    );
                }
                *first = pair[0];
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
    fn panel_dots_equal_the_reference_and_the_byte_products() {
        for n in 1..20 {
            for blocks in 0..4 {
                let rows = words(2 * n, 7 + n as u32);
                let weights: Vec<u32> = rows
                    .chunks_exact(2)
                    .flat_map(|pair| unpack_weights(pair[0], pair[1]))
                    .collect();
                let raw = words(2 * n * blocks, 99 + blocks as u32);
                let panel: Vec<u32> = raw
                    .chunks_exact(2)
                    .flat_map(|pair| unpack_weights(pair[0], pair[1]))
                    .collect();
                for outputs in [2 * blocks, (2 * blocks).saturating_sub(1), 2 * blocks + 3] {
                    let mut want = vec![[0x5555_i32; 2]; outputs];
                    dot_panel_reference(&weights, &panel, &mut want);
                    let mut got = vec![[0x5555_i32; 2]; outputs];
                    dot_panel(&weights, &panel, &mut got);
                    assert_eq!(got, want, "{n} words, {blocks} blocks, {outputs} outputs");
                }
                let mut want = vec![[0x5555_i32; 2]; 2 * blocks];
                dot_panel_reference(&weights, &panel, &mut want);
                // Against plain byte products: patch s of block q is word 2i + s of its raw block.
                for (q, pair) in want.chunks(2).enumerate() {
                    for (s, acc) in pair.iter().enumerate() {
                        for (r, &sum) in acc.iter().enumerate() {
                            let mut expected = 0_i32;
                            for i in 0..n {
                                let w = rows[2 * i + r].to_le_bytes();
                                let p = raw[q * 2 * n + 2 * i + s].to_le_bytes();
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
    fn weight_rows_unpack_word_by_word() {
        let a: Vec<[i8; 4]> = words(9, 3)
            .iter()
            .map(|w| w.to_le_bytes().map(|b| b as i8))
            .collect();
        let b: Vec<[i8; 4]> = words(7, 5)
            .iter()
            .map(|w| w.to_le_bytes().map(|b| b as i8))
            .collect();
        let mut out = vec![[1_u32; 4]; 8];
        unpack_weight_rows(&a, &b, &mut out);
        let word = |c: &[i8; 4]| u32::from_le_bytes(c.map(|x| x as u8));
        for i in 0..7 {
            assert_eq!(out[i], unpack_weights(word(&a[i]), word(&b[i])));
        }
        assert_eq!(out[7], [1; 4]);
    }

    #[test]
    fn weight_runs_unpack_run_by_run() {
        let bytes = |n, seed| -> Vec<i8> {
            words(n, seed)
                .iter()
                .flat_map(|w| w.to_le_bytes())
                .map(|b| b as i8)
                .collect()
        };
        let (a, b) = (bytes(40, 11), bytes(40, 13));
        let word = |c: &[i8]| u32::from_le_bytes([c[0] as u8, c[1] as u8, c[2] as u8, c[3] as u8]);
        for (run, runs, stride) in [(1, 3, 28), (4, 3, 60), (3, 5, 12), (2, 1, 8)] {
            let mut out = vec![[7_u32; 4]; run * runs + 1];
            unpack_weight_runs(&a, &b, [run, runs, stride], &mut out);
            for r in 0..runs {
                for i in 0..run {
                    let at = r * stride + 4 * i;
                    let want = unpack_weights(word(&a[at..]), word(&b[at..]));
                    assert_eq!(out[r * run + i], want, "{run} {runs} {stride}");
                }
            }
            assert_eq!(out[run * runs], [7; 4]);
        }
        // Refused: rows too short, stride below a run, out too short.
        let mut out = vec![[7_u32; 4]; 8];
        unpack_weight_runs(&a[..20], &b, [2, 3, 8], &mut out);
        unpack_weight_runs(&a, &b, [2, 3, 4], &mut out);
        unpack_weight_runs(&a, &b, [3, 3, 12], &mut out);
        assert_eq!(out, vec![[7; 4]; 8]);
    }

    #[test]
    fn rows_requantize_every_stride_th_output() {
        let sums: Vec<[i32; 2]> = (0..9).map(|i| [i, 100 + i]).collect();
        for stride in [0, 1, 3] {
            for len in [0, 1, 5, 30] {
                for side in [0, 1, 2] {
                    let mut got = vec![-1_i8; len];
                    requantize_rows(&sums, side, [0; 6], &mut got, stride, |s| s as i8);
                    let mut want = vec![-1_i8; len];
                    for (j, pair) in sums.iter().enumerate() {
                        if let Some(slot) = want.get_mut(j * stride) {
                            *slot = pair[side.min(1)] as i8;
                        }
                    }
                    assert_eq!(got, want, "stride {stride} len {len} side {side}");
                }
            }
        }
    }

    #[test]
    fn no_weight_words_write_nothing() {
        let mut out = [[7_i32; 2]; 2];
        dot_panel(&[], &[1, 2, 3, 4], &mut out);
        assert_eq!(out, [[7; 2]; 2]);
        dot_panel_reference(&[], &[1, 2, 3, 4], &mut out);
        assert_eq!(out, [[7; 2]; 2]);
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
        assert_eq!(unpack(a), [ae, ao]);
    }

    #[test]
    fn multiply_high_rounded_is_the_rounded_high_word() {
        let values = [
            0,
            1,
            -1,
            2,
            i32::MAX,
            i32::MIN,
            1 << 30,
            -(1 << 30),
            12345,
            -98765,
        ];
        for &a in &values {
            for &b in &values {
                let exact = (i128::from(a) * i128::from(b) + (1 << 31)).div_euclid(1 << 32);
                assert_eq!(i128::from(multiply_high_rounded(a, b)), exact, "{a} {b}");
            }
        }
    }
}
