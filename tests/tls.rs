//! limpet over TLS (`limpet::net::tls`, feature `tls`) against a real
//! mosquitto with a TLS listener on 127.0.0.1. Certificates are made at
//! test time with the `openssl` command-line tool (scripts/setup installs
//! it); no key is ever committed. Validity dates other than "from now for
//! two days" come from `openssl ca -startdate/-enddate` (OpenSSL 3.0 has no
//! `x509 -not_before`).

use core::pin::pin;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use limpet::client::Client;
use limpet::net::std_tcp::StdTcp;
use limpet::net::tls::{
    self, pem, Config as TlsConfig, Error, Failure, FragmentLength, Mailbox, Tls,
};
use limpet::net::Transport;
use limpet::security::SecurityFailure;
use limpet::session::{Event, Reason, Token};
use limpet::time::Instant as Ms;
use limpet::{Config, Options, QoS};
use limpet_testbroker::certs::{issue, make_ca, openssl, CLIENT_EXT, SERVER_EXT};
use limpet_testbroker::Broker;
use rand_core::OsRng;

/// The wall clock's unix time, for the validity checks.
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Test certificates in a fresh temp dir: `ca` signs the server's
/// certificate for localhost and 127.0.0.1 (`server`; `expired` was valid
/// in 2020, `future` will be in 2060) and the clients' (`client`,
/// `observer`); `other` is an unrelated CA (it signs `stranger`, a client
/// the broker does not know), `twin` a CA with the same name as `ca` but
/// another key.
struct Certs {
    dir: PathBuf,
    ca: Vec<u8>,
    other: Vec<u8>,
    twin: Vec<u8>,
}

