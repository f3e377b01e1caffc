//! Real MQTT brokers for tests, demos and benchmarks, and independent
//! observers. Only std is used.
//!
//! - [`Broker`]: a private broker of a [`BrokerKind`] (mosquitto, aedes
//!   under node, or ejabberd's mod_mqtt under erl) on a free 127.0.0.1 port,
//!   with its own log (and config) in a temp dir; killed by PID and cleaned
//!   up on drop.
//! - [`Sub`]: a `mosquitto_sub` observer collecting `-v` lines (`topic payload`).
//!   It is ready (subscribed) when `start()` returns. A plain MQTT 3.1.1
//!   client: it works against either broker.
//! - [`publish`]: one `mosquitto_pub`, asserted to succeed (either broker).
//! - [`free_port`]: a currently free TCP port on 127.0.0.1.
//!
//! All traffic stays on 127.0.0.1. Every wait is bounded. Children are killed
//! by their PID (never by name).

pub mod certs;

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long mosquitto may take to accept connections after spawn (measured: 9–28 ms).
const START_TIMEOUT: Duration = Duration::from_secs(5);
/// How long aedes (node loading the broker) may take to accept connections
/// after spawn (measured on 2 cores: median 170 ms idle, up to 700 ms while
/// the broker tests run beside it).
const AEDES_START_TIMEOUT: Duration = Duration::from_secs(15);
/// How long ejabberd (an Erlang VM loading ejabberd, creating its Mnesia
/// tables and opening the mod_mqtt listener) may take to accept
/// connections after spawn (measured on 2 cores: 0.75 s idle, 0.9–1.3 s
/// beside a build; ejabberd itself reports about 0.6 s of that).
const EJABBERD_START_TIMEOUT: Duration = Duration::from_secs(30);
/// The login every MQTT client gives ejabberd (see [`Broker::login`]).
pub const EJABBERD_LOGIN: (&str, &str) = ("limpet", "limpet");
/// How many fresh ports `Broker::start` tries when it loses a port race.
const START_ATTEMPTS: u32 = 5;
/// How long `Broker::restart` keeps retrying to bind the same port.
const RESTART_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a `Sub` may take to be subscribed.
const SUB_READY_TIMEOUT: Duration = Duration::from_secs(5);
/// Upper bound for one `mosquitto_pub` run.
const PUB_TIMEOUT: Duration = Duration::from_secs(10);

/// Topic prefix used by [`Sub`] readiness probes. Topics starting with `$`
/// are not matched by `#` or `+` wildcards (§4.7.2), so probes never reach
/// other subscribers (and `Sub` filters them out anyway). Both brokers relay
/// it to the probe's exact filter: aedes reserves only `$SYS/` (it refuses
/// client publishes there), not every `$` topic, so the prefix must not be
/// `$SYS/`.
pub const PROBE_PREFIX: &str = "$limpet-probe/";

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn unique(tag: &str) -> String {
    format!(
        "limpet-{tag}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read, close).
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0 to find a free port")
}

/// Finds an executable on PATH, or in /usr/sbin and /usr/local/sbin
/// (Debian installs `mosquitto` in /usr/sbin, often not on a user's PATH).
fn find_bin(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from));
    for dir in dirs {
        let p = dir.join(name);
        if is_executable(&p) {
            return p;
        }
    }
    panic!(
        "`{name}` not found on PATH nor in /usr/sbin: the integration tests need \
         mosquitto, mosquitto-clients and node; run `scripts/setup` (installs \
         the mosquitto packages and aedes, and says so if node is missing)"
    );
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Waits for a child to exit, at most `timeout`; `None` if still running.
fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(st)) = child.try_wait() {
            return Some(st);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// SIGKILL by PID (via `Child::kill`) and reap.
fn kill_child(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

// ---------------------------------------------------------------------------
// Broker

/// Which broker implementation a [`Broker`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrokerKind {
    /// `mosquitto` (C, Debian's package).
    Mosquitto,
    /// aedes (Node.js, npm; pinned in `tests/brokers/aedes/package-lock.json`),
    /// run as `node tests/brokers/aedes/broker.mjs PORT`.
    Aedes,
    /// ejabberd's `mod_mqtt` (Erlang, Debian's `ejabberd` package; MQTT
    /// 3.1.1 and 5.0), run as a distribution-free Erlang VM (`erl -noinput
    /// -s ejabberd`, no node name, so no epmd and no distribution port)
    /// with its own `ejabberd.yml` and Mnesia spool in the temp dir. Not in
    /// [`kinds`]: the MQTT 5.0 tests (`tests/mqtt5.rs`) start it by kind.
    Ejabberd,
}

impl BrokerKind {
    /// `"mosquitto"`, `"aedes"` or `"ejabberd"`.
    pub fn name(self) -> &'static str {
        match self {
            BrokerKind::Mosquitto => "mosquitto",
            BrokerKind::Aedes => "aedes",
            BrokerKind::Ejabberd => "ejabberd",
        }
    }

    fn log_file(self) -> &'static str {
        match self {
            BrokerKind::Mosquitto => "mosquitto.log",
            BrokerKind::Aedes => "aedes.log",
            BrokerKind::Ejabberd => "ejabberd.log",
        }
    }

    fn start_timeout(self) -> Duration {
        match self {
            BrokerKind::Mosquitto => START_TIMEOUT,
            BrokerKind::Aedes => AEDES_START_TIMEOUT,
            BrokerKind::Ejabberd => EJABBERD_START_TIMEOUT,
        }
    }
}

