// Unit tests live beside their code: a `mod tests` at the bottom of a small
// file, a `tests` file beside a module whose tests are long (here).

use super::*;
use smoltcp::phy::{RxToken as _, TxToken as _};

fn at(ms: i64) -> Instant {
    Instant::from_millis(ms)
}

/// An IPv4-over-Ethernet frame of `len` bytes, tagged with `tag`.
fn ipv4_frame(len: usize, tag: u8) -> Vec<u8> {
    let mut f = vec![tag; len];
    f[12] = 0x08;
    f[13] = 0x00;
    f
}

fn send(ep: &mut Endpoint, now: Instant, frame: &[u8]) {
    ep.transmit(now)
        .unwrap()
        .consume(frame.len(), |b| b.copy_from_slice(frame));
}

fn recv(ep: &mut Endpoint, now: Instant) -> Option<Vec<u8>> {
    ep.receive(now).map(|(rx, _)| rx.consume(|b| b.to_vec()))
}

fn pair(config: LinkConfig) -> (Link, Endpoint, Endpoint) {
    let link = Link::new(config);
    let d = link.endpoint(Side::Device);
    let g = link.endpoint(Side::Gateway);
    (link, d, g)
}

fn assert_balanced(link: &Link) {
    for dir in Dir::BOTH {
        let c = link.counters(dir);
        assert_eq!(
            c.sent_frames,
            c.delivered_frames + c.dropped.total() + link.queued(dir) as u64,
            "{dir:?}: {c:?}"
        );
    }
}

#[test]
fn frames_cross_each_way_in_order() {
    let (link, mut d, mut g) = pair(LinkConfig::ethernet(1));
    for i in 0..5 {
        send(&mut d, at(0), &ipv4_frame(60, i));
    }
    send(&mut g, at(0), &ipv4_frame(70, 9));
    for i in 0..5 {
        assert_eq!(recv(&mut g, at(0)).unwrap()[20], i);
    }
    assert_eq!(recv(&mut g, at(0)), None);
    assert_eq!(recv(&mut d, at(0)).unwrap().len(), 70);
    let up = link.counters(Dir::Up);
    assert_eq!((up.sent_frames, up.delivered_frames), (5, 5));
    assert_eq!((up.sent_bytes, up.delivered_bytes), (300, 300));
    assert_eq!(link.counters(Dir::Down).delivered_bytes, 70);
    assert_balanced(&link);
}

#[test]
fn capabilities_follow_the_config() {
    let (_, d, _) = pair(LinkConfig::ethernet(0));
    let caps = d.capabilities();
    assert_eq!(caps.medium, Medium::Ethernet);
    assert_eq!(caps.max_transmission_unit, 1514);
    assert_eq!(caps.ip_mtu(), 1500);
    let (_, d, _) = pair(LinkConfig::ip(0));
    assert_eq!(d.capabilities().medium, Medium::Ip);
    assert_eq!(d.capabilities().ip_mtu(), 1500);
}

#[test]
fn latency_holds_frames_until_due() {
    let (link, mut d, mut g) = pair(LinkConfig::ethernet(1));
    link.update(Dir::Up, |f| f.latency = Duration::from_millis(30));
    send(&mut d, at(100), &ipv4_frame(60, 1));
    assert_eq!(g.next_rx_at(), Some(at(130)));
    assert_eq!(recv(&mut g, at(129)), None);
    assert!(recv(&mut g, at(130)).is_some());
    // The other direction is unaffected.
    send(&mut g, at(200), &ipv4_frame(60, 2));
    assert!(recv(&mut d, at(200)).is_some());
    assert_balanced(&link);
}

