//! Runtime choice of instruction set for the host's hot kernels (x86_64).
//!
//! `cargo build --release` targets baseline x86_64 (SSE2), so LLVM may not use the AVX2
//! instructions nearly every x86_64 host has. The convolution ([`conv2d`](super::conv2d())) is
//! therefore compiled twice from one `#[inline(always)]` body, inside a
//! `#[target_feature(enable = "sse2")]` function and inside a
//! `#[target_feature(enable = "avx2")]` one, each with its own `pmaddwd` dot products. The first call asks the CPU which one it can run
//! ([`detected`]: `CPUID` for the AVX and AVX2 bits, `XGETBV` for the operating system's saving of
//! the YMM registers, both from `core::arch`, so no `std` is needed) and caches the answer in an
//! atomic; every later call costs one relaxed load and a branch.
//!
//! Both versions compute the same integer products and sums (only the vector width differs), and the `i32` sums wrap, so the order LLVM adds them in does not matter: the output
//! bits are the same (tested against each other and against the reference kernel).
//!
//! Elsewhere (32-bit Arm, other architectures, or a build whose target already enables AVX2)
//! there is nothing to choose: [`detected`] returns the best level the build itself guarantees,
//! and no `unsafe` code is compiled.

use core::sync::atomic::{AtomicU8, Ordering};

/// An instruction-set level the host kernels have a version for, in increasing order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Isa {
    /// What the build's target guarantees (SSE2 on x86_64; every non-x86 target).
    Baseline,
    /// x86_64 with AVX2 (256-bit integer vectors: `vpmaddwd` on 16 `i16` pairs).
    Avx2,
}

impl Isa {
    /// Every level, in increasing order.
    pub const ALL: [Self; 2] = [Self::Baseline, Self::Avx2];

    /// A short name (`"baseline"`, `"avx2"`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Baseline => "baseline",
            Self::Avx2 => "avx2",
        }
    }

    const fn code(self) -> u8 {
        match self {
            Self::Baseline => 1,
            Self::Avx2 => 2,
        }
    }
}

/// The cached answer of [`detected`]: 0 until the first call, then [`Isa::code`].
static DETECTED: AtomicU8 = AtomicU8::new(0);

/// The best level this CPU runs, detected on the first call and cached (later calls: one atomic
/// load).
#[must_use]
pub fn detected() -> Isa {
    match DETECTED.load(Ordering::Relaxed) {
        1 => Isa::Baseline,
        2 => Isa::Avx2,
        _ => {
            // Threads racing here compute the same answer; any of their stores is right.
            let isa = detect();
            DETECTED.store(isa.code(), Ordering::Relaxed);
            isa
        }
    }
}

/// `min(wanted, detected())`: the level a kernel asked for `wanted` actually runs (never one the
/// CPU lacks).
#[must_use]
pub fn usable(wanted: Isa) -> Isa {
    wanted.min(detected())
}

/// A description of the kernels in use, for benchmark and diagnostic output (e.g.
/// `"x86_64 avx2 (runtime-detected)"`).
#[must_use]
pub fn describe() -> &'static str {
    match (detected(), cfg!(target_arch = "x86_64")) {
        (Isa::Avx2, true) if cfg!(target_feature = "avx2") => "x86_64 avx2 (build target)",
        (Isa::Avx2, _) => "x86_64 avx2 (runtime-detected)",
        (Isa::Baseline, true) => "x86_64 baseline (no AVX2 on this CPU)",
        (Isa::Baseline, false) => "portable",
    }
}

/// Asks the CPU (x86_64): AVX2 needs the CPUID bits AVX (leaf 1 ECX 28), OSXSAVE (leaf 1 ECX 27)
/// and AVX2 (leaf 7 EBX 5), and the OS must save the XMM and YMM state (XCR0 bits 1 and 2).
#[cfg(target_arch = "x86_64")]
fn detect() -> Isa {
    use core::arch::x86_64::{__cpuid, __cpuid_count};
    if cfg!(target_feature = "avx2") {
        return Isa::Avx2;
    }
    if __cpuid(0).eax < 7 {
        return Isa::Baseline;
    }
    let leaf1 = __cpuid(1);
    let osxsave = leaf1.ecx & (1 << 27) != 0;
    let avx = leaf1.ecx & (1 << 28) != 0;
    let avx2 = __cpuid_count(7, 0).ebx & (1 << 5) != 0;
    if osxsave && avx && avx2 && ymm_state_enabled() {
        Isa::Avx2
    } else {
        Isa::Baseline
    }
}

/// Whether XCR0 has the SSE (bit 1) and AVX (bit 2) state enabled. Call only when CPUID reports
/// OSXSAVE.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
fn ymm_state_enabled() -> bool {
    // SAFETY: `_xgetbv` needs the XSAVE feature; the caller checked CPUID's OSXSAVE bit, which
    // says the CPU has XSAVE and the OS enabled XGETBV. Register 0 (XCR0) always exists then.
    let xcr0 = unsafe { core::arch::x86_64::_xgetbv(0) };
    xcr0 & 0b110 == 0b110
}

/// Other architectures: nothing to detect.
#[cfg(not(target_arch = "x86_64"))]
const fn detect() -> Isa {
    Isa::Baseline
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_is_cached_and_bounded() {
        let first = detected();
        assert_eq!(detected(), first);
        assert_eq!(usable(Isa::Avx2), first);
        assert_eq!(usable(Isa::Baseline), Isa::Baseline);
        if !cfg!(target_arch = "x86_64") {
            assert_eq!(first, Isa::Baseline);
        }
    }
}