/// Every broker kind the MQTT 3.1.1 integration tests run against
/// (ejabberd is not one of them yet).
pub fn kinds() -> Vec<BrokerKind> {
    vec![BrokerKind::Mosquitto, BrokerKind::Aedes]
}

/// The directory holding Debian's ejabberd Erlang applications
/// (`ejabberd-VERSION/ebin/ejabberd.app` and its deps), for `ERL_LIBS`:
/// `/usr/lib/<multiarch>/` (what `ejabberdctl` sets), or an OTP lib dir.
fn ejabberd_libs() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.push(PathBuf::from("/usr/lib/erlang/lib"));
    dirs.push(PathBuf::from("/usr/local/lib/erlang/lib"));
    dirs.into_iter().find(|dir| {
        fs::read_dir(dir).into_iter().flatten().flatten().any(|e| {
            e.file_name().to_string_lossy().starts_with("ejabberd-")
                && e.path().join("ebin/ejabberd.app").is_file()
        })
    })
}

/// The aedes launcher in this repository.
fn aedes_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/brokers/aedes/broker.mjs")
}

/// A private broker on 127.0.0.1, started by the test.
///
/// mosquitto config: `listener PORT 127.0.0.1`, `allow_anonymous true`,
/// `persistence false` (a restart forgets all sessions and retained
/// messages), `max_queued_messages 10000`, `log_dest stderr`, plus any
/// extra lines given to [`Broker::start_with_config`]. mosquitto's
/// stdout+stderr go to `mosquitto.log` in [`Broker::dir`].
///
/// aedes: `tests/brokers/aedes/broker.mjs` with aedes' in-memory
/// persistence (sessions, queued messages and retained messages live as long
/// as the process, so a restart forgets them, as with mosquitto); node's
/// stdout+stderr go to `aedes.log` in [`Broker::dir`].
///
/// ejabberd: `erl -noinput +K true -mnesia dir SPOOL -s ejabberd` with
/// `ERL_LIBS` pointing at Debian's ejabberd applications and an
/// `ejabberd.yml` (written before each start) that has one listener,
/// `mod_mqtt` on `127.0.0.1:PORT`, and nothing else: no XMPP c2s/s2s/http
/// listeners; one host (`localhost`) with anonymous auth
/// (`anonymous_protocol: login_anon`), which takes any username with any
/// non-empty password; ejabberd refuses an MQTT CONNECT without a username
/// and password whatever its auth, so every client must give one
/// ([`Broker::login`]). No Erlang node name is given, so the VM starts no
/// distribution: no epmd (nothing on port 4369), no distribution port, and
/// parallel instances cannot clash by node name. The Mnesia spool
/// (`spool/`; mod_mqtt keeps sessions and subscriptions in RAM tables,
/// retained messages in a disc table) is wiped before every start, so a
/// restart forgets everything, as with the other kinds. The VM's console
/// (info level) goes to `ejabberd.log`; ejabberd's own log files are in
/// `logs/`.
///
/// The log is printed on drop when the test is panicking.
pub struct Broker {
    kind: BrokerKind,
    port: u16,
    child: Mutex<Option<Child>>,
    dir: PathBuf,
    extra_config: String,
    /// aedes only: arguments after the port (`--tls CERT KEY`).
    extra_args: Vec<String>,
    starts: u32,
}

