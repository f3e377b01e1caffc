//! The board's only `unsafe` code: peripheral registers, the assembly
//! routines of `asm/*.S`, linker symbols, and the symbols the entry code and
//! the vectors call. Everything else in the crate is safe code over the
//! items here.
//!
//! Registers are [`Reg`] values, which only this module can make, one per
//! register address it lists, so a register access anywhere else is a read
//! or write of a known, always-mapped, aligned peripheral word.
#![allow(unsafe_code)]

use core::cell::UnsafeCell;
use core::ptr::{addr_of, read_volatile, write_volatile};
use core::sync::atomic::{AtomicBool, Ordering};

extern "C" {
    // asm/rt.S
    fn limpet_ccount() -> u32;
    // asm/start_chip.S or asm/start_sim.S
    fn __limpet_halt(code: i32) -> !;
    #[cfg(feature = "sim")]
    fn limpet_sim_write(fd: u32, buf: *const u8, len: usize) -> isize;
    #[cfg(feature = "sim")]
    fn limpet_sim_read(fd: u32, buf: *mut u8, len: usize) -> isize;
    #[cfg(feature = "sim")]
    fn limpet_sim_select_one(fd: u32, rq: u32, timeval: *const u32) -> i32;
    // linker/esp8266-sections.x
    static _stack_bottom: u8;
    static _stack_top: u8;
}

// ------------------------------------------------------------------ registers

/// A 32-bit peripheral register at one of the addresses listed below.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reg(usize);

impl Reg {
    pub(crate) fn read(self) -> u32 {
        // SAFETY: a `Reg` holds one of the register addresses of this module:
        // word-aligned and always mapped. Reading has no effect beyond the
        // device's own (e.g. popping the UART receive FIFO), which is what
        // the caller asks for.
        unsafe { read_volatile(self.0 as *const u32) }
    }

    pub(crate) fn write(self, value: u32) {
        // SAFETY: as for `read`; no Rust object lives at these addresses.
        unsafe { write_volatile(self.0 as *mut u32, value) }
    }

    pub(crate) fn modify(self, f: impl FnOnce(u32) -> u32) {
        self.write(f(self.read()));
    }
}

/// The registers of one UART (ESP8266 TRM, "UART registers").
#[derive(Clone, Copy, Debug)]
pub(crate) struct UartRegs {
    /// Read: pops a received byte. Write: pushes a byte to send.
    pub(crate) fifo: Reg,
    /// Baud divisor: APB clock / baud.
    pub(crate) clkdiv: Reg,
    /// Bits 0..8: bytes in the receive FIFO; bits 16..24: in the transmit FIFO.
    pub(crate) status: Reg,
    /// Frame format (bits 2..4 data bits - 5, bits 4..6 stop bits) and FIFO
    /// resets (bit 17 receive, bit 18 transmit).
    pub(crate) conf0: Reg,
}

const fn uart_at(base: usize) -> UartRegs {
    UartRegs {
        fifo: Reg(base),
        clkdiv: Reg(base + 0x14),
        status: Reg(base + 0x1C),
        conf0: Reg(base + 0x20),
    }
}

pub(crate) const UART0: UartRegs = uart_at(0x6000_0000);
pub(crate) const UART1: UartRegs = uart_at(0x6000_0F00);

/// GPIO output level register, and its write-1-to-set / write-1-to-clear views.
pub(crate) const GPIO_OUT: Reg = Reg(0x6000_0300);
pub(crate) const GPIO_OUT_W1TS: Reg = Reg(0x6000_0304);
pub(crate) const GPIO_OUT_W1TC: Reg = Reg(0x6000_0308);
/// Output enable, write-1-to-set / write-1-to-clear.
pub(crate) const GPIO_ENABLE_W1TS: Reg = Reg(0x6000_0310);
pub(crate) const GPIO_ENABLE_W1TC: Reg = Reg(0x6000_0314);
/// Input levels, bit n for GPIOn.
pub(crate) const GPIO_IN: Reg = Reg(0x6000_0318);

/// GPIOn's pad configuration (bit 2: open drain), for n in 0..16.
pub(crate) const fn gpio_pin(n: u8) -> Option<Reg> {
    if n < 16 {
        Some(Reg(0x6000_0328 + 4 * n as usize))
    } else {
        None
    }
}

/// The IO_MUX register of GPIOn (pin function in bits 4, 5 and 8, pull-up
/// in bit 7), for the pins whose mux is in this list.
pub(crate) const fn io_mux(n: u8) -> Option<Reg> {
    let offset = match n {
        0 => 0x34,
        1 => 0x18,
        2 => 0x38,
        3 => 0x14,
        4 => 0x3C,
        5 => 0x40,
        12 => 0x04,
        13 => 0x08,
        14 => 0x0C,
        15 => 0x10,
        _ => return None,
    };
    Some(Reg(0x6000_0800 + offset))
}

/// Hardware watchdog: writing 0x73 here restarts its count ("feeds" it).
pub(crate) const WDT_FEED: Reg = Reg(0x6000_0914);

/// The hardware random number generator: each read a fresh 32-bit value
/// (from the radio's noise: random once the RF part has run; the
/// community-documented address, not in Espressif's TRM).
#[cfg(not(feature = "sim"))]
pub(crate) const RNG: Reg = Reg(0x3FF2_0E44);

// --------------------------------------------------------- assembly routines

/// CCOUNT: CPU cycles, wrapping.
pub fn ccount() -> u32 {
    // SAFETY: `rsr.ccount a2; ret`: reads a special register, touches no memory.
    unsafe { limpet_ccount() }
}