impl Certs {
    fn make() -> Certs {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("limpet-tls-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let ca = make_ca(&dir, "ca", "limpet test CA");
        let other = make_ca(&dir, "other", "limpet other CA");
        let twin = make_ca(&dir, "twin", "limpet test CA");
        issue(&dir, "server", "localhost", "ca", SERVER_EXT, None);
        Certs {
            dir,
            ca,
            other,
            twin,
        }
    }

    /// Also the server certificates out of their dates.
    fn with_dates(self) -> Certs {
        let dates = Some(("20200101000000Z", "20210101000000Z"));
        issue(&self.dir, "expired", "localhost", "ca", SERVER_EXT, dates);
        let dates = Some(("20600101000000Z", "20610101000000Z"));
        issue(&self.dir, "future", "localhost", "ca", SERVER_EXT, dates);
        self
    }

    /// Also the client certificates.
    fn with_clients(self) -> Certs {
        issue(&self.dir, "client", "limpet", "ca", CLIENT_EXT, None);
        issue(&self.dir, "observer", "observer", "ca", CLIENT_EXT, None);
        issue(&self.dir, "stranger", "limpet", "other", CLIENT_EXT, None);
        self
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir.join(name)).unwrap()
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// mosquitto.conf lines that make the broker's listener TLS.
    fn listener(&self) -> String {
        self.listener_as("server")
    }

    /// The TLS listener with the certificate `{name}.pem`.
    fn listener_as(&self, name: &str) -> String {
        format!(
            "cafile {}\ncertfile {}\nkeyfile {}\n",
            self.path("ca.pem"),
            self.path(&format!("{name}.pem")),
            self.path(&format!("{name}.key"))
        )
    }

    /// The TLS listener that requires a client certificate from `ca`.
    fn mutual_listener(&self) -> String {
        self.listener() + "require_certificate true\n"
    }
}

impl Drop for Certs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Connects over TLS with `config`; the connect result within 10 s.
fn connect_with(port: u16, config: TlsConfig<'_>) -> Result<(), Error<std::io::Error>> {
    connect_full(port, config, None, Duration::ZERO)
}

/// Connects over TLS with `config` (and `time` through `Tls::set_time`);
/// once up, keeps reading for `hold` (a TLS 1.3 server refuses a client
/// certificate only after the client's handshake is done). The first
/// error, or `Ok` if none.
fn connect_full(
    port: u16,
    config: TlsConfig<'_>,
    time: Option<u64>,
    hold: Duration,
) -> Result<(), Error<std::io::Error>> {
    let inner = StdTcp::new(([127, 0, 0, 1], port).into());
    let (mut plain, mut cipher) = ([0u8; 512], [0u8; 512]);
    let mail = Mailbox::new(&mut plain, &mut cipher);
    let (mut read_record, mut write_record) = (vec![0u8; 16_640], vec![0u8; 1024]);
    let driver = pin!(tls::drive(
        config,
        OsRng,
        &mut read_record,
        &mut write_record,
        &mail
    ));
    eprintln!(
        "RAM: drive future {} bytes (+ records 16640 + 1024, pipes 4 x 256)",
        core::mem::size_of_val(&*driver),
    );
    let mut layer = Tls::new(&mail, driver);
    if let Some(t) = time {
        layer.set_time(t);
    }
    let mut tls = layer.over(inner);
    let deadline = Instant::now() + Duration::from_secs(10);
    let result = loop {
        match tls.connect() {
            Ok(()) => break Ok(()),
            Err(nb::Error::Other(e)) => break Err(e),
            Err(nb::Error::WouldBlock) => {
                assert!(Instant::now() < deadline, "TLS handshake took over 10 s");
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    };
    let held = Instant::now() + hold;
    let result = result.and_then(|()| loop {
        if Instant::now() >= held {
            break Ok(());
        }
        match tls.recv(&mut [0u8; 64]) {
            Err(nb::Error::Other(e)) => break Err(e),
            _ => std::thread::sleep(Duration::from_millis(1)),
        }
    });
    tls.close();
    result
}

/// An independent observer: `mosquitto_sub` over TLS (verifying `ca.pem`,
/// with `extra` arguments, e.g. its own client certificate) subscribed to
/// `topic` at QoS 1; returns it and its output lines once SUBACK is in.
fn observe(
    certs: &Certs,
    port: u16,
    topic: &str,
    extra: &[String],
) -> (std::process::Child, mpsc::Receiver<String>) {
    // stdbuf: line-buffered, so SUBACK is seen when it happens.
    let mut sub = Command::new("stdbuf")
        .args(["-oL", "mosquitto_sub"])
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "--cafile"])
        .arg(certs.path("ca.pem"))
        .args(extra)
        .args(["-t", topic, "-q", "1", "-v", "-d", "-C", "1", "-W", "30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn mosquitto_sub");
    let (lines_tx, lines) = mpsc::channel();
    let out = sub.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    wait_line(&lines, &|l| l.contains("SUBACK"), "SUBACK");
    (sub, lines)
}

fn wait_line(lines: &mpsc::Receiver<String>, pred: &dyn Fn(&str) -> bool, what: &str) -> String {
    loop {
        match lines.recv_timeout(Duration::from_secs(10)) {
            Ok(l) if pred(&l) => return l,
            Ok(_) => {}
            Err(_) => panic!("mosquitto_sub: no {what} within 10 s"),
        }
    }
}

/// What a pass of the TLS client said, owned.
enum Seen {
    Up,
    Published(Token),
    /// A message's payload length.
    Message(usize),
    Failed(Reason),
    Other,
}

/// The limpet client (`id`) over TLS with `config` to 127.0.0.1:`port`,
/// handed to `run` with the clock it polls with; a read record buffer of
/// `read` bytes (16,640 takes any server's records).
fn with_tls_client<T>(
    port: u16,
    config: TlsConfig<'_>,
    id: &str,
    read: usize,
    run: impl FnOnce(&mut Client<'_, 4, 4>, &mut dyn FnMut(&mut Client<'_, 4, 4>) -> Option<Seen>) -> T,
) -> T {
    let inner = StdTcp::new(([127, 0, 0, 1], port).into());
    let (mut plain, mut cipher) = ([0u8; 1024], [0u8; 1024]);
    let mail = Mailbox::new(&mut plain, &mut cipher);
    let (mut read_record, mut write_record) = (vec![0u8; read], vec![0u8; 2048]);
    let driver = pin!(tls::drive(
        config,
        OsRng,
        &mut read_record,
        &mut write_record,
        &mail
    ));
    let mut layer = Tls::new(&mail, driver);
    let mut transport = layer.over(inner);
    let (mut crx, mut ctx, mut store) = ([0u8; 2048], [0u8; 2048], [0u8; 8192]);
    let mut client: Client<'_, 4, 4> = Client::new(
        Config::new(id),
        Options::default(),
        &mut crx,
        &mut ctx,
        &mut store,
    )
    .expect("client config");
    let start = Instant::now();
    // One pass: poll once with the clock read now; what it said.
    let mut poll = |c: &mut Client<'_, 4, 4>| {
        let now = Ms::from_ticks(start.elapsed().as_millis() as u32);
        c.poll(now, &mut transport).map(|e| match e {
            Event::Up { .. } => Seen::Up,
            Event::Published(t) => Seen::Published(t),
            Event::Message(m) => Seen::Message(m.payload.len()),
            Event::Down(r) | Event::ConnectFailed(r) => Seen::Failed(r),
            _ => Seen::Other,
        })
    };
    run(&mut client, &mut poll)
}

