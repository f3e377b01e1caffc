//! Figures for QoS 1 through back-to-back broker outages, against a real
//! mosquitto: `cycles` SIGKILL/restart cycles (700 ms up, 300 ms down), a
//! QoS 1 publish every 100 ms, an independent mosquitto_sub counting what
//! the broker delivered; and how long the client takes to come back once
//! the broker is reachable again, under three reconnection policies:
//!
//! - the defaults: 250 ms to 8 s, decorrelated jitter, the backoff starting
//!   over only after a connection stayed up 10 s (`Options::stable_after`);
//! - the defaults, told when the network is back (`Client::network_up`, as a
//!   WLAN controller's up event does);
//! - the old policy's shape for comparison: 500 ms to 30 s, starting over on
//!   every accepted CONNACK.
//!
//! `cargo run --release --features std --example bench_outages [cycles]`
//!
//! The recovery time runs from the moment the broker is reachable again to
//! the client's `Up`. Each outage here is back to back with the previous
//! one (connections of 700 ms never prove themselves), which is the case
//! where a growing backoff costs recovery time.
//!
//! Ctrl-C (or SIGTERM, SIGHUP) stops it after the current cycle with exit
//! status 130, its broker and observer stopped by PID.

#[path = "../tests/support/mod.rs"]
mod support;

use limpet::client::{Backoff, Options};
use limpet::time::Duration as Ms;
use std::process::ExitCode;
use std::time::Duration;
use support::outages::{run, Plan, Report};

fn percentile(sorted: &[u64], p: usize) -> u64 {
    sorted
        .get((sorted.len() * p / 100).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or(0)
}

fn report(name: &str, r: &Report) {
    let mut ms = r.reconnect_ms.clone();
    ms.sort_unstable();
    println!(
        "{name:<44} {:>5} {:>5} {:>5} {:>7} {:>7} {:>7}   {:?}",
        r.published,
        r.lost.len(),
        r.duplicates,
        percentile(&ms, 50),
        percentile(&ms, 90),
        ms.last().copied().unwrap_or(0),
        ms
    );
}

fn main() -> ExitCode {
    support::stop::on_signals();
    let cycles = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let plan = |options, network_hint| Plan {
        cycles,
        period: Duration::from_millis(100),
        up_for: Duration::from_millis(700),
        down_for: Duration::from_millis(300),
        options,
        network_hint,
    };
    let old = Options {
        backoff: Backoff::new(Ms::from_ticks(500), Ms::from_ticks(30_000), 1),
        stable_after: Ms::from_ticks(0),
        ..Options::default()
    };
    let runs = [
        (
            "defaults (250 ms-8 s, reset after 10 s up)",
            plan(Options::default(), false),
        ),
        (
            "defaults, told the network is back",
            plan(Options::default(), true),
        ),
        (
            "old shape (500 ms-30 s, reset on CONNACK)",
            plan(old, false),
        ),
    ];
    println!("{cycles} broker SIGKILL/restart cycles, a QoS 1 publish every 100 ms");
    println!(
        "{:<44} {:>5} {:>5} {:>5} {:>7} {:>7} {:>7}   recovery after the broker is back (ms, sorted)",
        "policy", "sent", "lost", "dups", "p50 ms", "p90 ms", "max ms"
    );
    let mut lost = false;
    for (name, plan) in runs {
        let r = run(&plan);
        if support::stop::requested() {
            eprintln!("bench_outages: interrupted");
            return ExitCode::from(130);
        }
        report(name, &r);
        lost |= !r.lost.is_empty();
    }
    if lost {
        eprintln!("QoS 1 messages were LOST");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
