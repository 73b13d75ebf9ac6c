//! The shared core on a Cortex-M4F.
//!
//! Streams an 8 kHz clip embedded in flash through `core-nostd`'s streaming front end in
//! 32-sample chunks (a DMA half-buffer's worth, as a microphone driver would deliver them),
//! hashes the feature stream with SHA-256, and reports it next to the hash the build host
//! computed with the same code. Exit status: 0 when they match, 1 otherwise or on any fault.
//!
//! Under QEMU (`mps2-an386` or `netduinoplus2`) output goes through semihosting; with the `defmt`
//! feature it goes over RTT to a debug probe (probe-rs).
#![no_std]
#![no_main]
#![deny(unsafe_code)]

mod report;
mod stack;

use core_nostd::frontend::{StreamingFrontEnd, frame_count};
use cortex_m_rt::{ExceptionFrame, entry, exception};
use sha2::{Digest, Sha256};

include!(concat!(env!("OUT_DIR"), "/expected.rs"));

/// The clip, raw little-endian i16 at 8 kHz (written by build.rs).
static CLIP: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/clip.i16"));

/// Samples handed to the front end per push: the size of a typical DMA half-buffer.
const CHUNK: usize = 32;

#[entry]
fn main() -> ! {
    #[cfg(feature = "fault-selftest")]
    fault_selftest();

    let measured_frames = stream_clip(|_| ());
    let mut hasher = Sha256::new();
    let frames = stream_clip(|frame| hasher.update(frame.map(|code| code as u8)));
    let digest: [u8; 32] = hasher.finalize().into();

    let ok = frames == HOST_FRAMES && frames == measured_frames && digest == HOST_SHA256;
    report::result(
        CLIP_NAME,
        CLIP_SAMPLES,
        frames,
        frame_count(CLIP_SAMPLES),
        &digest,
        &HOST_SHA256,
        ok,
    );
    report::stack(stack::high_water_bytes());
    report::exit(ok)
}

/// Executes an undefined instruction: proves in CI that a fault ends the run with status 1
/// instead of hanging QEMU.
#[cfg(feature = "fault-selftest")]
fn fault_selftest() {
    if !CLIP.is_empty() {
        cortex_m::asm::udf();
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

/// Marks the start of a measured region (an address for the instruction-trace script).
/// The bodies differ so that LLVM's function merging keeps two addresses.
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
