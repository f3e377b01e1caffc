//! RISC-V (riscv32imc-unknown-none-elf) under `qemu-system-riscv32 -M virt
//! -bios none`: QEMU's reset code jumps to 0x80000000, where the link script
//! (`linker/riscv32imc-qemu-test.x`, via build.rs) puts `_start` below.
//!
//! `_start` sets the stack pointer and the trap vector, copies `.data` from
//! its load address (QEMU's `-kernel` does not), zeroes `.bss` and calls
//! rustc's C `main` for the test binary. A trap (illegal instruction, access
//! fault) is reported as a failure with its cause and address.

use core::arch::{asm, global_asm};

use crate::runner::fault;
pub(crate) use crate::semihosting::{exit, write};

#[link(name = "-Tqemu-test.x", kind = "link-arg")]
extern "C" {}

global_asm!(
    r#"
    .section .text.start, "ax"
    .global _start
_start:
    la sp, _stack_start
    la t0, .Ltrap
    csrw mtvec, t0

    la t0, __sidata
    la t1, __sdata
    la t2, __edata
1:  bgeu t1, t2, 2f
    lw t3, 0(t0)
    sw t3, 0(t1)
    addi t0, t0, 4
    addi t1, t1, 4
    j 1b
2:
    la t1, __sbss
    la t2, __ebss
3:  bgeu t1, t2, 4f
    sw zero, 0(t1)
    addi t1, t1, 4
    j 3b
4:
    li a0, 0
    li a1, 0
    call main
5:  j 5b

    .balign 4
.Ltrap:
    la sp, _stack_start
    csrr a0, mcause
    csrr a1, mepc
    csrr a2, mtval
    call {trap}
"#,
    trap = sym trap,
);

extern "C" fn trap(mcause: usize, mepc: usize, mtval: usize) -> ! {
    fault(format_args!(
        "trap: mcause {mcause:#x} at mepc {mepc:#010x}, mtval {mtval:#010x}"
    ))
}

/// The semihosting trap: operation `op`, argument (block address) `param`.
pub(crate) fn semihost(op: usize, param: usize) -> isize {
    let ret: isize;
    // SAFETY: the RISC-V semihosting sequence (a tagged EBREAK): QEMU
    // recognises it only as three uncompressed instructions in one page, hence
    // `norvc` and the alignment. It reads only the argument block at `param`,
    // which the caller keeps alive, and returns in a0.
    unsafe {
        asm!(
            ".balign 16",
            ".option push",
            ".option norvc",
            "slli x0, x0, 0x1f",
            "ebreak",
            "srai x0, x0, 7",
            ".option pop",
            inout("a0") op => ret,
            in("a1") param,
            options(nostack, preserves_flags),
        );
    }
    ret
}
