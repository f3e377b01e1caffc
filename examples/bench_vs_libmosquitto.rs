//! limpet against libmosquitto, in the same run, against one mosquitto.
//!
//! ```text
//! scripts/bench [--seconds S] [--repeats R] [--messages N] [--payload B]
//! cargo run --release --features std --example bench_vs_libmosquitto -- [same options]
//! ```
//!
//! Both clients are child processes with the same command line and output:
//! `examples/bench_client.rs` (limpet) and `bench/libmosquitto/mqtt_bench.c`
//! (libmosquitto's public API, built here with `cc -O2 ... -lmosquitto`).
//! Both are single-threaded: limpet's superloop calls `poll`, the C client
//! calls `mosquitto_loop` itself (no `mosquitto_loop_start`). This driver
//! starts one private mosquitto on a free 127.0.0.1 port and, for each row,
//!
//! 1. runs each client once with a small count (warm-up and calibration)
//!    and picks one message count for both: enough for `--seconds` (default
//!    1.5) of the faster one (`--messages` fixes it instead); if a measured
//!    run then lasts under 1 s, the count is raised and the row measured
//!    again (twice at most);
//! 2. runs each client `--repeats` times (default 5) with that count,
//!    alternating which goes first, and takes the median of each figure. A
//!    run during which other processes took, or the hypervisor stole, more
//!    than 10 % of a core (/proc/stat) is measured again, up to 5 times: the
//!    machine is shared.
//!
//! Rates come from the clients (messages / seconds from the first publish to
//! the last acknowledgement); CPU time is the child's user + system time as
//! `wait4(2)` reports it when the child is reaped (the kernel's scheduler
//! accounting, in microseconds; `/proc/PID/stat` only has clock ticks), for
//! the whole process, divided by the message count.
//!
//! Nothing is installed here: `scripts/setup bench` installs mosquitto and
//! libmosquitto-dev.
//!
//! Ctrl-C (or SIGTERM, SIGHUP) kills the running client by PID and ends the
//! benchmark with exit status 130, its broker stopped by PID (`Drop`).

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use support::Broker;

const USAGE: &str = "\
usage: scripts/bench [--seconds S] [--repeats R] [--messages N] [--payload B]

  --seconds S   each measured run lasts about S seconds for the faster client
                (default 1.5; the count is calibrated per row)
  --repeats R   measured runs per client and row, median reported (default 5)
  --messages N  use N messages in every row instead of calibrating
  --payload B   payload bytes per message, 4 to 512 (default 32)";

struct Args {
    seconds: f64,
    repeats: usize,
    messages: Option<u64>,
    payload: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        seconds: 1.5,
        repeats: 5,
        messages: None,
        payload: 32,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let bad = || format!("{flag} {value}: not accepted\n{USAGE}");
        match flag.as_str() {
            "--seconds" => {
                args.seconds = value
                    .parse()
                    .ok()
                    .filter(|s: &f64| *s > 0.0 && *s <= 60.0)
                    .ok_or_else(bad)?
            }
            "--repeats" => {
                args.repeats = value
                    .parse()
                    .ok()
                    .filter(|r| (1..=50).contains(r))
                    .ok_or_else(bad)?
            }
            "--messages" => {
                args.messages = Some(
                    value
                        .parse()
                        .ok()
                        .filter(|n| (1..=100_000_000).contains(n))
                        .ok_or_else(bad)?,
                )
            }
            "--payload" => {
                args.payload = value
                    .parse()
                    .ok()
                    .filter(|b| (4..=512).contains(b))
                    .ok_or_else(bad)?
            }
            _ => return Err(format!("unknown argument {flag:?}\n{USAGE}")),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    support::stop::on_signals();
    match parse_args().and_then(|a| run(&a)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) if support::stop::requested() => {
            eprintln!("\nbench_vs_libmosquitto: interrupted");
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("bench_vs_libmosquitto: error: {e}");
            ExitCode::FAILURE
        }
    }
}

// ------------------------------------------------------------------ clients

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Who {
    Limpet,
    Libmosquitto,
}

