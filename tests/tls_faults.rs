//! TLS robustness (issue 15): servers that stall mid-handshake, garbage and
//! truncated records, alerts, a certificate chain larger than the buffers,
//! and broker SIGKILLs under TLS with QoS 1 counted by an independent
//! `mosquitto_sub --cafile` observer. The misbehaving servers are plain TCP
//! listeners on 127.0.0.1 run by the test; the brokers are real mosquittos.
//! Certificates are made at test time with `openssl`; no key is committed.
//!
//! The handshake timeout is the client's own: `Tls::connect` says
//! `WouldBlock` until the handshake is over, so a stalled handshake is a
//! connect that keeps returning `WouldBlock`, and `Options::connect_timeout`
//! (in `Link::Connecting`) ends it, closes the transport (the TLS driver then
//! closes the inner TCP connection) and schedules the next attempt after the
//! backoff.

use core::pin::pin;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use limpet::client::{Backoff, Client, Options};
use limpet::net::std_tcp::StdTcp;
use limpet::net::tls::{self, AlertDescription, Config as TlsConfig, Error, Failure, Mailbox, Tls};
use limpet::net::Transport;
use limpet::session::{Config, Event};
use limpet::time::{Duration as Ms, Instant as Ms32};
use limpet::QoS;
use limpet_testbroker::certs::openssl;
use limpet_testbroker::Broker;
use rand_core::OsRng;

type TlsError = Error<std::io::Error>;

/// A TLS transport over TCP to 127.0.0.1:`$port`, its driver pinned in the
/// caller's frame, with a read record buffer of `$read` bytes.
macro_rules! tls_over_tcp {
    ($tls:ident, $port:expr, $config:expr, $read:expr) => {
        let inner = StdTcp::new(([127, 0, 0, 1], $port).into())
            .with_connect_timeout(Duration::from_millis(500));
        let (mut plain, mut cipher) = ([0u8; 1024], [0u8; 1024]);
        let mail = Mailbox::new(&mut plain, &mut cipher);
        let (mut read_record, mut write_record) = (vec![0u8; $read], vec![0u8; 2048]);
        let driver = pin!(tls::drive(
            $config,
            OsRng,
            &mut read_record,
            &mut write_record,
            &mail
        ));
        let mut layer = Tls::new(&mail, driver);
        let mut $tls = layer.over(inner);
    };
}

/// The current unix time, for the certificates' validity dates.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The handshake alone: its result within `limit` (`None`: still going).
fn handshake<T: Transport>(t: &mut T, limit: Duration) -> Option<Result<(), T::Error>> {
    let deadline = Instant::now() + limit;
    let result = loop {
        match t.connect() {
            Ok(()) => break Some(Ok(())),
            Err(nb::Error::Other(e)) => break Some(Err(e)),
            Err(nb::Error::WouldBlock) if Instant::now() >= deadline => break None,
            Err(nb::Error::WouldBlock) => std::thread::sleep(Duration::from_millis(1)),
        }
    };
    t.close();
    result
}

/// Client options for these tests: connect timeout `timeout`, backoff
/// 200 ms growing to 2 s.
fn options(timeout: Duration) -> Options {
    Options {
        backoff: Backoff::new(Ms::from_ticks(200), Ms::from_ticks(2_000), 7),
        connect_timeout: Ms::from_ticks(timeout.as_millis() as u32),
        ..Options::default()
    }
}

/// Runs a client over `t` for `run_for`; the connection attempts that
/// failed (when) and whether it ever came up.
fn failed_attempts<T: Transport>(t: &mut T, opts: Options, run_for: Duration) -> Vec<Instant> {
    let (mut crx, mut ctx, mut store) = ([0u8; 512], [0u8; 512], [0u8; 1024]);
    let mut client: Client<'_, 4, 4> = Client::new(
        Config::new("limpet-tls-faults"),
        opts,
        &mut crx,
        &mut ctx,
        &mut store,
    )
    .expect("client config");
    let start = Instant::now();
    let mut failed = Vec::new();
    while start.elapsed() < run_for {
        let now = Ms32::from_ticks(start.elapsed().as_millis() as u32);
        match client.poll(now, t) {
            Some(Event::ConnectFailed(r)) => {
                eprintln!(
                    "{:>5} ms: connect failed: {r:?}",
                    start.elapsed().as_millis()
                );
                failed.push(Instant::now());
            }
            Some(Event::Up { .. }) => panic!("a broken server brought the client up"),
            Some(_) => {}
            None => std::thread::sleep(Duration::from_millis(1)),
        }
    }
    failed
}

