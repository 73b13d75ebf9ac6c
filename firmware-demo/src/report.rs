//! Where the firmware's results go: semihosting under QEMU, defmt over RTT on real boards.
//! The line formats are parsed by tests/tests/firmware_*.rs: change both together.

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

/// Prints one line of text.
pub fn line(args: core::fmt::Arguments<'_>) {
    imp::line(args);
}

/// Reports RAM use: static RAM (.data + .bss, which holds the streaming `scratch`), the stack's
/// high-water mark, and their sum against the RAM of the memory map.
pub fn memory(static_ram: usize, scratch: usize, high_water: usize, ram: usize) {
    line(format_args!(
        "memory: static RAM {static_ram} bytes (streaming scratch {scratch}), stack high-water \
         {high_water} bytes, peak RAM {} of {ram} bytes",
        static_ram + high_water
    ));
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
        hprintln!("firmware-demo: front end and int8 networks on Cortex-M4F");
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

    pub fn line(args: core::fmt::Arguments<'_>) {
        hprintln!("{}", args);
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

    pub fn line(args: core::fmt::Arguments<'_>) {
        use core::fmt::Write as _;
        // Formatted on the target (defmt's deferred formatting needs format strings it can
        // intern; these lines are built from data). Longer lines are cut at 256 bytes.
        let mut text = heapless::String::<256>::new();
        let _ = text.write_fmt(args);
        defmt::println!("{=str}", text.as_str());
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