#[test]
fn loss_is_seeded_and_close_to_its_probability() {
    let run = |seed| {
        let (link, mut d, mut g) = pair(LinkConfig::ethernet(seed));
        link.update(Dir::Up, |f| f.loss = 0.25);
        let mut got = Vec::new();
        for i in 0..2000u32 {
            send(&mut d, at(0), &ipv4_frame(60, 0));
            if recv(&mut g, at(0)).is_some() {
                got.push(i);
            }
        }
        assert_balanced(&link);
        assert_eq!(link.counters(Dir::Up).dropped.loss, 2000 - got.len() as u64);
        got
    };
    let a = run(7);
    assert_eq!(a, run(7), "same seed, same losses");
    assert_ne!(a, run(8), "another seed, other losses");
    let lost = 2000 - a.len();
    assert!((400..600).contains(&lost), "lost {lost} of 2000 at p=0.25");
}

#[test]
fn a_direction_s_faults_ignore_the_other_direction_s_traffic() {
    let run = |down_traffic: usize| {
        let (link, mut d, mut g) = pair(LinkConfig::ethernet(3));
        link.update(Dir::Up, |f| f.loss = 0.5);
        let mut got = Vec::new();
        for i in 0..200u32 {
            for _ in 0..down_traffic {
                send(&mut g, at(0), &ipv4_frame(60, 0));
                recv(&mut d, at(0));
            }
            send(&mut d, at(0), &ipv4_frame(60, 0));
            if recv(&mut g, at(0)).is_some() {
                got.push(i);
            }
        }
        got
    };
    assert_eq!(run(0), run(3));
}

#[test]
fn corruption_flips_one_byte_of_the_ip_packet() {
    let (link, mut d, mut g) = pair(LinkConfig::ethernet(5));
    link.update(Dir::Up, |f| f.corrupt = 1.0);
    for _ in 0..200 {
        let frame = ipv4_frame(100, 0xAA);
        send(&mut d, at(0), &frame);
        let got = recv(&mut g, at(0)).unwrap();
        let diff: Vec<usize> = (0..100).filter(|&i| got[i] != frame[i]).collect();
        assert_eq!(diff.len(), 1, "exactly one byte differs");
        assert!(diff[0] >= 14, "the Ethernet header is never touched");
    }
    assert_eq!(link.counters(Dir::Up).corrupted, 200);
    // ARP (no checksum to catch it) is dropped instead.
    let mut arp = ipv4_frame(42, 0);
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    send(&mut d, at(0), &arp);
    assert_eq!(recv(&mut g, at(0)), None);
    assert_eq!(link.counters(Dir::Up).dropped.fcs, 1);
    assert_balanced(&link);
}

#[test]
fn outage_drops_everything_and_drops_carrier() {
    let (link, mut d, mut g) = pair(LinkConfig::ethernet(1));
    link.set_latency(Duration::from_millis(10));
    send(&mut d, at(0), &ipv4_frame(60, 1)); // in flight when the link goes down
    assert!(d.carrier());
    link.set_up(false);
    assert!(!d.carrier() && !g.carrier());
    send(&mut d, at(1), &ipv4_frame(60, 2));
    send(&mut g, at(1), &ipv4_frame(60, 3));
    assert_eq!(recv(&mut g, at(50)), None);
    assert_eq!(recv(&mut d, at(50)), None);
    assert_eq!(link.counters(Dir::Up).dropped.down, 2);
    assert_eq!(link.counters(Dir::Down).dropped.down, 1);
    link.set_up(true);
    send(&mut d, at(60), &ipv4_frame(60, 4));
    assert_eq!(recv(&mut g, at(70)).unwrap()[20], 4);
    assert_balanced(&link);
}

#[test]
fn a_short_outage_between_two_polls_still_loses_what_was_in_flight() {
    let (link, mut d, mut g) = pair(LinkConfig::ethernet(1));
    link.set_latency(Duration::from_millis(10));
    send(&mut d, at(0), &ipv4_frame(60, 1));
    link.set_up(false);
    link.set_up(true);
    link.set_attached(false);
    link.set_attached(true);
    send(&mut d, at(1), &ipv4_frame(60, 2));
    link.update(Dir::Up, |f| f.stalled = true);
    link.update(Dir::Up, |f| f.stalled = false);
    assert_eq!(recv(&mut g, at(50)), None);
    let dropped = link.counters(Dir::Up).dropped;
    assert_eq!((dropped.down, dropped.stalled), (1, 1));
    assert_balanced(&link);
}

