//! The whole device over TLS: the sim radio and WLAN controller, the smoltcp
//! stack with DHCP and DNS, TLS 1.3 over the stack, and the MQTT client,
//! through the sim gateway to two real brokers with TLS listeners in turn,
//! mosquitto (OpenSSL) and aedes (Node's TLS) (test certificates made by
//! `openssl` now, never committed). The board takes
//! the device out of range, then switches its access point off; an
//! independent `mosquitto_sub` over TLS counts what arrives.
//!
//! The device is `limpet::Device` with the TLS layer between its stack and
//! its client (`Device::with_layer`): the loop is the plain device loop.

use core::pin::pin;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration as Wall, Instant as WallInstant, SystemTime, UNIX_EPOCH};

use limpet::device::{Device, DeviceConfig, DeviceEvent, Resources};
use limpet::net::stack::{Addressing, Broker as BrokerName, StackConfig};
use limpet::net::tls::{self, Config as TlsConfig, Mailbox, Tls};
use limpet::time::{earliest, Duration};
use limpet::wlan;
use limpet::{Config, Event, QoS};
use limpet_sim::board::{BoardOptions, SimBoard, PASSWORD, SSID};
use limpet_testbroker::certs::{issue, make_ca, SERVER_EXT};
use limpet_testbroker::Broker;

const TOPIC: &str = "tls/device";
const MESSAGES: u32 = 40;

#[test]
fn the_whole_device_over_tls_rides_out_wifi_outages_with_nothing_lost() {
    // Certificates and a TLS-only broker.
    let dir = std::env::temp_dir().join(format!("limpet-tls-device-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let ca = make_ca(&dir, "ca", "limpet test CA");
    issue(&dir, "server", "localhost", "ca", SERVER_EXT, None);
    let path = |f: &str| dir.join(f).display().to_string();
    // Two brokers in turn: mosquitto (OpenSSL), aedes (Node's TLS).
    let mosquitto = Broker::start_with_config(&format!(
        "cafile {}\ncertfile {}\nkeyfile {}\n",
        path("ca.pem"),
        path("server.pem"),
        path("server.key")
    ));
    device_over_tls(&mosquitto, &ca, &path("ca.pem"), "mosquitto");
    drop(mosquitto);
    let aedes = Broker::start_aedes_tls(&dir.join("server.pem"), &dir.join("server.key"));
    device_over_tls(&aedes, &ca, &path("ca.pem"), "aedes");
    drop(aedes);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The device over TLS to `broker` (its CA `ca`, as a file `cafile` for the
/// observer) through two outages; nothing lost.
fn device_over_tls(broker: &Broker, ca: &[u8], cafile: &str, label: &str) {
    // The independent observer, over TLS too.
    let mut sub = Command::new("stdbuf")
        .args(["-oL", "mosquitto_sub", "-h", "localhost"])
        .args(["-p", &broker.port().to_string(), "--cafile", cafile])
        .args(["-q", "1", "-t", TOPIC])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("mosquitto_sub");
    let (lines_tx, lines) = mpsc::channel();
    let out = sub.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    std::thread::sleep(Wall::from_millis(300));

    // The board: its gateway proxies TCP to the TLS broker; an outage 30 s
    // of simulated time after the last one ended (out of range for 20 s,
    // then the access point off for 10 s), 20 simulated seconds a second.
    let mut board = SimBoard::start(BoardOptions {
        broker: Some(broker.addr()),
        speed: 20,
        ..BoardOptions::default()
    });

    // ------------------------------------------------------------ firmware
    static BROKERS: [BrokerName<'static>; 1] = [BrokerName {
        host: "broker.sim",
        port: 1883,
    }];
    let mut mqtt = Config::new("limpet-tls-device");
    mqtt.clean = false;
    let config = DeviceConfig::new(
        wlan::Config::new(SSID, PASSWORD),
        StackConfig::new(Addressing::Dhcp, &BROKERS),
        mqtt,
    );
    let mut resources: Resources<'_, 1024, 1024, 4096> = Resources::new();
    let device: Device<'_, 4, 4> =
        Device::new(config, board.interface(), board.seed(), &mut resources).unwrap();

    // TLS between the device's stack and its client: the broker's name and
    // CA, the time (SNTP on a real device), the caller's buffers.
    let unix_now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let cas = [ca];
    let tls_config = TlsConfig::new("localhost", &cas).with_time(unix_now);
    let (mut plain, mut cipher) = ([0u8; 1024], [0u8; 1024]);
    let mail = Mailbox::new(&mut plain, &mut cipher);
    let (mut read_record, mut write_record) = (vec![0u8; 16_640], vec![0u8; 2048]);
    let driver = pin!(tls::drive(
        tls_config,
        rand_core::OsRng,
        &mut read_record,
        &mut write_record,
        &mail
    ));
    let mut device = device.with_layer(Tls::new(&mail, driver));

    let (mut next, mut acked, mut ups) = (0u32, 0u32, 0u32);
    let mut downs = Vec::new();
    let mut next_publish = board.now();
    let started = WallInstant::now();
    while acked < MESSAGES && started.elapsed() < Wall::from_secs(60) {
        let now = board.now();
        match device.poll(now, &mut board.radio, &mut board.net) {
            Some(DeviceEvent::Mqtt(Event::Up { .. })) => ups += 1,
            Some(DeviceEvent::Mqtt(Event::Published(_))) => acked += 1,
            Some(DeviceEvent::Mqtt(Event::Down(r) | Event::ConnectFailed(r))) => downs.push(r),
            Some(_) => {}
            None => {
                let deadline = earliest(device.next_deadline(now), Some(next_publish));
                board.sleep_until(deadline.map(|d| if d > now { d } else { now }));
            }
        }
        // A QoS 1 message every 2 s (80 s in all: through the first
        // outage), queued while offline.
        if next < MESSAGES && limpet::time::reached(now, next_publish) {
            let payload = format!("seq {next}");
            if device
                .publish(TOPIC, payload.as_bytes(), QoS::AtLeastOnce, false)
                .is_ok()
            {
                next += 1;
                next_publish = now + Duration::from_ticks(2_000);
            }
        }
    }
    // ------------------------------------------------------ end firmware

    let (outages, _) = board.outages();
    // What the observer got, each sequence number once at least.
    let deadline = WallInstant::now() + Wall::from_secs(5);
    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < MESSAGES as usize && WallInstant::now() < deadline {
        if let Ok(line) = lines.recv_timeout(Wall::from_millis(100)) {
            if let Some(n) = line
                .strip_prefix("seq ")
                .and_then(|n| n.parse::<u32>().ok())
            {
                seen.insert(n);
            }
        }
    }
    let _ = sub.kill();
    let _ = sub.wait();
    drop(board);
    assert_eq!(
        acked, MESSAGES,
        "{label}: completed over TLS ({ups} ups, {outages} outages; downs {downs:?})"
    );
    assert!(
        outages >= 1 && ups >= 2,
        "{label}: rode out {outages} outages with {ups} ups"
    );
    let missing: Vec<u32> = (0..MESSAGES).filter(|n| !seen.contains(n)).collect();
    assert!(
        missing.is_empty(),
        "{label}: the observer is missing {missing:?}"
    );
}
