//! A simulated WiFi radio: devices and access points sharing one [`SimAir`].
//!
//! The air holds access points (SSID, passphrase, position on a line,
//! present or away, and a lease counter that changes each time the AP comes
//! back, so the gateway can hand out a different DHCP lease), and one
//! state per device. A [`SimRadio`] is a device's end of it and implements
//! [`limpet::wlan::Radio`] the way the ESP drivers behave:
//!
//! - an attempt concludes after a delay: `Connected` after the association
//!   time; `WrongPassword` after the handshake timeout (ESP-IDF reports a
//!   4-way handshake timeout, reason 15, or `AUTH_FAIL`, 202); `NoApFound`
//!   after a scan finds nothing (reason 201);
//! - a link whose AP vanishes or moves out of range stops carrying frames at
//!   once, but the radio keeps reporting `Connected` until the beacon timeout
//!   (ESP-IDF's station inactive time, 6 s by default), then `Failed`
//!   (reason 200, `BEACON_TIMEOUT`); back in range before that, the link
//!   survives;
//! - an AP that restarted (came back with a new lease) or changed its
//!   passphrase has forgotten its stations: their links fail at once
//!   (deauthentication);
//! - RSSI follows the distance to the AP (log-distance path loss), with a
//!   seeded jitter of a few dB; below the sensitivity nothing associates;
//! - the radio may keep a stored network (the ESP8266 keeps one in flash);
//!   with [`SimRadio::set_persist`] a `connect` overwrites it, as
//!   `wifi_station_set_config` does on the ESP8266.
//!
//! Time is the caller's: [`SimRadio::poll`] (or [`SimAir::poll`]) moves the
//! world to `now`; the `Radio` calls act at the time of the last poll, so a
//! superloop polls the radio first, then the controller. The link
//! (`crate::link`) forwards a device's frames only while
//! [`SimAir::is_associated`] says so. Everything is deterministic.

use std::sync::{Arc, Mutex, MutexGuard};

use limpet::time::{Duration, Instant};
use limpet::wlan::{Radio, Status};

/// An access point in the air.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ApId(usize);

/// A device (one radio) in the air.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DeviceId(usize);

/// Propagation and timing, the same for every device in the air.
#[derive(Clone, Copy, Debug)]
pub struct AirConfig {
    /// Received power 1 m from an access point, dBm. Default -40.
    pub rssi_at_1m: f32,
    /// Path-loss exponent: 2 in free space, about 3 indoors. Default 3.
    pub path_loss_exponent: f32,
    /// Below this modelled RSSI (dBm) a device neither associates nor keeps
    /// its link. Default -90 (ESP chips' 802.11b sensitivity is near -97;
    /// links become useless well above it).
    pub sensitivity: f32,
    /// Reported RSSI differs from the model by up to this many dB, seeded.
    /// Default 2.
    pub jitter_db: u8,
    /// From a connect request to `Connected` (authentication, association,
    /// handshake, and the address for drivers that wait for one). Default 1.5 s.
    pub association: Duration,
    /// From a connect request to `WrongPassword`. Default 2 s.
    pub handshake_timeout: Duration,
    /// From a connect request to `NoApFound` (a scan of every channel). Default 2 s.
    pub scan: Duration,
    /// From losing the AP's beacons to `Failed`. Default 6 s (ESP-IDF's
    /// default station inactive time).
    pub beacon_timeout: Duration,
    /// Seeds every device's jitter (each device mixes in its own index).
    pub seed: u64,
}

impl Default for AirConfig {
    fn default() -> Self {
        AirConfig {
            rssi_at_1m: -40.0,
            path_loss_exponent: 3.0,
            sensitivity: -90.0,
            jitter_db: 2,
            association: Duration::from_ticks(1_500),
            handshake_timeout: Duration::from_ticks(2_000),
            scan: Duration::from_ticks(2_000),
            beacon_timeout: Duration::from_ticks(6_000),
            seed: 1,
        }
    }
}

/// Where a device is, in metres along the line the access points stand on.
pub enum Position {
    Fixed(f32),
    /// A function of simulated time: a device carried away and back.
    Moving(Box<dyn Fn(Instant) -> f32 + Send>),
}

