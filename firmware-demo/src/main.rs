//! The shared core on a Cortex-M4F: the front end and the int8 networks of `core-nostd`,
//! classifying an 8 kHz clip embedded in flash.
//!
//! 1. **Front end check**: streams the clip through `core-nostd`'s streaming front end in
//!    32-sample chunks (a DMA half-buffer's worth, as a microphone driver would deliver them),
//!    hashes the feature stream with SHA-256 and compares it with the hash the build host computed
//!    with the same code.
//! 2. **Classification** (when a model is embedded, see `build.rs`): one streaming front end per
//!    stacked window (`core_nostd::streaming::window_starts` places the windows on the clip) is fed
//!    the clip sample chunk by sample chunk, in lockstep; each time every window has produced its
//!    next frame, the frames form one input column, which goes straight through both int8
//!    networks (`core_nostd::streaming::StreamingClassifier`: each layer keeps only the input
//!    columns its kernel still needs, so neither the input nor any whole feature map is ever held).
//!    The firmware prints the composer and instrument scores (int8 logits, Q15 probabilities) and
//!    compares the logits with those the build host computed layer by layer.
//! 3. **Memory**: static RAM (including the streaming scratch) and the painted stack's high-water
//!    mark.
//!
//! Exit status: 0 when the feature hash and the logits match the host's, 1 otherwise or on any
//! fault. Under QEMU (`mps2-an386` or `netduinoplus2`) output goes through semihosting; with the
//! `defmt` feature it goes over RTT to a debug probe (probe-rs).
#![no_std]
#![no_main]
#![deny(unsafe_code)]

mod classify;
mod report;
mod stack;

use core_nostd::frontend::{StreamingFrontEnd, frame_count};
use cortex_m_rt::{ExceptionFrame, entry, exception};
use sha2::{Digest, Sha256};

include!(concat!(env!("OUT_DIR"), "/expected.rs"));

/// The clip, raw little-endian i16 at 8 kHz (written by build.rs).
static CLIP: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/clip.i16"));

/// The model file (empty when none is embedded), read in place from flash.
static MODEL: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/model.cmpcls"));

/// Samples handed to a front end per push: the size of a typical DMA half-buffer.
const CHUNK: usize = 32;

#[entry]
fn main() -> ! {
    // cortex-m-rt turns this into a `&'static mut` (in .bss), safely: the streaming scratch,
    // sized by build.rs for the embedded model (`core_nostd::streaming::scratch_bytes`).
    static mut SCRATCH: [u8; SCRATCH_LEN] = [0; SCRATCH_LEN];

    #[cfg(feature = "fault-selftest")]
    fault_selftest();

    let measured_frames = stream_clip(|_| ());
    let mut hasher = Sha256::new();
    let frames = stream_clip(|frame| hasher.update(frame.map(|code| code as u8)));
    let digest: [u8; 32] = hasher.finalize().into();

    let features_ok = frames == HOST_FRAMES && frames == measured_frames && digest == HOST_SHA256;
    report::result(
        CLIP_NAME,
        CLIP_SAMPLES,
        frames,
        frame_count(CLIP_SAMPLES),
        &digest,
        &HOST_SHA256,
        features_ok,
    );

    let classified = if MODEL.is_empty() {
        report::line(format_args!(
            "model: none embedded (set FIRMWARE_MODEL or add models/reference.cmpcls)"
        ));
        true
    } else {
        classify::run(SCRATCH)
    };

    let high_water = stack::high_water_bytes();
    report::memory(
        stack::static_ram_bytes(),
        SCRATCH_LEN,
        high_water,
        stack::ram_bytes(),
    );
    report::stack(high_water);
    report::exit(features_ok && classified)
}

/// Executes an undefined instruction: proves in CI that a fault ends the run with status 1
/// instead of hanging QEMU.
#[cfg(feature = "fault-selftest")]
fn fault_selftest() {
    if !CLIP.is_empty() {
        cortex_m::asm::udf();
    }
}

/// Sample `index` of the clip, 0 past its end (windows past the end are zero-padded, as on the
/// host).
fn sample(index: usize) -> i16 {
    let at = index.saturating_mul(2);
    match CLIP.get(at..at + 2) {
        Some(&[lo, hi]) => i16::from_le_bytes([lo, hi]),
        _ => 0,
    }
}

/// Streams the whole clip through a fresh front end, calling `on_frame` per frame; returns the
/// number of frames. The first call is bracketed by [`bench_start`]/[`bench_end`] for
/// instruction counting (bench/firmware-insns.sh).
fn stream_clip(mut on_frame: impl FnMut(&core_nostd::frontend::Frame)) -> usize {
    let mut front_end = StreamingFrontEnd::new();
    let mut chunk = [0_i16; CHUNK];
    let mut frames = 0;
    bench_start();
    for bytes in CLIP.chunks(2 * CHUNK) {
        let mut filled = 0;
        for (slot, pair) in chunk.iter_mut().zip(bytes.chunks_exact(2)) {
            *slot = i16::from_le_bytes([pair[0], pair[1]]);
            filled += 1;
        }
        frames += front_end.push(&chunk[..filled], &mut on_frame);
    }
    bench_end();
    frames
}

/// Marks the start of a measured region (an address for the instruction-count script).
/// The bodies differ so that LLVM's function merging keeps distinct addresses.
#[inline(never)]
fn bench_start() {
    cortex_m::asm::nop();
}

/// Marks the end of a measured region.
#[inline(never)]
fn bench_end() {
    cortex_m::asm::nop();
    cortex_m::asm::nop();
}

/// Marks the start of the classification region (front ends of every window + both networks).
#[inline(never)]
fn infer_start() {
    cortex_m::asm::nop();
    cortex_m::asm::nop();
    cortex_m::asm::nop();
}

/// Marks the end of the classification region.
#[inline(never)]
fn infer_end() {
    cortex_m::asm::nop();
    cortex_m::asm::nop();
    cortex_m::asm::nop();
    cortex_m::asm::nop();
}

#[exception]
#[allow(unsafe_code)] // cortex-m-rt requires HardFault to be an `unsafe fn`.
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    report::fault("HardFault", frame.pc());
    report::exit(false)
}

#[exception]
#[allow(unsafe_code)] // Likewise for the default handler's signature.
unsafe fn DefaultHandler(irqn: i16) {
    report::fault("unexpected exception", irqn as u32);
    report::exit(false)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    report::panic(info);
    report::exit(false)
}
