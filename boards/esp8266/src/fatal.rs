//! The end of the line: panics, CPU exceptions and `abort`, reported on the
//! console, then [`crate::hw::halt`] (on the chip the watchdog then resets
//! it; under QEMU the run exits with a status that says what happened).
//!
//! Exit statuses under QEMU: 101 for a panic (as libtest), 134 for `abort`
//! (as SIGABRT), 128 + EXCCAUSE for an exception. The log gives the cause
//! as a number (Xtensa ISA, "Exception causes"): 0 illegal instruction,
//! 3 load/store error (e.g. a byte read from flash), 6 divide by zero,
//! 9 unaligned access, 15 load/store bus error (an unmapped address, as
//! when the stack runs off DRAM), 28/29 load/store prohibited. Names are left out
//! to keep them out of DRAM (.rodata lives there).

use core::panic::PanicInfo;

use crate::hw;

/// What `abort` passes as the cause (asm/rt.S).
const ABORT: u32 = 0x100;

/// Reports a panic and halts. Call it from the binary's `#[panic_handler]`.
pub fn panic(info: &PanicInfo<'_>) -> ! {
    crate::log!("panic: {}", info);
    hw::halt(101)
}

/// Reports an exception (or `abort`, cause 0x100) and halts.
pub fn exception(cause: u32, pc: u32, address: u32) -> ! {
    if cause == ABORT {
        crate::log!("abort called from {:#010x}", pc);
        hw::halt(134);
    }
    crate::log!(
        "fatal exception: cause {} at pc {:#010x}, address {:#010x}",
        cause,
        pc,
        address
    );
    hw::halt(128 + (cause & 0x7F) as i32)
}
