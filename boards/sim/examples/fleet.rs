//! Fleet benchmark: N whole simulated devices (radio, WLAN, smoltcp, MQTT)
//! in one process against one real mosquitto, each publishing QoS 1 once a
//! second for 60 s of simulated time (the Open MQTT Benchmark's p2p-1K
//! shape), counted by an independent `mosquitto_sub`.
//!
//! ```text
//! cargo run --release -p limpet-sim --example fleet [-- DEVICES [SECONDS]]
//! ```
//!
//! Defaults: 1000 devices, 60 s. Prints the bring-up time, the wall time
//! and CPU of the publishing phase (this process, and mosquitto's), lost
//! and duplicate messages, and host memory per device (resident set growth
//! over the process before the devices existed, divided by N: device state
//! and buffers, its link, its gateway and the proxy's socket). Exits 1 if
//! any message was lost. Ctrl-C (or SIGTERM, SIGHUP) stops it early with
//! exit status 130, its broker and observer stopped by PID.

use std::net::Ipv4Addr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use limpet::wire::QoS;
use limpet_sim::broker::{Broker, Sub};
use limpet_sim::device::DeviceSpec;
use limpet_sim::gateway::{GatewayConfig, NetworkConfig};
use limpet_sim::link::LinkConfig;
use limpet_sim::world::{World, WorldConfig};

const SSID: &str = "fleet";
const PASSWORD: &[u8] = b"fleet password";

/// Set by Ctrl-C: every wait below ends, and `main` returns (not
/// `std::process::exit`), so `Drop` stops the broker and the observer.
static STOP: AtomicBool = AtomicBool::new(false);

fn stopped() -> bool {
    STOP.load(Ordering::Relaxed)
}

fn main() -> ExitCode {
    let _ = ctrlc::set_handler(|| STOP.store(true, Ordering::Relaxed));
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let seconds: i64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(60);
    raise_fd_limit(4 * n as u64 + 256);

    let broker = Broker::start();
    let sub = Sub::builder(broker.port(), "fleet/#").qos(1).start();
    assert!(
        sub.wait_ready(Duration::from_secs(10)),
        "observer not ready"
    );
    let rss_before = rss_kib();

    let mut w = World::new(WorldConfig {
        origin: u32::MAX - 30_000,
        network: NetworkConfig {
            prefix_len: 16,
            pool_start: Ipv4Addr::new(10, 0, 1, 1),
            pool_size: 4 * n as u32,
            ..NetworkConfig::default()
        },
        rounds: 2,
        ..WorldConfig::default()
    });
    w.air.add_ap(SSID, PASSWORD, 0.0);
    w.serve("broker.sim", Ipv4Addr::new(10, 0, 0, 2), &broker);
    let gateway = GatewayConfig {
        tcp_buffer: 2048,
        listeners_per_port: 1,
        ..GatewayConfig::default()
    };
    for i in 0..n {
        let mut spec = DeviceSpec::new(&format!("fleet-{i}"), SSID, PASSWORD, i as u64 + 1);
        spec.quick = true;
        spec.tcp_buffer = 1024;
        spec.position = 2.0 + (i % 20) as f32;
        w.add(spec, LinkConfig::ethernet(i as u64), gateway.clone())
            .expect("device");
    }
    let rss_fleet = rss_kib();

    let t0 = Instant::now();
    let all_up = w.run_until(120_000, |w| {
        stopped() || w.nodes.iter().all(|n| !n.device.journal.ups.is_empty())
    });
    if stopped() {
        return interrupted();
    }
    assert!(all_up, "not every device came up within 120 s simulated");
    let bring_up = t0.elapsed();
    let up_ms = w.ms();

    // Publishing: device i publishes its k-th number at up + k s + i ms.
    let cpu0 = cpu_seconds(std::process::id());
    let broker_cpu0 = broker.pid().map(cpu_seconds).unwrap_or(0.0);
    let t1 = Instant::now();
    let end = up_ms + seconds * 1000;
    let mut next = vec![0u32; n];
    let mut refused = 0u64;
    w.run_until(seconds * 1000 + 1, |w| {
        let now = w.ms();
        for (i, k) in next.iter_mut().enumerate() {
            let due = up_ms + i64::from(*k) * 1000 + (i as i64 % 1000);
            if i64::from(*k) < seconds && now >= due && now < end + 1000 {
                let topic = format!("fleet/{i}");
                if w.device(i)
                    .publish(&topic, k.to_string().as_bytes(), QoS::AtLeastOnce)
                {
                    *k += 1;
                } else {
                    refused += 1;
                }
            }
        }
        stopped()
    });
    let want = seconds as u64 * n as u64;
    let drained = w.run_until(60_000, |w| {
        stopped()
            || w.nodes
                .iter()
                .map(|n| n.device.journal.published)
                .sum::<u64>()
                >= want
    });
    let wall = t1.elapsed();
    let cpu = cpu_seconds(std::process::id()) - cpu0;
    let broker_cpu = broker.pid().map(cpu_seconds).unwrap_or(0.0) - broker_cpu0;
    let rss_end = rss_kib();

    // The observer's count.
    let deadline = Instant::now() + Duration::from_secs(30);
    while (sub.len() as u64) < want && Instant::now() < deadline && !stopped() {
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut seen = std::collections::HashMap::new();
    for line in sub.lines() {
        *seen.entry(line).or_insert(0u32) += 1;
    }
    let mut lost = 0u64;
    for (i, &k) in next.iter().enumerate() {
        for j in 0..k {
            if !seen.contains_key(&format!("fleet/{i} {j}")) {
                lost += 1;
            }
        }
    }
    if stopped() {
        return interrupted();
    }
    let produced: u64 = next.iter().map(|&k| u64::from(k)).sum();
    let duplicates: u64 = seen.values().map(|&c| u64::from(c - 1)).sum();
    let per_device = (rss_end.saturating_sub(rss_before)) as f64 / n as f64;
    println!("fleet: {n} devices, one mosquitto, QoS 1 once a second for {seconds} s simulated");
    println!(
        "  bring-up (radio, WLAN, DHCP, DNS, TCP, CONNACK): {:.2} s wall, {:.1} s simulated",
        bring_up.as_secs_f64(),
        up_ms as f64 / 1000.0
    );
    println!(
        "  publishing: {produced} produced of {want}, acknowledged: {}, lost {lost}, duplicates {duplicates}, refused (table full) {refused}",
        if drained { "all" } else { "NOT all" }
    );
    println!(
        "  wall {:.2} s for {} s simulated; CPU: this process {:.2} s, mosquitto {:.2} s",
        wall.as_secs_f64(),
        seconds,
        cpu,
        broker_cpu
    );
    println!(
        "  host memory: {:.1} KiB per device (resident set: {} KiB before, {} KiB with the fleet built, {} KiB at the end)",
        per_device, rss_before, rss_fleet, rss_end
    );
    // Returned, not `std::process::exit`: the broker and the observer are
    // stopped by their `Drop`.
    if lost > 0 || !drained || produced < want {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn interrupted() -> ExitCode {
    eprintln!("fleet: interrupted");
    ExitCode::from(130)
}

/// Raises the soft open-files limit towards `want` (each device's proxied
/// connection is a real socket).
fn raise_fd_limit(want: u64) {
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < want {
            lim.rlim_cur = want.min(lim.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// Resident set size of this process, KiB (from /proc).
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// User + system CPU seconds of a process (from /proc/PID/stat).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 (1-based): 11 and 12 after the state.
    let hz = 100.0; // USER_HZ on Linux
    (ticks(11) + ticks(12)) / hz
}
