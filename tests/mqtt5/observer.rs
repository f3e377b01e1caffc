//! An independent MQTT 5.0 observer: `mosquitto_sub -V mqttv5 -v`,
//! collecting `topic payload` lines, ready (subscribed) once a probe it
//! subscribed to came back. `limpet_testbroker::Sub` is the 3.1.1 one; this
//! is its 5.0 twin, killed by PID on drop. It and `publish5` log in when
//! the broker wants a username and password (ejabberd: `Broker::login`).

use crate::support::{Broker, BrokerKind};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Probes go to `$probe5/<id>`: `$` topics match no wildcard (§4.7.2).
const PROBE_PREFIX: &str = "$probe5/";
/// On ejabberd, `probe5/<id>`: mod_mqtt refuses any client's publish to a
/// `$` topic. No test's device subscribes to a filter matching it.
const EJABBERD_PROBE_PREFIX: &str = "probe5/";

#[derive(Default)]
struct Seen {
    lines: Vec<String>,
    probes: Vec<String>,
    eof: bool,
}

/// A username and password (`-u`, `-P`), or anonymous.
pub type Login = Option<(&'static str, &'static str)>;

fn login_args(login: Login) -> Vec<&'static str> {
    login.map_or(Vec::new(), |(u, p)| vec!["-u", u, "-P", p])
}

pub struct Sub5 {
    port: u16,
    login: Login,
    probe: String,
    child: Child,
    seen: Arc<(Mutex<Seen>, Condvar)>,
}

impl Sub5 {
    /// Subscribed to `topic` at `qos` over MQTT 5.0 on `broker` (with its
    /// login, if it wants one); returns once ready.
    pub fn start(broker: &Broker, topic: &str, qos: u8) -> Sub5 {
        Sub5::start_format(broker, topic, qos, None)
    }

    /// [`Sub5::start`] printing each message as `format` says
    /// (`mosquitto_sub -F`, e.g. `"%t %p\t%C\t%E"` for the content type and
    /// message expiry after the payload). `format` must begin `%t %p` and
    /// go on after a tab, so probes are recognised.
    pub fn start_format(broker: &Broker, topic: &str, qos: u8, format: Option<&str>) -> Sub5 {
        let (port, login) = (broker.port(), broker.login());
        let id = format!(
            "sub5-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let prefix = match broker.kind() {
            BrokerKind::Ejabberd => EJABBERD_PROBE_PREFIX,
            _ => PROBE_PREFIX,
        };
        let probe = format!("{prefix}{id}");
        let mut child = Command::new("mosquitto_sub")
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-V", "mqttv5"])
            .args(["-q", &qos.to_string(), "-i", &id])
            .args(match format {
                Some(f) => vec!["-F", f],
                None => vec!["-v"],
            })
            .args(["-t", topic, "-t", &probe])
            .args(login_args(login))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn mosquitto_sub (mosquitto-clients)");
        let stdout = child.stdout.take().unwrap();
        let seen: Arc<(Mutex<Seen>, Condvar)> = Arc::default();
        let shared = seen.clone();
        let probe_line = format!("{probe} ");
        thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            let mut line = String::new();
            while matches!(r.read_line(&mut line), Ok(n) if n > 0) {
                let text = line.trim_end_matches('\n').to_owned();
                line.clear();
                let (m, cv) = &*shared;
                let mut s = m.lock().unwrap();
                if let Some(token) = text.strip_prefix(&probe_line) {
                    let token = token.split('\t').next().unwrap_or(token);
                    s.probes.push(token.to_owned());
                } else {
                    s.lines.push(text);
                }
                cv.notify_all();
            }
            let (m, cv) = &*shared;
            m.lock().unwrap().eof = true;
            cv.notify_all();
        });
        let sub = Sub5 {
            port,
            login,
            probe,
            child,
            seen,
        };
        assert!(
            sub.wait_ready(Duration::from_secs(5)),
            "mosquitto_sub -V mqttv5 not subscribed to {topic} on port {port}"
        );
        sub
    }

    /// Publishes probes until one comes back (after a broker restart:
    /// mosquitto_sub has reconnected and subscribed again). False on timeout.
    pub fn wait_ready(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let token = COUNTER.fetch_add(1, Ordering::Relaxed).to_string();
            // A broker still down just means: not ready yet.
            let _ = publish5(self.port, self.login, &self.probe, token.as_bytes(), 0, &[]);
            let slice =
                Duration::from_millis(100).min(deadline.saturating_duration_since(Instant::now()));
            if self.wait_until(slice, |s| s.probes.contains(&token)) {
                return true;
            }
            if Instant::now() >= deadline || self.seen.0.lock().unwrap().eof {
                return false;
            }
        }
    }

    /// Waits until `n` lines (probes aside) arrived; false on timeout.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, |s| s.lines.len() >= n)
    }

    pub fn lines(&self) -> Vec<String> {
        self.seen.0.lock().unwrap().lines.clone()
    }

    fn wait_until(&self, timeout: Duration, mut done: impl FnMut(&Seen) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let (m, cv) = &*self.seen;
        let mut s = m.lock().unwrap();
        loop {
            if done(&s) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline || s.eof {
                return false;
            }
            s = cv.wait_timeout(s, deadline - now).unwrap().0;
        }
    }
}

impl Drop for Sub5 {
    fn drop(&mut self) {
        // By PID (Child::kill), then reaped.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One `mosquitto_pub -V mqttv5` (with `-D publish ...` property
/// arguments, e.g. `["user-property", "unit", "C"]`); Err with its stderr
/// if it failed or took over 10 s.
pub fn publish5(
    port: u16,
    login: Login,
    topic: &str,
    payload: &[u8],
    qos: u8,
    properties: &[&[&str]],
) -> Result<(), String> {
    let mut cmd = Command::new("mosquitto_pub");
    cmd.args(["-h", "127.0.0.1", "-p", &port.to_string(), "-V", "mqttv5"])
        .args(["-t", topic, "-q", &qos.to_string()])
        .args(login_args(login));
    for p in properties {
        cmd.args(["-D", "publish"]).args(p.iter());
    }
    cmd.arg("-m")
        .arg(String::from_utf8_lossy(payload).as_ref())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("spawn mosquitto_pub: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            return if status.success() {
                Ok(())
            } else {
                Err(format!("{status}: {}", err.trim()))
            };
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err("mosquitto_pub took over 10 s".into());
        }
        thread::sleep(Duration::from_millis(5));
    }
}
