//! The whole device over TLS: the sim radio and WLAN controller, the smoltcp
//! stack with DHCP and DNS, TLS 1.3 over the stack, and the MQTT client,
//! through the sim gateway to a real mosquitto with a TLS listener (test
//! certificates made by `openssl` now, never committed). The board takes
//! the device out of range, then switches its access point off; an
//! independent `mosquitto_sub` over TLS counts what arrives.
//!
//! The TLS driver owns a handle to the stack (`net::shared::Shared` over a
//! `RefCell`), so the loop still polls the stack each pass.

use core::cell::RefCell;
use core::pin::pin;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration as Wall, Instant as WallInstant, SystemTime, UNIX_EPOCH};

use limpet::net::shared::Shared;
use limpet::net::stack::{
    Addressing, Broker as BrokerName, Buffers, Stack, StackConfig, StackEvent,
};
use limpet::net::tls::{self, Config as TlsConfig, Mailbox, Tls};
use limpet::time::{earliest, Duration};
use limpet::wlan::{self, Wlan, WlanEvent};
use limpet::{Client, Config, Event, Options, QoS};
use limpet_sim::board::{BoardOptions, SimBoard, PASSWORD, SSID};
use limpet_testbroker::certs::{issue, make_ca, SERVER_EXT};
use limpet_testbroker::Broker;
use smoltcp::iface::SocketStorage;

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
    let broker = Broker::start_with_config(&format!(
        "cafile {}\ncertfile {}\nkeyfile {}\n",
        path("ca.pem"),
        path("server.pem"),
        path("server.key")
    ));

    // The independent observer, over TLS too.
    let mut sub = Command::new("stdbuf")
        .args(["-oL", "mosquitto_sub", "-h", "localhost"])
        .args([
            "-p",
            &broker.port().to_string(),
            "--cafile",
            &path("ca.pem"),
        ])
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
    let mut wlan = Wlan::new(wlan::Config::new(SSID, PASSWORD)).unwrap();
    let (mut tcp_rx, mut tcp_tx) = ([0u8; 4096], [0u8; 4096]);
    let mut sockets = [SocketStorage::EMPTY; 3];
    let mut dns_queries = [None; 1];
    let buffers = Buffers {
        sockets: &mut sockets,
        tcp_rx: &mut tcp_rx,
        tcp_tx: &mut tcp_tx,
        dns_queries: &mut dns_queries,
        udp: None,
    };
    let config = StackConfig::new(Addressing::Dhcp, &BROKERS);
    let stack = RefCell::new(Stack::new(config, board.interface(), buffers, board.seed()).unwrap());
    stack.borrow_mut().link_down();

    let unix_now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let cas = [ca.as_slice()];
    let tls_config = TlsConfig::new("localhost", &cas).with_time(unix_now);
    let (mut to_tls, mut from_tls) = ([0u8; 512], [0u8; 512]);
    let mail = Mailbox::new(&mut to_tls, &mut from_tls);
    let (mut read_record, mut write_record) = (vec![0u8; 16_640], vec![0u8; 2048]);
    let driver = pin!(tls::drive(
        Shared(&stack),
        tls_config,
        rand_core::OsRng,
        &mut read_record,
        &mut write_record,
        &mail
    ));
    let mut transport = Tls::new(&mail, driver);

    let mut mqtt = Config::new("limpet-tls-device");
    mqtt.clean = false;
    let (mut rx, mut tx, mut store) = ([0u8; 1024], [0u8; 1024], [0u8; 1024]);
    let mut client: Client<'_, 4, 4> =
        Client::new(mqtt, Options::default(), &mut rx, &mut tx, &mut store).unwrap();

    let (mut next, mut acked, mut ups) = (0u32, 0u32, 0u32);
    let mut downs = Vec::new();
    let mut next_publish = board.now();
    let started = WallInstant::now();
    while acked < MESSAGES && started.elapsed() < Wall::from_secs(60) {
        let now = board.now();
        if let Some(event) = wlan.poll(now, &mut board.radio) {
            match event {
                WlanEvent::Up(_) => stack.borrow_mut().link_up(),
                WlanEvent::Down(_) => stack.borrow_mut().link_down(),
                WlanEvent::AttemptFailed(..) => {}
            }
        }
        if let Some(StackEvent::Configured(_)) = stack.borrow_mut().poll(now, &mut board.net) {
            client.network_up(now);
        }
        let idle = match client.poll(now, &mut transport) {
            Some(Event::Up { .. }) => {
                ups += 1;
                false
            }
            Some(Event::Published(_)) => {
                acked += 1;
                false
            }
            Some(e) => {
                if let Event::Down(r) | Event::ConnectFailed(r) = e {
                    downs.push(r);
                }
                false
            }
            None => true,
        };
        // A QoS 1 message every 2 s (80 s in all: through the first
        // outage), queued while offline.
        if next < MESSAGES && limpet::time::reached(now, next_publish) {
            let payload = format!("seq {next}");
            if client
                .publish(TOPIC, payload.as_bytes(), QoS::AtLeastOnce, false)
                .is_ok()
            {
                next += 1;
                next_publish = now + Duration::from_ticks(2_000);
            }
        }
        if idle {
            let deadline = earliest(
                earliest(
                    wlan.next_deadline(now),
                    stack.borrow_mut().next_deadline(now),
                ),
                earliest(client.next_deadline(now), Some(next_publish)),
            );
            board.sleep_until(deadline.map(|d| if d > now { d } else { now }));
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
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        acked, MESSAGES,
        "completed over TLS ({ups} ups, {outages} outages; downs {downs:?})"
    );
    assert!(
        outages >= 1 && ups >= 2,
        "rode out {outages} outages with {ups} ups"
    );
    let missing: Vec<u32> = (0..MESSAGES).filter(|n| !seen.contains(n)).collect();
    assert!(missing.is_empty(), "the observer is missing {missing:?}");
}