enum SpawnError {
    /// The port was taken (someone else bound it first).
    PortInUse(String),
    /// The broker exited or never accepted connections; the log so far.
    Failed(String),
}

impl Broker {
    /// Starts a mosquitto on a free port; returns once it accepts TCP
    /// connections. Panics (with mosquitto's log) if it cannot start.
    pub fn start() -> Broker {
        Broker::start_with_config("")
    }

    /// Starts a broker of `kind` on a free port; returns once it accepts TCP
    /// connections. Panics (with the broker's log) if it cannot start.
    pub fn start_kind(kind: BrokerKind) -> Broker {
        Broker::launch(kind, "")
    }

    /// Like [`Broker::start`], appending `extra` (mosquitto.conf lines) to the
    /// config, e.g. `"max_inflight_messages 1\n"`. Kept across restarts.
    /// mosquitto only: aedes has no config file.
    pub fn start_with_config(extra: &str) -> Broker {
        Broker::launch(BrokerKind::Mosquitto, extra)
    }

    /// A broker of `kind` with extra configuration, kept across restarts:
    /// mosquitto.conf lines for mosquitto (as [`Broker::start_with_config`]);
    /// for ejabberd, YAML lines of `mod_mqtt`'s options, e.g.
    /// `"access_publish: {\"ok/#\": all}\n"` (each line is indented
    /// under `modules: mod_mqtt:`; use flow style for maps). aedes takes
    /// none (panics if `extra` is not empty).
    pub fn start_kind_with_config(kind: BrokerKind, extra: &str) -> Broker {
        assert!(
            kind != BrokerKind::Aedes || extra.is_empty(),
            "aedes has no config file"
        );
        Broker::launch(kind, extra)
    }

    /// aedes with a TLS listener (Node's TLS) serving the certificate `cert`
    /// and its key `key` (PEM files).
    pub fn start_aedes_tls(cert: &Path, key: &Path) -> Broker {
        let args = vec![
            "--tls".to_owned(),
            cert.display().to_string(),
            key.display().to_string(),
        ];
        Broker::launch_with(BrokerKind::Aedes, "", args)
    }

    /// aedes with a TLS listener that also requires a client certificate
    /// issued by the CA in `ca` (PEM): mutual TLS.
    pub fn start_aedes_mutual_tls(cert: &Path, key: &Path, ca: &Path) -> Broker {
        let args = vec![
            "--tls".to_owned(),
            cert.display().to_string(),
            key.display().to_string(),
            ca.display().to_string(),
        ];
        Broker::launch_with(BrokerKind::Aedes, "", args)
    }

    fn launch(kind: BrokerKind, extra: &str) -> Broker {
        Broker::launch_with(kind, extra, Vec::new())
    }

    fn launch_with(kind: BrokerKind, extra: &str, extra_args: Vec<String>) -> Broker {
        let bin = Broker::bin(kind);
        let name = kind.name();
        let dir = std::env::temp_dir().join(unique(name));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create broker temp dir");
        let mut broker = Broker {
            kind,
            port: 0,
            child: Mutex::new(None),
            dir,
            extra_config: extra.to_owned(),
            extra_args,
            starts: 0,
        };
        let mut last = String::new();
        for _ in 0..START_ATTEMPTS {
            let port = free_port();
            match broker.spawn_on(&bin, port) {
                Ok(child) => {
                    broker.port = port;
                    *broker.child.lock().unwrap() = Some(child);
                    return broker;
                }
                Err(SpawnError::PortInUse(log)) => last = log,
                Err(SpawnError::Failed(log)) => {
                    panic!("{name} failed to start on 127.0.0.1:{port}; its log:\n{log}")
                }
            }
        }
        panic!("{name} lost the port race {START_ATTEMPTS} times; last log:\n{last}")
    }