/// The limpet client over TLS with `config`: connects, publishes `payload`
/// to `topic` at QoS 1 and waits for its PUBACK.
fn publish_qos1(port: u16, config: TlsConfig<'_>, topic: &str, payload: &[u8]) {
    with_tls_client(port, config, "limpet-tls", 16_640, |client, poll| {
        let start = Instant::now();
        let (mut up, mut published, mut token) = (false, false, None);
        while start.elapsed() < Duration::from_secs(20) && !published {
            if let Some(event) = poll(client) {
                match event {
                    Seen::Up => up = true,
                    Seen::Published(t) if Some(t) == token => published = true,
                    Seen::Failed(r) => panic!("down: {r:?}"),
                    _ => {}
                }
                continue;
            }
            if up && token.is_none() {
                token = client
                    .publish(topic, payload, QoS::AtLeastOnce, false)
                    .expect("publish");
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(up, "no Up over TLS within 20 s");
        assert!(published, "no PUBACK for the QoS 1 message over TLS");
    });
}

#[test]
fn publishes_qos1_over_tls_to_an_independent_tls_subscriber() {
    let certs = Certs::make();
    let broker = Broker::start_with_config(&certs.listener());
    let port = broker.port();
    let topic = format!("limpet/tls/{}", std::process::id());
    let (mut sub, lines) = observe(&certs, port, &topic, &[]);
    let cas = [certs.ca.as_slice()];
    let config = TlsConfig::new("localhost", &cas).with_time(unix_now());
    publish_qos1(port, config, &topic, b"over tls");
    let got = wait_line(&lines, &|l| l.starts_with(&topic), "message");
    assert_eq!(got, format!("{topic} over tls"));
    let _ = sub.wait();
}

/// A small device asks for 1 KiB records (max fragment length, RFC 6066)
/// and reads them with a 1,280-byte buffer instead of 16,640: a 1,500-byte
/// message goes out in two records and comes back (subscribed) in two.
#[test]
fn max_fragment_length_lets_a_small_buffer_carry_large_messages() {
    let certs = Certs::make();
    let broker = Broker::start_with_config(&certs.listener());
    let topic = format!("limpet/tls-mfl/{}", std::process::id());
    let (mut sub, lines) = observe(&certs, broker.port(), &topic, &[]);
    let cas = [certs.ca.as_slice()];
    let config = TlsConfig::new("localhost", &cas)
        .with_time(unix_now())
        .with_max_fragment_length(FragmentLength::B1024);
    let payload = vec![b'x'; 1_500];
    // A filter for the client's whole life (the fixture's client is
    // generic over its buffers' lifetime).
    let filter: &'static str = Box::leak(topic.clone().into_boxed_str());
    let read = FragmentLength::B1024.bytes() + 256;
    with_tls_client(broker.port(), config, "limpet-mfl", read, |client, poll| {
        let start = Instant::now();
        let (mut up, mut published, mut back) = (false, false, None);
        while start.elapsed() < Duration::from_secs(20) && !(published && back.is_some()) {
            match poll(client) {
                Some(Seen::Up) => {
                    up = true;
                    client.subscribe(filter, QoS::AtLeastOnce).unwrap();
                    client
                        .publish(&topic, &payload, QoS::AtLeastOnce, false)
                        .unwrap();
                }
                Some(Seen::Published(_)) => published = true,
                Some(Seen::Message(len)) => back = Some(len),
                Some(Seen::Failed(r)) => panic!("down: {r:?}"),
                Some(Seen::Other) => {}
                None => std::thread::sleep(Duration::from_millis(1)),
            }
        }
        assert!(up, "no Up with a 1,280-byte read buffer");
        assert!(published, "no PUBACK");
        assert_eq!(back, Some(1_500), "the message did not come back whole");
    });
    let got = wait_line(&lines, &|l| l.starts_with(&topic), "message");
    assert_eq!(got.len(), topic.len() + 1 + 1_500);
    let _ = sub.wait();
}

/// The second broker: aedes over Node's TLS, the same certificates.
#[test]
fn publishes_qos1_over_tls_to_aedes_and_refuses_it_by_name_too() {
    let certs = Certs::make();
    let cert = std::path::PathBuf::from(certs.path("server.pem"));
    let key = std::path::PathBuf::from(certs.path("server.key"));
    let broker = Broker::start_aedes_tls(&cert, &key);
    let port = broker.port();
    let topic = format!("limpet/tls-aedes/{}", std::process::id());
    let (mut sub, lines) = observe(&certs, port, &topic, &[]);
    let cas = [certs.ca.as_slice()];
    let config = TlsConfig::new("localhost", &cas).with_time(unix_now());
    publish_qos1(port, config, &topic, b"over tls");
    let got = wait_line(&lines, &|l| l.starts_with(&topic), "message");
    assert_eq!(got, format!("{topic} over tls"));
    let _ = sub.wait();
    let config = TlsConfig::new("broker.example", &cas).with_time(unix_now());
    assert_eq!(
        first_failure(port, config),
        Reason::Security(SecurityFailure::NameMismatch)
    );
}

#[test]
fn refuses_a_server_from_another_ca() {
    let certs = Certs::make();
    let broker = Broker::start_with_config(&certs.listener());
    let now = unix_now();
    let other = [certs.other.as_slice()];
    let got = connect_with(
        broker.port(),
        TlsConfig::new("localhost", &other).with_time(now),
    );
    assert!(
        matches!(got, Err(Error::Tls(Failure::UnknownIssuer))),
        "{got:?}"
    );
    // Same CA name, another key: the signature gives it away.
    let twin = [certs.twin.as_slice()];
    let got = connect_with(
        broker.port(),
        TlsConfig::new("localhost", &twin).with_time(now),
    );
    assert!(
        matches!(got, Err(Error::Tls(Failure::BadCertificate))),
        "{got:?}"
    );
    // Skipping verification is possible, but only by saying so.
    let got = connect_with(
        broker.port(),
        TlsConfig::new("localhost", &other).insecure_skip_verify(),
    );
    assert!(got.is_ok(), "{got:?}");
    // And the right CA works.
    let ca = [certs.ca.as_slice()];
    let got = connect_with(
        broker.port(),
        TlsConfig::new("localhost", &ca).with_time(now),
    );
    assert!(got.is_ok(), "{got:?}");
}

#[test]
fn refuses_a_server_whose_certificate_is_for_another_name() {
    let certs = Certs::make();
    let broker = Broker::start_with_config(&certs.listener());
    let ca = [certs.ca.as_slice()];
    let config = TlsConfig::new("broker.example", &ca).with_time(unix_now());
    let got = connect_with(broker.port(), config);
    assert!(
        matches!(got, Err(Error::Tls(Failure::NameMismatch))),
        "{got:?}"
    );
}

#[test]
fn a_plaintext_broker_is_an_error_not_a_fallback() {
    let broker = Broker::start();
    let certs = Certs::make();
    let ca = [certs.ca.as_slice()];
    let config = TlsConfig::new("localhost", &ca).with_time(unix_now());
    let got = connect_with(broker.port(), config);
    assert!(got.is_err(), "{got:?}");
}

#[test]
fn validity_dates_are_checked_against_the_callers_time() {
    let certs = Certs::make().with_dates();
    let ca = [certs.ca.as_slice()];
    let now = unix_now();
    let refused = |listener: &str, why: Failure| {
        let broker = Broker::start_with_config(listener);
        let got = connect_with(
            broker.port(),
            TlsConfig::new("localhost", &ca).with_time(now),
        );
        assert!(
            matches!(got, Err(Error::Tls(f)) if core::mem::discriminant(&f) == core::mem::discriminant(&why)),
            "{why:?}: {got:?}"
        );
        // Even when the time is unknown and the caller accepted that, the
        // dates are checked once a time comes (here through set_time).
        let config = TlsConfig::new("localhost", &ca).accept_unknown_time();
        let got = connect_full(broker.port(), config, Some(now), Duration::ZERO);
        assert!(
            matches!(got, Err(Error::Tls(_))),
            "{why:?} via set_time: {got:?}"
        );
    };
    // Valid 2020 to 2021 (UTCTime), and 2060 to 2061 (GeneralizedTime).
    refused(&certs.listener_as("expired"), Failure::Expired);
    refused(&certs.listener_as("future"), Failure::NotYetValid);

    let broker = Broker::start_with_config(&certs.listener());
    let port = broker.port();
    // Valid now: the right time connects, given in the config or later.
    let got = connect_with(port, TlsConfig::new("localhost", &ca).with_time(now));
    assert!(got.is_ok(), "{got:?}");
    let got = connect_full(
        port,
        TlsConfig::new("localhost", &ca),
        Some(now),
        Duration::ZERO,
    );
    assert!(got.is_ok(), "set_time: {got:?}");
    // Three days on, the server's (and the CA's) two days are over; a day
    // back, they have not begun.
    for (t, why) in [
        (now + 3 * 86_400, Failure::Expired),
        (now - 86_400, Failure::NotYetValid),
    ] {
        let got = connect_with(port, TlsConfig::new("localhost", &ca).with_time(t));
        assert!(
            matches!(got, Err(Error::Tls(f)) if core::mem::discriminant(&f) == core::mem::discriminant(&why)),
            "{why:?}: {got:?}"
        );
    }
    // No time: refused, with its reason, unless the caller says so.
    let got = connect_with(port, TlsConfig::new("localhost", &ca));
    assert!(
        matches!(got, Err(Error::Tls(Failure::TimeUnknown))),
        "{got:?}"
    );
    let config = TlsConfig::new("localhost", &ca).accept_unknown_time();
    assert!(connect_with(port, config).is_ok());
    // Without the time, the other checks still hold.
    let other = [certs.other.as_slice()];
    let config = TlsConfig::new("localhost", &other).accept_unknown_time();
    let got = connect_with(port, config);
    assert!(
        matches!(got, Err(Error::Tls(Failure::UnknownIssuer))),
        "{got:?}"
    );
    let config = TlsConfig::new("broker.example", &ca).accept_unknown_time();
    let got = connect_with(port, config);
    assert!(
        matches!(got, Err(Error::Tls(Failure::NameMismatch))),
        "{got:?}"
    );
    // An expired server without a time: accepted only because the caller
    // named the option (the dates are what it gives up).
    drop(broker);
    let broker = Broker::start_with_config(&certs.listener_as("expired"));
    let config = TlsConfig::new("localhost", &ca).accept_unknown_time();
    assert!(connect_with(broker.port(), config).is_ok());
    let got = connect_with(broker.port(), TlsConfig::new("localhost", &ca));
    assert!(
        matches!(got, Err(Error::Tls(Failure::TimeUnknown))),
        "{got:?}"
    );
}

#[test]
fn the_issuer_is_found_among_several_cas_given_as_pem() {
    let certs = Certs::make();
    let broker = Broker::start_with_config(&certs.listener());
    let port = broker.port();
    let now = unix_now();
    // A bundle: an unrelated CA, the twin (same name, other key), the CA.
    let mut bundle = certs.read("other.pem");
    bundle.extend(certs.read("twin.pem"));
    bundle.extend(certs.read("ca.pem"));
    let mut out = [0u8; 4096];
    let mut ders: [&[u8]; 4] = [&[]; 4];
    let n = pem::certificates(&bundle, &mut out, &mut ders).expect("PEM bundle");
    assert_eq!(n, 3);
    assert_eq!(ders[2], certs.ca.as_slice(), "PEM decodes to the DER");
    let got = connect_with(port, TlsConfig::new("localhost", &ders[..n]).with_time(now));
    assert!(got.is_ok(), "{got:?}");
    // In the other order, and DER given directly alongside.
    let cas = [
        certs.ca.as_slice(),
        certs.twin.as_slice(),
        certs.other.as_slice(),
    ];
    let got = connect_with(port, TlsConfig::new("localhost", &cas).with_time(now));
    assert!(got.is_ok(), "{got:?}");
    // Without the right one, still refused.
    let got = connect_with(port, TlsConfig::new("localhost", &ders[..2]).with_time(now));
    assert!(
        matches!(got, Err(Error::Tls(Failure::BadCertificate))),
        "{got:?}"
    );
}

/// The extension `kind`'s data in a ClientHello record, if present.
fn client_hello_extension(record: &[u8], kind: u16) -> Option<Vec<u8>> {
    // Record header (5), handshake header (4), version (2), random (32).
    let mut at = 5 + 4 + 2 + 32;
    let byte = |i: usize| usize::from(record[i]);
    let u16_at = |i: usize| (byte(i) << 8) | byte(i + 1);
    at += 1 + byte(at); // session id
    at += 2 + u16_at(at); // cipher suites
    at += 1 + byte(at); // compression methods
    let end = at + 2 + u16_at(at);
    at += 2;
    while at + 4 <= end {
        let (k, len) = (u16_at(at), u16_at(at + 2));
        if k as u16 == kind {
            return Some(record[at + 4..at + 4 + len].to_vec());
        }
        at += 4 + len;
    }
    None
}

/// The first TLS record a client sends to a local listener that answers
/// nothing (the handshake then fails; its error is not the point).
fn capture_client_hello(config: TlsConfig<'_>) -> Vec<u8> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let capture = std::thread::spawn(move || {
        use std::io::Read;
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut header = [0u8; 5];
        s.read_exact(&mut header).unwrap();
        let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        let mut record = header.to_vec();
        record.resize(5 + len, 0);
        s.read_exact(&mut record[5..]).unwrap();
        record
    });
    let _ = connect_with(port, config);
    let record = capture.join().unwrap();
    assert_eq!((record[0], record[5]), (22, 1), "a ClientHello record");
    record
}

