//! What an image is told at build time: environment variables read by
//! `option_env!` (nothing is stored on the chip). Unset, each has a
//! placeholder that builds but will not find a network: CI builds the
//! images that way.

/// `LIMPET_SSID`: the network to join (1–32 bytes).
pub const SSID: &str = or(option_env!("LIMPET_SSID"), "limpet-network");
/// `LIMPET_PASSWORD`: its WPA2 passphrase (8–63 bytes), empty for an open network.
pub const PASSWORD: &str = or(option_env!("LIMPET_PASSWORD"), "limpet-password");
/// `LIMPET_USE_STORED=1`: try the radio's stored network first.
pub const USE_STORED: bool = match option_env!("LIMPET_USE_STORED") {
    Some(v) => v.len() == 1 && v.as_bytes()[0] == b'1',
    None => false,
};
/// `LIMPET_BROKER`: the broker's name or IPv4 address.
pub const BROKER: &str = or(option_env!("LIMPET_BROKER"), "broker.local");
/// `LIMPET_PORT`: the broker's port (default 1883).
pub const PORT: u16 = match option_env!("LIMPET_PORT") {
    Some(p) => parse_port(p),
    None => 1883,
};
/// `LIMPET_CLIENT_ID`: the MQTT client id (the session the broker keeps).
pub const CLIENT_ID: &str = or(option_env!("LIMPET_CLIENT_ID"), "limpet-esp32c3");

const fn or(value: Option<&'static str>, default: &'static str) -> &'static str {
    match value {
        Some(v) => v,
        None => default,
    }
}

/// A port number, checked when the image is built.
const fn parse_port(s: &str) -> u16 {
    let b = s.as_bytes();
    let mut i = 0;
    let mut n: u32 = 0;
    while i < b.len() {
        assert!(b[i].is_ascii_digit(), "LIMPET_PORT must be a number");
        n = n * 10 + (b[i] - b'0') as u32;
        assert!(n <= 65_535, "LIMPET_PORT must be at most 65535");
        i += 1;
    }
    assert!(n > 0, "LIMPET_PORT must not be 0");
    n as u16
}

/// A seed for ports, backoff jitter and smoltcp: the hardware random
/// number generator (true random while the radio runs).
pub fn seed() -> u32 {
    esp_hal::rng::Rng::new().random()
}
