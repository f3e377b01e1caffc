//! The two clients as child processes: what a run is, how one is run and
//! measured (wait4, /proc), and what it printed.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use super::setup::TlsFiles;
use super::support::{self, Broker};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Who {
    Limpet,
    Libmosquitto,
}

impl Who {
    pub fn name(self) -> &'static str {
        match self {
            Who::Limpet => "limpet",
            Who::Libmosquitto => "libmosquitto",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Row {
    /// `connect N` (TLS runs): N connections one after the other.
    Connect,
    Qos0,
    Qos1(u16),
    Rtt,
}

impl Row {
    pub fn args(self, n: u64) -> Vec<String> {
        match self {
            Row::Connect => vec!["connect".into(), n.to_string()],
            Row::Qos0 => vec!["qos0".into(), n.to_string()],
            Row::Qos1(w) => vec!["qos1".into(), n.to_string(), w.to_string()],
            Row::Rtt => vec!["rtt".into(), n.to_string()],
        }
    }

    pub fn label(self) -> String {
        match self {
            Row::Connect => "connect to CONNACK".into(),
            Row::Qos0 => "QoS 0 publish".into(),
            Row::Qos1(w) => format!("QoS 1 publish, window {w}"),
            Row::Rtt => "QoS 1 round trip".into(),
        }
    }

    /// Calibration count: a fraction of a second for either client.
    pub fn probe_count(self) -> u64 {
        match self {
            Row::Connect => 10,
            Row::Qos0 => 50_000,
            Row::Qos1(w) => 5_000 * u64::from(w).min(3),
            Row::Rtt => 3_000,
        }
    }
}

/// What one child run produced.
#[derive(Clone, Debug)]
pub struct Run {
    pub messages: u64,
    pub seconds: f64,
    pub p50_us: Option<f64>,
    pub p99_us: Option<f64>,
    /// `connect` mode: connect-to-CONNACK times, and (libmosquitto) the
    /// median time of its getaddrinfo("localhost").
    pub connect_p50_us: Option<f64>,
    pub connect_p90_us: Option<f64>,
    pub resolve_us: Option<f64>,
    /// TLS: `tls=... cipher=... group=...` as the client printed them.
    pub tls: Option<String>,
    /// limpet's loop: its sleeps, those with a deadline already due (a
    /// spin), and those the socket ended.
    pub sleeps: Option<f64>,
    pub zero_sleeps: Option<f64>,
    pub wakeups: Option<f64>,
    /// User + system CPU of the whole child process (wait4).
    pub cpu_s: f64,
    /// Its user part (the split is sampled at the scheduler tick).
    pub user_s: f64,
    /// The broker's CPU during the run (/proc/PID/stat, clock ticks).
    pub broker_cpu_s: Option<f64>,
    /// Wall time of the whole child process.
    pub wall_s: f64,
    /// CPU time of everything else on the machine during the child's life
    /// (/proc/stat user + nice + system, less the client and the broker),
    /// and the time the hypervisor stole.
    pub others_s: Option<f64>,
    pub steal_s: Option<f64>,
}

/// Other processes' CPU or stolen time, as a share of one core over a run,
/// above which the run is measured again.
pub const DISTURBED: f64 = 0.10;
/// Tries per measured run.
pub const TRIES: usize = 5;

impl Run {
    /// Other processes, or the hypervisor (steal), took CPU during the run.
    pub fn disturbed(&self) -> bool {
        let over = |x: Option<f64>| x.is_some_and(|x| x > DISTURBED * self.wall_s);
        over(self.others_s) || over(self.steal_s)
    }
    pub fn rate(&self) -> f64 {
        self.messages as f64 / self.seconds
    }
    pub fn cpu_us_per_msg(&self) -> f64 {
        self.cpu_s * 1e6 / self.messages as f64
    }
}

pub struct Bench {
    pub limpet: PathBuf,
    pub libmosquitto: PathBuf,
    pub broker: Broker,
    pub payload: usize,
    /// TLS runs: what each client is given to verify the broker with.
    pub tls: Option<TlsFiles>,
}

impl Bench {
    fn binary(&self, who: Who) -> &Path {
        match who {
            Who::Limpet => &self.limpet,
            Who::Libmosquitto => &self.libmosquitto,
        }
    }

    /// Runs one client to completion (killed by PID after `timeout`).
    pub fn run(&self, who: Who, row: Row, n: u64, timeout: Duration) -> Result<Run, String> {
        if support::stop::requested() {
            return Err("interrupted".into());
        }
        let mut cmd = Command::new(self.binary(who));
        cmd.args(["-p", &self.broker.port().to_string()])
            .args(["-s", &self.payload.to_string()]);
        if let Some(tls) = &self.tls {
            match who {
                Who::Limpet => cmd.arg("-t").arg(&tls.ca_der),
                // libmosquitto takes the CA as PEM; the suite and group are
                // set through OpenSSL's configuration (see setup.rs).
                Who::Libmosquitto => cmd
                    .arg("-t")
                    .arg(&tls.ca_pem)
                    .env("OPENSSL_CONF", &tls.openssl_conf),
            };
        }
        cmd.args(row.args(n));
        let what = format!("{} {}", who.name(), row.args(n).join(" "));
        let broker_before = self.broker.pid().and_then(proc_cpu_s);
        let machine_before = machine_cpu_s();
        let started = std::time::Instant::now();
        let (status, rusage, out, err) =
            run_child(cmd, timeout).map_err(|e| format!("{what}: {e}"))?;
        let wall_s = started.elapsed().as_secs_f64();
        let broker_after = self.broker.pid().and_then(proc_cpu_s);
        let machine_after = machine_cpu_s();
        if !status_ok(status) {
            return Err(format!(
                "{what}: exited with status {status:#x}; stderr:\n{err}"
            ));
        }
        let fields: BTreeMap<&str, &str> = out
            .split_whitespace()
            .filter_map(|kv| kv.split_once('='))
            .collect();
        let num = |k: &str| fields.get(k).and_then(|v| v.parse::<f64>().ok());
        let tls = ["tls", "cipher", "group"]
            .iter()
            .map(|k| fields.get(k).map(|v| format!("{k}={v}")))
            .collect::<Option<Vec<_>>>()
            .map(|v| v.join(" "));
        let messages = num("messages").ok_or_else(|| format!("{what}: no messages= in {out:?}"))?;
        let seconds = num("seconds")
            .filter(|s| *s > 0.0)
            .ok_or_else(|| format!("{what}: no seconds= in {out:?}"))?;
        let cpu_s = timeval_s(rusage.ru_utime) + timeval_s(rusage.ru_stime);
        let broker_cpu_s = broker_before.zip(broker_after).map(|(a, b)| b - a);
        let machine = machine_before.zip(machine_after);
        Ok(Run {
            messages: messages as u64,
            seconds,
            p50_us: num("p50_us"),
            p99_us: num("p99_us"),
            connect_p50_us: num("connect_p50_us"),
            connect_p90_us: num("connect_p90_us"),
            resolve_us: num("resolve_us"),
            tls,
            sleeps: num("sleeps"),
            zero_sleeps: num("zero_sleeps"),
            wakeups: num("wakeups"),
            cpu_s,
            user_s: timeval_s(rusage.ru_utime),
            broker_cpu_s,
            wall_s,
            others_s: machine
                .map(|((b, _), (a, _))| (a - b - cpu_s - broker_cpu_s.unwrap_or(0.0)).max(0.0)),
            steal_s: machine.map(|((_, b), (_, a))| a - b),
        })
    }
}

fn timeval_s(t: libc::timeval) -> f64 {
    t.tv_sec as f64 + t.tv_usec as f64 / 1e6
}

fn status_ok(status: i32) -> bool {
    libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
}

/// Spawns `cmd`, collects its stdout and stderr, and reaps it with `wait4`
/// for its exact resource usage. Killed by its PID after `timeout`.
fn run_child(
    mut cmd: Command,
    timeout: Duration,
) -> Result<(i32, libc::rusage, String, String), String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn: {e}"))?;
    let pid = child.id() as libc::pid_t;
    let reader = |mut r: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let out = reader(Box::new(child.stdout.take().expect("piped stdout")));
    let err = reader(Box::new(child.stderr.take().expect("piped stderr")));
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut status = 0;
        // SAFETY: an all-zero rusage is a valid value; wait4 fills it in.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: pid is our unreaped child; both pointers are valid for the call.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        let _ = tx.send((r, status, usage));
    });
    // Waited for in slices, so that Ctrl-C stops the child at once.
    let deadline = std::time::Instant::now() + timeout;
    let (r, status, usage) = loop {
        let late = std::time::Instant::now() >= deadline;
        if late || support::stop::requested() {
            if let Ok(v) = rx.try_recv() {
                break v; // reaped meanwhile: its PID is no longer ours to kill
            }
            // Not reaped yet, so the PID is still this child's.
            // SAFETY: plain kill(2) on our own child's PID.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let _ = rx.recv();
            return Err(if late {
                format!("no result within {timeout:?}; killed (pid {pid})")
            } else {
                format!("interrupted; killed (pid {pid})")
            });
        }
        if let Ok(v) = rx.recv_timeout(Duration::from_millis(100)) {
            break v;
        }
    };
    if r != pid {
        return Err(format!("wait4: {}", std::io::Error::last_os_error()));
    }
    let out = out.join().unwrap_or_default();
    let err = err.join().unwrap_or_default();
    Ok((status, usage, out, err))
}

fn clock_ticks_per_s() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 {
        hz as f64
    } else {
        100.0
    }
}

/// All CPUs' user + nice + system time and steal time, from /proc/stat.
fn machine_cpu_s() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let f: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap_or(0.0))
        .collect();
    let hz = clock_ticks_per_s();
    // user nice system idle iowait irq softirq steal
    Some(((f.first()? + f.get(1)? + f.get(2)?) / hz, f.get(7)? / hz))
}

/// utime + stime of a running process, from /proc/PID/stat (clock ticks).
fn proc_cpu_s(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat(5); `rest` starts at field 3.
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / clock_ticks_per_s())
}
