//! A link that is always there: a serial line carrying IP (SLIP), Ethernet
//! without link detection, a modem's data channel.
//!
//! A [`crate::Device`] needs a [`Radio`] for its link controller; [`Wired`]
//! is the one for links with no association to make: it reports a stored
//! network that is always connected, so with [`Wired::config`] the
//! controller says `Up` on its first poll and never `Down`, and the device
//! runs the stack and the client over the link at once.

use super::{Config, Radio, Status};

/// A [`Radio`] for a link that is always up.
#[derive(Clone, Copy, Debug, Default)]
pub struct Wired;

impl Wired {
    /// The controller's configuration for it: the "stored" network (the
    /// line), no stability window (nothing to settle).
    pub const fn config() -> Config<'static> {
        let mut config = Config::stored_only();
        config.quick = true;
        config
    }
}

impl Radio for Wired {
    fn has_stored(&mut self) -> bool {
        true
    }

    fn connect_stored(&mut self) {}

    fn connect(&mut self, _ssid: &str, _password: &[u8]) {}

    fn disconnect(&mut self) {}

    fn status(&mut self) -> Status {
        Status::Connected
    }

    fn rssi(&mut self) -> Option<i8> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Instant;
    use crate::wlan::{Network, Wlan, WlanEvent};

    // Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
    #[cfg(target_os = "none")]
    use core::prelude::v1::test_case as test;

    #[test]
    fn a_wired_link_is_up_on_the_first_poll_and_stays_up() {
        let mut wlan = Wlan::new(Wired::config()).unwrap();
        let mut line = Wired;
        let mut ups = 0;
        for ms in (0..600_000).step_by(250) {
            match wlan.poll(Instant::from_ticks(ms), &mut line) {
                Some(WlanEvent::Up(Network::Stored)) => {
                    assert_eq!((ms, ups), (0, 0), "up once, on the first poll");
                    ups += 1;
                }
                None => {}
                other => panic!("{other:?} at {ms} ms"),
            }
        }
        assert_eq!(ups, 1);
        assert!(wlan.is_up());
    }
}
