//! esp-radio's station as limpet's [`Station`]: the board's half of
//! [`limpet::wlan::station`], which turns it into the `Radio` the WLAN
//! controller polls (one future owning the controller, polled from the
//! superloop with a no-op waker; no executor).
//!
//! ```ignore
//! let mailbox = Mailbox::new();
//! let driver = core::pin::pin!(station::drive(EspStation::new(controller), &mailbox));
//! let mut radio = StationRadio::new(&mailbox, driver);
//! ```

use core::cell::Cell;

use esp_hal::time::{Duration, Instant};
use esp_radio::wifi::sta::StationConfig;
use esp_radio::wifi::{
    AuthenticationMethodConfig, Config, ConnectionError, DisconnectReason, Password, Ssid,
    WifiController,
};
use limpet::wlan::station::Station;
use limpet::wlan::Status;

/// How old an RSSI reading may be before the driver is asked again.
const RSSI_EVERY: Duration = Duration::from_millis(500);

/// The station side of esp-radio's controller.
pub struct EspStation {
    wifi: WifiController<'static>,
    /// The last RSSI reading and when it was taken.
    rssi: Cell<Option<(Instant, Option<i8>)>>,
}

impl EspStation {
    pub fn new(wifi: WifiController<'static>) -> Self {
        EspStation {
            wifi,
            rssi: Cell::new(None),
        }
    }
}

impl Station for EspStation {
    fn configure(&mut self, ssid: &str, password: &str) -> bool {
        let auth = if password.is_empty() {
            AuthenticationMethodConfig::Open
        } else {
            match Password::try_from(password) {
                Ok(p) => AuthenticationMethodConfig::Wpa2Personal(p),
                Err(_) => return false,
            }
        };
        let Ok(ssid) = Ssid::try_from(ssid) else {
            return false;
        };
        let station = StationConfig::default()
            .with_ssid(ssid)
            .with_authentication(auth);
        self.wifi.set_config(&Config::Station(station)).is_ok()
    }

    async fn connect(&mut self) -> Result<(), Status> {
        self.rssi.set(None);
        match self.wifi.connect_async().await {
            Ok(_) => Ok(()),
            Err(ConnectionError::Failed(info)) => Err(status_for(info.reason)),
            Err(_) => Err(Status::Failed),
        }
    }

    async fn disconnect(&mut self) {
        // `NotConnected` just means there was nothing to leave.
        let _ = self.wifi.disconnect_async().await;
    }

    async fn disconnected(&self) -> Status {
        match self.wifi.wait_for_disconnect_async().await {
            Ok(info) => status_for(info.reason),
            Err(_) => Status::Failed,
        }
    }

    fn rssi(&self) -> Option<i8> {
        let now = Instant::now();
        match self.rssi.get() {
            Some((at, value)) if now - at < RSSI_EVERY => value,
            _ => {
                let value = self.wifi.rssi().ok().map(|r| r.clamp(-128, 127) as i8);
                self.rssi.set(Some((now, value)));
                value
            }
        }
    }
}

/// ESP-IDF's disconnect reasons as limpet's statuses (the table on
/// [`limpet::wlan::Status`]).
fn status_for(reason: DisconnectReason) -> Status {
    match reason {
        DisconnectReason::AuthenticationFailed
        | DisconnectReason::FourWayHandshakeTimeout
        | DisconnectReason::HandshakeTimeout
        | DisconnectReason::MicFailure => Status::WrongPassword,
        DisconnectReason::NoAccessPointFound
        | DisconnectReason::NoAccessPointFoundWithCompatibleSecurity
        | DisconnectReason::NoAccessPointFoundInAuthmodeThreshold
        | DisconnectReason::NoAccessPointFoundInRssiThreshold => Status::NoApFound,
        _ => Status::Failed,
    }
}
