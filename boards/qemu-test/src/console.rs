//! `print!`/`println!` over [`crate::write`].

use core::fmt;

pub(crate) struct Console;

impl fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        crate::write(s.as_bytes());
        Ok(())
    }
}

macro_rules! print {
    ($($arg:tt)*) => {{
        let _ = core::fmt::Write::write_fmt(&mut $crate::console::Console, format_args!($($arg)*));
    }};
}

macro_rules! println {
    () => { $crate::console::print!("\n") };
    ($($arg:tt)*) => {{
        $crate::console::print!($($arg)*);
        $crate::console::print!("\n");
    }};
}

pub(crate) use {print, println};