// ---------------------------------------------------------------------------
// Misbehaving servers

#[derive(Clone)]
enum Behaviour {
    /// Accepts, reads everything, never writes.
    Silent,
    /// After the ClientHello: writes these bytes, then waits for the
    /// client to close (`stall`) or closes at once.
    Answer { bytes: Vec<u8>, stall: bool },
}

/// One accepted connection: when it came, and when the client closed it.
#[derive(Clone, Copy, Debug)]
struct Conn {
    accepted: Instant,
    closed: Option<Instant>,
}

/// A TCP listener on 127.0.0.1 that plays a broken TLS server.
struct FakeServer {
    port: u16,
    conns: Arc<Mutex<Vec<Conn>>>,
    stop: Arc<AtomicBool>,
}

impl FakeServer {
    fn start(behaviour: Behaviour) -> FakeServer {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let conns = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (c, s) = (conns.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let i = {
                            let mut c = c.lock().unwrap();
                            c.push(Conn {
                                accepted: Instant::now(),
                                closed: None,
                            });
                            c.len() - 1
                        };
                        let (c, s, b) = (c.clone(), s.clone(), behaviour.clone());
                        std::thread::spawn(move || serve(stream, b, &s, &c, i));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        FakeServer { port, conns, stop }
    }

    fn conns(&self) -> Vec<Conn> {
        self.conns.lock().unwrap().clone()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn serve(
    mut stream: TcpStream,
    behaviour: Behaviour,
    stop: &AtomicBool,
    conns: &Mutex<Vec<Conn>>,
    i: usize,
) {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let mut got = Vec::new();
    let mut answered = false;
    let mut buf = [0u8; 2048];
    while !stop.load(Ordering::Relaxed) {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break,
        }
        // The whole ClientHello record is in: answer it.
        let hello =
            got.len() >= 5 && got.len() >= 5 + usize::from(u16::from_be_bytes([got[3], got[4]]));
        if let (Behaviour::Answer { bytes, stall }, true, false) = (&behaviour, hello, answered) {
            answered = true;
            let _ = stream.write_all(bytes);
            if !stall {
                let _ = stream.shutdown(std::net::Shutdown::Both);
                return; // the server closed: nothing to observe
            }
        }
    }
    conns.lock().unwrap()[i].closed = Some(Instant::now());
}

/// Checks a run against a server that never completes a handshake: at
/// least `min` attempts, each refused, each TCP connection closed by the
/// client, and the gaps between attempts growing with the backoff (at
/// least its 200 ms minimum after the attempt's own time).
fn assert_retried_with_backoff(
    server: &FakeServer,
    failed: &[Instant],
    min: usize,
    each: Duration,
) {
    let conns = server.conns();
    eprintln!("{} connections, {} failures", conns.len(), failed.len());
    assert!(failed.len() >= min, "only {} failed attempts", failed.len());
    assert!(conns.len() >= failed.len(), "{conns:?}");
    for pair in conns.windows(2) {
        let gap = pair[1].accepted - pair[0].accepted;
        assert!(
            gap >= each + Duration::from_millis(150),
            "next attempt after {gap:?}: no backoff"
        );
    }
    // Every stalled connection before the last was closed by the client
    // when its attempt ended.
    for (n, c) in conns.iter().enumerate().take(failed.len()) {
        if let Some(closed) = c.closed {
            let held = closed - c.accepted;
            assert!(held >= each.mul_f32(0.8), "#{n} closed after {held:?}");
            assert!(held < each + Duration::from_secs(1), "#{n} held {held:?}");
        } else {
            panic!("connection #{n} was never closed by the client: {c:?}");
        }
    }
}

// ---------------------------------------------------------------------------
// 1. A server that stalls mid-handshake

#[test]
fn a_server_that_never_answers_the_client_hello_times_out_and_is_retried_with_backoff() {
    let server = FakeServer::start(Behaviour::Silent);
    let ca = Certs::ca_only();
    let cas = [ca.ca.as_slice()];
    tls_over_tcp!(
        t,
        server.port,
        TlsConfig::new("localhost", &cas).with_time(unix_now()),
        16_640
    );
    let timeout = Duration::from_millis(700);
    let failed = failed_attempts(&mut t, options(timeout), Duration::from_millis(3_500));
    // Give the server's reader a moment to see the last close.
    std::thread::sleep(Duration::from_millis(100));
    assert_retried_with_backoff(&server, &failed, 3, timeout);
}

/// The start of a ServerHello (record header for 122 bytes, handshake
/// header, legacy version, half the random): then silence.
fn half_server_hello() -> Vec<u8> {
    let mut b = vec![
        0x16, 0x03, 0x03, 0x00, 0x7a, 0x02, 0x00, 0x00, 0x76, 0x03, 0x03,
    ];
    b.extend_from_slice(&[0x5a; 16]);
    b
}

#[test]
fn a_server_that_stalls_after_half_a_server_hello_times_out_and_is_retried_with_backoff() {
    let server = FakeServer::start(Behaviour::Answer {
        bytes: half_server_hello(),
        stall: true,
    });
    let ca = Certs::ca_only();
    let cas = [ca.ca.as_slice()];
    tls_over_tcp!(
        t,
        server.port,
        TlsConfig::new("localhost", &cas).with_time(unix_now()),
        16_640
    );
    let timeout = Duration::from_millis(700);
    let failed = failed_attempts(&mut t, options(timeout), Duration::from_millis(3_500));
    std::thread::sleep(Duration::from_millis(100));
    assert_retried_with_backoff(&server, &failed, 3, timeout);
}

// ---------------------------------------------------------------------------
// 2. Garbage and truncated records

/// What a server's answer to the ClientHello (then closing) ends in.
fn answered_with(bytes: Vec<u8>) -> TlsError {
    let server = FakeServer::start(Behaviour::Answer {
        bytes,
        stall: false,
    });
    let ca = Certs::ca_only();
    let cas = [ca.ca.as_slice()];
    tls_over_tcp!(
        t,
        server.port,
        TlsConfig::new("localhost", &cas).with_time(unix_now()),
        16_640
    );
    match handshake(&mut t, Duration::from_secs(5)) {
        Some(Err(e)) => e,
        other => panic!("not refused: {other:?}"),
    }
}

/// A small deterministic generator (xorshift) for garbage.
fn garbage(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn random_bytes_for_a_server_hello_are_a_clear_failure() {
    for seed in 1..=12u64 {
        // Half the seeds start like a handshake record, so the garbage gets
        // past the record layer into the library's parser.
        let mut bytes = garbage(seed, 3000);
        if seed % 2 == 0 {
            bytes[..5].copy_from_slice(&[0x16, 0x03, 0x03, 0x01, 0x00]);
        }
        let e = answered_with(bytes);
        eprintln!("seed {seed}: {e:?}");
        assert!(matches!(e, Error::Tls(_)), "seed {seed}: {e:?}");
    }
}

#[test]
fn truncated_and_oversized_records_are_clear_failures() {
    // A header claiming a 16 KiB handshake record, 100 bytes of it, close.
    let mut bytes = vec![0x16, 0x03, 0x03, 0x40, 0x00];
    bytes.extend_from_slice(&[0u8; 100]);
    let e = answered_with(bytes);
    assert!(
        matches!(&e, Error::Transport(io) if io.kind() == std::io::ErrorKind::UnexpectedEof),
        "{e:?}"
    );
    // A header claiming more than any TLS record (2^14 + 256).
    let e = answered_with(vec![0x16, 0x03, 0x03, 0xff, 0xff, 0x02, 0x00]);
    assert!(matches!(e, Error::Tls(Failure::Malformed)), "{e:?}");
    // An encrypted record too short to hold a tag: the library would panic.
    let e = answered_with(vec![0x17, 0x03, 0x03, 0x00, 0x05, 1, 2, 3, 4, 5]);
    assert!(matches!(e, Error::Tls(Failure::Malformed)), "{e:?}");
    // A record with no body.
    let e = answered_with(vec![0x16, 0x03, 0x03, 0x00, 0x00]);
    assert!(matches!(e, Error::Tls(Failure::Malformed)), "{e:?}");
}

#[test]
fn an_alert_from_the_server_is_its_reason_and_the_client_retries_with_backoff() {
    // Fatal handshake_failure (40), as a server with no common cipher sends.
    let alert = vec![0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28];
    let e = answered_with(alert.clone());
    assert!(
        matches!(
            e,
            Error::Tls(Failure::Alert(AlertDescription::HandshakeFailure))
        ),
        "{e:?}"
    );
    // Through the client: refused at once, attempts spaced by the backoff.
    let server = FakeServer::start(Behaviour::Answer {
        bytes: alert,
        stall: false,
    });
    let ca = Certs::ca_only();
    let cas = [ca.ca.as_slice()];
    tls_over_tcp!(
        t,
        server.port,
        TlsConfig::new("localhost", &cas).with_time(unix_now()),
        16_640
    );
    let failed = failed_attempts(
        &mut t,
        options(Duration::from_secs(5)),
        Duration::from_secs(2),
    );
    assert!(failed.len() >= 3, "{} attempts", failed.len());
    let gaps: Vec<Duration> = failed.windows(2).map(|p| p[1] - p[0]).collect();
    eprintln!("gaps between attempts: {gaps:?}");
    assert!(
        gaps.iter().all(|g| *g >= Duration::from_millis(190)),
        "{gaps:?}"
    );
}

// ---------------------------------------------------------------------------
// Certificates

/// Test certificates in a fresh temp dir: a root CA (`ca.pem`, `ca.der`)
/// and, when asked, a server chain for localhost in `chain.pem`/`server.key`.
struct Certs {
    dir: PathBuf,
    ca: Vec<u8>,
}

impl Certs {
    fn new_dir() -> PathBuf {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("limpet-tls-faults-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Just a CA (for the fake servers, which never get that far).
    fn ca_only() -> Certs {
        let dir = Certs::new_dir();
        let ca = Certs::root(&dir);
        Certs { dir, ca }
    }

    fn root(dir: &Path) -> Vec<u8> {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=limpet faults CA",
            ],
        );
        openssl(
            dir,
            &["x509", "-in", "ca.pem", "-outform", "DER", "-out", "ca.der"],
        );
        std::fs::read(dir.join("ca.der")).unwrap()
    }

    /// A chain: `intermediates` CAs under the root, then the server's
    /// certificate for localhost with `extra_names` more DNS names (to make
    /// it large). `chain.pem` holds the server's certificate and the
    /// intermediates, as mosquitto sends them.
    fn chain(intermediates: usize, extra_names: usize) -> Certs {
        let dir = Certs::new_dir();
        let ca = Certs::root(&dir);
        let newkey = |name: &str, cn: &str| {
            let (key, csr, subj) = (
                format!("{name}.key"),
                format!("{name}.csr"),
                format!("/CN={cn}"),
            );
            openssl(
                &dir,
                &[
                    "req",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:prime256v1",
                    "-nodes",
                    "-keyout",
                    &key,
                    "-out",
                    &csr,
                    "-subj",
                    &subj,
                ],
            );
        };
        let sign = |name: &str, issuer: &str, ext: &str| {
            let (csr, pem, extfile) = (
                format!("{name}.csr"),
                format!("{name}.pem"),
                format!("{name}.ext"),
            );
            std::fs::write(dir.join(&extfile), ext).unwrap();
            let (ica, ikey) = (format!("{issuer}.pem"), format!("{issuer}.key"));
            openssl(
                &dir,
                &[
                    "x509",
                    "-req",
                    "-in",
                    &csr,
                    "-CA",
                    &ica,
                    "-CAkey",
                    &ikey,
                    "-CAcreateserial",
                    "-out",
                    &pem,
                    "-days",
                    "2",
                    "-extfile",
                    &extfile,
                ],
            );
        };
        let mut issuer = "ca".to_owned();
        let mut names = Vec::new();
        for i in 0..intermediates {
            let name = format!("int{i}");
            newkey(&name, &format!("limpet faults intermediate {i}"));
            sign(
                &name,
                &issuer,
                "basicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign,cRLSign\n",
            );
            names.push(name.clone());
            issuer = name;
        }
        newkey("server", "localhost");
        let mut san = String::from("subjectAltName=DNS:localhost,IP:127.0.0.1");
        for i in 0..extra_names {
            san.push_str(&format!(",DNS:device-{i:04}.fleet.limpet-test.example"));
        }
        san.push_str("\nbasicConstraints=CA:FALSE\n");
        sign("server", &issuer, &san);
        let mut chain = std::fs::read_to_string(dir.join("server.pem")).unwrap();
        for name in names.iter().rev() {
            chain.push_str(&std::fs::read_to_string(dir.join(format!("{name}.pem"))).unwrap());
        }
        std::fs::write(dir.join("chain.pem"), chain).unwrap();
        // mosquitto started as root drops to its own user: let it read the
        // (throwaway) key.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.join("server.key"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        Certs { dir, ca }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// mosquitto.conf lines that make the broker's listener TLS.
    fn listener(&self) -> String {
        format!(
            "cafile {}\ncertfile {}\nkeyfile {}\n",
            self.path("ca.pem"),
            self.path("chain.pem"),
            self.path("server.key")
        )
    }

    /// Bytes of the chain as sent (DER).
    fn chain_der_len(&self) -> usize {
        let pem = std::fs::read_to_string(self.dir.join("chain.pem")).unwrap();
        pem.split("-----BEGIN CERTIFICATE-----")
            .skip(1)
            .map(|b| {
                let body: String = b
                    .split("-----END")
                    .next()
                    .unwrap()
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect();
                body.len() * 3 / 4
            })
            .sum()
    }
}

impl Drop for Certs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------
// 3. A certificate chain larger than the buffers

/// The handshake with mosquitto sending `certs`' chain, a read buffer of `read` bytes.
fn handshake_with(broker: &Broker, certs: &Certs, read: usize) -> Result<(), TlsError> {
    let cas = [certs.ca.as_slice()];
    tls_over_tcp!(
        t,
        broker.port(),
        TlsConfig::new("localhost", &cas).with_time(unix_now()),
        read
    );
    handshake(&mut t, Duration::from_secs(5)).expect("handshake still going after 5 s")
}

#[test]
fn a_chain_larger_than_the_buffers_is_a_clear_failure() {
    // A normal chain (two intermediates) fits everywhere it must.
    let small = Certs::chain(2, 0);
    eprintln!("small chain: {} bytes", small.chain_der_len());
    let broker = Broker::start_with_config(&small.listener());
    let got = handshake_with(&broker, &small, 16_640);
    assert!(got.is_ok(), "{got:?}");
    drop(broker);

    // ~6 KB: larger than a 4 KiB read buffer, and than CHAIN_CAPACITY.
    let mid = Certs::chain(3, 110);
    let len = mid.chain_der_len();
    eprintln!("mid chain: {len} bytes");
    assert!(len > 4096 && len < 16_000);
    let broker = Broker::start_with_config(&mid.listener());
    let got = handshake_with(&broker, &mid, 4096);
    assert!(
        matches!(got, Err(Error::Tls(Failure::RecordTooLarge))),
        "{got:?}"
    );
    let got = handshake_with(&broker, &mid, 16_640);
    assert!(
        matches!(got, Err(Error::Tls(Failure::ChainTooLarge))),
        "{got:?}"
    );
    drop(broker);

    // ~20 KB: larger than one TLS record, so the Certificate message spans
    // two (embedded-tls cannot reassemble handshake messages).
    let huge = Certs::chain(2, 450);
    let len = huge.chain_der_len();
    eprintln!("huge chain: {len} bytes");
    assert!(len > 16_384);
    let broker = Broker::start_with_config(&huge.listener());
    let got = handshake_with(&broker, &huge, 16_640);
    assert!(
        matches!(got, Err(Error::Tls(Failure::ChainTooLarge))),
        "{got:?}"
    );
}

// ---------------------------------------------------------------------------
// 4. Broker SIGKILL and restart under TLS with QoS 1

/// `mosquitto_sub --cafile` over TLS, QoS 1, a persistent session: the
/// lines it printed so far. mosquitto_sub exits when its TLS connection
/// breaks (it reconnects by itself only over plain TCP), so a supervisor
/// thread starts it again with the same client id: the broker keeps its
/// subscription and queues its messages meanwhile.
struct Observer {
    stop: Arc<AtomicBool>,
    child: Arc<Mutex<Option<Child>>>,
    lines: Arc<Mutex<Vec<String>>>,
    supervisor: Option<std::thread::JoinHandle<()>>,
}

impl Observer {
    fn start(port: u16, certs: &Certs, topic: &str) -> Observer {
        let stop = Arc::new(AtomicBool::new(false));
        let child: Arc<Mutex<Option<Child>>> = Arc::new(Mutex::new(None));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (s, c, l) = (stop.clone(), child.clone(), lines.clone());
        let (cafile, topic) = (certs.path("ca.pem"), topic.to_owned());
        let id = format!("limpet-tls-observer-{}", std::process::id());
        let supervisor = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let mut ch = Command::new("stdbuf")
                    .args(["-oL", "mosquitto_sub"])
                    .args([
                        "-h",
                        "127.0.0.1",
                        "-p",
                        &port.to_string(),
                        "--cafile",
                        &cafile,
                    ])
                    .args(["-t", &topic, "-q", "1", "-v", "-d", "-c", "-i", &id])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("spawn mosquitto_sub");
                let pipes: [(Box<dyn Read + Send>, &str); 2] = [
                    (Box::new(ch.stdout.take().unwrap()), ""),
                    (Box::new(ch.stderr.take().unwrap()), "stderr: "),
                ];
                for (pipe, tag) in pipes {
                    let l = l.clone();
                    std::thread::spawn(move || {
                        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                            l.lock().unwrap().push(format!("{tag}{line}"));
                        }
                    });
                }
                *c.lock().unwrap() = Some(ch);
                // Until it exits (or the test ends).
                while !s.load(Ordering::Relaxed) {
                    let exited = c
                        .lock()
                        .unwrap()
                        .as_mut()
                        .is_none_or(|ch| !matches!(ch.try_wait(), Ok(None)));
                    if exited {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let o = Observer {
            stop,
            child,
            lines,
            supervisor: Some(supervisor),
        };
        assert!(
            o.wait(
                |l| l.iter().any(|l| l.contains("SUBACK")),
                Duration::from_secs(10)
            ),
            "mosquitto_sub not subscribed within 10 s"
        );
        o
    }

    fn wait(&self, pred: impl Fn(&[String]) -> bool, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if pred(&self.lines.lock().unwrap()) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    /// How many times each sequence number arrived.
    fn counts(&self, topic: &str, total: u32) -> Vec<u32> {
        counts(&self.lines.lock().unwrap(), topic, total)
    }
}

/// How many times each sequence number (`topic seq N`) is in `lines`.
fn counts(lines: &[String], topic: &str, total: u32) -> Vec<u32> {
    {
        let mut n = vec![0u32; total as usize];
        for line in lines {
            if let Some(seq) = line
                .strip_prefix(topic)
                .and_then(|r| r.trim().strip_prefix("seq "))
                .and_then(|s| s.parse::<usize>().ok())
            {
                if let Some(c) = n.get_mut(seq) {
                    *c += 1;
                }
            }
        }
        n
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.supervisor.take() {
            let _ = t.join();
        }
        if let Some(mut ch) = self.child.lock().unwrap().take() {
            let _ = ch.kill();
            let _ = ch.wait();
        }
    }
}

#[test]
fn qos1_over_tls_survives_broker_sigkills_with_nothing_lost() {
    const TOTAL: u32 = 240;
    const KILLS: u32 = 4;
    let certs = Certs::chain(0, 0);
    // The broker keeps sessions across kills: persistence on, in its own
    // folder, saved after every change (a SIGKILL gives it no chance to
    // save on the way out).
    let store = certs.dir.join("store");
    std::fs::create_dir_all(&store).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o777)).unwrap();
    let extra = format!(
        "{}persistence true\npersistence_location {}/\nautosave_interval 1\nautosave_on_changes true\n",
        certs.listener(),
        store.display()
    );
    let mut broker = Broker::start_with_config(&extra);
    let topic = format!("limpet/tls-kills/{}", std::process::id());
    let observer = Observer::start(broker.port(), &certs, &topic);

    let cas = [certs.ca.as_slice()];
    tls_over_tcp!(
        t,
        broker.port(),
        TlsConfig::new("localhost", &cas).with_time(unix_now()),
        16_640
    );
    let mut config = Config::new("limpet-tls-kills");
    config.keepalive = 10;
    config.clean_init = false;
    config.clean = false;
    let (mut crx, mut ctx, mut cstore) = ([0u8; 1024], [0u8; 1024], [0u8; 2048]);
    let mut client: Client<'_, 4, 4> = Client::new(
        config,
        options(Duration::from_secs(2)),
        &mut crx,
        &mut ctx,
        &mut cstore,
    )
    .expect("client config");

    // Each kill: once everything handed over so far is acknowledged and
    // the observer has it (so the broker holds nothing undelivered), the
    // broker is frozen (SIGSTOP), the client hands 4 more messages to its
    // socket, and the broker is SIGKILLed with them unread: in flight, sent
    // and never acknowledged. 300 ms later it is restarted on the same port.
    let start = Instant::now();
    let ms = || start.elapsed().as_millis();
    let (mut next, mut acked, mut kills, mut ups) = (0u32, 0u32, 0u32, 0u32);
    let mut up = false;
    let mut frozen: Option<(Instant, u32)> = None;
    let mut down_since: Option<Instant> = None;
    let mut caught_up_since: Option<Instant> = None;
    while acked < TOTAL && start.elapsed() < Duration::from_secs(30) {
        let now = Ms32::from_ticks(start.elapsed().as_millis() as u32);
        let event = client.poll(now, &mut t);
        let idle = event.is_none();
        match event {
            Some(Event::Up { session_present }) => {
                up = true;
                ups += 1;
                eprintln!("{:>5} ms: up (session present: {session_present}), {next} handed over, {acked} acknowledged", ms());
            }
            Some(Event::Down(r)) => {
                up = false;
                eprintln!("{:>5} ms: down: {r:?}", ms());
            }
            Some(Event::Published(_)) => acked += 1,
            Some(_) => {}
            None => {}
        }
        let target = (kills + 1) * TOTAL / (KILLS + 1);
        match (frozen, down_since) {
            (None, None) if kills < KILLS && next >= target => {
                let delivered = acked == next
                    && counts(&observer.lines.lock().unwrap(), &topic, acked)
                        .iter()
                        .all(|&c| c > 0);
                let since = *caught_up_since.get_or_insert_with(Instant::now);
                if up && delivered {
                    broker.freeze();
                    frozen = Some((Instant::now(), next));
                    caught_up_since = None;
                } else {
                    if since.elapsed() >= Duration::from_secs(8) {
                        for l in observer.lines.lock().unwrap().iter() {
                            if !l.starts_with(&topic) {
                                eprintln!("observer: {l}");
                            }
                        }
                    }
                    assert!(
                        since.elapsed() < Duration::from_secs(8),
                        "the observer did not catch up within 8 s: {acked} acknowledged, {:?} missing",
                        counts(&observer.lines.lock().unwrap(), &topic, acked)
                            .iter()
                            .enumerate()
                            .filter(|(_, &c)| c == 0)
                            .map(|(i, _)| i)
                            .collect::<Vec<_>>()
                    );
                }
            }
            (Some((at, before)), _)
                if next >= before + 4 && at.elapsed() >= Duration::from_millis(30) =>
            {
                broker.kill();
                kills += 1;
                frozen = None;
                down_since = Some(Instant::now());
                eprintln!(
                    "{:>5} ms: SIGKILL #{kills} with {next} handed over, {acked} acknowledged",
                    ms()
                );
            }
            (_, Some(d)) if d.elapsed() >= Duration::from_millis(300) => {
                broker.restart();
                down_since = None;
            }
            _ => {}
        }
        let may_publish =
            next < target || frozen.is_some_and(|(_, before)| next < before + 4) || kills == KILLS;
        if next < TOTAL && may_publish && down_since.is_none() {
            let payload = format!("seq {next}");
            if let Ok(Some(_)) = client.publish(&topic, payload.as_bytes(), QoS::AtLeastOnce, false)
            {
                next += 1;
            }
        }
        if idle {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    eprintln!(
        "{acked} of {TOTAL} acknowledged after {:?}, {kills} kills, {ups} ups; {:?}",
        start.elapsed(),
        client.counters()
    );
    assert_eq!(acked, TOTAL);
    assert_eq!(kills, KILLS);
    assert!(ups > KILLS, "{ups} ups");
    // Each kill struck with 4 messages sent and unacknowledged: all resent.
    assert!(
        client.counters().republishes >= 4 * KILLS,
        "{:?}",
        client.counters()
    );
    let all = observer.wait(
        |l| counts(l, &topic, TOTAL).iter().all(|&c| c > 0),
        Duration::from_secs(8),
    );
    let counts = observer.counts(&topic, TOTAL);
    let lost: Vec<usize> = (0..counts.len()).filter(|&i| counts[i] == 0).collect();
    let dups: u32 = counts.iter().map(|c| c.saturating_sub(1)).sum();
    eprintln!("observer: {} lost, {dups} duplicates", lost.len());
    assert!(all && lost.is_empty(), "lost {lost:?}");
}
