//! QoS 1 through repeated broker SIGKILLs: nothing is lost.

mod support;

use std::time::Duration;
use support::device::fast_backoff;
use support::outages::{run, Plan};

#[test]
fn qos1_survives_20_broker_kills_with_nothing_lost() {
    let report = run(&Plan {
        cycles: 20,
        period: Duration::from_millis(100),
        up_for: Duration::from_millis(700),
        down_for: Duration::from_millis(300),
        options: fast_backoff(),
        network_hint: false,
    });
    eprintln!(
        "{report:?}\nmedian reconnect: {:?} ms",
        report.median_reconnect_ms()
    );
    assert!(
        report.published >= 20 * 7,
        "too few messages to mean anything: {}",
        report.published
    );
    assert_eq!(report.lost, Vec::<u32>::new(), "lost QoS 1 messages");
    assert_eq!(report.reconnect_ms.len(), 20);
    assert!(report.counters.reconnects >= 20);
    // The scenario really exercised retransmission of in-flight messages.
    assert!(
        report.kills_in_flight >= 10,
        "kills in flight: {}",
        report.kills_in_flight
    );
    assert!(report.counters.republishes >= report.kills_in_flight);
}