    /// The executable to spawn: mosquitto, node (after checking that
    /// `scripts/setup` installed aedes) or erl (after checking that
    /// ejabberd is installed).
    fn bin(kind: BrokerKind) -> PathBuf {
        match kind {
            BrokerKind::Mosquitto => find_bin("mosquitto"),
            BrokerKind::Ejabberd => {
                assert!(
                    ejabberd_libs().is_some(),
                    "ejabberd is not installed (no ejabberd-*/ebin/ejabberd.app \
                     under /usr/lib/*/): run `scripts/setup` (apt-get install ejabberd)"
                );
                find_bin("erl")
            }
            BrokerKind::Aedes => {
                let modules = aedes_script().with_file_name("node_modules");
                assert!(
                    modules.join("aedes/package.json").is_file(),
                    "aedes is not installed in {}: run `scripts/setup` \
                     (npm ci --prefix tests/brokers/aedes)",
                    modules.display()
                );
                find_bin("node")
            }
        }
    }

    /// Which broker implementation this is.
    pub fn kind(&self) -> BrokerKind {
        self.kind
    }

    /// The username and password an MQTT client must give this broker:
    /// `Some(EJABBERD_LOGIN)` for ejabberd (any username with any non-empty
    /// password is let in, but one is needed), `None` for the others
    /// (anonymous clients are let in).
    pub fn login(&self) -> Option<(&'static str, &'static str)> {
        match self.kind {
            BrokerKind::Ejabberd => Some(EJABBERD_LOGIN),
            BrokerKind::Mosquitto | BrokerKind::Aedes => None,
        }
    }

