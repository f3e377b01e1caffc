//! Runs a crate's unit tests on bare metal under QEMU, one ISA at a time.
//!
//! The crate under test names [`run`] as its custom test runner on
//! `target_os = "none"` (nightly `custom_test_frameworks`):
//!
//! ```ignore
//! #![cfg_attr(all(test, target_os = "none"), feature(custom_test_frameworks))]
//! #![cfg_attr(all(test, target_os = "none"), test_runner(limpet_qemu_test::run))]
//! ```
//!
//! and each test module makes `#[test]` mean `#[test_case]` there (libtest's
//! `#[test]` needs the `test` crate, which needs std):
//!
//! ```ignore
//! #[cfg(target_os = "none")]
//! use core::prelude::v1::test_case as test;
//! ```
//!
//! rustc then generates the test binary's `main`, which calls [`run`] with
//! every test function, and exports it as the C symbol `main` through the
//! `start` lang item defined here. The path from reset to the tests is:
//! the architecture's reset code (memory, FPU) → C `main` (rustc) → `start`
//! (stack painting) → the harness's `main` → [`run`] → semihosting exit.
//! Nothing in the crate under test names a symbol or needs `unsafe`.
//!
//! Per architecture, one module provides the startup and two primitives,
//! [`write`] to the host's stdout and [`exit`] with a status QEMU passes on:
//! `cortex_m` (thumbv7em, and thumbv6m with ARMv6-M's alignment rule, both
//! on `mps2-an386`) and `riscv` (riscv32imc, `virt`),
//! both over Arm-style semihosting (`semihosting`), and `lx106` (Xtensa
//! lx106, `sim`), over the ESP8266 board's assembly runtime and its
//! `simcall` semihosting (build.rs assembles it). The memory map is
//! `linker/<prefix>-qemu-test.x` (build.rs). A new ISA adds: a module with
//! `write`, `exit` and startup code that copies `.data`, zeroes `.bss` and
//! calls the C `main`; a link script defining `_stack_start`/`_stack_end`
//! (see `stack`); a case in build.rs; its QEMU command in scripts/qemu-run
//! and its cargo target in scripts/isa-test. Shared state uses `Cell`s, not
//! atomics, so targets without atomic instructions need nothing extra.
//!
//! Output, read by scripts/isa-test and CI: `test <path> ... ok` per test, a
//! stack high-water line, then `N passed, 0 failed` alone on a line and exit
//! status 0. A panic prints `FAILED`, the message and location, the counts,
//! and exits with 101 (libtest's status for failed tests).
#![no_std]
#![cfg_attr(target_os = "none", feature(lang_items, link_arg_attribute))]
#![cfg_attr(target_os = "none", allow(internal_features))]

#[cfg(target_os = "none")]
mod console;
#[cfg(target_os = "none")]
mod runner;
#[cfg(all(target_os = "none", any(target_arch = "arm", target_arch = "riscv32")))]
mod semihosting;
#[cfg(target_os = "none")]
mod stack;

#[cfg(all(target_os = "none", target_arch = "arm"))]
mod cortex_m;
#[cfg(all(target_os = "none", target_arch = "arm"))]
use cortex_m as arch;

#[cfg(all(target_os = "none", target_arch = "riscv32"))]
mod riscv;
#[cfg(all(target_os = "none", target_arch = "riscv32"))]
use riscv as arch;

#[cfg(all(target_os = "none", target_arch = "xtensa"))]
mod lx106;
#[cfg(all(target_os = "none", target_arch = "xtensa"))]
use lx106 as arch;

#[cfg(target_os = "none")]
pub use runner::{run, Testable};

/// Writes `bytes` to QEMU's standard output.
#[cfg(target_os = "none")]
pub fn write(bytes: &[u8]) {
    arch::write(bytes);
}

/// Ends the QEMU run; QEMU exits with `code`.
#[cfg(target_os = "none")]
pub fn exit(code: i32) -> ! {
    arch::exit(code)
}