impl Position {
    fn at(&self, now: Instant) -> f32 {
        match self {
            Position::Fixed(x) => *x,
            Position::Moving(f) => f(now),
        }
    }
}

/// What the gateway may ask about a device's link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Association {
    pub ap: ApId,
    /// The AP's lease counter when the device joined: it changes each time
    /// the AP comes back, so a gateway keyed on it hands out a new lease.
    pub lease: u32,
}

struct Ap {
    ssid: String,
    password: Vec<u8>,
    position: f32,
    present: bool,
    lease: u32,
    /// Bumped when the AP forgets its stations (restart, new passphrase).
    epoch: u32,
    /// Scheduled absences, applied as the air's time passes.
    outages: Vec<Outage>,
}

struct Outage {
    from: Instant,
    until: Instant,
    begun: bool,
}

impl Ap {
    /// Off, or on again: back on, it has restarted (a new lease, and it
    /// has forgotten its stations).
    fn set_present(&mut self, present: bool) {
        if present && !self.present {
            self.lease = self.lease.wrapping_add(1);
            self.epoch += 1;
        }
        self.present = present;
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Link {
    /// Not associated, not trying.
    Idle,
    /// Trying `ssid` since `since`; `hang`: this attempt never concludes.
    Attempt {
        ssid: String,
        password: Vec<u8>,
        since: Instant,
        hang: bool,
    },
    /// Associated to `ap`; `lost`: since when its beacons are missing.
    Associated {
        ap: ApId,
        lease: u32,
        epoch: u32,
        lost: Option<Instant>,
    },
    /// The attempt or the link ended with this status (until the next request).
    Ended(Status),
}

struct Device {
    position: Position,
    stored: Option<(String, Vec<u8>)>,
    persist: bool,
    link: Link,
    /// Attempts still to hang (never conclude).
    hang_next: u32,
    /// While associated, report this instead of `Connected` over `[from, until)`.
    spurious: Option<(Instant, Instant, Status)>,
    rng: u64,
}

struct World {
    config: AirConfig,
    /// The air's time: that of the latest poll (none yet: the first poll
    /// sets it, whatever the clock says).
    clock: Option<Instant>,
    now: Instant,
    aps: Vec<Ap>,
    devices: Vec<Device>,
}

/// The shared radio world: access points and every device's link.
/// Cloning gives another handle to the same air.
#[derive(Clone)]
pub struct SimAir {
    world: Arc<Mutex<World>>,
}

impl SimAir {
    pub fn new(config: AirConfig) -> Self {
        SimAir {
            world: Arc::new(Mutex::new(World {
                config,
                clock: None,
                now: Instant::from_ticks(0),
                aps: Vec::new(),
                devices: Vec::new(),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, World> {
        // A panicking test elsewhere must not hide this one's state.
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An access point at `position` metres; present from the start. An
    /// empty `password` is an open network.
    pub fn add_ap(&self, ssid: &str, password: &[u8], position: f32) -> ApId {
        let mut w = self.lock();
        w.aps.push(Ap {
            ssid: ssid.into(),
            password: password.into(),
            position,
            present: true,
            lease: 0,
            epoch: 0,
            outages: Vec::new(),
        });
        ApId(w.aps.len() - 1)
    }

    /// A new device at `position`, with `stored` as the network its radio
    /// keeps (or none).
    pub fn add_radio(&self, position: Position, stored: Option<(&str, &[u8])>) -> SimRadio {
        let mut w = self.lock();
        let index = w.devices.len();
        let seed = w.config.seed ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        w.devices.push(Device {
            position,
            stored: stored.map(|(s, p)| (s.into(), p.into())),
            persist: false,
            link: Link::Idle,
            hang_next: 0,
            spurious: None,
            rng: seed | 1,
        });
        SimRadio {
            air: self.clone(),
            id: DeviceId(index),
        }
    }

    /// The AP switched off (`false`) or on again (`true`, with a new lease:
    /// it restarted and forgot its stations).
    pub fn set_present(&self, ap: ApId, present: bool) {
        self.lock().aps[ap.0].set_present(present);
    }

    /// The AP is away over `[from, until)` of the air's time, applied as
    /// polls move the air past those instants (an outage that falls
    /// between two polls still restarts the AP).
    pub fn schedule_outage(&self, ap: ApId, from: Instant, until: Instant) {
        self.lock().aps[ap.0].outages.push(Outage {
            from,
            until,
            begun: false,
        });
    }

    /// A new passphrase: stations associated with the old one are dropped.
    pub fn set_password(&self, ap: ApId, password: &[u8]) {
        let mut w = self.lock();
        let a = &mut w.aps[ap.0];
        a.password = password.into();
        a.epoch += 1;
    }

    pub fn is_present(&self, ap: ApId) -> bool {
        self.lock().aps[ap.0].present
    }

    /// The AP's lease counter: changes each time it comes back.
    pub fn lease(&self, ap: ApId) -> u32 {
        self.lock().aps[ap.0].lease
    }

    /// Moves the air to `now`: scheduled outages, lost beacons, attempts
    /// that conclude, for every device.
    pub fn poll(&self, now: Instant) {
        self.lock().advance(now);
    }

    /// True while `device`'s frames reach its AP: associated, the AP there
    /// and not restarted since, and in range (as of the last poll's
    /// position). An AP switched off counts at once, before any radio
    /// notices.
    pub fn is_associated(&self, device: DeviceId) -> bool {
        self.lock().carries(device.0).is_some()
    }

    /// The device's link, if it carries frames now.
    pub fn association(&self, device: DeviceId) -> Option<Association> {
        self.lock().carries(device.0)
    }
}

impl World {
    fn advance(&mut self, now: Instant) {
        if !self.tick(now) {
            return;
        }
        for d in 0..self.devices.len() {
            self.step(d);
        }
    }

    /// Moves the air to `now` for one device only (its own radio's poll:
    /// O(1) per device, so a fleet's passes cost O(N), not O(N²)).
    fn advance_one(&mut self, now: Instant, d: usize) {
        if self.tick(now) {
            self.step(d);
        }
    }

    /// The clock and the access points' schedules; false if `now` is in
    /// the past (time only moves on: a late caller sees the present).
    fn tick(&mut self, now: Instant) -> bool {
        if self.clock.is_some_and(|c| now < c) {
            return false;
        }
        self.clock = Some(now);
        self.now = now;
        for ap in &mut self.aps {
            let mut outages = core::mem::take(&mut ap.outages);
            for o in &mut outages {
                if !o.begun && o.from <= now {
                    o.begun = true;
                    ap.set_present(false);
                }
                if o.begun && o.until <= now {
                    ap.set_present(true);
                }
            }
            outages.retain(|o| now < o.until);
            ap.outages = outages;
        }
        true
    }

    /// Modelled (noiseless) RSSI of `ap` for `device` now.
    fn signal(&self, device: usize, ap: usize) -> f32 {
        let c = &self.config;
        let x = self.devices[device].position.at(self.now);
        let d = (x - self.aps[ap].position).abs().max(0.1);
        c.rssi_at_1m - 10.0 * c.path_loss_exponent * d.log10()
    }

    fn in_range(&self, device: usize, ap: usize) -> bool {
        self.aps[ap].present && self.signal(device, ap) >= self.config.sensitivity
    }

    /// Concludes attempts and notices lost links for one device.
    fn step(&mut self, d: usize) {
        let now = self.now;
        let c = self.config;
        let next = match &self.devices[d].link {
            Link::Attempt {
                ssid,
                password,
                since,
                hang,
            } => {
                let age = now.checked_duration_since(*since).map_or(0, |x| x.ticks());
                // The strongest AP with that SSID in range, as a scan would pick.
                let found = (0..self.aps.len())
                    .filter(|&a| self.aps[a].ssid == *ssid && self.in_range(d, a))
                    .max_by(|&a, &b| self.signal(d, a).total_cmp(&self.signal(d, b)));
                match found {
                    _ if *hang => None,
                    None if age >= c.scan.ticks() => Some(Link::Ended(Status::NoApFound)),
                    Some(a) if self.aps[a].password != *password => (age
                        >= c.handshake_timeout.ticks())
                    .then_some(Link::Ended(Status::WrongPassword)),
                    Some(a) if age >= c.association.ticks() => Some(Link::Associated {
                        ap: ApId(a),
                        lease: self.aps[a].lease,
                        epoch: self.aps[a].epoch,
                        lost: None,
                    }),
                    _ => None,
                }
            }
            Link::Associated {
                ap,
                lease,
                epoch,
                lost,
            } => {
                let a = &self.aps[ap.0];
                if a.present && a.epoch != *epoch {
                    // Back after a restart, or a new passphrase: the AP
                    // deauthenticates the station it no longer knows.
                    Some(Link::Ended(Status::Failed))
                } else if self.in_range(d, ap.0) {
                    lost.map(|_| Link::Associated {
                        ap: *ap,
                        lease: *lease,
                        epoch: *epoch,
                        lost: None,
                    })
                } else {
                    match lost {
                        None => Some(Link::Associated {
                            ap: *ap,
                            lease: *lease,
                            epoch: *epoch,
                            lost: Some(now),
                        }),
                        Some(t) => {
                            let gone = now.checked_duration_since(*t).map_or(0, |x| x.ticks());
                            (gone >= c.beacon_timeout.ticks())
                                .then_some(Link::Ended(Status::Failed))
                        }
                    }
                }
            }
            Link::Idle | Link::Ended(_) => None,
        };
        if let Some(link) = next {
            self.devices[d].link = link;
        }
    }

    fn carries(&self, d: usize) -> Option<Association> {
        match self.devices[d].link {
            Link::Associated {
                ap, lease, epoch, ..
            } if self.aps[ap.0].epoch == epoch && self.in_range(d, ap.0) => {
                Some(Association { ap, lease })
            }
            _ => None,
        }
    }

    fn begin(&mut self, d: usize, ssid: String, password: Vec<u8>) {
        let now = self.now;
        let dev = &mut self.devices[d];
        let hang = dev.hang_next > 0;
        dev.hang_next = dev.hang_next.saturating_sub(1);
        dev.link = Link::Attempt {
            ssid,
            password,
            since: now,
            hang,
        };
        // A zero association time joins on the spot.
        self.step(d);
    }
}

/// One device's radio. Implements [`Radio`]; the `Radio` calls act at the
/// time of the last [`SimRadio::poll`].
pub struct SimRadio {
    air: SimAir,
    id: DeviceId,
}

impl SimRadio {
    pub fn id(&self) -> DeviceId {
        self.id
    }

    pub fn air(&self) -> &SimAir {
        &self.air
    }

    /// Moves this device's view of the air to `now`: the access points'
    /// schedules and this radio's own state (other radios move at their
    /// own polls, or at [`SimAir::poll`]).
    pub fn poll(&mut self, now: Instant) {
        let id = self.id.0;
        self.air.lock().advance_one(now, id);
    }

    /// True while this device's frames reach its AP ([`SimAir::is_associated`]).
    pub fn is_associated(&self) -> bool {
        self.air.is_associated(self.id)
    }

    /// Puts the device somewhere else (takes effect at the next poll).
    pub fn set_position(&mut self, position: Position) {
        self.with(|d| d.position = position);
    }

    /// A `connect` also becomes the stored network (the ESP8266 SDK's
    /// `wifi_station_set_config`); default false.
    pub fn set_persist(&mut self, persist: bool) {
        self.with(|d| d.persist = persist);
    }

    /// The next `n` attempts never conclude: `Connecting` for ever, the
    /// driver behaviour only a connect timeout ends.
    pub fn hang_next(&mut self, n: u32) {
        self.with(|d| d.hang_next = n);
    }

    /// While associated, report `status` instead of `Connected` over
    /// `[from, until)` although frames still flow (the spurious reports
    /// of micropython#10913 on ESP32, micropython#5261 on ESP8266).
    pub fn report_spurious(&mut self, from: Instant, until: Instant, status: Status) {
        self.with(|d| d.spurious = Some((from, until, status)));
    }

    /// The network the radio keeps, if any.
    pub fn stored(&self) -> Option<(String, Vec<u8>)> {
        self.air.lock().devices[self.id.0].stored.clone()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Device) -> T) -> T {
        f(&mut self.air.lock().devices[self.id.0])
    }
}

impl Radio for SimRadio {
    fn has_stored(&mut self) -> bool {
        self.with(|d| d.stored.is_some())
    }

    fn connect_stored(&mut self) {
        let mut w = self.air.lock();
        match w.devices[self.id.0].stored.clone() {
            Some((ssid, password)) => w.begin(self.id.0, ssid, password),
            // Nothing to join: the driver cannot even start.
            None => w.devices[self.id.0].link = Link::Ended(Status::Failed),
        }
    }

    fn connect(&mut self, ssid: &str, password: &[u8]) {
        let mut w = self.air.lock();
        let d = &mut w.devices[self.id.0];
        if d.persist {
            d.stored = Some((ssid.into(), password.into()));
        }
        w.begin(self.id.0, ssid.into(), password.into());
    }

    fn disconnect(&mut self) {
        self.with(|d| d.link = Link::Idle);
    }

    fn status(&mut self) -> Status {
        let w = self.air.lock();
        let now = w.now;
        let d = &w.devices[self.id.0];
        match d.link {
            Link::Idle => Status::Idle,
            Link::Attempt { .. } => Status::Connecting,
            Link::Associated { .. } => match d.spurious {
                Some((from, until, s)) if from <= now && now < until => s,
                _ => Status::Connected,
            },
            Link::Ended(s) => s,
        }
    }

    fn rssi(&mut self) -> Option<i8> {
        let mut w = self.air.lock();
        let id = self.id.0;
        let Link::Associated { ap, lost: None, .. } = w.devices[id].link else {
            return None; // no beacons, no reading
        };
        let model = w.signal(id, ap.0);
        let span = i32::from(w.config.jitter_db);
        let d = &mut w.devices[id];
        // xorshift64: deterministic per device and call.
        d.rng ^= d.rng << 13;
        d.rng ^= d.rng >> 7;
        d.rng ^= d.rng << 17;
        let jitter = (d.rng % (2 * span as u64 + 1)) as i32 - span;
        let dbm = (model.round() as i32 + jitter).clamp(-127, -1);
        Some(dbm as i8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use limpet::wlan::{Config, Network, Reason, Wlan, WlanEvent};

    const HOME: &str = "home";
    const PASS: &[u8] = b"correct horse";

    fn at(origin: u32, ms: u32) -> Instant {
        Instant::from_ticks(origin.wrapping_add(ms))
    }

    /// Polls the radio every `step` ms over `[from, until)` of scenario time.
    fn run(radio: &mut SimRadio, origin: u32, from: u32, until: u32, step: u32) {
        let mut t = from;
        while t < until {
            radio.poll(at(origin, t));
            t += step;
        }
        radio.poll(at(origin, until));
    }

    fn air() -> SimAir {
        SimAir::new(AirConfig::default())
    }

    const ORIGINS: [u32; 3] = [0, (1 << 31) - 3_001, u32::MAX - 3_001];

    #[test]
    fn given_a_present_ap_when_connecting_then_connected_after_the_association_time() {
        for origin in ORIGINS {
            let air = air();
            let ap = air.add_ap(HOME, PASS, 0.0);
            let mut radio = air.add_radio(Position::Fixed(5.0), None);
            radio.poll(at(origin, 0));
            radio.connect(HOME, PASS);
            run(&mut radio, origin, 0, 1_400, 100);
            assert_eq!(radio.status(), Status::Connecting);
            assert!(!radio.is_associated());
            assert_eq!(radio.rssi(), None);
            run(&mut radio, origin, 1_400, 1_500, 100);
            assert_eq!(radio.status(), Status::Connected);
            assert!(radio.is_associated());
            assert_eq!(
                air.association(radio.id()),
                Some(Association { ap, lease: 0 })
            );
            // -40 - 30·log10(5) ≈ -61, within the 2 dB jitter.
            let rssi = radio.rssi().unwrap();
            assert!((-63..=-59).contains(&rssi), "{rssi}");
            radio.disconnect();
            assert_eq!(radio.status(), Status::Idle);
            assert!(!radio.is_associated());
        }
    }

    #[test]
    fn given_a_wrong_password_then_wrong_password_after_the_handshake_timeout() {
        let air = air();
        air.add_ap(HOME, PASS, 0.0);
        let mut radio = air.add_radio(Position::Fixed(1.0), None);
        radio.poll(at(0, 0));
        radio.connect(HOME, b"wrong horse");
        run(&mut radio, 0, 0, 1_900, 100);
        assert_eq!(radio.status(), Status::Connecting);
        run(&mut radio, 0, 1_900, 2_000, 100);
        assert_eq!(radio.status(), Status::WrongPassword);
        assert!(!radio.is_associated());
    }

    #[test]
    fn given_no_such_ap_or_one_out_of_range_then_no_ap_found_after_the_scan() {
        // -40 - 30·log10(200) ≈ -109 dBm: far below the sensitivity.
        for (ssid, position) in [("elsewhere", 1.0), (HOME, 200.0)] {
            let air = air();
            air.add_ap(HOME, PASS, 0.0);
            let mut radio = air.add_radio(Position::Fixed(position), None);
            radio.poll(at(0, 0));
            radio.connect(ssid, PASS);
            run(&mut radio, 0, 0, 1_900, 100);
            assert_eq!(radio.status(), Status::Connecting, "{ssid}");
            run(&mut radio, 0, 1_900, 2_000, 100);
            assert_eq!(radio.status(), Status::NoApFound, "{ssid}");
        }
    }

    #[test]
    fn given_an_ap_that_vanishes_then_frames_stop_at_once_and_the_radio_fails_after_the_beacon_timeout(
    ) {
        for origin in ORIGINS {
            let air = air();
            let ap = air.add_ap(HOME, PASS, 0.0);
            let mut radio = air.add_radio(Position::Fixed(3.0), None);
            radio.poll(at(origin, 0));
            radio.connect(HOME, PASS);
            run(&mut radio, origin, 0, 2_000, 100);
            assert!(radio.is_associated());
            air.set_present(ap, false);
            assert!(!radio.is_associated(), "the link sees it before any poll");
            run(&mut radio, origin, 2_000, 7_900, 100);
            assert_eq!(radio.status(), Status::Connected, "no beacons yet");
            assert_eq!(radio.rssi(), None);
            run(&mut radio, origin, 7_900, 8_000, 100);
            assert_eq!(radio.status(), Status::Failed, "beacon timeout");
            // Back with a new lease: a new attempt joins it.
            air.set_present(ap, true);
            assert_eq!(air.lease(ap), 1);
            radio.connect(HOME, PASS);
            run(&mut radio, origin, 8_000, 9_500, 100);
            assert_eq!(radio.status(), Status::Connected);
            assert_eq!(
                air.association(radio.id()),
                Some(Association { ap, lease: 1 })
            );
        }
    }

    #[test]
    fn given_an_ap_that_restarts_within_the_beacon_timeout_then_its_stations_are_dropped() {
        let air = air();
        let ap = air.add_ap(HOME, PASS, 0.0);
        let mut radio = air.add_radio(Position::Fixed(3.0), None);
        radio.poll(at(0, 0));
        radio.connect(HOME, PASS);
        run(&mut radio, 0, 0, 2_000, 100);
        air.schedule_outage(ap, at(0, 3_000), at(0, 4_000));
        run(&mut radio, 0, 2_000, 3_500, 100);
        assert!(!air.is_present(ap));
        assert_eq!(radio.status(), Status::Connected);
        run(&mut radio, 0, 3_500, 4_000, 100);
        assert!(air.is_present(ap));
        assert_eq!(air.lease(ap), 1);
        assert_eq!(radio.status(), Status::Failed, "deauthenticated");
        assert!(!radio.is_associated());
    }

    #[test]
    fn given_a_new_passphrase_then_associated_stations_are_dropped() {
        let air = air();
        let ap = air.add_ap(HOME, PASS, 0.0);
        let mut radio = air.add_radio(Position::Fixed(3.0), None);
        radio.poll(at(0, 0));
        radio.connect(HOME, PASS);
        run(&mut radio, 0, 0, 2_000, 100);
        air.set_password(ap, b"battery staple");
        assert!(!radio.is_associated());
        radio.poll(at(0, 2_100));
        assert_eq!(radio.status(), Status::Failed);
        radio.connect(HOME, PASS);
        run(&mut radio, 0, 2_100, 4_100, 100);
        assert_eq!(radio.status(), Status::WrongPassword);
    }

    #[test]
    fn rssi_follows_the_distance_and_the_link_drops_out_of_range_unless_back_in_time() {
        let air = air();
        air.add_ap(HOME, PASS, 0.0);
        // 1 m/s away from the AP, from 2 m.
        let walk = Position::Moving(Box::new(|now: Instant| 2.0 + now.ticks() as f32 / 1_000.0));
        let mut radio = air.add_radio(walk, None);
        radio.poll(at(0, 0));
        radio.connect(HOME, PASS);
        run(&mut radio, 0, 0, 1_500, 100);
        let mut previous = radio.rssi().unwrap();
        let mut t = 1_500;
        // -90 dBm is reached at 10^(50/30) ≈ 46 m, at about 44 s.
        while radio.is_associated() {
            t += 5_000;
            run(&mut radio, 0, t - 5_000, t, 100);
            if let Some(rssi) = radio.rssi() {
                assert!(rssi <= previous + 4, "{previous} → {rssi} at {t}");
                previous = rssi;
            }
        }
        assert!((41_500..=46_500).contains(&t), "out of range at {t}");
        assert!(previous <= -85, "{previous}");
        // Back in range within the beacon timeout: the link survives.
        radio.set_position(Position::Fixed(10.0));
        run(&mut radio, 0, t, t + 1_000, 100);
        assert!(radio.is_associated());
        assert_eq!(radio.status(), Status::Connected);
        // Out of range for longer than the beacon timeout: it fails.
        radio.set_position(Position::Fixed(100.0));
        run(&mut radio, 0, t + 1_000, t + 6_900, 100);
        assert_eq!(radio.status(), Status::Connected);
        run(&mut radio, 0, t + 6_900, t + 7_000, 100);
        assert_eq!(radio.status(), Status::Failed);
    }

    #[test]
    fn the_stored_network_is_joined_and_overwritten_only_when_persisting() {
        let air = air();
        air.add_ap(HOME, PASS, 0.0);
        let mut radio = air.add_radio(Position::Fixed(1.0), Some((HOME, PASS)));
        assert!(radio.has_stored());
        radio.poll(at(0, 0));
        radio.connect_stored();
        run(&mut radio, 0, 0, 1_500, 100);
        assert_eq!(radio.status(), Status::Connected);
        radio.connect(HOME, b"wrong horse");
        assert_eq!(radio.stored(), Some((HOME.into(), PASS.to_vec())));
        // Persisting, as the ESP8266 SDK does: one wrong try replaces the good one.
        radio.set_persist(true);
        radio.connect(HOME, b"wrong horse");
        assert_eq!(radio.stored(), Some((HOME.into(), b"wrong horse".to_vec())));
        radio.connect_stored();
        run(&mut radio, 0, 1_500, 3_500, 100);
        assert_eq!(radio.status(), Status::WrongPassword);
    }

    #[test]
    fn connect_stored_with_nothing_stored_fails_and_a_hung_attempt_never_concludes() {
        let air = air();
        air.add_ap(HOME, PASS, 0.0);
        let mut radio = air.add_radio(Position::Fixed(1.0), None);
        assert!(!radio.has_stored());
        radio.poll(at(0, 0));
        radio.connect_stored();
        assert_eq!(radio.status(), Status::Failed);
        radio.hang_next(1);
        radio.connect(HOME, PASS);
        run(&mut radio, 0, 0, 120_000, 1_000);
        assert_eq!(radio.status(), Status::Connecting);
        radio.connect(HOME, PASS);
        run(&mut radio, 0, 120_000, 121_500, 100);
        assert_eq!(radio.status(), Status::Connected, "only the next one hung");
    }

    #[test]
    fn spurious_reports_change_the_status_but_not_the_link() {
        let air = air();
        air.add_ap(HOME, PASS, 0.0);
        let mut radio = air.add_radio(Position::Fixed(1.0), None);
        radio.poll(at(0, 0));
        radio.connect(HOME, PASS);
        run(&mut radio, 0, 0, 2_000, 100);
        radio.report_spurious(at(0, 3_000), at(0, 3_500), Status::Idle);
        run(&mut radio, 0, 2_000, 3_200, 100);
        assert_eq!(radio.status(), Status::Idle);
        assert!(radio.is_associated());
        run(&mut radio, 0, 3_200, 3_500, 100);
        assert_eq!(radio.status(), Status::Connected);
    }

    #[test]
    fn jitter_is_deterministic_per_seed_and_differs_between_seeds() {
        let readings = |seed: u64| -> Vec<Option<i8>> {
            let air = SimAir::new(AirConfig {
                seed,
                ..AirConfig::default()
            });
            air.add_ap(HOME, PASS, 0.0);
            let mut radio = air.add_radio(Position::Fixed(20.0), None);
            radio.poll(at(0, 0));
            radio.connect(HOME, PASS);
            run(&mut radio, 0, 0, 2_000, 100);
            (0..32).map(|_| radio.rssi()).collect()
        };
        assert_eq!(readings(7), readings(7));
        assert_ne!(readings(7), readings(8));
        assert!(readings(7).iter().all(|r| r.is_some()));
    }

    #[test]
    fn schedule_outage_bumps_the_lease_once_per_return() {
        let air = air();
        let ap = air.add_ap(HOME, PASS, 0.0);
        air.schedule_outage(ap, at(0, 1_000), at(0, 2_000));
        air.schedule_outage(ap, at(0, 5_000), at(0, 6_000));
        let mut present = Vec::new();
        for t in (0..8_000).step_by(500) {
            air.poll(at(0, t));
            present.push((t, air.is_present(ap), air.lease(ap)));
        }
        assert_eq!(present[2], (1_000, false, 0));
        assert_eq!(present[4], (2_000, true, 1));
        assert_eq!(present[10], (5_000, false, 1));
        assert_eq!(present[12], (6_000, true, 2));
        assert_eq!(present[15], (7_500, true, 2));
    }

    /// The controller over the simulated radio, as a superloop drives them:
    /// radio first, then the controller, sleeping until its deadline.
    fn superloop(
        wlan: &mut Wlan<'_>,
        radio: &mut SimRadio,
        origin: u32,
        from: u32,
        until: u32,
        events: &mut Vec<(u32, WlanEvent)>,
    ) {
        let mut t = from;
        while t < until {
            let now = at(origin, t);
            radio.poll(now);
            if let Some(e) = wlan.poll(now, radio) {
                events.push((t, e));
                continue;
            }
            let next = wlan.next_deadline(now).unwrap();
            t += next.checked_duration_since(now).unwrap().ticks();
        }
    }

    #[test]
    fn the_controller_over_the_simulated_radio_rides_out_an_ap_outage() {
        for origin in ORIGINS {
            let air = air();
            let ap = air.add_ap(HOME, PASS, 0.0);
            let mut radio = air.add_radio(Position::Fixed(8.0), Some((HOME, b"old password")));
            let mut wlan = Wlan::new(Config::new(HOME, PASS)).unwrap();
            let mut events = Vec::new();
            superloop(&mut wlan, &mut radio, origin, 0, 20_000, &mut events);
            // The stored network's password is stale: the configured one joins.
            assert_eq!(
                events.iter().map(|e| e.1).collect::<Vec<_>>(),
                [
                    WlanEvent::AttemptFailed(Network::Stored, Reason::WrongPassword),
                    WlanEvent::Up(Network::Configured)
                ]
            );
            assert!(radio.is_associated());
            assert!(wlan.rssi().is_some());
            // The AP goes away for a minute: the radio reports it after the
            // beacon timeout, rounds fail, and the link is back after.
            air.schedule_outage(ap, at(origin, 30_000), at(origin, 90_000));
            events.clear();
            superloop(&mut wlan, &mut radio, origin, 20_000, 200_000, &mut events);
            let (down_at, down) = events[0];
            assert_eq!(down, WlanEvent::Down(Reason::Failed));
            assert!((36_000..=37_000).contains(&down_at), "{down_at}");
            let (up_at, up) = *events.last().unwrap();
            assert_eq!(up, WlanEvent::Up(Network::Configured));
            assert!(up_at > 90_000 + 1_500 + 5_000, "{up_at}");
            assert!(radio.is_associated());
            assert_eq!(air.association(radio.id()).unwrap().lease, 1);
            assert_eq!(wlan.counters().drops, 1);
        }
    }
}
