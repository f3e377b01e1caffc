//! The two UARTs, polled: UART0 (TX GPIO1, RX GPIO3) carries the broker link
//! ([`crate::serial`]); UART1 has only a transmitter, on GPIO2, and carries
//! the logs ([`crate::console`]), so nothing else is ever interleaved with
//! the MQTT frames on UART0.
//!
//! Both run 8N1 from the 80 MHz APB clock. Each FIFO holds 128 bytes; with no
//! interrupts, the superloop must come back before the receive FIFO fills
//! (128 bytes take 11 ms at 115 200 baud).

use crate::hw::{self, UartRegs};
use crate::serial::SerialPort;

/// Depth of each UART FIFO.
pub const FIFO_LEN: usize = 128;

/// The APB clock the baud divisors are computed from (asm/start_chip.S).
const APB_HZ: u32 = crate::CPU_HZ;

/// 8 data bits, 1 stop bit, no parity.
const CONF0_8N1: u32 = (3 << 2) | (1 << 4);
const RXFIFO_RST: u32 = 1 << 17;
const TXFIFO_RST: u32 = 1 << 18;

/// IO_MUX function numbers (bits 4, 5 and 8 of a pin's mux register).
const FUNC_UART0: u32 = 0;
const FUNC_U1TXD_ON_GPIO2: u32 = 2;

/// Selects pin function `f` in the IO_MUX register of GPIO `pin`.
pub(crate) fn select_function(pin: u8, f: u32) {
    if let Some(mux) = hw::io_mux(pin) {
        let bits = ((f & 3) << 4) | ((f & 4) << 6);
        mux.modify(|v| (v & !((3 << 4) | (1 << 8))) | bits);
    }
}

fn configure(regs: UartRegs, baud: u32) {
    regs.clkdiv.write(APB_HZ / baud.max(1));
    regs.conf0.write(CONF0_8N1 | RXFIFO_RST | TXFIFO_RST);
    regs.conf0.write(CONF0_8N1);
}

fn rx_count(regs: UartRegs) -> usize {
    (regs.status.read() & 0xFF) as usize
}

fn tx_count(regs: UartRegs) -> usize {
    ((regs.status.read() >> 16) & 0xFF) as usize
}

/// UART0, the broker link.
pub struct Uart0 {
    _private: (),
}

impl Uart0 {
    /// Configures UART0 for `baud` and empties both FIFOs (dropping what the
    /// ROM printed and anything received before).
    pub fn new(baud: u32) -> Self {
        select_function(1, FUNC_UART0);
        select_function(3, FUNC_UART0);
        configure(hw::UART0, baud);
        Uart0 { _private: () }
    }
}

impl SerialPort for Uart0 {
    fn tx_space(&self) -> usize {
        FIFO_LEN.saturating_sub(tx_count(hw::UART0))
    }

    fn write(&mut self, byte: u8) {
        hw::UART0.fifo.write(u32::from(byte));
    }

    fn read(&mut self) -> Option<u8> {
        if rx_count(hw::UART0) == 0 {
            return None;
        }
        Some(hw::UART0.fifo.read() as u8)
    }
}

/// UART1's transmitter on GPIO2: the log output.
pub struct Uart1 {
    _private: (),
}

impl Uart1 {
    /// Configures UART1 for `baud` and routes its TX to GPIO2.
    pub fn new(baud: u32) -> Self {
        select_function(2, FUNC_U1TXD_ON_GPIO2);
        configure(hw::UART1, baud);
        Uart1 { _private: () }
    }

    /// A handle to the already configured UART1.
    #[cfg(not(feature = "sim"))]
    pub(crate) fn configured() -> Self {
        Uart1 { _private: () }
    }

    /// Sends `bytes`, waiting for FIFO space as needed (logs are allowed to
    /// slow the loop down; 128 bytes of FIFO absorb a short line).
    pub fn write_all(&mut self, bytes: &[u8]) {
        for &b in bytes {
            while tx_count(hw::UART1) >= FIFO_LEN {}
            hw::UART1.fifo.write(u32::from(b));
        }
    }
}
