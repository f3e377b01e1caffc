//! A byte-wide serial port that never blocks: what [`crate::slip_ip`] runs
//! IP over. The chip's UART0 ([`crate::uart`]) is one; under QEMU `sim`,
//! the host's standard streams (`crate::sim::SimPort`); in tests, a buffer.

/// A byte-wide serial port that never blocks (a UART's FIFOs, a pipe).
pub trait SerialPort {
    /// Bytes [`SerialPort::write`] can take now.
    fn tx_space(&self) -> usize;
    /// Queues one byte for sending; only called when `tx_space() > 0`.
    fn write(&mut self, byte: u8);
    /// The next received byte, if one is there.
    fn read(&mut self) -> Option<u8>;
}
