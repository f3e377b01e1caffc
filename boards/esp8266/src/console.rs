//! Log output: UART1 on GPIO2 on the chip (115 200 baud, 8N1; wire a
//! USB-serial adapter's RX to GPIO2), the host's stderr under QEMU `sim`.
//! Never UART0, which carries the broker link.
//!
//! `log!` formats with `core::fmt` and ends the line; logs wait for FIFO
//! space, so a chatty firmware runs slower rather than losing lines.

use core::fmt::{self, Write};

/// Log baud rate.
pub const BAUD: u32 = 115_200;

/// The log output, as a [`fmt::Write`].
pub struct Console {
    _private: (),
}

impl Console {
    /// Configures the output (UART1 on the chip) and returns it.
    pub fn init() -> Self {
        #[cfg(not(feature = "sim"))]
        crate::uart::Uart1::new(BAUD);
        Console { _private: () }
    }

    /// The output, assuming [`Console::init`] ran (a halt path may run before
    /// it; then the bytes go nowhere useful, harmlessly).
    pub fn get() -> Self {
        Console { _private: () }
    }

    pub fn write_bytes(&mut self, bytes: &[u8]) {
        #[cfg(not(feature = "sim"))]
        crate::uart::Uart1::configured().write_all(bytes);
        #[cfg(feature = "sim")]
        {
            crate::hw::sim_write(2, bytes);
        }
    }
}

impl Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.write_bytes(s.as_bytes());
        Ok(())
    }
}

/// Writes one log line: `args` then CR LF.
pub fn line(args: fmt::Arguments<'_>) {
    let mut c = Console::get();
    let _ = c.write_fmt(args);
    c.write_bytes(b"\r\n");
}

/// Logs a line: `log!("connected in {} ms", t)`.
#[macro_export]
macro_rules! log {
    ($($arg:tt)*) => {
        $crate::console::line(format_args!($($arg)*))
    };
}
