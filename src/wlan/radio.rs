//! The board's WiFi driver, as the controller sees it.
//!
//! Five non-blocking calls and a status. The controller decides *when* to
//! associate, with *which* network, and when to give up; the driver only
//! does what it is told and says where it is. Everything vendor-specific
//! (ESP8266 SDK station calls, ESP-IDF `esp_wifi_*` and its events,
//! esp-radio's `WifiController`) stays behind this trait in the board crate.

/// What the radio says about its station link, sampled by [`Radio::status`].
///
/// How drivers map onto it:
///
/// | `Status` | MicroPython `WLAN.status()` | ESP8266 SDK `wifi_station_get_connect_status` | ESP-IDF / esp-radio |
/// |---|---|---|---|
/// | `Idle` | `STAT_IDLE` | `STATION_IDLE` | started, no connection requested, or after a disconnect |
/// | `Connecting` | `STAT_CONNECTING` | `STATION_CONNECTING` | connect requested; associated but no address yet when the driver runs DHCP itself |
/// | `Connected` | `STAT_GOT_IP` | `STATION_GOT_IP` | `IP_EVENT_STA_GOT_IP` with ESP-IDF's netif; `WIFI_EVENT_STA_CONNECTED` for esp-radio under smoltcp (DHCP is then the net layer's) |
/// | `WrongPassword` | `STAT_WRONG_PASSWORD` | `STATION_WRONG_PASSWORD` | disconnect reason 202 `AUTH_FAIL`, 15 `4WAY_HANDSHAKE_TIMEOUT` |
/// | `NoApFound` | `STAT_NO_AP_FOUND` | `STATION_NO_AP_FOUND` | disconnect reason 201 `NO_AP_FOUND` |
/// | `Failed` | `STAT_CONNECT_FAIL`, `STAT_BEACON_TIMEOUT`, … | `STATION_CONNECT_FAIL` | any other disconnect reason (200 `BEACON_TIMEOUT`, 203 `ASSOC_FAIL`, 204 `HANDSHAKE_TIMEOUT`, 205 `CONNECTION_FAIL`, …) |
///
/// `Connected` means "frames flow": the controller never looks at IP.
/// `Idle` and `Connecting` are *ambiguous* while the link is up: ESP32 and
/// ESP8266 ports have been seen to report them for a working link (a DHCP
/// renewal, a lagging flag), so the controller debounces them there; the
/// three failures are *terminal* and acted on at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Not associated and not trying.
    Idle,
    /// An association (or the address that completes it) is under way.
    Connecting,
    /// Associated and able to carry frames.
    Connected,
    /// The access point refused the credentials.
    WrongPassword,
    /// No access point with the SSID answered.
    NoApFound,
    /// Any other failure, or the link was lost (beacon timeout, deauthentication).
    Failed,
}

impl Status {
    /// One of the three failures: the attempt or the link is over.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Status::WrongPassword | Status::NoApFound | Status::Failed
        )
    }
}

/// A board's WiFi station driver. Every call returns at once.
///
/// Contract the controller relies on:
/// - [`Radio::connect`] and [`Radio::connect_stored`] abandon whatever
///   attempt or association was under way and start a new one; from then on
///   [`Radio::status`] reports that attempt, never an earlier one's outcome.
///   A driver that cannot even start one (not initialised, out of memory)
///   reports `Failed`.
/// - A driver that gets no answer may keep reporting `Connecting` forever:
///   the controller's connect timeout ends such an attempt.
/// - [`Radio::disconnect`] is idempotent and stops the driver's own retries
///   too, so nothing reconnects behind the controller's back.
/// - [`Radio::connect`] should not overwrite the stored network (ESP8266:
///   `wifi_station_set_config_current`, not `wifi_station_set_config`;
///   ESP-IDF: `esp_wifi_set_storage(WIFI_STORAGE_RAM)` while trying it).
///   Otherwise one wrong configured password, tried while the stored
///   network's access point is briefly away, replaces the credentials that
///   worked.
pub trait Radio {
    /// True if the radio keeps a network of its own: the ESP8266 SDK stores
    /// the last one in flash and rejoins it after a reset; ESP-IDF can keep
    /// one in NVS. esp-radio keeps none.
    fn has_stored(&mut self) -> bool;
    /// Begin associating with the stored network.
    fn connect_stored(&mut self);
    /// Begin associating with `ssid` (1..=32 bytes). An empty `password`
    /// means an open network; otherwise it is a WPA/WPA2 passphrase of
    /// 8..=63 bytes (checked by [`crate::wlan::Config::check`]).
    fn connect(&mut self, ssid: &str, password: &[u8]);
    /// Leave the network, or abandon the attempt under way.
    fn disconnect(&mut self);
    /// Where the station link is now.
    fn status(&mut self) -> Status;
    /// Received signal strength of the access point in dBm, if the driver
    /// knows it (usually only while associated).
    fn rssi(&mut self) -> Option<i8>;
}
