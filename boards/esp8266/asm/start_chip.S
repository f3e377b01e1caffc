/*
 * Entry for the real ESP8266 (linker/esp8266.x). The ROM boot loader has
 * copied the image's IRAM, DRAM and .data segments into RAM and jumps to
 * the ELF entry point `_start`, in IRAM, with the flash cache still off.
 * So, in order: stop interrupts (everything is polled), point VECBASE at our
 * vectors, set the stack, run the CPU at 80 MHz, map flash at 0x40200000
 * (the irom0 code), set up RAM, call `main`. The hardware watchdog is left
 * as the ROM set it: the application feeds it (Watchdog::feed), and a halt
 * that stops feeding it ends in a chip reset.
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

	/* The ROM assumes a 40 MHz crystal; boards carry 26 MHz ones, which
	 * leaves the CPU at 52 MHz. Two writes to the PLL over the internal
	 * I2C bus (block 0x67, registers 1 and 2) make it 80 MHz (CPU and APB,
	 * hence the UART divisors and the cycle-counter clock). */
	movi	a2, 0x60000d10
	movi	a3, (1 << 24) | (136 << 16) | (1 << 8) | 0x67
	call0	pll_write
	movi	a3, (1 << 24) | (145 << 16) | (2 << 8) | 0x67
	call0	pll_write

	/* ROM Cache_Read_Enable(odd_even=0, mb_count=0, 1): the first MiB of
	 * flash readable (and executable) at 0x40200000. */
	movi	a2, 0
	movi	a3, 0
	movi	a4, 1
	movi	a0, Cache_Read_Enable
	callx0	a0

	call0	__limpet_init_ram
	movi	a0, main
	callx0	a0
	j	__limpet_halt

/* pll_write(a2 = register, a3 = command): write, wait while busy (bit 25). */
	.align 4
pll_write:
	s32i	a3, a2, 0
	memw
1:	l32i	a4, a2, 0
	bbsi	a4, 25, 1b
	ret

/* __limpet_halt(code) -> !: the end. Spins without feeding the watchdog, so
 * the chip resets when the watchdog is running (the ROM starts it). */
	.global __limpet_halt
	.align 4
__limpet_halt:
1:	j	1b

/* Weak default of the fatal-exception hook (the Rust crate defines the real
 * one, which logs first): halt. */
	.weak	__limpet_fatal_exception
	.align 4
__limpet_fatal_exception:
	j	__limpet_halt
