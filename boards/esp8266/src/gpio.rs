//! GPIO pins as embedded-hal 1.0 `InputPin` / `OutputPin` /
//! `StatefulOutputPin`, for the future 5-wire link and anything else.
//!
//! [`Pins::take`] hands out each usable pin once, as a [`Pin`] typed by its
//! number, which becomes an [`Output`] or an [`Input`]. Not handed out:
//! GPIO1 and GPIO3 (UART0, the broker link), GPIO2 (UART1 TX, the logs),
//! GPIO6–11 (the flash chip) and GPIO16 (in the RTC block, other registers).
//! Boot straps to keep in mind when wiring: GPIO0 and GPIO2 must be high and
//! GPIO15 low at reset.

use core::convert::Infallible;
use core::sync::atomic::{AtomicBool, Ordering};

use embedded_hal::digital::{ErrorType, InputPin, OutputPin, StatefulOutputPin};

use crate::hw;
use crate::uart::select_function;

/// Pull-up enable bit of a pin's IO_MUX register.
const PULL_UP: u32 = 1 << 7;
/// Open-drain bit of a pin's GPIO_PINn register.
const OPEN_DRAIN: u32 = 1 << 2;

/// The GPIO function number of GPIOn in IO_MUX.
const fn gpio_function(n: u8) -> u32 {
    if n >= 12 {
        3
    } else {
        0
    }
}

/// GPIO `N`, not yet configured.
pub struct Pin<const N: u8> {
    _private: (),
}

/// GPIO `N` driving its pad (push-pull).
pub struct Output<const N: u8> {
    _private: (),
}

/// GPIO `N` reading its pad.
pub struct Input<const N: u8> {
    _private: (),
}

/// The pins the application may use, each once.
pub struct Pins {
    pub gpio0: Pin<0>,
    pub gpio4: Pin<4>,
    pub gpio5: Pin<5>,
    pub gpio12: Pin<12>,
    pub gpio13: Pin<13>,
    pub gpio14: Pin<14>,
    pub gpio15: Pin<15>,
}

static TAKEN: AtomicBool = AtomicBool::new(false);

impl Pins {
    /// The pins, the first time; `None` after (one core, no interrupts: a
    /// load then a store cannot race).
    pub fn take() -> Option<Pins> {
        if TAKEN.load(Ordering::Acquire) {
            return None;
        }
        TAKEN.store(true, Ordering::Release);
        Some(Pins {
            gpio0: Pin { _private: () },
            gpio4: Pin { _private: () },
            gpio5: Pin { _private: () },
            gpio12: Pin { _private: () },
            gpio13: Pin { _private: () },
            gpio14: Pin { _private: () },
            gpio15: Pin { _private: () },
        })
    }
}

impl<const N: u8> Pin<N> {
    /// A push-pull output, starting at `high`.
    pub fn into_output(self, high: bool) -> Output<N> {
        let mut out = Output { _private: () };
        out.set(high);
        select_function(N, gpio_function(N));
        if let Some(mux) = hw::io_mux(N) {
            mux.modify(|v| v & !PULL_UP);
        }
        if let Some(pad) = hw::gpio_pin(N) {
            pad.modify(|v| v & !OPEN_DRAIN);
        }
        hw::GPIO_ENABLE_W1TS.write(1 << N);
        out
    }

    /// An input, with the internal pull-up if `pull_up`.
    pub fn into_input(self, pull_up: bool) -> Input<N> {
        hw::GPIO_ENABLE_W1TC.write(1 << N);
        select_function(N, gpio_function(N));
        if let Some(mux) = hw::io_mux(N) {
            mux.modify(|v| if pull_up { v | PULL_UP } else { v & !PULL_UP });
        }
        Input { _private: () }
    }
}

impl<const N: u8> Output<N> {
    fn set(&mut self, high: bool) {
        if high {
            hw::GPIO_OUT_W1TS.write(1 << N);
        } else {
            hw::GPIO_OUT_W1TC.write(1 << N);
        }
    }
}

impl<const N: u8> ErrorType for Output<N> {
    type Error = Infallible;
}

impl<const N: u8> OutputPin for Output<N> {
    fn set_low(&mut self) -> Result<(), Infallible> {
        self.set(false);
        Ok(())
    }

    fn set_high(&mut self) -> Result<(), Infallible> {
        self.set(true);
        Ok(())
    }
}

impl<const N: u8> StatefulOutputPin for Output<N> {
    fn is_set_high(&mut self) -> Result<bool, Infallible> {
        Ok(hw::GPIO_OUT.read() & (1 << N) != 0)
    }

    fn is_set_low(&mut self) -> Result<bool, Infallible> {
        Ok(hw::GPIO_OUT.read() & (1 << N) == 0)
    }
}

impl<const N: u8> ErrorType for Input<N> {
    type Error = Infallible;
}

impl<const N: u8> InputPin for Input<N> {
    fn is_high(&mut self) -> Result<bool, Infallible> {
        Ok(hw::GPIO_IN.read() & (1 << N) != 0)
    }

    fn is_low(&mut self) -> Result<bool, Infallible> {
        Ok(hw::GPIO_IN.read() & (1 << N) == 0)
    }
}