    /// The broker's TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, self.port))
    }

    /// PID of the running broker process (mosquitto, node, or ejabberd's
    /// Erlang VM `beam.smp`: `erl` execs it), if any.
    pub fn pid(&self) -> Option<u32> {
        self.child.lock().unwrap().as_ref().map(|c| c.id())
    }

    /// The broker's temp dir (log, and mosquitto's or ejabberd's config).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The broker's log so far (all runs of this broker, separated by markers).
    pub fn log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = File::open(self.dir.join(self.kind.log_file())) {
            let mut bytes = Vec::new();
            let _ = f.read_to_end(&mut bytes);
            s = String::from_utf8_lossy(&bytes).into_owned();
        }
        s
    }

    /// True while the broker process is alive.
    pub fn is_running(&self) -> bool {
        match self.child.lock().unwrap().as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// SIGKILL the broker by PID and reap it. The port then refuses
    /// connections; established connections are reset/closed by the kernel.
    /// No-op if not running.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.lock().unwrap().take() {
            kill_child(&mut c);
        }
    }

    /// SIGTERM the broker by PID and wait (at most 5 s) for it to exit; its
    /// exit status, or `None` if it was not running or did not exit in time
    /// (it is then SIGKILLed). A clean shutdown, unlike [`Broker::kill`].
    pub fn terminate(&mut self) -> Option<ExitStatus> {
        let mut c = self.child.lock().unwrap().take()?;
        let ok = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        let st = if ok {
            wait_timeout(&mut c, Duration::from_secs(5))
        } else {
            None
        };
        if st.is_none() {
            kill_child(&mut c);
        }
        st
    }

    /// SIGSTOP the broker by PID: it stays alive, its sockets stay open,
    /// but it processes nothing (a hung broker, or a half-open link as the
    /// client sees it). `kill` still works; `thaw` resumes it.
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT: undoes `freeze`.
    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, sig: &str) {
        if let Some(pid) = self.pid() {
            let ok = Command::new("kill")
                .args([sig, &pid.to_string()])
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            assert!(ok, "could not send {sig} to {} pid {pid}", self.kind.name());
        }
    }

    /// Starts the broker again on the SAME port (killing it first if it is
    /// still running) and waits until it accepts connections. Retries binding
    /// for up to 10 s. With `persistence false` (mosquitto), in-memory
    /// persistence (aedes) or a wiped Mnesia spool (ejabberd) the new broker
    /// has no sessions, subscriptions or retained messages.
    pub fn restart(&mut self) {
        self.kill();
        let bin = Broker::bin(self.kind);
        let name = self.kind.name();
        let deadline = Instant::now() + RESTART_TIMEOUT;
        loop {
            match self.spawn_on(&bin, self.port) {
                Ok(child) => {
                    *self.child.lock().unwrap() = Some(child);
                    return;
                }
                Err(SpawnError::PortInUse(log)) => {
                    if Instant::now() >= deadline {
                        panic!(
                            "{name} could not bind 127.0.0.1:{} again within {:?}; log:\n{log}",
                            self.port, RESTART_TIMEOUT
                        );
                    }
                    thread::sleep(Duration::from_millis(50));
                }
                Err(SpawnError::Failed(log)) => {
                    panic!(
                        "{name} failed to restart on 127.0.0.1:{}; log:\n{log}",
                        self.port
                    )
                }
            }
        }
    }

    /// Spawns the broker on `port` (mosquitto: writes its config first) and
    /// waits until it is serving `port`.
    fn spawn_on(&mut self, bin: &Path, port: u16) -> Result<Child, SpawnError> {
        self.starts += 1;
        let mut cmd = Command::new(bin);
        // The broker's own line that says it is serving (from this run's log).
        let ready_marker = match self.kind {
            BrokerKind::Mosquitto => {
                let conf = self.dir.join("mosquitto.conf");
                let mut text = format!(
                    "listener {port} 127.0.0.1\n\
                     allow_anonymous true\n\
                     persistence false\n\
                     max_queued_messages 10000\n\
                     log_dest stderr\n"
                );
                text.push_str(&self.extra_config);
                if !text.ends_with('\n') {
                    text.push('\n');
                }
                fs::write(&conf, text).expect("write mosquitto.conf");
                cmd.arg("-c").arg(&conf);
                " running".to_owned()
            }
            BrokerKind::Aedes => {
                cmd.arg(aedes_script())
                    .arg(port.to_string())
                    .args(&self.extra_args);
                format!(" ready on 127.0.0.1:{port}")
            }
            BrokerKind::Ejabberd => {
                self.ejabberd_command(&mut cmd, port);
                format!("Start accepting TCP connections at 127.0.0.1:{port} for mod_mqtt")
            }
        };

        let log_path = self.dir.join(self.kind.log_file());
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .unwrap_or_else(|e| panic!("open {}: {e}", log_path.display()));
        let log_start = log.metadata().map(|m| m.len()).unwrap_or(0) as usize;
        let _ = writeln!(
            log,
            "=== limpet test harness: start #{} on port {port} ===",
            self.starts
        );
        let stderr = log.try_clone().expect("clone log file handle");

        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", bin.display()));

        let this_run = |log_path: &Path| -> String {
            let bytes = fs::read(log_path).unwrap_or_default();
            String::from_utf8_lossy(&bytes[log_start.min(bytes.len())..]).into_owned()
        };
        let addr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port));
        let timeout = self.kind.start_timeout();
        let deadline = Instant::now() + timeout;
        loop {
            // mosquitto: "Address already in use"; broker.mjs: EADDRINUSE;
            // ejabberd: "address already in use" (then it stops by itself).
            let in_use =
                |text: &str| text.contains("ddress already in use") || text.contains("EADDRINUSE");
            if let Ok(Some(_)) = child.try_wait() {
                let text = this_run(&log_path);
                return Err(if in_use(&text) {
                    SpawnError::PortInUse(text)
                } else {
                    SpawnError::Failed(text)
                });
            }
            if self.kind == BrokerKind::Ejabberd && in_use(&this_run(&log_path)) {
                // Not left to stop by itself: killed by PID now.
                kill_child(&mut child);
                return Err(SpawnError::PortInUse(this_run(&log_path)));
            }
            // Ready = accepts a connection AND the broker says it is serving
            // (so we did not connect to some other process on a raced port).
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
                && this_run(&log_path).contains(&ready_marker)
                && matches!(child.try_wait(), Ok(None))
            {
                return Ok(child);
            }
            if Instant::now() >= deadline {
                kill_child(&mut child);
                let text = this_run(&log_path);
                return Err(SpawnError::Failed(format!(
                    "(did not accept connections within {timeout:?})\n{text}"
                )));
            }
            thread::sleep(Duration::from_millis(2));
        }
    }
}

