//! The bridge's figures end to end (host → wires → co-processor firmware →
//! mosquitto and back), on the sim board:
//!
//!     cargo run --release -p limpet-sim --example bench_bridge [--soak N]
//!
//! 1. Publish latency: one QoS 1 publish at a time, from `Host::publish`
//!    to its `Done` (the broker's PUBACK relayed back), in superloop
//!    passes (8 link turns each) and in simulated milliseconds.
//! 2. RAM of each role with 255-byte frame payloads (`size_of`).
//! 3. The soak: N (default 10,000) QoS 1 messages each way through 50
//!    co-processor crashes and a 1e-4 bit error rate on the data lines,
//!    with an independent `mosquitto_sub` and `mosquitto_pub`: 0 lost.
//!    The board runs 5 times faster than real time (the WLAN stability
//!    window after each reboot is 5 simulated seconds).

use std::panic::{catch_unwind, resume_unwind};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant as RealInstant;

use limpet::bridge::frame::Framer;
use limpet::wire::QoS;
use limpet_sim::bridge::{
    both_ways, CoprocRole, HostRole, Rig, SimLink, FRAME, INFLIGHT, SUBSCRIPTIONS, UP, WINDOW,
};

/// Set by Ctrl-C (SIGINT), SIGTERM or SIGHUP.
static STOP: AtomicBool = AtomicBool::new(false);

fn stopped() -> bool {
    STOP.load(Ordering::Relaxed)
}

/// The unwinding payload of a stop in the soak, whose loop is the
/// library's (`both_ways`): the rig's `Drop` and the observer's stop the
/// broker and `mosquitto_sub` by PID on the way out to `main` (the
/// broker's `Drop` prints its log while unwinding).
struct Interrupted;

fn percentile(sorted: &[u64], p: f64) -> u64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn latency() {
    let mut rig = Rig::new(10_000, 1);
    assert!(rig.run_until(std::time::Duration::from_secs(60), |r| {
        r.subscribed || stopped()
    }));
    let (mut passes, mut millis) = (Vec::new(), Vec::new());
    for i in 0..200u32 {
        let id = rig
            .host
            .publish(UP, i.to_string().as_bytes(), QoS::AtLeastOnce, false)
            .unwrap();
        let start = rig.board.now();
        let mut n = 0u64;
        while !rig.done.contains(&id) {
            if stopped() {
                return; // the rig's Drop stops its broker
            }
            rig.pass();
            n += 1;
        }
        let ms = rig
            .board
            .now()
            .checked_duration_since(start)
            .unwrap()
            .ticks();
        passes.push(n);
        millis.push(u64::from(ms));
    }
    passes.sort_unstable();
    millis.sort_unstable();
    println!("publish latency, host publish -> broker PUBACK -> host Done (n = 200):");
    for (name, v) in [("passes", &passes), ("simulated ms", &millis)] {
        println!(
            "  {name}: p50 {} p90 {} max {}",
            percentile(v, 0.5),
            percentile(v, 0.9),
            v[v.len() - 1]
        );
    }
}

fn ram() {
    println!(
        "RAM, frames of {FRAME}-byte payloads, window {WINDOW} (size_of on this host, 64-bit):"
    );
    println!(
        "  Framer: {} B",
        std::mem::size_of::<Framer<FRAME, WINDOW>>()
    );
    println!("  Link engine: {} B", std::mem::size_of::<SimLink>());
    println!(
        "  host role (Host, 8 publishes kept, 8 subscriptions): {} B",
        std::mem::size_of::<HostRole<'static>>()
    );
    println!(
        "  co-processor role (Coproc): {} B",
        std::mem::size_of::<CoprocRole<'static>>()
    );
    println!(
        "  co-processor machines (WLAN, stack, client structs; buffers apart): {} B (client {} B)",
        std::mem::size_of::<limpet::Device<'static, INFLIGHT, SUBSCRIPTIONS>>(),
        std::mem::size_of::<limpet::Client<'static, INFLIGHT, SUBSCRIPTIONS>>()
    );
}

fn soak(count: u32) {
    let mut rig = Rig::new(10_000, 5);
    rig.board.wires.set_bit_error_rate(1e-4, 11);
    let mut crashes = 0u32;
    let start = RealInstant::now();
    let step = (2 * count as usize) / 51;
    both_ways(&mut rig, count, |rig, pass| {
        if stopped() {
            resume_unwind(Box::new(Interrupted));
        }
        let progress = rig.done.len() + rig.received.len();
        if crashes < 50 && progress >= step * (crashes as usize + 1) && pass % 7 == 3 {
            crashes += 1;
            rig.board.crash();
        }
    });
    let (flips, bits) = rig.board.wires.flips();
    println!(
        "soak: {count} each way, {crashes} co-processor crashes, {flips} bit flips in {bits} data bits: 0 lost ({:.0} s real)",
        start.elapsed().as_secs_f64()
    );
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut count = 10_000;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--soak" => count = args.next().and_then(|n| n.parse().ok()).expect("--soak N"),
            other => panic!("unknown argument {other}"),
        }
    }
    let _ = ctrlc::set_handler(|| STOP.store(true, Ordering::Relaxed));
    let run = catch_unwind(|| {
        ram();
        latency();
        if !stopped() {
            soak(count);
        }
    });
    match run {
        Ok(()) if !stopped() => ExitCode::SUCCESS,
        Ok(()) => interrupted(),
        Err(p) if p.is::<Interrupted>() => interrupted(),
        Err(p) => resume_unwind(p),
    }
}

fn interrupted() -> ExitCode {
    eprintln!("bench_bridge: interrupted");
    ExitCode::from(130)
}
