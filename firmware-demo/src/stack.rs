//! Stack high-water mark: cortex-m-rt (feature `paint-stack`) fills the whole stack region with
//! `STACK_PAINT_VALUE` at reset; the deepest word no longer holding it marks the most stack the
//! program has used so far.

use cortex_m_rt::STACK_PAINT_VALUE;

#[allow(unsafe_code)] // Linker-provided symbols; only their addresses are used.
unsafe extern "C" {
    /// Top of the stack (initial SP), from cortex-m-rt's link.x.
    static _stack_start: u32;
    /// Lowest address the stack may grow to (end of static RAM), from cortex-m-rt's link.x.
    static _stack_end: u32;
    /// Start of .data, the first section in RAM (the RAM origin), from cortex-m-rt's link.x.
    static __sdata: u32;
}

/// Bytes of static RAM: `.data`, `.bss` and `.uninit` (from the RAM origin to the stack's limit).
pub fn static_ram_bytes() -> usize {
    (&raw const _stack_end) as usize - (&raw const __sdata) as usize
}

/// Bytes of RAM in the memory map (static RAM and the stack region above it).
pub fn ram_bytes() -> usize {
    (&raw const _stack_start) as usize - (&raw const __sdata) as usize
}

/// Bytes of stack used since reset (the painted region scanned from the bottom up).
/// Cost: one read per unused stack word.
pub fn high_water_bytes() -> usize {
    let top = (&raw const _stack_start) as usize;
    let mut address = (&raw const _stack_end) as usize;
    while address < top {
        // SAFETY: `address` is 4-aligned and inside the RAM region reserved for the stack by the
        // linker script (between `_stack_end` and `_stack_start`), so it is valid to read.
        #[allow(unsafe_code)]
        let word = unsafe { core::ptr::read_volatile(address as *const u32) };
        if word != STACK_PAINT_VALUE {
            break;
        }
        address += 4;
    }
    top - address
}