impl Broker {
    /// ejabberd: writes `ejabberd.yml`, wipes the Mnesia spool and sets up
    /// `erl`'s arguments and environment for a private, distribution-free
    /// VM serving mod_mqtt on 127.0.0.1:`port`.
    fn ejabberd_command(&self, cmd: &mut Command, port: u16) {
        let libs = ejabberd_libs().expect("checked by Broker::bin");
        let spool = self.dir.join("spool");
        let logs = self.dir.join("logs");
        let _ = fs::remove_dir_all(&spool);
        fs::create_dir_all(&spool).expect("create ejabberd spool dir");
        fs::create_dir_all(&logs).expect("create ejabberd logs dir");
        let mut module_opts = String::new();
        for line in self.extra_config.lines().filter(|l| !l.trim().is_empty()) {
            module_opts.push_str("      ");
            module_opts.push_str(line);
            module_opts.push('\n');
        }
        if module_opts.is_empty() {
            module_opts.push_str("      {}\n");
        }
        // Only mod_mqtt is loaded and only its listener opened. loglevel
        // info: the listener's "Start accepting" line is the ready marker.
        let conf = format!(
            "hosts:\n  - localhost\n\
             loglevel: info\n\
             log_rotate_count: 0\n\
             auth_method: [anonymous]\n\
             anonymous_protocol: login_anon\n\
             allow_multiple_connections: true\n\
             listen:\n  -\n    port: {port}\n    ip: \"127.0.0.1\"\n    module: mod_mqtt\n\
             modules:\n  mod_mqtt:\n{module_opts}"
        );
        let conf_path = self.dir.join("ejabberd.yml");
        fs::write(&conf_path, conf).expect("write ejabberd.yml");
        cmd.current_dir(&self.dir)
            .env("ERL_LIBS", libs)
            .env("EJABBERD_CONFIG_PATH", &conf_path)
            .env("EJABBERD_LOG_PATH", logs.join("ejabberd.log"))
            .env("ERL_CRASH_DUMP", logs.join("erl_crash.dump"))
            .env("ERL_CRASH_DUMP_BYTES", "0")
            // Belt and braces: were distribution ever started, epmd and
            // the node would listen on loopback only.
            .env("ERL_EPMD_ADDRESS", "127.0.0.1")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("ERL_FLAGS")
            .env_remove("ERL_AFLAGS")
            .env_remove("ERL_ZFLAGS")
            .args(["-noinput", "+K", "true", "-mnesia", "dir"])
            .arg(format!("\"{}\"", spool.display()))
            .args(["-s", "ejabberd"]);
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
        if thread::panicking() {
            let name = self.kind.name();
            eprintln!(
                "--- {name} log (127.0.0.1:{}, {}) ---\n{}--- end of {name} log ---",
                self.port,
                self.dir.display(),
                self.log()
            );
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------
// Sub

#[derive(Default)]
struct Collected {
    lines: Vec<String>,
    /// Probe payloads seen (readiness markers), filtered out of `lines`.
    probes: Vec<String>,
    stderr: String,
    eof: bool,
}

type Shared = Arc<(Mutex<Collected>, Condvar)>;

/// Builder for [`Sub`]; see [`Sub::builder`].
#[derive(Clone, Debug)]
pub struct SubBuilder {
    port: u16,
    topics: Vec<String>,
    qos: u8,
    client_id: Option<String>,
    persistent: bool,
    keepalive: Option<u16>,
}

impl SubBuilder {
    /// Adds another topic filter (`-t`).
    pub fn topic(mut self, topic: &str) -> Self {
        self.topics.push(topic.to_owned());
        self
    }
    /// Requested QoS for all filters (`-q`, default 0).
    pub fn qos(mut self, qos: u8) -> Self {
        assert!(qos <= 2, "qos must be 0, 1 or 2");
        self.qos = qos;
        self
    }
    /// Fixed client id (`-i`); default is unique per Sub.
    pub fn client_id(mut self, id: &str) -> Self {
        self.client_id = Some(id.to_owned());
        self
    }
    /// Persistent session (`-c`, clean session = false). Give a `client_id`
    /// to resume the session from another Sub.
    pub fn persistent(mut self) -> Self {
        self.persistent = true;
        self
    }
    /// Keepalive in seconds (`-k`, mosquitto_sub's default is 60).
    pub fn keepalive(mut self, secs: u16) -> Self {
        self.keepalive = Some(secs);
        self
    }
    /// Spawns mosquitto_sub and returns once it is subscribed (proved by a
    /// probe message round trip). Panics after 5 s with its stderr.
    pub fn start(self) -> Sub {
        assert!(!self.topics.is_empty(), "Sub needs at least one topic");
        let bin = find_bin("mosquitto_sub");
        let client_id = self.client_id.clone().unwrap_or_else(|| unique("sub"));
        let probe_topic = format!("{PROBE_PREFIX}{client_id}");
        let mut cmd = Command::new(bin);
        cmd.args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-q", &self.qos.to_string()])
            .arg("-v")
            .args(["-i", &client_id]);
        if self.persistent {
            cmd.arg("-c");
        }
        if let Some(k) = self.keepalive {
            cmd.args(["-k", &k.to_string()]);
        }
        for t in &self.topics {
            cmd.args(["-t", t]);
        }
        // Probe filter last: once it is live, the filters before it are too.
        cmd.args(["-t", &probe_topic]);
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn mosquitto_sub");

        let shared: Shared = Arc::new((Mutex::new(Collected::default()), Condvar::new()));
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let probe_line = format!("{probe_topic} ");
        let s = shared.clone();
        let reader = thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match r.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                if buf.last() == Some(&b'\n') {
                    buf.pop();
                }
                let line = String::from_utf8_lossy(&buf).into_owned();
                let (m, cv) = &*s;
                let mut c = m.lock().unwrap();
                if let Some(p) = line.strip_prefix(&probe_line) {
                    c.probes.push(p.to_owned());
                } else if !line.starts_with(PROBE_PREFIX) {
                    c.lines.push(line);
                }
                cv.notify_all();
            }
            let (m, cv) = &*s;
            m.lock().unwrap().eof = true;
            cv.notify_all();
        });
        let s = shared.clone();
        let err_reader = thread::spawn(move || {
            let mut r = BufReader::new(stderr);
            let mut line = String::new();
            while matches!(r.read_line(&mut line), Ok(n) if n > 0) {
                s.0.lock().unwrap().stderr.push_str(&line);
                line.clear();
            }
        });

        let sub = Sub {
            port: self.port,
            client_id,
            probe_topic,
            child: Some(child),
            shared,
            threads: vec![reader, err_reader],
        };
        if !sub.wait_ready(SUB_READY_TIMEOUT) {
            panic!(
                "mosquitto_sub {:?} not subscribed on 127.0.0.1:{} within {:?}; stderr:\n{}",
                self.topics,
                self.port,
                SUB_READY_TIMEOUT,
                sub.stderr()
            );
        }
        sub
    }
}