impl Who {
    fn name(self) -> &'static str {
        match self {
            Who::Limpet => "limpet",
            Who::Libmosquitto => "libmosquitto",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Row {
    Qos0,
    Qos1(u16),
    Rtt,
}

impl Row {
    fn args(self, n: u64) -> Vec<String> {
        match self {
            Row::Qos0 => vec!["qos0".into(), n.to_string()],
            Row::Qos1(w) => vec!["qos1".into(), n.to_string(), w.to_string()],
            Row::Rtt => vec!["rtt".into(), n.to_string()],
        }
    }

    fn label(self) -> String {
        match self {
            Row::Qos0 => "QoS 0 publish".into(),
            Row::Qos1(w) => format!("QoS 1 publish, window {w}"),
            Row::Rtt => "QoS 1 round trip".into(),
        }
    }

    /// Calibration count: a fraction of a second for either client.
    fn probe_count(self) -> u64 {
        match self {
            Row::Qos0 => 50_000,
            Row::Qos1(w) => 5_000 * u64::from(w).min(3),
            Row::Rtt => 3_000,
        }
    }
}

/// What one child run produced.
#[derive(Clone, Debug)]
struct Run {
    messages: u64,
    seconds: f64,
    p50_us: Option<f64>,
    p99_us: Option<f64>,
    /// limpet's loop: its sleeps, those with a deadline already due (a
    /// spin), and those the socket ended.
    sleeps: Option<f64>,
    zero_sleeps: Option<f64>,
    wakeups: Option<f64>,
    /// User + system CPU of the whole child process (wait4).
    cpu_s: f64,
    /// Its user part (the split is sampled at the scheduler tick).
    user_s: f64,
    /// The broker's CPU during the run (/proc/PID/stat, clock ticks).
    broker_cpu_s: Option<f64>,
    /// Wall time of the whole child process.
    wall_s: f64,
    /// CPU time of everything else on the machine during the child's life
    /// (/proc/stat user + nice + system, less the client and the broker),
    /// and the time the hypervisor stole.
    others_s: Option<f64>,
    steal_s: Option<f64>,
}

/// Other processes' CPU or stolen time, as a share of one core over a run,
/// above which the run is measured again.
const DISTURBED: f64 = 0.10;
/// Tries per measured run.
const TRIES: usize = 5;

impl Run {
    /// Other processes, or the hypervisor (steal), took CPU during the run.
    fn disturbed(&self) -> bool {
        let over = |x: Option<f64>| x.is_some_and(|x| x > DISTURBED * self.wall_s);
        over(self.others_s) || over(self.steal_s)
    }
    fn rate(&self) -> f64 {
        self.messages as f64 / self.seconds
    }
    fn cpu_us_per_msg(&self) -> f64 {
        self.cpu_s * 1e6 / self.messages as f64
    }
}

struct Bench {
    limpet: PathBuf,
    libmosquitto: PathBuf,
    broker: Broker,
    payload: usize,
}

impl Bench {
    fn binary(&self, who: Who) -> &Path {
        match who {
            Who::Limpet => &self.limpet,
            Who::Libmosquitto => &self.libmosquitto,
        }
    }

    /// Runs one client to completion (killed by PID after `timeout`).
    fn run(&self, who: Who, row: Row, n: u64, timeout: Duration) -> Result<Run, String> {
        if support::stop::requested() {
            return Err("interrupted".into());
        }
        let mut cmd = Command::new(self.binary(who));
        cmd.args(["-p", &self.broker.port().to_string()])
            .args(["-s", &self.payload.to_string()])
            .args(row.args(n));
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

// ------------------------------------------------------------------- set-up

fn find_bin(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// First line of a command's output (stdout, else stderr), if it ran.
fn first_line(cmd: &mut Command) -> Option<String> {
    let out = cmd.stdin(Stdio::null()).output().ok()?;
    let text = if out.stdout.is_empty() {
        out.stderr
    } else {
        out.stdout
    };
    String::from_utf8_lossy(&text)
        .lines()
        .next()
        .map(|l| l.trim().to_owned())
}

const SETUP_HINT: &str = "run `scripts/setup bench` (installs mosquitto and libmosquitto-dev)";

/// Builds both clients; returns their paths (limpet, libmosquitto).
fn build_clients() -> Result<(PathBuf, PathBuf), String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    // target/release/examples/bench_vs_libmosquitto
    let examples = exe.parent().ok_or("no examples dir")?.to_path_buf();
    let target = examples
        .parent()
        .and_then(Path::parent)
        .ok_or("no target dir")?
        .to_path_buf();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));

    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(&cargo)
        .current_dir(root)
        .args(["build", "--quiet", "--release", "--features", "std"])
        .args(["--example", "bench_client"])
        .status()
        .map_err(|e| format!("run cargo: {e}"))?;
    if !status.success() {
        return Err("cargo build --release --features std --example bench_client failed".into());
    }
    let limpet = examples.join("bench_client");

    let cc = find_bin("cc").ok_or_else(|| format!("no C compiler `cc` on PATH; {SETUP_HINT}"))?;
    let out_dir = target.join("bench-libmosquitto");
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("create {}: {e}", out_dir.display()))?;
    let libmosquitto = out_dir.join("mqtt_bench");
    let src = root.join("bench/libmosquitto/mqtt_bench.c");
    let out = Command::new(cc)
        .args(["-O2", "-Wall", "-Wextra", "-o"])
        .arg(&libmosquitto)
        .arg(&src)
        .arg("-lmosquitto")
        .output()
        .map_err(|e| format!("run cc: {e}"))?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr);
        let hint = if msg.contains("mosquitto.h") || msg.contains("lmosquitto") {
            format!("libmosquitto-dev looks missing; {SETUP_HINT}")
        } else {
            "the C client did not compile".into()
        };
        return Err(format!("cc {}: {hint}\n{msg}", src.display()));
    }
    Ok((limpet, libmosquitto))
}

