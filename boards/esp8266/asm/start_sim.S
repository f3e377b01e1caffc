/*
 * Entry for QEMU's `-M sim -cpu lx106` (linker/esp8266-sim.x), loaded with
 * `-device loader,file=ELF,cpu-num=0`, which sets the PC to `_start`. No ROM,
 * no flash cache, no PLL: only VECBASE, the stack and RAM set-up, then
 * `main`. Output and exit go through semihosting (`simcall`, run QEMU with
 * -semihosting): a2 = call number, a3.. = arguments, result in a2, errno in
 * a3. The wrappers below take C arguments (a2..a5) and shift them into place.
 */

	.section .iram.entry, "ax"
	.literal_position
	.global _start
	.align 4
_start:
	movi	a0, 0
	wsr.intenable a0
	movi	a2, __limpet_vectors
	wsr.vecbase a2
	movi	a2, 0x20		/* PS: UM=1, EXCM=0, INTLEVEL=0 */
	wsr.ps	a2
	rsync
	movi	a1, _stack_top
	call0	__limpet_init_ram
	movi	a0, main
	callx0	a0
	movi	a2, 0
	j	limpet_sim_exit

/* isize limpet_sim_write(u32 fd, const u8 *buf, usize len): call 4. */
	.global limpet_sim_write
	.align 4
limpet_sim_write:
	mov	a5, a4
	mov	a4, a3
	mov	a3, a2
	movi	a2, 4
	simcall
	ret

/* isize limpet_sim_read(u32 fd, u8 *buf, usize len): call 3. */
	.global limpet_sim_read
	.align 4
limpet_sim_read:
	mov	a5, a4
	mov	a4, a3
	mov	a3, a2
	movi	a2, 3
	simcall
	ret

/* i32 limpet_sim_select_one(u32 fd, u32 rq, const u32 *timeval): call 29;
 * rq 1 = readable, 2 = writable; timeval {sec, usec}, NULL waits forever. */
	.global limpet_sim_select_one
	.align 4
limpet_sim_select_one:
	mov	a5, a4
	mov	a4, a3
	mov	a3, a2
	movi	a2, 29
	simcall
	ret

/* limpet_sim_exit(i32 code) -> !: call 1; QEMU exits with `code`. */
	.global limpet_sim_exit
	.global __limpet_halt
	.align 4
limpet_sim_exit:
__limpet_halt:
	mov	a3, a2
	movi	a2, 1
	simcall
1:	j	1b

/* Weak default of the fatal-exception hook (the Rust crate defines the real
 * one), for programs that only use this runtime: exits 134 for `abort`
 * (cause 0x100), else 128 + (cause & 0x7F). */
	.weak	__limpet_fatal_exception
	.align 4
__limpet_fatal_exception:
	movi	a3, 0x100
	bne	a2, a3, 1f
	movi	a2, 134
	j	limpet_sim_exit
1:	extui	a2, a2, 0, 7
	addi	a2, a2, 128
	j	limpet_sim_exit