#[test]
fn alpn_names_are_offered_in_the_client_hello() {
    const ALPN: u16 = 16;
    const SNI: u16 = 0;
    let certs = Certs::make();
    let ca = [certs.ca.as_slice()];
    let protocols: [&[u8]; 2] = [b"x-amzn-mqtt-ca", b"mqtt"];
    let config = TlsConfig::new("localhost", &ca)
        .with_time(unix_now())
        .with_alpn(&protocols);
    let hello = capture_client_hello(config);
    let alpn = client_hello_extension(&hello, ALPN).expect("an ALPN extension");
    // ProtocolNameList: u16 length, then u8-length names (RFC 7301 §3.1).
    let mut want = vec![0, 20, 14];
    want.extend(b"x-amzn-mqtt-ca");
    want.push(4);
    want.extend(b"mqtt");
    assert_eq!(alpn, want);
    let sni = client_hello_extension(&hello, SNI).expect("an SNI extension");
    assert!(sni.ends_with(b"localhost"), "{sni:?}");
    // Not offered unless asked for.
    let hello = capture_client_hello(TlsConfig::new("localhost", &ca).with_time(unix_now()));
    assert_eq!(client_hello_extension(&hello, ALPN), None);
    // mosquitto (no ALPN configured) ignores it: the handshake completes.
    let broker = Broker::start_with_config(&certs.listener());
    let config = TlsConfig::new("localhost", &ca)
        .with_time(unix_now())
        .with_alpn(&protocols);
    let got = connect_with(broker.port(), config);
    assert!(got.is_ok(), "{got:?}");
}

