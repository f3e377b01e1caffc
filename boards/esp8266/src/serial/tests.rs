//! The serial link as scenarios: a fake port with a bounded transmit FIFO,
//! and a bridge that is only the frames it sends.

extern crate std;

use std::collections::VecDeque;
use std::vec::Vec;

use super::*;
use crate::slip::{END, ESC, ESC_END};
use limpet::client::{Client, Options};
use limpet::session::{Config, Event};
use limpet::time::Instant;

/// A UART as the transport sees it: `tx` holds what was written (the FIFO
/// has room for `capacity - tx.len()` more), `rx` what the bridge sent.
struct FakePort {
    tx: Vec<u8>,
    capacity: usize,
    rx: VecDeque<u8>,
}

impl FakePort {
    fn new(capacity: usize) -> Self {
        FakePort {
            tx: Vec::new(),
            capacity,
            rx: VecDeque::new(),
        }
    }
}

impl SerialPort for FakePort {
    fn tx_space(&self) -> usize {
        self.capacity.saturating_sub(self.tx.len())
    }
    fn write(&mut self, byte: u8) {
        assert!(self.tx_space() > 0, "wrote into a full FIFO");
        self.tx.push(byte);
    }
    fn read(&mut self) -> Option<u8> {
        self.rx.pop_front()
    }
}

/// The wire form of a frame of `kind` with `payload`.
fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = std::vec![END, kind];
    for &b in payload {
        crate::slip::encode_byte(b, |x| out.push(x));
    }
    out.push(END);
    out
}

/// The frames the device sent (kind and decoded payload), draining `tx`.
fn sent_frames(port: &mut FakePort) -> Vec<(u8, Vec<u8>)> {
    let mut d = crate::slip::Decoder::new();
    let mut frames = Vec::new();
    let mut cur = Vec::new();
    for b in port.tx.drain(..) {
        match d.feed(b) {
            Some(Decoded::Byte(x)) => cur.push(x),
            Some(Decoded::End) => {
                let kind = cur.remove(0);
                frames.push((kind, core::mem::take(&mut cur)));
            }
            Some(Decoded::Error) => panic!("device sent a damaged frame"),
            None => {}
        }
    }
    assert!(cur.is_empty(), "device left a frame unfinished");
    frames
}

fn bridge_sends(t: &mut SerialTransport<FakePort>, bytes: &[u8]) {
    t.port().rx.extend(bytes.iter().copied());
}

fn up_transport() -> SerialTransport<FakePort> {
    let mut t = SerialTransport::new(FakePort::new(128));
    assert_eq!(t.connect(), Err(nb::Error::WouldBlock));
    assert_eq!(sent_frames(t.port()), [(kind::OPEN, Vec::new())]);
    bridge_sends(&mut t, &frame(kind::UP, &[]));
    assert_eq!(t.connect(), Ok(()));
    t
}

#[test]
fn connect_sends_open_and_succeeds_when_the_bridge_says_up() {
    let mut t = SerialTransport::new(FakePort::new(128));
    assert_eq!(t.connect(), Err(nb::Error::WouldBlock));
    assert_eq!(sent_frames(t.port()), [(kind::OPEN, Vec::new())]);
    // Asking again while the bridge is busy sends nothing new.
    assert_eq!(t.connect(), Err(nb::Error::WouldBlock));
    assert!(t.port().tx.is_empty());
    bridge_sends(&mut t, &frame(kind::UP, &[]));
    assert_eq!(t.connect(), Ok(()));
    assert!(t.is_up());
    assert_eq!(t.connect(), Ok(()));
}

#[test]
fn the_rom_boot_message_and_stale_data_before_up_are_ignored() {
    let mut t = SerialTransport::new(FakePort::new(128));
    assert_eq!(t.connect(), Err(nb::Error::WouldBlock));
    bridge_sends(
        &mut t,
        b"\x8a ets Jan  8 2013,rst cause:2, boot mode:(3,6)\r\n",
    );
    bridge_sends(&mut t, &frame(kind::DATA, b"old connection"));
    bridge_sends(&mut t, &frame(b'?', &[]));
    assert_eq!(t.connect(), Err(nb::Error::WouldBlock));
    bridge_sends(&mut t, &frame(kind::UP, &[]));
    bridge_sends(&mut t, &frame(kind::DATA, b"new"));
    assert_eq!(t.connect(), Ok(()));
    let mut buf = [0u8; 16];
    assert_eq!(t.recv(&mut buf), Ok(3));
    assert_eq!(&buf[..3], b"new");
}

#[test]
fn a_refused_open_fails_the_connect() {
    let mut t = SerialTransport::new(FakePort::new(128));
    assert_eq!(t.connect(), Err(nb::Error::WouldBlock));
    bridge_sends(&mut t, &frame(kind::CLOSE, &[]));
    assert_eq!(t.connect(), Err(nb::Error::Other(Error::Closed)));
    assert!(!t.is_up());
    // The next attempt opens again.
    sent_frames(t.port());
    assert_eq!(t.connect(), Err(nb::Error::WouldBlock));
    assert_eq!(sent_frames(t.port()), [(kind::OPEN, Vec::new())]);
}

