//! Xtensa lx106 (the ESP8266's ISA; targets/xtensa-lx106-none-elf.json)
//! under `qemu-system-xtensa -M sim -cpu lx106`, which starts at `_start`
//! (QEMU's `-device loader` sets the PC to the ELF's entry).
//!
//! The startup is the ESP8266 board's runtime for QEMU, assembled by
//! build.rs from `boards/esp8266/asm/`: `_start` (start_sim.S) sets VECBASE
//! to the vectors (rt.S), the stack pointer to `_stack_top`, zeroes `.bss`
//! (QEMU's loader puts `.data` in place) and calls rustc's C `main` for the
//! test binary; its semihosting calls (`simcall`) are the console and the
//! exit status. The memory map is `linker/lx106-qemu-test.x` (build.rs).
//! Rustc has no Xtensa inline assembly, so this module only declares the
//! assembly routines and defines the hook the vectors call.

use crate::runner::fault;

#[link(name = "-Tqemu-test.x", kind = "link-arg")]
extern "C" {}

/// Host file descriptor of QEMU's standard output.
const STDOUT: u32 = 1;
/// The cause `abort` (rt.S, what LLVM calls on a trap) passes to the hook.
const ABORT: u32 = 0x100;

// boards/esp8266/asm/start_sim.S (call0 ABI: arguments in a2.., result in a2).
extern "C" {
    fn limpet_sim_write(fd: u32, buf: *const u8, len: usize) -> isize;
    fn limpet_sim_exit(code: i32) -> !;
}

pub(crate) fn write(mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: semihosting write (simcall 4): QEMU reads `len` bytes at
        // `buf`, which the slice guarantees, and returns the count written.
        let n = unsafe { limpet_sim_write(STDOUT, bytes.as_ptr(), bytes.len()) };
        if n <= 0 || n as usize > bytes.len() {
            return;
        }
        bytes = &bytes[n as usize..];
    }
}

pub(crate) fn exit(code: i32) -> ! {
    // SAFETY: semihosting exit (simcall 1) takes an integer and ends the run.
    unsafe { limpet_sim_exit(code) }
}

/// Called by the vectors (rt.S) on any CPU exception, on a fresh stack,
/// and by `abort` with cause 0x100. Replaces start_sim.S's weak default,
/// which exits without a word.
#[no_mangle]
extern "C" fn __limpet_fatal_exception(cause: u32, pc: u32, address: u32) -> ! {
    if cause == ABORT {
        fault(format_args!("abort called from pc {pc:#010x}"))
    }
    // Xtensa ISA exception causes: 0 illegal instruction, 3 load/store
    // error, 6 divide by zero, 9 unaligned, 15 bus error (unmapped address),
    // 28/29 load/store prohibited.
    fault(format_args!(
        "CPU exception: cause {cause} at pc {pc:#010x}, address {address:#010x}"
    ))
}
