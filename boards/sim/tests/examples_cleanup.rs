//! The examples that start a broker stop it: after `examples/demo.rs` (and
//! the bridge examples and the fleet benchmark) end — by `--seconds`, by
//! their exit status, or by Ctrl-C — no process they started is left and
//! their private broker folder is gone (the demo used to end with
//! `std::process::exit`, which skipped the `Drop` that does both).
//!
//! Each example runs as its own binary (`target/<profile>/examples/NAME`,
//! built first by cargo, as `scripts/demo` builds it). The processes it started are
//! identified precisely, never by name: its children and grandchildren seen
//! (PID and start time) while it ran, and any process whose command line
//! names its private broker folder (`$TMPDIR/limpet-mosquitto-<its PID>-N`,
//! see tools/testbroker), so a broker restarted by an outage counts too.
//! Other brokers on the machine are neither counted nor touched; the
//! leftovers found (only ours) are killed by PID before the test fails.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// Upper bound for one example run (they take 1–6 s here).
const RUN_LIMIT: Duration = Duration::from_secs(120);
/// How long a process it left may take to go (a broker exiting on SIGTERM).
const SETTLE: Duration = Duration::from_secs(2);

/// An example binary, built (or found up to date) by cargo in this test's
/// target dir and profile: `cargo test --test examples_cleanup` alone does
/// not build the examples, and a binary left by an earlier build may be
/// stale.
fn example(name: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<BTreeMap<String, PathBuf>>> = OnceLock::new();
    let mut built = BUILT.get_or_init(Default::default).lock().unwrap();
    if let Some(path) = built.get(name) {
        return path.clone();
    }
    // target/<profile>/deps/examples_cleanup-HASH -> target/<profile>/examples/NAME
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    let target_dir = profile_dir.parent().expect("target/");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .args(["build", "--quiet", "-p", "limpet-sim", "--example", name])
        .arg("--target-dir")
        .arg(target_dir)
        .stdin(Stdio::null());
    if profile_dir.file_name().is_some_and(|p| p == "release") {
        build.arg("--release");
    }
    let status = build.status().expect("run cargo");
    assert!(status.success(), "cargo build --example {name}: {status}");
    let path = profile_dir.join("examples").join(name);
    assert!(path.is_file(), "{} is not there", path.display());
    built.insert(name.to_owned(), path.clone());
    path
}

/// A process as /proc/PID/stat tells it: parent, state, start time, name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Proc {
    pid: u32,
    ppid: u32,
    state: char,
    start: u64,
    comm: String,
}

fn stat(pid: u32) -> Option<Proc> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (head, rest) = text.rsplit_once(')')?;
    let comm = head.split_once('(')?.1.to_owned();
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state(3) ppid(4) ... starttime(22).
    Some(Proc {
        pid,
        ppid: f.get(1)?.parse().ok()?,
        state: f.first()?.chars().next()?,
        start: f.get(19)?.parse().ok()?,
        comm,
    })
}

fn all_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

fn cmdline(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default()
}

/// The prefix of the private broker folders a process with PID `pid` creates.
fn folder_prefix(pid: u32) -> String {
    format!("limpet-mosquitto-{pid}-")
}

