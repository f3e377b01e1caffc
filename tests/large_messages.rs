//! A message far larger than the receive buffer — a firmware image — taken
//! in pieces through a 1 KiB buffer, on each broker, acknowledged once whole.

#[macro_use]
mod support;

use limpet::session::Config;
use limpet::wire::QoS;
use std::time::{Duration, Instant};
use support::device::{leak, Device, Ev};
use support::{publish, Broker, BrokerKind, Sub};

const WAIT: Duration = Duration::from_secs(10);

on_every_broker!(a_firmware_image_arrives_whole_through_a_1_kib_buffer);

fn image(len: usize) -> Vec<u8> {
    // Not a repeating pattern: a misplaced piece changes the bytes.
    let mut x = 0x2545_F491u32;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn a_firmware_image_arrives_whole_through_a_1_kib_buffer(kind: BrokerKind) {
    let broker = Broker::start_kind(kind);
    let mut c = Config::new(leak(format!("ota-{}", kind.name())));
    c.keepalive = 10;
    let mut dev = Device::with_buffers(c, broker.addr(), 1024, 1024, 4 * 256);
    dev.chunked = true;
    dev.client.subscribe("ota/#", QoS::AtLeastOnce).unwrap();
    assert!(dev
        .run_until(WAIT, |e| matches!(e, Ev::Subscribed(..)))
        .is_some());
    let firmware = image(300 * 1024);
    publish(broker.port(), "ota/image", &firmware, 1, false);
    // A small message right behind it arrives whole, after the last piece.
    publish(broker.port(), "ota/done", "ok", 1, false);
    let mut got = Vec::with_capacity(firmware.len());
    let (mut pieces, mut after) = (0, None);
    let deadline = Instant::now() + WAIT;
    while after.is_none() && Instant::now() < deadline {
        for e in dev.poll() {
            match e {
                Ev::Chunk {
                    topic,
                    offset,
                    total,
                    bytes,
                    qos,
                    ..
                } => {
                    assert_eq!(
                        (topic.as_str(), total, qos),
                        ("ota/image", firmware.len(), QoS::AtLeastOnce)
                    );
                    assert_eq!(offset, got.len(), "a piece out of order");
                    assert!(bytes.len() <= 1024);
                    got.extend_from_slice(&bytes);
                    pieces += 1;
                }
                Ev::Message { topic, payload, .. } => {
                    assert_eq!(
                        got.len(),
                        firmware.len(),
                        "{topic} before the image was whole"
                    );
                    after = Some((topic, payload));
                }
                _ => {}
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(after, Some(("ota/done".to_string(), b"ok".to_vec())));
    assert!(
        got == firmware,
        "the image arrived changed ({} of {} bytes)",
        got.len(),
        firmware.len()
    );
    assert!(pieces >= firmware.len() / 1024, "{pieces} pieces");
    assert_eq!(dev.client.counters().oversize, 0);
    // Acknowledged: a persistent observer sees nothing left for the device,
    // and the link stayed up the whole time.
    assert_eq!(dev.client.counters().connects, 1);
    assert!(!dev.log.iter().any(|e| matches!(e, Ev::Down(_))));
    let _ = Sub::start;
}
