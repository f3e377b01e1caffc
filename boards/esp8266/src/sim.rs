//! QEMU `-M sim` (feature `sim`): semihosting standard streams.
//!
//! [`SimPort`] is a [`SerialPort`] over the host's stdin/stdout, so the same
//! IP-over-SLIP link ([`crate::slip_ip`]) the chip runs on UART0 can run in
//! the simulator, with the host's gateway speaking to QEMU's standard
//! streams instead of a serial device. Logs go to stderr ([`crate::console`]).

use crate::hw;
use crate::serial::SerialPort;

const STDIN: u32 = 0;
const STDOUT: u32 = 1;

/// Writes `bytes` to the host's stdout.
pub fn print(bytes: &[u8]) {
    hw::sim_write(STDOUT, bytes);
}

/// Ends the QEMU run with `code` as its exit status.
pub fn exit(code: i32) -> ! {
    hw::halt(code)
}

/// The host's stdin and stdout as a serial port.
pub struct SimPort {
    buf: [u8; 64],
    start: usize,
    end: usize,
    /// stdin reached end of file: nothing will ever arrive.
    eof: bool,
}

impl SimPort {
    pub const fn new() -> Self {
        SimPort {
            buf: [0; 64],
            start: 0,
            end: 0,
            eof: false,
        }
    }
}

impl Default for SimPort {
    fn default() -> Self {
        Self::new()
    }
}

impl SerialPort for SimPort {
    fn tx_space(&self) -> usize {
        // Semihosting writes complete before returning.
        usize::MAX
    }

    fn write(&mut self, byte: u8) {
        hw::sim_write(STDOUT, &[byte]);
    }

    fn read(&mut self) -> Option<u8> {
        if self.start == self.end {
            if self.eof || !hw::sim_readable(STDIN) {
                return None;
            }
            let n = hw::sim_read(STDIN, &mut self.buf);
            if n <= 0 {
                self.eof = true;
                return None;
            }
            self.start = 0;
            self.end = (n as usize).min(self.buf.len());
        }
        let b = self.buf.get(self.start).copied();
        self.start += 1;
        b
    }
}