/// The example's private broker folders that still exist.
fn folders_of(pid: u32) -> Vec<PathBuf> {
    let prefix = folder_prefix(pid);
    std::fs::read_dir(std::env::temp_dir())
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

/// A running example, its descendants recorded as they appear.
struct Run {
    child: Child,
    pid: u32,
    out: Arc<Mutex<String>>,
    err: Arc<Mutex<String>>,
    seen: BTreeSet<(u32, u64, String)>,
}

impl Run {
    fn start(name: &str, args: &[&str]) -> Run {
        let mut child = Command::new(example(name))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn example {name}: {e}"));
        let collect = |mut r: Box<dyn Read + Send>| {
            let buf = Arc::new(Mutex::new(String::new()));
            let b = buf.clone();
            thread::spawn(move || {
                let mut chunk = [0u8; 4096];
                while let Ok(n @ 1..) = r.read(&mut chunk) {
                    b.lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&chunk[..n]));
                }
            });
            buf
        };
        let out = collect(Box::new(child.stdout.take().expect("piped stdout")));
        let err = collect(Box::new(child.stderr.take().expect("piped stderr")));
        let pid = child.id();
        Run {
            child,
            pid,
            out,
            err,
            seen: BTreeSet::new(),
        }
    }

    /// Records the example's descendants alive now.
    fn record(&mut self) {
        let procs: Vec<Proc> = all_pids().into_iter().filter_map(stat).collect();
        let mut ours = BTreeSet::from([self.pid]);
        loop {
            let before = ours.len();
            for p in &procs {
                if ours.contains(&p.ppid) {
                    ours.insert(p.pid);
                }
            }
            if ours.len() == before {
                break;
            }
        }
        for p in procs {
            if p.pid != self.pid && ours.contains(&p.pid) {
                self.seen.insert((p.pid, p.start, p.comm));
            }
        }
    }

    /// The example's stderr and the last lines of its stdout (one per
    /// status line).
    fn output(&self) -> String {
        let out = self.out.lock().unwrap().replace('\r', "\n");
        let lines: Vec<&str> = out.lines().filter(|l| !l.trim().is_empty()).collect();
        format!(
            "--- stdout (last lines) ---\n{}\n--- stderr ---\n{}",
            lines[lines.len().saturating_sub(8)..].join("\n"),
            self.err.lock().unwrap()
        )
    }

    /// Waits (recording descendants) until stdout contains `text`.
    fn wait_for(&mut self, text: &str) {
        let deadline = Instant::now() + RUN_LIMIT;
        while !self.out.lock().unwrap().contains(text) {
            self.record();
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!("exited ({st}) before printing {text:?}\n{}", self.output());
            }
            if Instant::now() >= deadline {
                self.kill_all();
                panic!(
                    "{text:?} not printed within {RUN_LIMIT:?}\n{}",
                    self.output()
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits (recording descendants) until the example has started a
    /// process named `comm` (a broker, an observer).
    fn wait_for_child(&mut self, comm: &str) {
        let deadline = Instant::now() + RUN_LIMIT;
        while !self.seen.iter().any(|(_, _, c)| c == comm) {
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!("exited ({st}) before starting {comm}\n{}", self.output());
            }
            if Instant::now() >= deadline {
                self.kill_all();
                panic!("no {comm} started within {RUN_LIMIT:?}\n{}", self.output());
            }
            thread::sleep(Duration::from_millis(5));
            self.record();
        }
    }

    /// Ctrl-C, as a terminal sends it, to the example alone (not its group:
    /// its broker must be stopped by the example, not by the signal).
    fn interrupt(&mut self) {
        self.record();
        // SAFETY: kill(2) on our own child, not yet reaped (its PID is its own).
        let r = unsafe { libc::kill(self.pid as libc::pid_t, libc::SIGINT) };
        assert_eq!(r, 0, "kill -INT {}", self.pid);
    }

    /// Waits for the example to end; its status.
    fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + RUN_LIMIT;
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st;
            }
            self.record();
            if Instant::now() >= deadline {
                self.kill_all();
                panic!("did not end within {RUN_LIMIT:?}\n{}", self.output());
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The processes the example started that are still running (zombies
    /// are not running), by the PIDs seen and by its private folder.
    fn leftovers(&self) -> Vec<Proc> {
        let mut left = BTreeSet::new();
        for (pid, start, _) in &self.seen {
            if let Some(p) = stat(*pid).filter(|p| p.start == *start && p.state != 'Z') {
                left.insert(p);
            }
        }
        let folder = std::env::temp_dir().join(folder_prefix(self.pid));
        let folder = folder.to_string_lossy();
        for pid in all_pids() {
            if cmdline(pid).contains(&*folder) {
                if let Some(p) = stat(pid).filter(|p| p.state != 'Z') {
                    left.insert(p);
                }
            }
        }
        left.into_iter().collect()
    }

    /// Kills, by PID, the example and what it left (only its own), and
    /// removes its folders: a failing run cleans up after itself.
    fn kill_all(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for p in self.leftovers() {
            // SAFETY: kill(2); p was identified as started by the example.
            unsafe { libc::kill(p.pid as libc::pid_t, libc::SIGKILL) };
        }
        for f in folders_of(self.pid) {
            let _ = std::fs::remove_dir_all(f);
        }
    }

    /// Asserts that nothing the example started is left: no process, no
    /// private broker folder.
    fn assert_clean(&mut self) {
        assert!(
            !self.seen.is_empty(),
            "no process of the example was seen (its broker?)\n{}",
            self.output()
        );
        let deadline = Instant::now() + SETTLE;
        let (mut left, mut folders) = (self.leftovers(), folders_of(self.pid));
        while (!left.is_empty() || !folders.is_empty()) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(50));
            (left, folders) = (self.leftovers(), folders_of(self.pid));
        }
        if !left.is_empty() || !folders.is_empty() {
            let procs: Vec<String> = left
                .iter()
                .map(|p| format!("{} ({}) `{}`", p.pid, p.comm, cmdline(p.pid).trim_end()))
                .collect();
            self.kill_all();
            panic!(
                "the example (pid {}) ended but left processes [{}] and folders {folders:?} \
                 (now killed and removed by the test)\n{}",
                self.pid,
                procs.join(", "),
                self.output()
            );
        }
    }
}

