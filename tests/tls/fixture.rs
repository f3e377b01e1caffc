//! What every TLS scenario needs.

pub use core::pin::pin;
pub use std::io::{BufRead, BufReader};
pub use std::path::PathBuf;
pub use std::process::{Command, Stdio};
pub use std::sync::atomic::{AtomicUsize, Ordering};
pub use std::sync::mpsc;
pub use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use limpet::client::Client;
pub use limpet::net::std_tcp::StdTcp;
pub use limpet::net::tls::{
    self, pem, Config as TlsConfig, Error, Failure, FragmentLength, Mailbox, Tls,
};
pub use limpet::net::Transport;
pub use limpet::security::SecurityFailure;
pub use limpet::session::{Event, Reason, Token};
pub use limpet::time::Instant as Ms;
pub use limpet::{Config, Options, QoS};
pub use limpet_testbroker::certs::{issue, make_ca, openssl, CLIENT_EXT, SERVER_EXT};
pub use limpet_testbroker::Broker;
pub use rand_core::OsRng;

/// The wall clock's unix time, for the validity checks.
pub fn unix_now() -> u64 {
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
pub struct Certs {
    pub dir: PathBuf,
    pub ca: Vec<u8>,
    pub other: Vec<u8>,
    pub twin: Vec<u8>,
}

impl Certs {
    pub fn make() -> Certs {
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
    pub fn with_dates(self) -> Certs {
        let dates = Some(("20200101000000Z", "20210101000000Z"));
        issue(&self.dir, "expired", "localhost", "ca", SERVER_EXT, dates);
        let dates = Some(("20600101000000Z", "20610101000000Z"));
        issue(&self.dir, "future", "localhost", "ca", SERVER_EXT, dates);
        self
    }

    /// Also the client certificates.
    pub fn with_clients(self) -> Certs {
        issue(&self.dir, "client", "limpet", "ca", CLIENT_EXT, None);
        issue(&self.dir, "observer", "observer", "ca", CLIENT_EXT, None);
        issue(&self.dir, "stranger", "limpet", "other", CLIENT_EXT, None);
        self
    }

    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir.join(name)).unwrap()
    }

    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// mosquitto.conf lines that make the broker's listener TLS.
    pub fn listener(&self) -> String {
        self.listener_as("server")
    }

    /// The TLS listener with the certificate `{name}.pem`.
    pub fn listener_as(&self, name: &str) -> String {
        format!(
            "cafile {}\ncertfile {}\nkeyfile {}\n",
            self.path("ca.pem"),
            self.path(&format!("{name}.pem")),
            self.path(&format!("{name}.key"))
        )
    }

    /// The TLS listener that requires a client certificate from `ca`.
    pub fn mutual_listener(&self) -> String {
        self.listener() + "require_certificate true\n"
    }
}

/// The two broker implementations every scenario runs on.
#[derive(Clone, Copy, Debug)]
pub enum Impl {
    /// mosquitto, its TLS from OpenSSL.
    Mosquitto,
    /// aedes, its TLS from Node.js.
    Aedes,
}

/// Both, in turn.
pub const BOTH: [Impl; 2] = [Impl::Mosquitto, Impl::Aedes];

impl Certs {
    /// `broker` with a TLS listener serving `{cert}.pem`.
    pub fn start(&self, broker: Impl, cert: &str) -> Broker {
        match broker {
            Impl::Mosquitto => Broker::start_with_config(&self.listener_as(cert)),
            Impl::Aedes => Broker::start_aedes_tls(
                &self.dir.join(format!("{cert}.pem")),
                &self.dir.join(format!("{cert}.key")),
            ),
        }
    }

    /// `broker` with a TLS listener that requires a client certificate
    /// from `ca`.
    pub fn start_mutual(&self, broker: Impl) -> Broker {
        match broker {
            Impl::Mosquitto => Broker::start_with_config(&self.mutual_listener()),
            Impl::Aedes => Broker::start_aedes_mutual_tls(
                &self.dir.join("server.pem"),
                &self.dir.join("server.key"),
                &self.dir.join("ca.pem"),
            ),
        }
    }
}

impl Drop for Certs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Connects over TLS with `config`; the connect result within 10 s.
pub fn connect_with(port: u16, config: TlsConfig<'_>) -> Result<(), Error<std::io::Error>> {
    connect_full(port, config, None, Duration::ZERO)
}

/// Connects over TLS with `config` (and `time` through `Tls::set_time`);
/// once up, keeps reading for `hold` (a TLS 1.3 server refuses a client
/// certificate only after the client's handshake is done). The first
/// error, or `Ok` if none.
pub fn connect_full(
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
pub fn observe(
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

pub fn wait_line(
    lines: &mpsc::Receiver<String>,
    pred: &dyn Fn(&str) -> bool,
    what: &str,
) -> String {
    loop {
        match lines.recv_timeout(Duration::from_secs(10)) {
            Ok(l) if pred(&l) => return l,
            Ok(_) => {}
            Err(_) => panic!("mosquitto_sub: no {what} within 10 s"),
        }
    }
}

/// What a pass of the TLS client said, owned.
pub enum Seen {
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
pub fn with_tls_client<T>(
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
pub fn publish_qos1(port: u16, config: TlsConfig<'_>, topic: &str, payload: &[u8]) {
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

/// The first reason the limpet client gives for not getting up over TLS
/// with `config`.
pub fn first_failure(port: u16, config: TlsConfig<'_>) -> Reason {
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

/// The extension `kind`'s data in a ClientHello record, if present.
pub fn client_hello_extension(record: &[u8], kind: u16) -> Option<Vec<u8>> {
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
pub fn capture_client_hello(config: TlsConfig<'_>) -> Vec<u8> {
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