#[test]
fn data_goes_out_in_escaped_frames_sized_to_the_fifo() {
    let mut t = up_transport();
    t.port().capacity = 10; // 3 bytes of framing leave 7
    let data = [1, END, 2, 3, 4, 5, 6, 7];
    // END costs two: 1, END, 2, 3, 4, 5 fill the 7 bytes.
    assert_eq!(t.send(&data), Ok(6));
    assert_eq!(
        t.port().tx,
        [END, kind::DATA, 1, ESC, ESC_END, 2, 3, 4, 5, END]
    );
    // The FIFO is full: not even the framing fits.
    assert_eq!(t.send(&data[6..]), Err(nb::Error::WouldBlock));
    t.port().tx.clear();
    assert_eq!(t.send(&data[6..]), Ok(2));
    assert_eq!(sent_frames(t.port()), [(kind::DATA, std::vec![6, 7])]);
}

#[test]
fn received_data_fills_only_what_the_client_asked_for() {
    let mut t = up_transport();
    bridge_sends(&mut t, &frame(kind::DATA, &[0x20, 0x02, END, ESC]));
    let mut two = [0u8; 2];
    assert_eq!(t.recv(&mut two), Ok(2));
    assert_eq!(two, [0x20, 0x02]);
    assert_eq!(t.recv(&mut two), Ok(2));
    assert_eq!(two, [END, ESC]);
    assert_eq!(t.recv(&mut two), Err(nb::Error::WouldBlock));
}

#[test]
fn a_close_from_the_bridge_comes_after_the_data_before_it() {
    let mut t = up_transport();
    bridge_sends(&mut t, &frame(kind::DATA, b"ab"));
    bridge_sends(&mut t, &frame(kind::CLOSE, &[]));
    let mut buf = [0u8; 8];
    assert_eq!(t.recv(&mut buf), Ok(2));
    assert_eq!(t.recv(&mut buf), Err(nb::Error::Other(Error::Closed)));
    assert_eq!(t.send(b"x"), Err(nb::Error::Other(Error::Closed)));
    t.close();
    assert!(t.port().tx.ends_with(&frame(kind::CLOSE, &[])));
}

#[test]
fn a_damaged_data_frame_is_an_error() {
    let mut t = up_transport();
    bridge_sends(&mut t, &[END, kind::DATA, 1, ESC, 0x00, 2, END]);
    let mut buf = [0u8; 8];
    assert_eq!(t.recv(&mut buf), Err(nb::Error::Other(Error::Damaged)));
    // What follows the damaged frame decodes normally.
    bridge_sends(&mut t, &frame(kind::DATA, b"ok"));
    assert_eq!(t.recv(&mut buf), Ok(2));
}

#[test]
fn a_close_that_did_not_fit_is_sent_before_the_next_open() {
    let mut t = up_transport();
    t.port().capacity = 1;
    t.close();
    assert!(t.port().tx.is_empty());
    assert_eq!(t.send(b"x"), Err(nb::Error::Other(Error::NotConnected)));
    t.port().capacity = 128;
    assert_eq!(t.connect(), Err(nb::Error::WouldBlock));
    assert_eq!(
        sent_frames(t.port()),
        [(kind::CLOSE, Vec::new()), (kind::OPEN, Vec::new())]
    );
}

/// The whole client over the serial link: given a bridge that opens the
/// connection and a broker that accepts it, the client comes up.
#[test]
fn the_client_connects_through_the_bridge() {
    let mut rx = [0u8; 256];
    let mut tx = [0u8; 256];
    let mut store = [0u8; 256];
    let mut client: Client<'_, 2, 2> = Client::new(
        Config::new("esp8266"),
        Options::default(),
        &mut rx,
        &mut tx,
        &mut store,
    )
    .expect("config fits");
    let mut t = SerialTransport::new(FakePort::new(128));
    let t0 = Instant::from_ticks(0);

    assert!(client.poll(t0, &mut t).is_none());
    assert_eq!(sent_frames(t.port()), [(kind::OPEN, Vec::new())]);

    bridge_sends(&mut t, &frame(kind::UP, &[]));
    assert!(client.poll(t0, &mut t).is_none());
    let frames = sent_frames(t.port());
    let connect: Vec<u8> = frames
        .iter()
        .filter(|(k, _)| *k == kind::DATA)
        .flat_map(|(_, p)| p.iter().copied())
        .collect();
    assert_eq!(connect.first(), Some(&0x10), "CONNECT");
    assert!(connect.windows(7).any(|w| w == b"esp8266"));

    // CONNACK, session not present, accepted.
    bridge_sends(&mut t, &frame(kind::DATA, &[0x20, 0x02, 0x00, 0x00]));
    assert!(matches!(
        client.poll(t0, &mut t),
        Some(Event::Up {
            session_present: false
        })
    ));
    assert!(client.is_connected());

    // The bridge loses the broker: the client sees the link go down.
    bridge_sends(&mut t, &frame(kind::CLOSE, &[]));
    assert!(matches!(client.poll(t0, &mut t), Some(Event::Down(_))));
    assert!(!client.is_connected());
}
