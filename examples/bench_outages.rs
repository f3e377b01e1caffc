//! Figures for QoS 1 through broker outages, against a real mosquitto:
//! 20 SIGKILL/restart cycles, a QoS 1 publish every 100 ms, an independent
//! mosquitto_sub counting what the broker delivered.
//!
//! `cargo run --release --features std --example bench_outages [cycles]`
//!
//! Uses the library's default reconnection backoff (500 ms doubling to 30 s,
//! equal jitter). The reconnect time is measured from the moment the broker
//! is reachable again to the client's `Up` event.

#[path = "../tests/support/mod.rs"]
mod support;

use limpet::client::Options;
use std::time::Duration;
use support::outages::{run, Plan};

fn main() {
    let cycles = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let report = run(&Plan {
        cycles,
        period: Duration::from_millis(100),
        up_for: Duration::from_millis(700),
        down_for: Duration::from_millis(300),
        options: Options::default(),
    });
    let mut r = report.reconnect_ms.clone();
    r.sort_unstable();
    let pct = |p: usize| {
        r.get((r.len() * p / 100).min(r.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    println!("broker kill/restart cycles     {cycles}");
    println!("QoS 1 messages published       {}", report.published);
    println!("lost                           {}", report.lost.len());
    println!("duplicates seen by observer    {}", report.duplicates);
    println!("kills with messages in flight  {}", report.kills_in_flight);
    println!(
        "republishes (DUP)              {}",
        report.counters.republishes
    );
    println!("publishes deferred (table full) {}", report.deferred);
    println!(
        "reconnect after broker back    median {} ms, p90 {} ms, max {} ms (n={})",
        pct(50),
        pct(90),
        r.last().copied().unwrap_or(0),
        r.len()
    );
    println!(
        "wall time                      {:.1} s",
        report.elapsed.as_secs_f64()
    );
    if !report.lost.is_empty() {
        eprintln!("LOST: {:?}", report.lost);
        std::process::exit(1);
    }
}
