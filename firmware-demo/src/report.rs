//! Where the firmware's results go: semihosting under QEMU, defmt over RTT on real boards.

/// Prints the run's result: the clip, frames, the firmware's and the host's feature hashes.
pub fn result(
    clip: &str,
    samples: usize,
    frames: usize,
    expected_frames: usize,
    digest: &[u8; 32],
    host: &[u8; 32],
    ok: bool,
) {
    imp::result(clip, samples, frames, expected_frames, digest, host, ok);
}

/// Reports the stack's high-water mark in bytes.
pub fn stack(bytes: usize) {
    imp::stack(bytes);
}

/// Reports a fault (HardFault or an unexpected exception) at `at` (PC or IRQ number).
pub fn fault(what: &str, at: u32) {
    imp::fault(what, at);
}

/// Reports a panic.
pub fn panic(info: &core::panic::PanicInfo) {
    imp::panic(info);
}

/// Ends the run: exit status 0 (`ok`) or 1 under QEMU; a breakpoint on a real board.
pub fn exit(ok: bool) -> ! {
    imp::exit(ok)
}

#[cfg(not(feature = "defmt"))]
mod imp {
    use cortex_m_semihosting::{debug, hprintln};

    /// A SHA-256 digest written as 64 lowercase hex digits.
    struct Hex<'a>(&'a [u8; 32]);

    impl core::fmt::Display for Hex<'_> {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
        }
    }

    pub fn result(
        clip: &str,
        samples: usize,
        frames: usize,
        expected_frames: usize,
        digest: &[u8; 32],
        host: &[u8; 32],
        ok: bool,
    ) {
        hprintln!("firmware-demo: front end on Cortex-M4F");
        hprintln!("clip: {} ({} samples at 8 kHz)", clip, samples);
        hprintln!("frames: {} (expected {})", frames, expected_frames);
        hprintln!("features sha256: {}", Hex(digest));
        hprintln!("host sha256:     {}", Hex(host));
        hprintln!(
            "{}",
            if ok {
                "result: MATCH"
            } else {
                "result: MISMATCH"
            }
        );
    }

    pub fn stack(bytes: usize) {
        hprintln!("stack high-water: {} bytes", bytes);
    }

    pub fn fault(what: &str, at: u32) {
        hprintln!("firmware-demo: {} at {:#010x}", what, at);
    }

    pub fn panic(info: &core::panic::PanicInfo) {
        hprintln!("firmware-demo: panic: {}", info);
    }

    pub fn exit(ok: bool) -> ! {
        debug::exit(if ok {
            debug::EXIT_SUCCESS
        } else {
            debug::EXIT_FAILURE
        });
        // Only reached without a debugger/semihosting host.
        loop {
            cortex_m::asm::wfi();
        }
    }
}

#[cfg(feature = "defmt")]
mod imp {
    use defmt_rtt as _;

    pub fn result(
        clip: &str,
        samples: usize,
        frames: usize,
        expected_frames: usize,
        digest: &[u8; 32],
        host: &[u8; 32],
        ok: bool,
    ) {
        defmt::println!("clip: {=str} ({=usize} samples at 8 kHz)", clip, samples);
        defmt::println!(
            "frames: {=usize} (expected {=usize})",
            frames,
            expected_frames
        );
        defmt::println!("features sha256: {=[u8]:02x}", &digest[..]);
        defmt::println!("host sha256:     {=[u8]:02x}", &host[..]);
        defmt::println!("result: {=str}", if ok { "MATCH" } else { "MISMATCH" });
    }

    pub fn stack(bytes: usize) {
        defmt::println!("stack high-water: {=usize} bytes", bytes);
    }

    pub fn fault(what: &str, at: u32) {
        defmt::println!("{=str} at {=u32:#010x}", what, at);
    }

    pub fn panic(info: &core::panic::PanicInfo) {
        defmt::println!("panic: {}", defmt::Display2Format(info));
    }

    pub fn exit(_ok: bool) -> ! {
        loop {
            cortex_m::asm::bkpt();
        }
    }
}
