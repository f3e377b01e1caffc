//! QoS 1 through repeated broker SIGKILLs and link drops: nothing is lost,
//! in MQTT 3.1.1 and (feature `mqtt5`) 5.0, against mosquitto.

mod support;

use limpet::session::Protocol;
use std::time::Duration;
use support::device::{fast_backoff, protocol_name};
use support::outages::{run_speaking, Plan};

#[test]
fn qos1_survives_20_broker_kills_with_nothing_lost() {
    qos1_survives_20_broker_kills(Protocol::V311);
}

#[cfg(feature = "mqtt5")]
#[test]
fn qos1_survives_20_broker_kills_with_nothing_lost_in_mqtt5() {
    qos1_survives_20_broker_kills(Protocol::V5);
}

fn qos1_survives_20_broker_kills(protocol: Protocol) {
    let report = run_speaking(
        &Plan {
            cycles: 20,
            period: Duration::from_millis(100),
            up_for: Duration::from_millis(700),
            down_for: Duration::from_millis(300),
            options: fast_backoff(),
            network_hint: false,
        },
        protocol,
    );
    eprintln!(
        "MQTT {}: {report:?}\nmedian reconnect: {:?} ms",
        protocol_name(protocol),
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