/// Ends the program: on the chip, spins without feeding the watchdog (which
/// then resets the chip); in QEMU, exits with `code`.
pub fn halt(code: i32) -> ! {
    // SAFETY: the halt loop / semihosting exit takes one integer and never returns.
    unsafe { __limpet_halt(code) }
}

/// Semihosting write to the host's file descriptor `fd` (1 stdout, 2 stderr);
/// bytes written, or negative on error.
#[cfg(feature = "sim")]
pub fn sim_write(fd: u32, bytes: &[u8]) -> isize {
    // SAFETY: QEMU reads `len` bytes at `buf`, which the slice guarantees.
    unsafe { limpet_sim_write(fd, bytes.as_ptr(), bytes.len()) }
}

/// Semihosting read from the host's `fd` (0 stdin) into `buf`; bytes read, 0
/// at end of file, negative on error. Blocks unless `sim_readable` said yes.
#[cfg(feature = "sim")]
pub fn sim_read(fd: u32, buf: &mut [u8]) -> isize {
    // SAFETY: QEMU writes at most `len` bytes at `buf`, which the slice owns.
    unsafe { limpet_sim_read(fd, buf.as_mut_ptr(), buf.len()) }
}

/// True when a read from the host's `fd` would not block.
#[cfg(feature = "sim")]
pub fn sim_readable(fd: u32) -> bool {
    const READ: u32 = 1;
    // struct timeval {0 s, 0 us}: do not wait.
    let poll = [0u32; 2];
    // SAFETY: QEMU reads the 8-byte timeval at the pointer, which `poll` is.
    unsafe { limpet_sim_select_one(fd, READ, poll.as_ptr()) > 0 }
}

// ----------------------------------------------------------------- the stack

const STACK_PAINT: u32 = 0x5AA5_C33C;

fn stack_bounds() -> (usize, usize) {
    // Only the symbols' addresses are used, never their (absent) contents.
    (
        addr_of!(_stack_bottom) as usize,
        addr_of!(_stack_top) as usize,
    )
}

/// Stack reserved by the linker script, in bytes.
pub fn stack_size() -> usize {
    let (bottom, top) = stack_bounds();
    top - bottom
}

/// Fills the stack below the caller's frame (less a margin) with a pattern,
/// for [`stack_used`]. Call it first thing in `main`.
#[inline(never)]
pub fn paint_stack() {
    let marker = 0u32;
    let here = addr_of!(marker) as usize;
    let (bottom, _) = stack_bounds();
    let mut p = bottom;
    while p + 4 <= here.saturating_sub(256) {
        // SAFETY: [bottom, here - 256) is stack below every live frame (the
        // stack grows down from _stack_top and this function's frame is at
        // `here`); nothing else uses it, and nothing reads it as a Rust value.
        unsafe { write_volatile(p as *mut u32, STACK_PAINT) };
        p += 4;
    }
}

/// Deepest stack use since [`paint_stack`], in bytes: from the top down to
/// the lowest word that no longer holds the pattern.
pub fn stack_used() -> usize {
    let (bottom, top) = stack_bounds();
    let mut p = bottom;
    // SAFETY: reads words of the stack region, inside the linker's bounds.
    while p < top && unsafe { read_volatile(p as *const u32) } == STACK_PAINT {
        p += 4;
    }
    top - p
}

// ----------------------------------------------------------- static storage

/// A value in static memory that hands out one `&'static mut` to it, e.g.
/// the client's buffers, so they count as static RAM (.bss) rather than stack.
pub struct TakeOnce<T> {
    taken: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the value is reachable only through the single `&mut` that `take`
// hands out, so sharing the cell itself is harmless.
unsafe impl<T: Send> Sync for TakeOnce<T> {}

impl<T> TakeOnce<T> {
    pub const fn new(value: T) -> Self {
        TakeOnce {
            taken: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// The value, the first time; `None` ever after.
    // `&self` to `&mut T` is the point: `taken` makes it happen once.
    #[allow(clippy::mut_from_ref)]
    pub fn take(&'static self) -> Option<&'static mut T> {
        // lx106 has no compare-and-swap; a load then a store is enough here
        // because nothing can run between them: one core, and the board
        // enables no interrupts.
        if self.taken.load(Ordering::Acquire) {
            return None;
        }
        self.taken.store(true, Ordering::Release);
        // SAFETY: `taken` was false and is now true, so this is the only
        // reference ever made to the value.
        Some(unsafe { &mut *self.value.get() })
    }
}

// ------------------------------------------------------ symbols asm calls

/// Called by the vectors (asm/rt.S) for any exception, and by `abort` with
/// cause 0x100; reports and halts ([`crate::fatal`]).
#[no_mangle]
pub extern "C" fn __limpet_fatal_exception(cause: u32, pc: u32, address: u32) -> ! {
    crate::fatal::exception(cause, pc, address)
}

/// Names the application's entry function: `_start` (asm/start_*.S) calls
/// the C symbol `main` once RAM is set up, and it must never return.
///
/// ```ignore
/// limpet_esp8266::entry!(run);
/// fn run() -> ! { loop {} }
/// ```
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        /// Called by `_start` (boards/esp8266/asm/start_*.S).
        // The C symbol `main` is the contract with the entry code; nothing
        // else defines it in a firmware image.
        #[allow(unsafe_code)]
        #[no_mangle]
        pub extern "C" fn main() -> ! {
            let main: fn() -> ! = $main;
            main()
        }
    };
}