#[test]
fn mutual_tls_publishes_with_the_right_client_certificate() {
    let certs = Certs::make().with_clients();
    let broker = Broker::start_with_config(&certs.mutual_listener());
    let port = broker.port();
    let topic = format!("limpet/mtls/{}", std::process::id());
    // The observer needs its own client certificate too.
    let extra = [
        "--cert".to_string(),
        certs.path("observer.pem"),
        "--key".to_string(),
        certs.path("observer.key"),
    ];
    let (mut sub, lines) = observe(&certs, port, &topic, &extra);
    // The certificate as DER, the key as openssl wrote it: PKCS#8 in PEM.
    let cert = certs.read("client.der");
    let key_pem = certs.read("client.key");
    let mut key = [0u8; 256];
    let block = pem::decode(&key_pem, &mut key).expect("PEM key");
    assert_eq!(block.label, b"PRIVATE KEY");
    let cas = [certs.ca.as_slice()];
    let config = TlsConfig::new("localhost", &cas)
        .with_time(unix_now())
        .with_client_certificate(&cert, block.der);
    publish_qos1(port, config, &topic, b"mutual");
    let got = wait_line(&lines, &|l| l.starts_with(&topic), "message");
    assert_eq!(got, format!("{topic} mutual"));
    let _ = sub.wait();
    // A SEC1 key in DER (`openssl ec -outform DER`) works the same.
    openssl(
        &certs.dir,
        &[
            "ec",
            "-in",
            "client.key",
            "-outform",
            "DER",
            "-out",
            "client.sec1",
        ],
    );
    let sec1 = certs.read("client.sec1");
    let config = TlsConfig::new("localhost", &cas)
        .with_time(unix_now())
        .with_client_certificate(&cert, &sec1);
    let got = connect_full(port, config, None, Duration::from_millis(500));
    assert!(got.is_ok(), "{got:?}");
}

