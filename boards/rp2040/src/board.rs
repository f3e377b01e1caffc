//! The Pico's glue, everything `main.rs` takes from rp2040-hal: clocks,
//! the millisecond clock, the pins, the temperature sensor and a nonce
//! new at each boot.
//!
//! | Pico | GPIO | what | direction |
//! |---|---|---|---|
//! | pin 4 | GP2 | host clock | out (push-pull) |
//! | pin 5 | GP3 | host data | out (push-pull) |
//! | pin 6 | GP4 | co-processor clock | in (pull-down) |
//! | pin 7 | GP5 | co-processor data | in (pull-down) |
//! | pin 9 | GP6 | co-processor reset (EN/RST) | open drain, low = reset |
//! | — | GP25 | on-board LED | out |

use core::convert::Infallible;

use embedded_hal::digital::{ErrorType, OutputPin};
use limpet::time::Instant;
use rp2040_hal::adc::{Adc, TempSense};
use rp2040_hal::clocks::init_clocks_and_plls;
use rp2040_hal::gpio::bank0::{Gpio2, Gpio25, Gpio3, Gpio4, Gpio5, Gpio6};
use rp2040_hal::gpio::{
    FunctionSioInput, FunctionSioOutput, InOutPin, Pin, Pins, PullDown, PullNone,
};
use rp2040_hal::rosc::RingOscillator;
use rp2040_hal::{pac, Sio, Timer, Watchdog};

/// The Pico's crystal.
const XOSC_HZ: u32 = 12_000_000;

pub type Output<I> = Pin<I, FunctionSioOutput, PullDown>;
pub type Input<I> = Pin<I, FunctionSioInput, PullDown>;

/// The link's four pins, in `Link::new`'s order: the co-processor's clock
/// and data (in), ours (out).
pub type LinkPins = (Input<Gpio4>, Input<Gpio5>, Output<Gpio2>, Output<Gpio3>);

/// What the firmware gets.
pub struct Board {
    pub link_pins: LinkPins,
    pub reset: ResetOut,
    pub led: Output<Gpio25>,
    pub clock: Clock,
    pub thermometer: Thermometer,
    /// For the bridge's frame layer: differs from the last boot's.
    pub nonce: u32,
}

impl Board {
    /// Clocks at 125 MHz from the crystal (USB PLL 48 MHz: the ADC's clock),
    /// the 1 MHz timer, the pins.
    pub fn init() -> Board {
        let mut pac = pac::Peripherals::take().unwrap();
        let mut watchdog = Watchdog::new(pac.WATCHDOG);
        // Also starts the watchdog's 1 µs tick, which the timer counts.
        let Ok(clocks) = init_clocks_and_plls(
            XOSC_HZ,
            pac.XOSC,
            pac.CLOCKS,
            pac.PLL_SYS,
            pac.PLL_USB,
            &mut pac.RESETS,
            &mut watchdog,
        ) else {
            panic!("clocks")
        };
        let timer = Timer::new(pac.TIMER, &mut pac.RESETS, &clocks);

        let sio = Sio::new(pac.SIO);
        let pins = Pins::new(
            pac.IO_BANK0,
            pac.PADS_BANK0,
            sio.gpio_bank0,
            &mut pac.RESETS,
        );

        let mut adc = Adc::new(pac.ADC, &mut pac.RESETS);
        let sensor = adc.take_temp_sensor().unwrap();

        // The ring oscillator's jitter, on top of the microseconds the
        // crystal and the PLLs took to start.
        let rosc = RingOscillator::new(pac.ROSC).initialize();
        let nonce = (0..32).fold(timer.get_counter_low(), |n, _| {
            n.rotate_left(1) ^ u32::from(rosc.get_random_bit())
        });

        Board {
            // Pulled down: a co-processor in reset or unpowered (its pins
            // floating) reads as a still clock, not as noise.
            link_pins: (
                pins.gpio4.into_pull_down_input(),
                pins.gpio5.into_pull_down_input(),
                pins.gpio2.into_push_pull_output(),
                pins.gpio3.into_push_pull_output(),
            ),
            reset: ResetOut(InOutPin::new(pins.gpio6.into_floating_input())),
            led: pins.gpio25.into_push_pull_output(),
            clock: Clock(timer),
            thermometer: Thermometer { adc, sensor },
            nonce,
        }
    }
}

/// Milliseconds since boot from the 64-bit microsecond timer (wrapping
/// after 49.7 days, which limpet's instants handle).
pub struct Clock(Timer);

impl Clock {
    pub fn now(&self) -> Instant {
        Instant::from_ticks((self.0.get_counter().ticks() / 1_000) as u32)
    }
}

/// The co-processor's reset line, open drain: released (high impedance:
/// the co-processor's own pull-up on EN/RST holds it high, and its reset
/// button still works) or driven low. The host driver sets it high to
/// reset, so it is inverted here.
pub struct ResetOut(InOutPin<Pin<Gpio6, FunctionSioInput, PullNone>>);

impl ErrorType for ResetOut {
    type Error = Infallible;
}

impl OutputPin for ResetOut {
    /// Hold the co-processor in reset.
    fn set_high(&mut self) -> Result<(), Infallible> {
        self.0.set_low()
    }

    /// Let it run.
    fn set_low(&mut self) -> Result<(), Infallible> {
        self.0.set_high()
    }
}

/// The RP2040's temperature sensor (ADC channel 4).
pub struct Thermometer {
    adc: Adc,
    sensor: TempSense,
}

impl Thermometer {
    /// The die temperature in tenths of a degree Celsius, from the mean of
    /// 16 conversions (2 µs each): the datasheet's T = 27 − (V − 0.706) /
    /// 0.001721, with V from 3.3 V over 4096 counts.
    pub fn read_tenths(&mut self) -> Option<i32> {
        let mut sum = 0u32;
        for _ in 0..16 {
            sum += u32::from(self.adc.read(&mut self.sensor).ok()?);
        }
        let microvolts = (u64::from(sum) * 3_300_000 / (16 * 4096)) as i32;
        Some(270 - (microvolts - 706_000) * 10 / 1_721)
    }
}
