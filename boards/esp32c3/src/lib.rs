//! ESP32-C3 board support for limpet: esp-radio's WiFi station as limpet's
//! [`limpet::wlan::station::Station`] (which `limpet::wlan::station` turns
//! into the controller's `Radio`), the station interface as a smoltcp
//! device, the superloop's clock, and the start-up esp-radio needs.
//!
//! esp-radio's WiFi blob runs as a task of the esp-rtos scheduler and
//! allocates from a global heap. That heap ([`HEAP_BYTES`]) is the only one
//! in the image and only the vendor driver uses it: limpet's machines and
//! buffers are in the application's own memory (statics and `main`'s
//! locals), and the application is an ordinary superloop in the main task.
#![no_std]

pub mod clock;
pub mod ethernet;
pub mod settings;
#[cfg(feature = "tls")]
pub mod tls;
pub mod wifi;

use esp_hal::peripherals::{FROM_CPU_INTR0, TIMG0, WIFI};
use esp_hal::timer::timg::TimerGroup;
use esp_radio::wifi::{ControllerConfig, CountryInfo, WifiController, WifiError};

pub use ethernet::WifiDevice;
pub use wifi::EspStation;

/// The vendor WiFi driver's heap: [`HEAP_RECLAIMED`] in the RAM the ROM
/// bootloader used (`.dram2_uninit`, free once the app runs, so it costs the
/// application nothing) and [`HEAP_STATIC`] in `.bss`. esp-radio's defaults
/// (10 static and up to 32 dynamic RX buffers, up to 32 dynamic TX buffers,
/// ~1.6 KB each, plus the blob's tasks, timers and queues) are what these
/// are sized for: 100 KiB, the figure esp-radio's WiFi examples use.
pub const HEAP_BYTES: usize = HEAP_RECLAIMED + HEAP_STATIC;
pub const HEAP_RECLAIMED: usize = 64 * 1024;
pub const HEAP_STATIC: usize = 36 * 1024;

/// The country whose channels and power the radio uses (esp-radio's
/// default is "CN"): set `LIMPET_COUNTRY` at build time, e.g. "DE", "US".
pub const COUNTRY: &str = match option_env!("LIMPET_COUNTRY") {
    Some(c) => c,
    None => "01", // "world safe": channels 1–11, no active scanning on 12–14
};

/// Starts what esp-radio needs and nothing else: the vendor heap and the
/// esp-rtos scheduler (the current context becomes its main task).
pub fn start_rtos(timg0: TIMG0<'static>, int0: FROM_CPU_INTR0<'static>) {
    esp_alloc::heap_allocator!(#[unsafe(link_section = ".dram2_uninit")] size: HEAP_RECLAIMED);
    esp_alloc::heap_allocator!(size: HEAP_STATIC);
    let timers = TimerGroup::new(timg0);
    esp_rtos::start(timers.timer0, int0);
}

/// The WiFi station (to drive through [`limpet::wlan::station::drive`]) and
/// its network device.
pub fn wifi(device: WIFI<'static>) -> Result<(EspStation, WifiDevice), WifiError> {
    let cc = COUNTRY.as_bytes();
    let country = [
        cc.first().copied().unwrap_or(b'0'),
        cc.get(1).copied().unwrap_or(b'1'),
    ];
    let config = ControllerConfig::default().with_country_info(CountryInfo::from(country));
    let controller = WifiController::new(device, config)?;
    Ok((
        EspStation::new(controller),
        WifiDevice::new(esp_radio::wifi::Interface::station()),
    ))
}
