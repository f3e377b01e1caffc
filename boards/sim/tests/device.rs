//! The whole device (radio, WLAN, smoltcp, MQTT) against a real mosquitto.

use std::net::Ipv4Addr;
use std::time::Duration;

use limpet::wire::QoS;
use limpet_sim::broker::{Broker, Sub};
use limpet_sim::device::DeviceSpec;
use limpet_sim::gateway::GatewayConfig;
use limpet_sim::link::LinkConfig;
use limpet_sim::world::{World, WorldConfig};

#[test]
fn a_device_joins_wifi_gets_a_lease_resolves_connects_and_publishes() {
    let broker = Broker::start();
    let sub = Sub::start(broker.port(), "sim/#", 1);
    assert!(sub.wait_ready(Duration::from_secs(5)));
    let mut w = World::new(WorldConfig {
        origin: u32::MAX - 20_000,
        ..WorldConfig::default()
    });
    w.air.add_ap("home", b"password1", 0.0);
    w.serve("broker.sim", Ipv4Addr::new(10, 0, 0, 1), &broker);
    let d = w
        .add(
            DeviceSpec::new("dev-1", "home", b"password1", 1),
            LinkConfig::ethernet(1),
            GatewayConfig::default(),
        )
        .unwrap();
    assert!(
        w.run_until(60_000, |w| !w.device(d).journal.ups.is_empty()),
        "never up"
    );
    let up_ms = w.device(d).journal.ups[0];
    for i in 0..8 {
        assert!(w
            .device(d)
            .publish("sim/count", format!("{i}").as_bytes(), QoS::AtLeastOnce));
    }
    assert!(w.run_until(30_000, |w| w.device(d).journal.published == 8));
    assert!(sub.wait_for(8, Duration::from_secs(5)), "{:?}", sub.lines());
    println!("{}", broker.log());
    let steps = w.steps;
    let dev = w.device(d);
    let stack = dev.stack_counters();
    println!(
        "leases {} wlan ups {:?} stack {:?}",
        dev.journal.leases, dev.journal.wlan_ups, stack
    );
    let j = &w.device(d).journal;
    println!(
        "up at {up_ms} ms world time, steps {}, downs {:?}, failures {:?}",
        steps, j.downs, j.connect_failures
    );
}
