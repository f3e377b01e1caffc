/*
 * limpet ESP8266 runtime, shared by the chip and the QEMU `sim` builds:
 * the exception vectors, RAM set-up, the cycle counter, and the symbols
 * the compiler calls (atomics, `abort`). The entry point (`_start`) and how
 * the program halts live in start_chip.S or start_sim.S (build.rs assembles
 * one of them). Xtensa lx106, call0 ABI: arguments in a2..a7, result in a2,
 * return address in a0, stack pointer a1.
 *
 * Literals stay next to their code (assembled with -mtext-section-literals):
 * everything here runs from IRAM, before the flash cache is on.
 */

	.section .iram.rt, "ax"

/* ----------------------------------------------------------------- vectors
 * VECBASE points here (set by _start). lx106 offsets: debug / level-2 0x10,
 * NMI 0x20, kernel 0x30, user 0x50, double 0x70. Everything is polled, so
 * every exception that reaches us is fatal, except the NMI, which is
 * returned from (level 3). */
	.section .vectors, "ax"
	.global __limpet_vectors
	.align 256
__limpet_vectors:
	.org __limpet_vectors + 0x10
	j	__limpet_exception
	.org __limpet_vectors + 0x20
	rfi	3
	.org __limpet_vectors + 0x30
	j	__limpet_exception
	.org __limpet_vectors + 0x50
	j	__limpet_exception
	.org __limpet_vectors + 0x70
	j	__limpet_exception

	.section .iram.rt, "ax"
	.literal_position
	.align 4
/* Calls __limpet_fatal_exception(cause, pc, address) on a fresh stack (the
 * old one may be what failed). It does not return. */
__limpet_exception:
	movi	a1, _stack_top
	rsr.exccause a2
	rsr.epc1 a3
	rsr.excvaddr a4
	movi	a0, __limpet_fatal_exception
	callx0	a0
1:	j	1b

/* abort() -> !: what LLVM calls on a trap. Reported as cause 0x100, with
 * the caller's address as the pc. */
	.literal_position
	.global abort
	.align 4
abort:
	movi	a2, 0x100
	mov	a3, a0
	movi	a4, 0
	movi	a0, __limpet_fatal_exception
	callx0	a0
1:	j	1b

/* ---------------------------------------------------------------- RAM set-up
 * Copies .data from its load address when that differs from where it runs
 * (the ESP8266 ROM loader and QEMU's ELF loader both place it in RAM
 * already, so this is normally skipped), then zeroes .bss. Word-aligned
 * bounds come from the linker script. */
	.literal_position
	.global __limpet_init_ram
	.align 4
__limpet_init_ram:
	movi	a2, _data_start
	movi	a3, _data_end
	movi	a4, _data_load
	beq	a2, a4, 2f
1:	bgeu	a2, a3, 2f
	l32i	a5, a4, 0
	s32i	a5, a2, 0
	addi	a2, a2, 4
	addi	a4, a4, 4
	j	1b
2:	movi	a2, _bss_start
	movi	a3, _bss_end
	movi	a5, 0
3:	bgeu	a2, a3, 4f
	s32i	a5, a2, 0
	addi	a2, a2, 4
	j	3b
4:	memw
	ret

/* ------------------------------------------------------------ cycle counter
 * u32 limpet_ccount(void): CCOUNT, +1 per CPU clock, wraps. */
	.global limpet_ccount
	.align 4
limpet_ccount:
	rsr.ccount a2
	ret

/* ------------------------------------------------------------------ atomics
 * lx106 has no S32C1I, so LLVM turns atomic loads and stores into these
 * libcalls (the target JSON says atomic-cas: false, so no read-modify-write
 * is ever asked for). One core, no interrupt handlers of ours: an aligned
 * load or store is atomic already; MEMW on both sides orders it against
 * every other memory access, which covers every memory order (the second
 * argument of loads, the third of stores, ignored). */
	.global __atomic_load_1
	.align 4
__atomic_load_1:
	memw
	l8ui	a2, a2, 0
	memw
	ret

	.global __atomic_load_2
	.align 4
__atomic_load_2:
	memw
	l16ui	a2, a2, 0
	memw
	ret

	.global __atomic_load_4
	.align 4
__atomic_load_4:
	memw
	l32i	a2, a2, 0
	memw
	ret

	.global __atomic_store_1
	.align 4
__atomic_store_1:
	memw
	s8i	a3, a2, 0
	memw
	ret

	.global __atomic_store_2
	.align 4
__atomic_store_2:
	memw
	s16i	a3, a2, 0
	memw
	ret

	.global __atomic_store_4
	.align 4
__atomic_store_4:
	memw
	s32i	a3, a2, 0
	memw
	ret
