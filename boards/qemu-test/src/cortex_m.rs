//! Cortex-M (thumbv7em-none-eabihf) under `qemu-system-arm -M mps2-an386`.
//!
//! cortex-m-rt is the startup: vector table, `.data` copied from flash (QEMU's
//! `-kernel` only loads it there), `.bss` zeroed, FPU enabled in CPACR, then
//! `bl main`, which is rustc's C `main` for the test binary. The memory map is
//! `linker/thumbv7em-qemu-test.x` (build.rs); the stack is the top of RAM.

use core::arch::asm;

use cortex_m_rt::{exception, ExceptionFrame};

use crate::runner::fault;
pub(crate) use crate::semihosting::{exit, write};

// cortex-m-rt's link script, for the binaries that link this crate only (a
// build script's `rustc-link-arg` would not reach the test binary, and
// `.cargo/config.toml` rustflags would reach the size harness's binaries too,
// which add it themselves).
#[link(name = "-Tlink.x", kind = "link-arg")]
extern "C" {}

/// The semihosting trap: operation `op`, argument (block address) `param`.
pub(crate) fn semihost(op: usize, param: usize) -> isize {
    let ret: isize;
    // SAFETY: BKPT 0xAB is the semihosting call; QEMU handles it (we always
    // run with semihosting on), reads only the argument block at `param`,
    // which the caller keeps alive across the call, and returns in r0.
    unsafe {
        asm!("bkpt #0xab", inout("r0") op => ret, in("r1") param, options(nostack, preserves_flags));
    }
    ret
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    fault(format_args!(
        "HardFault at pc {:#010x}, lr {:#010x}",
        frame.pc(),
        frame.lr()
    ))
}

#[exception]
unsafe fn DefaultHandler(irqn: i16) {
    fault(format_args!("unexpected exception {irqn}"))
}