#[test]
fn mutual_tls_refusals_have_their_reasons() {
    let certs = Certs::make().with_clients();
    let broker = Broker::start_with_config(&certs.mutual_listener());
    let port = broker.port();
    let cas = [certs.ca.as_slice()];
    let now = unix_now();
    let hold = Duration::from_secs(3);
    // No client certificate: the broker ends the session once the client's
    // handshake is done.
    let got = connect_full(
        port,
        TlsConfig::new("localhost", &cas).with_time(now),
        None,
        hold,
    );
    assert!(
        matches!(got, Err(Error::Tls(Failure::ClientCertificateRequired))),
        "{got:?}"
    );
    // A certificate from a CA the broker does not know.
    let cert = certs.read("stranger.der");
    let mut key = [0u8; 256];
    let key = pem::decode(&certs.read("stranger.key"), &mut key)
        .unwrap()
        .der;
    let config = TlsConfig::new("localhost", &cas)
        .with_time(now)
        .with_client_certificate(&cert, key);
    let got = connect_full(port, config, None, hold);
    assert!(
        matches!(got, Err(Error::Tls(Failure::ClientCertificateRefused))),
        "{got:?}"
    );
    // A key that is not one: refused here, before signing anything.
    let cert = certs.read("client.der");
    let config = TlsConfig::new("localhost", &cas)
        .with_time(now)
        .with_client_certificate(&cert, b"not a key");
    let got = connect_full(port, config, None, hold);
    assert!(
        matches!(got, Err(Error::Tls(Failure::BadClientKey))),
        "{got:?}"
    );
}

