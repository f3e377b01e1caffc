//! ESP8266 (Xtensa lx106) board support for limpet, written at register level.
//!
//! esp8266-hal and the xtensa-lx runtimes need Xtensa inline assembly, which
//! upstream rustc does not have, so this crate carries the little it needs
//! itself: entry code, vectors, RAM set-up, atomics and `abort` in
//! `asm/*.S` (assembled by build.rs), and in Rust a millisecond clock from the
//! CPU cycle counter, GPIO pins as embedded-hal 1.0 `InputPin`/`OutputPin`
//! (for the future 5-wire link), the two UARTs and the hardware watchdog.
//! Every `unsafe` is in [`hw`](crate::hw), one comment per block.
//!
//! The broker link: the ESP8266's WiFi needs Espressif's SDK libraries, which
//! no registry we can reach carries, so there is no radio here (and no fake
//! one); the `Radio` seam is for a binding that users link with their own
//! SDK. Until then the firmware runs IP over UART0 ([`slip_ip`]): smoltcp's TCP
//! and DNS on SLIP frames, with a gateway on the host's end of the line
//! (`limpet-sim`'s `slip-gateway`) that proxies TCP to a broker.
//!
//! Modules, bottom up:
//! - [`serial`]: [`serial::SerialPort`], a byte port that never blocks.
//! - [`slip_ip`]: IP over SLIP on a byte port, a `smoltcp` device
//!   (`Medium::Ip`) for limpet's IP stack (`limpet::net::stack`); the SLIP
//!   framing is limpet's own (`limpet::slip`).
//! - [`clock`]: milliseconds from a wrapping cycle counter.
//! - On the chip (`target_arch = "xtensa"`): `hw` (registers, assembly),
//!   `uart`, `gpio`, `watchdog`, `console` (logs), `fatal` (panics and
//!   exceptions); with feature `sim`, `sim` (QEMU semihosting) instead of
//!   the chip's console.
#![no_std]
#![deny(unsafe_code)]

pub mod clock;
pub mod serial;
pub mod slip_ip;

#[cfg(target_arch = "xtensa")]
pub mod console;
#[cfg(target_arch = "xtensa")]
pub mod fatal;
#[cfg(target_arch = "xtensa")]
pub mod gpio;
#[cfg(target_arch = "xtensa")]
pub mod hw;
#[cfg(all(target_arch = "xtensa", feature = "tls"))]
pub mod random;
#[cfg(all(target_arch = "xtensa", feature = "sim"))]
pub mod sim;
#[cfg(target_arch = "xtensa")]
pub mod uart;
#[cfg(target_arch = "xtensa")]
pub mod watchdog;

/// CPU clock after `_start` (asm/start_chip.S sets the PLL for 80 MHz). The
/// cycle counter, hence [`clock::CycleClock`], counts at this rate.
#[cfg(not(feature = "sim"))]
pub const CPU_HZ: u32 = 80_000_000;
/// The cycle counter's rate under QEMU's lx106 (40 MHz of virtual time,
/// which follows the host's clock), so that sim time is real time.
#[cfg(feature = "sim")]
pub const CPU_HZ: u32 = 40_000_000;
