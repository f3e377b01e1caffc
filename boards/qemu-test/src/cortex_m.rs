//! Cortex-M under `qemu-system-arm -M mps2-an386` (a Cortex-M4): thumbv7em
//! (Cortex-M4F) and thumbv6m (Cortex-M0+, the RP2040's core).
//!
//! cortex-m-rt is the startup: vector table, `.data` copied from flash (QEMU's
//! `-kernel` only loads it there), `.bss` zeroed, FPU enabled in CPACR on
//! eabihf, then `bl main`, which is rustc's C `main` for the test binary. The
//! memory map is `linker/<thumbv7em|thumbv6m>-qemu-test.x` (build.rs); the
//! stack is the top of RAM.
//!
//! QEMU has no Cortex-M0 machine with the RAM the tests need (the micro:bit
//! has 16 KiB; the wire tests use ~140 KiB of stack), so thumbv6m code runs
//! on the M4. ARMv6-M's instructions are a subset of ARMv7-M's and execute
//! the same there, with one difference a program can trip over: ARMv6-M
//! faults on every unaligned access, ARMv7-M allows unaligned LDR/STR(H).
//! [`armv6m_alignment`] turns on the M4's trap for those (CCR.UNALIGN_TRP),
//! so an unaligned access in thumbv6m code fails the run as it would on an
//! RP2040.

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

/// Configuration and Control Register (ARMv7-M ARM, B3.2.8).
#[cfg(armv6m)]
const SCB_CCR: usize = 0xE000_ED14;
/// CCR bit 3: trap unaligned halfword and word accesses.
#[cfg(armv6m)]
const UNALIGN_TRP: u32 = 1 << 3;

/// Makes the M4 fault on unaligned accesses as ARMv6-M does (the module doc).
/// The fault is a UsageFault, escalated to [`HardFault`] (UsageFault is not
/// enabled), which fails the run.
#[cfg(armv6m)]
pub(crate) fn armv6m_alignment() {
    // SAFETY: CCR is a memory-mapped system register every ARMv7-M core has
    // at this address; setting UNALIGN_TRP changes only how unaligned
    // accesses are handled. Runs before any test, with nothing else running.
    unsafe {
        let ccr = SCB_CCR as *mut u32;
        ccr.write_volatile(ccr.read_volatile() | UNALIGN_TRP);
    }
}