/// The first reason the limpet client gives for not getting up over TLS
/// with `config`.
fn first_failure(port: u16, config: TlsConfig<'_>) -> Reason {
    with_tls_client(
        port,
        config,
        "limpet-tls-refused",
        16_640,
        |client, poll| {
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(20) {
                match poll(client) {
                    Some(Seen::Failed(r)) => return r,
                    Some(Seen::Up) => panic!("up with a server it should refuse"),
                    _ => std::thread::sleep(Duration::from_millis(1)),
                }
            }
            panic!("no failure within 20 s");
        },
    )
}

#[test]
fn a_refused_server_is_the_clients_connect_failed_reason() {
    let certs = Certs::make();
    let broker = Broker::start_with_config(&certs.listener());
    let ca = [certs.ca.as_slice()];
    // The certificate is for localhost; the name asked for is another.
    let config = TlsConfig::new("broker.example", &ca).with_time(unix_now());
    assert_eq!(
        first_failure(broker.port(), config),
        Reason::Security(SecurityFailure::NameMismatch)
    );
    // No time: dates cannot be checked, and that is said too.
    let config = TlsConfig::new("localhost", &ca);
    assert_eq!(
        first_failure(broker.port(), config),
        Reason::Security(SecurityFailure::TimeUnknown)
    );
}