/// An independent observer: `mosquitto_sub -v` collecting `topic payload` lines.
///
/// A payload containing newlines yields several lines. Killed by PID on
/// [`Sub::stop`] or drop. Like any mosquitto_sub, it reconnects by itself
/// (about once a second) when the broker goes away and comes back, and then
/// subscribes again.
pub struct Sub {
    port: u16,
    client_id: String,
    probe_topic: String,
    child: Option<Child>,
    shared: Shared,
    threads: Vec<JoinHandle<()>>,
}

impl Sub {
    /// A builder for a Sub on `topic` (more with `.topic()`), QoS 0, clean session.
    pub fn builder(port: u16, topic: &str) -> SubBuilder {
        SubBuilder {
            port,
            topics: vec![topic.to_owned()],
            qos: 0,
            client_id: None,
            persistent: false,
            keepalive: None,
        }
    }

    /// Shorthand: subscribed to `topic` at `qos`, clean session, unique id.
    pub fn start(port: u16, topic: &str, qos: u8) -> Sub {
        Sub::builder(port, topic).qos(qos).start()
    }

    /// The client id mosquitto_sub uses.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// PID of the mosquitto_sub process, if still owned.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// All lines received so far (`topic payload`), probes excluded.
    pub fn lines(&self) -> Vec<String> {
        self.shared.0.lock().unwrap().lines.clone()
    }