// -------------------------------------------------------------------- run

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Rounds up to two significant digits (12_345 -> 13_000).
fn round_count(n: f64) -> u64 {
    let n = n.max(100.0);
    let scale = 10f64.powi(n.log10().floor() as i32 - 1);
    ((n / scale).ceil() * scale) as u64
}

/// A bound for one run expected to last `expected_s`.
fn run_timeout(expected_s: f64) -> Duration {
    Duration::from_secs_f64(30.0 + 10.0 * expected_s)
}

type RowRuns = BTreeMap<(Row, Who), Vec<Run>>;

/// `--repeats` runs of each client with `n` messages, alternating which goes
/// first; a run disturbed by other processes is measured again. Returns the
/// runs, how many disturbed ones were kept, and the shortest run's seconds.
fn measure_row(
    bench: &Bench,
    args: &Args,
    row: Row,
    n: u64,
    timeout: Duration,
) -> Result<(RowRuns, usize, f64), String> {
    let clients = [Who::Limpet, Who::Libmosquitto];
    let mut results = RowRuns::new();
    let mut kept_disturbed = 0;
    let mut shortest = f64::INFINITY;
    eprint!(
        "{:<26} {n:>9} messages x {} runs each:",
        row.label(),
        args.repeats
    );
    for r in 0..args.repeats {
        let order = if r % 2 == 0 {
            clients
        } else {
            [clients[1], clients[0]]
        };
        for who in order {
            eprint!(" {}", who.name());
            let mut run = bench.run(who, row, n, timeout)?;
            // Another process took CPU meanwhile: measure again.
            for _ in 1..TRIES {
                if !run.disturbed() {
                    break;
                }
                eprint!(" (disturbed, again)");
                run = bench.run(who, row, n, timeout)?;
            }
            if run.disturbed() {
                kept_disturbed += 1;
            }
            eprint!(" {:.2}s", run.seconds);
            shortest = shortest.min(run.seconds);
            results.entry((row, who)).or_default().push(run);
        }
    }
    eprintln!();
    Ok((results, kept_disturbed, shortest))
}

