//! The hardware watchdog, as the ROM left it.
//!
//! The boot ROM starts the ESP8266's hardware watchdog; this board does not
//! reconfigure it. The superloop feeds it on every pass, and a halt (panic,
//! fatal exception, `abort`) stops feeding it, so a stuck or crashed
//! firmware ends in a chip reset rather than a silent hang.

use crate::hw;

/// Magic value that restarts the watchdog's count.
const FEED: u32 = 0x73;

/// The hardware watchdog.
pub struct Watchdog {
    _private: (),
}

impl Watchdog {
    pub fn new() -> Self {
        Watchdog { _private: () }
    }

    /// Restarts the watchdog's count.
    pub fn feed(&mut self) {
        hw::WDT_FEED.write(FEED);
    }
}

impl Default for Watchdog {
    fn default() -> Self {
        Self::new()
    }
}