#[test]
fn detached_radio_passes_nothing() {
    let (link, mut d, mut g) = pair(LinkConfig::ethernet(1));
    link.set_attached(false);
    assert!(!d.carrier());
    send(&mut d, at(0), &ipv4_frame(60, 1));
    assert_eq!(recv(&mut g, at(0)), None);
    assert_eq!(link.counters(Dir::Up).dropped.detached, 1);
    link.set_attached(true);
    send(&mut d, at(0), &ipv4_frame(60, 1));
    assert!(recv(&mut g, at(0)).is_some());
    assert_balanced(&link);
}

#[test]
fn half_open_stall_is_silent_and_per_direction() {
    let (link, mut d, mut g) = pair(LinkConfig::ethernet(1));
    link.update(Dir::Down, |f| f.stalled = true);
    assert!(d.carrier() && g.carrier(), "a stall keeps the carrier");
    send(&mut g, at(0), &ipv4_frame(60, 1));
    assert_eq!(recv(&mut d, at(0)), None);
    send(&mut d, at(0), &ipv4_frame(60, 2));
    assert!(recv(&mut g, at(0)).is_some(), "the other way still works");
    assert_eq!(link.counters(Dir::Down).dropped.stalled, 1);
    link.set_stalled(true);
    send(&mut d, at(0), &ipv4_frame(60, 2));
    assert_eq!(recv(&mut g, at(0)), None);
    link.set_stalled(false);
    send(&mut d, at(0), &ipv4_frame(60, 2));
    assert!(recv(&mut g, at(0)).is_some());
    assert_balanced(&link);
}

#[test]
fn bandwidth_serialises_frames_and_the_queue_is_bounded() {
    let mut config = LinkConfig::ethernet(1);
    config.queue_frames = 4;
    let (link, mut d, mut g) = pair(config);
    // 1000 B/s: a 100-byte frame takes 100 ms.
    link.update(Dir::Up, |f| f.bandwidth = Some(1000));
    for i in 0..6 {
        send(&mut d, at(0), &ipv4_frame(100, i));
    }
    assert_eq!(link.queued(Dir::Up), 4);
    assert_eq!(link.counters(Dir::Up).dropped.queue_full, 2);
    assert_eq!(recv(&mut g, at(99)), None);
    assert_eq!(recv(&mut g, at(100)).unwrap()[20], 0);
    assert_eq!(recv(&mut g, at(100)), None);
    assert_eq!(recv(&mut g, at(200)).unwrap()[20], 1);
    assert_eq!(g.next_rx_at(), Some(at(300)));
    assert_eq!(recv(&mut g, at(1000)).unwrap()[20], 2);
    assert_eq!(recv(&mut g, at(1000)).unwrap()[20], 3);
    assert_eq!(recv(&mut g, at(1000)), None);
    // An idle line starts the next frame at once.
    send(&mut d, at(5000), &ipv4_frame(50, 7));
    assert_eq!(g.next_rx_at(), Some(at(5050)));
    assert_balanced(&link);
}

#[test]
fn oversize_frames_are_dropped() {
    let (link, mut d, mut g) = pair(LinkConfig::ethernet(1));
    send(&mut d, at(0), &ipv4_frame(1515, 0));
    assert_eq!(recv(&mut g, at(0)), None);
    assert_eq!(link.counters(Dir::Up).dropped.oversize, 1);
    assert_balanced(&link);
}

#[test]
fn clock_conversion_round_trips() {
    let t = limpet::time::Instant::from_ticks(123_456);
    assert_eq!(to_smoltcp(t), Instant::from_millis(123_456));
    assert_eq!(to_limpet(to_smoltcp(t)), t);
    assert_eq!(to_limpet(Instant::from_micros(1_999)).ticks(), 1);
}