fn run(args: &Args) -> Result<(), String> {
    if cfg!(debug_assertions) {
        return Err("build the benchmark in release mode: \
                    cargo run --release --features std --example bench_vs_libmosquitto"
            .into());
    }
    let mosquitto = find_bin("mosquitto")
        .ok_or_else(|| format!("the mosquitto broker is not installed; {SETUP_HINT}"))?;
    let (limpet, libmosquitto) = build_clients()?;

    let cores = thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown", |(_, m)| m.trim())
        .to_owned();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let loadavg = || {
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    };
    let lib_version = first_line(Command::new(&libmosquitto).arg("version"))
        .and_then(|l| l.strip_prefix("libmosquitto=").map(str::to_owned))
        .unwrap_or_else(|| "unknown".into());
    let broker_version =
        first_line(Command::new(&mosquitto).arg("-h")).unwrap_or_else(|| "unknown".into());
    let rustc = first_line(Command::new("rustc").arg("--version")).unwrap_or_default();
    let cc = first_line(Command::new("cc").arg("--version")).unwrap_or_default();

    let load_before = loadavg();
    let bench = Bench {
        limpet,
        libmosquitto,
        broker: Broker::start(),
        payload: args.payload,
    };
    let mut text = String::new();
    let _ = writeln!(
        text,
        "limpet vs libmosquitto on loopback, one mosquitto broker"
    );
    let _ = writeln!(
        text,
        "machine       {cores} cores, {model}, Linux {}",
        kernel.trim()
    );
    let _ = writeln!(text, "libmosquitto  {lib_version} (C client: cc -O2, {cc})");
    let _ = writeln!(
        text,
        "limpet        {} ({rustc}, --release)",
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(
        text,
        "broker        {broker_version}, 127.0.0.1:{}",
        bench.broker.port()
    );
    let _ = writeln!(
        text,
        "clients       single-threaded, each its own process, TCP_NODELAY, MQTT 3.1.1, clean \
         session, topic bench/<pid, 7 digits>, payload {} bytes.\n\
         limpet        the README's superloop: poll() once per pass; when it returns None the \
         application publishes what it may, or sleeps until next_deadline() or until the socket \
         is readable (or writable, when wants_write()) (poll(2)).\n\
         libmosquitto  loop: publish what it may, then mosquitto_loop() (1 ms timeout) in the \
         same thread; no mosquitto_loop_start() thread.",
        args.payload
    );
    let _ = writeln!(
        text,
        "limpet        rx 1024 B, tx 1024 B, QoS 1 store 2048 B; window = in-flight capacity N"
    );
    let _ = writeln!(
        text,
        "libmosquitto  window = mosquitto_max_inflight_messages_set() and the application \
         keeps at most that many unacknowledged"
    );
    println!("{text}");

    let rows = [
        Row::Qos0,
        Row::Qos1(1),
        Row::Qos1(4),
        Row::Qos1(16),
        Row::Rtt,
    ];
    let clients = [Who::Limpet, Who::Libmosquitto];
    let mut results = RowRuns::new();
    let mut counts: BTreeMap<Row, u64> = BTreeMap::new();
    let mut short_rows = Vec::new();
    let mut disturbed: BTreeMap<Row, usize> = BTreeMap::new();
    for row in rows {
        // The message count and how long the slower client may take with it.
        let (mut n, mut expected_s) = match args.messages {
            Some(n) => (n, 60.0),
            None => {
                let mut rates = Vec::new();
                for who in clients {
                    let probe = bench.run(who, row, row.probe_count(), Duration::from_secs(60))?;
                    rates.push(probe.rate());
                }
                let fastest = rates.iter().copied().fold(0.0, f64::max);
                let slowest = rates.iter().copied().fold(f64::INFINITY, f64::min);
                let n = round_count(fastest * args.seconds);
                (n, n as f64 / slowest)
            }
        };
        // A calibrated count that gave a run under 1 s (the speed of a
        // ping-pong varies by 2-3x with where the scheduler puts the two
        // processes) is raised and the row measured again, twice at most.
        for attempt in 0.. {
            let timeout = run_timeout(expected_s);
            let (runs, kept_disturbed, shortest) = measure_row(&bench, args, row, n, timeout)?;
            if shortest >= 1.0 || args.messages.is_some() || attempt == 2 {
                counts.insert(row, n);
                results.extend(runs);
                if kept_disturbed > 0 {
                    disturbed.insert(row, kept_disturbed);
                }
                if shortest < 1.0 {
                    short_rows.push(format!("{} (shortest run {shortest:.2} s)", row.label()));
                }
                break;
            }
            let more = round_count(n as f64 * args.seconds.max(1.25) / shortest);
            expected_s *= more as f64 / n as f64;
            n = more;
            eprintln!("  a run lasted {shortest:.2} s: measuring again with {n} messages");
        }
    }
    // Start-up, connection and exit, which the CPU figures include.
    let mut baseline = BTreeMap::new();
    for who in clients {
        let cpu: Vec<f64> = (0..3)
            .map(|_| bench.run(who, Row::Qos1(1), 1, Duration::from_secs(30)))
            .collect::<Result<Vec<_>, _>>()?
            .iter()
            .map(|r| r.cpu_s)
            .collect();
        baseline.insert(who, median(cpu));
    }
    let load_after = loadavg();

    println!("{}", table(&results, &counts, args.repeats));
    println!(
        "CPU per message = (user + system time of the client process, from wait4) / messages;\n\
         it includes start-up, connection and exit: a 1-message run costs {:.2} ms (limpet) and \
         {:.2} ms (libmosquitto).",
        baseline[&Who::Limpet] * 1e3,
        baseline[&Who::Libmosquitto] * 1e3
    );
    println!(
        "Rates: messages / seconds from the first publish to the last PUBACK (QoS 0: to the \
         PUBACK of one QoS 1 message published after the N, which the broker reads after them)."
    );
    println!("Round trip: publish QoS 1 to the client's own subscription (QoS 1) until the message is back; one at a time.");
    println!(
        "User space %: the client's user time / its user + system time (wait4; the kernel splits \
         the two by sampling at its tick). Broker CPU %: mosquitto's CPU time / the measured \
         seconds (from /proc, 10 ms ticks); \
         near 100 the broker is the limit. Other processes and steal: /proc/stat over each \
         child's life; high values mean the figures were disturbed."
    );
    println!("load average  before {load_before}, after {load_after}");
    println!(
        "A run during which other processes used, or the hypervisor stole, more than {:.0} % of \
         a core is measured again (up to {TRIES} times).",
        DISTURBED * 100.0
    );
    if !disturbed.is_empty() {
        let rows: Vec<String> = disturbed
            .iter()
            .map(|(row, k)| format!("{} ({k})", row.label()))
            .collect();
        println!(
            "note: disturbed runs kept after {TRIES} tries: {}",
            rows.join(", ")
        );
    }
    if !short_rows.is_empty() {
        println!(
            "note: some runs lasted under 1 s, raise --seconds: {}",
            short_rows.join(", ")
        );
    }
    Ok(())
}

struct Figure {
    name: String,
    unit: &'static str,
    /// Per run.
    get: fn(&Run) -> Option<f64>,
    /// The target on limpet/libmosquitto and whether higher is better.
    higher_is_better: bool,
    target: f64,
}

fn table(
    results: &BTreeMap<(Row, Who), Vec<Run>>,
    counts: &BTreeMap<Row, u64>,
    repeats: usize,
) -> String {
    let mut figures: Vec<(Row, Figure)> = Vec::new();
    for (&row, _) in counts.iter() {
        match row {
            Row::Rtt => {
                figures.push((
                    row,
                    Figure {
                        name: "round trip p50".into(),
                        unit: "us",
                        get: |r| r.p50_us,
                        higher_is_better: false,
                        target: 1.0,
                    },
                ));
                figures.push((
                    row,
                    Figure {
                        name: "round trip p99".into(),
                        unit: "us",
                        get: |r| r.p99_us,
                        higher_is_better: false,
                        target: 1.0,
                    },
                ));
            }
            _ => figures.push((
                row,
                Figure {
                    name: format!("{} rate", row.label()),
                    unit: "msg/s",
                    get: |r| Some(r.rate()),
                    higher_is_better: true,
                    target: 1.0,
                },
            )),
        }
    }
    for (&row, _) in counts.iter() {
        figures.push((
            row,
            Figure {
                name: format!("CPU per message, {}", row.label()),
                unit: "us",
                get: |r| Some(r.cpu_us_per_msg()),
                higher_is_better: false,
                target: 0.5,
            },
        ));
    }

    let mut t = String::new();
    let _ = writeln!(
        t,
        "median of {repeats} runs per client (min-max in brackets); ratio = limpet / libmosquitto"
    );
    let _ = writeln!(
        t,
        "{:<46} {:>9} {:>24} {:>24} {:>7}  target",
        "figure", "messages", "limpet", "libmosquitto", "ratio"
    );
    let fmt = |v: &[f64]| -> String {
        let med = median(v.to_vec());
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let p = |x: f64| {
            if x >= 1000.0 {
                format!("{x:.0}")
            } else if x >= 10.0 {
                format!("{x:.1}")
            } else {
                format!("{x:.3}")
            }
        };
        format!("{} ({}-{})", p(med), p(lo), p(hi))
    };
    for (row, f) in &figures {
        let vals = |who| -> Vec<f64> {
            results
                .get(&(*row, who))
                .map(|runs| runs.iter().filter_map(f.get).collect())
                .unwrap_or_default()
        };
        let (l, m) = (vals(Who::Limpet), vals(Who::Libmosquitto));
        let ratio = median(l.clone()) / median(m.clone());
        let ok = if f.higher_is_better {
            ratio >= f.target
        } else {
            ratio <= f.target
        };
        let _ = writeln!(
            t,
            "{:<46} {:>9} {:>24} {:>24} {:>7.3}  {}{:.1} {}",
            format!("{} ({})", f.name, f.unit),
            counts[row],
            fmt(&l),
            fmt(&m),
            ratio,
            if f.higher_is_better { ">=" } else { "<=" },
            f.target,
            if ok { "met" } else { "MISSED" }
        );
    }
    let _ = writeln!(
        t,
        "\nlimpet's loop per 100,000 messages (median): sleeps | zero-length sleeps (a deadline \
         already due: a spin) | wake-ups by the socket"
    );
    for &row in counts.keys() {
        let runs = results
            .get(&(row, Who::Limpet))
            .map_or(&[][..], Vec::as_slice);
        let per = |f: fn(&Run) -> Option<f64>| -> String {
            let v: Vec<f64> = runs
                .iter()
                .filter_map(|r| f(r).map(|x| x * 1e5 / r.messages as f64))
                .collect();
            if v.is_empty() {
                "-".into()
            } else {
                format!("{:.0}", median(v))
            }
        };
        let _ = writeln!(
            t,
            "{:<46} {:>9} {:>24}",
            row.label(),
            "",
            format!(
                "{} | {} | {}",
                per(|r| r.sleeps),
                per(|r| r.zero_sleeps),
                per(|r| r.wakeups)
            )
        );
    }
    let _ = writeln!(
        t,
        "\nduring the measured runs (median): client CPU in user space % | broker CPU % | \
         other processes, % of one core | steal %"
    );
    for &row in counts.keys() {
        let cell = |who| -> String {
            let runs = results.get(&(row, who)).map_or(&[][..], Vec::as_slice);
            let pct = |f: fn(&Run) -> Option<f64>, wall: fn(&Run) -> f64| -> String {
                let v: Vec<f64> = runs
                    .iter()
                    .filter_map(|r| f(r).map(|x| 100.0 * x / wall(r)))
                    .collect();
                if v.is_empty() {
                    "-".into()
                } else {
                    format!("{:.0}", median(v))
                }
            };
            format!(
                "{} | {} | {} | {}",
                pct(|r| Some(r.user_s), |r| r.cpu_s),
                pct(|r| r.broker_cpu_s, |r| r.seconds),
                pct(|r| r.others_s, |r| r.wall_s),
                pct(|r| r.steal_s, |r| r.wall_s)
            )
        };
        let _ = writeln!(
            t,
            "{:<46} {:>9} {:>24} {:>24}",
            row.label(),
            "",
            cell(Who::Limpet),
            cell(Who::Libmosquitto)
        );
    }
    t
}