#[test]
fn demo_stops_its_broker_when_its_seconds_are_up() {
    let mut run = Run::start(
        "demo",
        &["--seconds", "30", "--speed", "10", "--no-outages"],
    );
    let st = run.wait();
    run.assert_clean();
    assert_eq!(
        st.code(),
        Some(0),
        "the device came up: exit 0\n{}",
        run.output()
    );
}

#[test]
fn demo_keeps_its_exit_status_and_stops_its_broker_when_it_never_came_up() {
    // 1 s simulated: too short for the WLAN's stability window.
    let mut run = Run::start("demo", &["--seconds", "1", "--speed", "10", "--no-outages"]);
    let st = run.wait();
    run.assert_clean();
    assert_eq!(st.code(), Some(1), "never up: exit 1\n{}", run.output());
}

#[test]
fn demo_stops_its_restarted_broker_on_ctrl_c() {
    // The second outage (at 80 s simulated) kills the broker for 5 s; once
    // it is over ("BrokerKilled 5 s, ...") the broker runs under a new PID.
    let mut run = Run::start("demo", &["--speed", "20"]);
    run.wait_for("limpet demo: broker");
    run.wait_for("(last: BrokerKilled 5 s");
    run.interrupt();
    let st = run.wait();
    run.assert_clean();
    assert!(
        st.code().is_some(),
        "Ctrl-C ends the demo by its own exit, not the signal: {st}\n{}",
        run.output()
    );
}

#[test]
fn demo_stops_its_broker_on_ctrl_c_at_once() {
    let mut run = Run::start("demo", &["--speed", "10"]);
    run.wait_for("limpet demo: broker");
    run.interrupt();
    let st = run.wait();
    run.assert_clean();
    assert!(st.code().is_some(), "{st}\n{}", run.output());
}

#[test]
fn bridge_host_stops_its_broker_on_ctrl_c() {
    let mut run = Run::start("bridge_host", &[]);
    run.wait_for("bridge host: broker");
    run.interrupt();
    let st = run.wait();
    run.assert_clean();
    assert_eq!(st.code(), Some(0), "{st}\n{}", run.output());
}

#[test]
fn bridge_coproc_stops_its_broker_on_ctrl_c() {
    let mut run = Run::start("bridge_coproc", &[]);
    run.wait_for("bridge co-processor: broker");
    run.interrupt();
    let st = run.wait();
    run.assert_clean();
    assert_eq!(st.code(), Some(0), "{st}\n{}", run.output());
}

#[test]
fn fleet_stops_its_broker_and_observer_at_its_end() {
    // 2 devices, 2 s simulated: a fraction of a second.
    let mut run = Run::start("fleet", &["2", "2"]);
    let st = run.wait();
    run.assert_clean();
    assert_eq!(st.code(), Some(0), "nothing lost: exit 0\n{}", run.output());
}

#[test]
fn fleet_stops_its_broker_and_observer_on_ctrl_c() {
    // An hour simulated: it is still running when interrupted.
    let mut run = Run::start("fleet", &["2", "3600"]);
    run.wait_for_child("mosquitto_sub");
    run.interrupt();
    let st = run.wait();
    run.assert_clean();
    assert_eq!(
        st.code(),
        Some(130),
        "interrupted: exit 130\n{}",
        run.output()
    );
}