    /// Number of lines received so far.
    pub fn len(&self) -> usize {
        self.shared.0.lock().unwrap().lines.len()
    }

    /// True while no line has arrived.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// mosquitto_sub's stderr so far.
    pub fn stderr(&self) -> String {
        self.shared.0.lock().unwrap().stderr.clone()
    }

    /// Waits until at least `n` lines were received; false on timeout.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, |c| c.lines.len() >= n)
    }

    /// Waits until a line equal to `line` was received; false on timeout.
    pub fn wait_for_line(&self, line: &str, timeout: Duration) -> bool {
        self.wait_until(timeout, |c| c.lines.iter().any(|l| l == line))
    }

    /// Proves the subscription is live now: publishes probe messages (QoS 0,
    /// on a `$`-topic only this Sub subscribes to) until one comes back.
    /// Use after a broker restart to know mosquitto_sub has reconnected and
    /// subscribed again. False on timeout.
    pub fn wait_ready(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let token = format!("{}-{attempt}", COUNTER.fetch_add(1, Ordering::Relaxed));
            // A failing publish (broker down) just means: not ready yet.
            let _ = run_pub(self.port, &self.probe_topic, token.as_bytes(), 0, false);
            let slice =
                Duration::from_millis(100).min(deadline.saturating_duration_since(Instant::now()));
            if self.wait_until(slice, |c| c.probes.contains(&token)) {
                return true;
            }
            if Instant::now() >= deadline || self.shared.0.lock().unwrap().eof {
                return false;
            }
        }
    }

    fn wait_until(&self, timeout: Duration, mut done: impl FnMut(&Collected) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let (m, cv) = &*self.shared;
        let mut c = m.lock().unwrap();
        loop {
            if done(&c) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline || c.eof {
                return false;
            }
            c = cv.wait_timeout(c, deadline - now).unwrap().0;
        }
    }

    /// Kills mosquitto_sub by PID and joins its reader threads. Idempotent.
    /// Lines received so far stay available.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            kill_child(&mut c);
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Sub {
    fn drop(&mut self) {
        self.stop();
    }
}

// ---------------------------------------------------------------------------
// publish

/// Runs `mosquitto_pub` once (payload via stdin, so any bytes work) and
/// asserts it succeeded within 10 s.
pub fn publish(port: u16, topic: &str, payload: impl AsRef<[u8]>, qos: u8, retain: bool) {
    if let Err(e) = run_pub(port, topic, payload.as_ref(), qos, retain) {
        panic!("mosquitto_pub -p {port} -t {topic:?} failed: {e}");
    }
}

fn run_pub(port: u16, topic: &str, payload: &[u8], qos: u8, retain: bool) -> Result<(), String> {
    assert!(qos <= 2, "qos must be 0, 1 or 2");
    let mut cmd = Command::new(find_bin("mosquitto_pub"));
    cmd.args(["-h", "127.0.0.1", "-p", &port.to_string(), "-t", topic])
        .args(["-q", &qos.to_string()]);
    if retain {
        cmd.arg("-r");
    }
    if payload.is_empty() {
        cmd.arg("-n").stdin(Stdio::null());
    } else {
        cmd.arg("-s").stdin(Stdio::piped());
    }
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        if let Err(e) = stdin.write_all(payload) {
            // Not returned with the child still running: killed by PID, reaped.
            drop(stdin);
            kill_child(&mut child);
            return Err(format!("write stdin: {e}"));
        }
    } // stdin dropped: EOF
    let mut stderr = child.stderr.take().unwrap();
    let err_reader = thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    match wait_timeout(&mut child, PUB_TIMEOUT) {
        Some(st) => {
            let err = err_reader.join().unwrap_or_default();
            if st.success() {
                Ok(())
            } else {
                Err(format!("{st}: {}", err.trim()))
            }
        }
        None => {
            kill_child(&mut child);
            let err = err_reader.join().unwrap_or_default();
            Err(format!("timed out after {PUB_TIMEOUT:?}: {}", err.trim()))
        }
    }
}
