//! IP over SLIP (RFC 1055) on a serial port: a `smoltcp::phy::Device` with
//! `Medium::Ip`, so the firmware runs the real IP stack (smoltcp TCP, DNS)
//! and the MQTT client over UART0, with a host-side gateway on the other end
//! of the serial link. The framing is [`limpet::slip`]'s; a frame with a bad
//! escape is dropped by its rule (IP's checksums do not cover every byte).
//!
//! RAM: one frame buffer each way (`MTU` bytes), in a [`SlipFrames`] the
//! caller provides. A received frame is
//! collected byte by byte as the port gives them; a frame to send is encoded
//! into the port as its FIFO takes it (escapes included), so no second,
//! escaped copy is kept. While a frame is still going out, `transmit` says
//! no and smoltcp tries again on a later poll.

use crate::serial::SerialPort;
use limpet::slip::{Encoder, FrameDecoder};
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

/// Counters of the link, since power-up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SlipCounters {
    /// Packets received whole and handed over.
    pub frames_in: u32,
    /// Packets sent.
    pub frames_out: u32,
    /// Frames longer than the MTU, or with a bad escape: dropped.
    pub dropped: u32,
}

/// The frame being sent: `buf[..len]`, `len` 0 when there is none.
struct Outgoing<const MTU: usize> {
    buf: [u8; MTU],
    len: usize,
    encoder: Encoder,
}

/// The link's frame buffers and framing state: caller-provided storage
/// (`SlipFrames::new` is `const`, so a firmware keeps it in a static rather
/// than on its stack).
pub struct SlipFrames<const MTU: usize> {
    decoder: FrameDecoder,
    rx: [u8; MTU],
    /// `rx[..rx_len]` is a whole packet, not handed over yet (0: none).
    rx_len: usize,
    tx: Outgoing<MTU>,
    counters: SlipCounters,
}

impl<const MTU: usize> SlipFrames<MTU> {
    /// Empty buffers, between frames.
    pub const fn new() -> Self {
        SlipFrames {
            decoder: FrameDecoder::new(),
            rx: [0; MTU],
            rx_len: 0,
            tx: Outgoing {
                buf: [0; MTU],
                len: 0,
                encoder: Encoder::new(),
            },
            counters: SlipCounters {
                frames_in: 0,
                frames_out: 0,
                dropped: 0,
            },
        }
    }
}

impl<const MTU: usize> Default for SlipFrames<MTU> {
    fn default() -> Self {
        Self::new()
    }
}

/// A SLIP link on `port` carrying IP packets of at most `MTU` bytes.
pub struct SlipIp<'a, P, const MTU: usize> {
    port: P,
    f: &'a mut SlipFrames<MTU>,
}

impl<'a, P: SerialPort, const MTU: usize> SlipIp<'a, P, MTU> {
    /// The link on `port`, with its buffers in `frames`.
    pub fn new(port: P, frames: &'a mut SlipFrames<MTU>) -> Self {
        SlipIp { port, f: frames }
    }

    /// What the link counted since power-up.
    pub fn counters(&self) -> &SlipCounters {
        &self.f.counters
    }

    /// The serial port (for the firmware's console, or a test).
    pub fn port(&mut self) -> &mut P {
        &mut self.port
    }

    /// Moves bytes: the frame being sent into the port as far as it takes
    /// them, received bytes into the receive buffer until a packet is whole.
    /// Bounded: at most one frame's worth each way.
    pub fn pump(&mut self) {
        self.pump_tx();
        let f = &mut *self.f;
        while f.rx_len == 0 {
            let Some(b) = self.port.read() else { break };
            match f.decoder.feed(b, &mut f.rx) {
                Some(Ok(len)) => {
                    f.rx_len = len;
                    f.counters.frames_in = f.counters.frames_in.wrapping_add(1);
                }
                Some(Err(_)) => f.counters.dropped = f.counters.dropped.wrapping_add(1),
                None => {}
            }
        }
    }

    fn pump_tx(&mut self) {
        let t = &mut self.f.tx;
        while t.len > 0 && self.port.tx_space() > 0 {
            let frame = &t.buf[..t.len];
            if let Some(b) = t.encoder.next(frame) {
                self.port.write(b);
            }
            if t.encoder.is_done(frame) {
                // Free for the next packet as soon as its END is out.
                t.len = 0;
                t.encoder = Encoder::new();
                self.f.counters.frames_out = self.f.counters.frames_out.wrapping_add(1);
            }
        }
    }

    /// True while a frame is still going out.
    pub fn sending(&self) -> bool {
        self.f.tx.len > 0
    }
}

/// A received packet, lent to smoltcp.
pub struct SlipRxToken<'a> {
    frame: &'a [u8],
}

impl phy::RxToken for SlipRxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.frame)
    }
}

/// Room for one packet to send.
pub struct SlipTxToken<'a, const MTU: usize> {
    tx: &'a mut Outgoing<MTU>,
}

impl<const MTU: usize> phy::TxToken for SlipTxToken<'_, MTU> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let len = len.min(MTU);
        let r = f(&mut self.tx.buf[..len]);
        self.tx.len = len;
        self.tx.encoder = Encoder::new();
        r
    }
}

impl<P: SerialPort, const MTU: usize> Device for SlipIp<'_, P, MTU> {
    type RxToken<'a>
        = SlipRxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = SlipTxToken<'a, MTU>
    where
        Self: 'a;

    fn receive(&mut self, _: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        self.pump();
        // A reply needs the transmit side free too.
        if self.f.rx_len == 0 || self.f.tx.len > 0 {
            return None;
        }
        let len = core::mem::take(&mut self.f.rx_len);
        Some((
            SlipRxToken {
                frame: &self.f.rx[..len],
            },
            SlipTxToken { tx: &mut self.f.tx },
        ))
    }

    fn transmit(&mut self, _: Instant) -> Option<Self::TxToken<'_>> {
        self.pump_tx();
        if self.f.tx.len > 0 {
            return None;
        }
        Some(SlipTxToken { tx: &mut self.f.tx })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = MTU;
        caps.max_burst_size = Some(1);
        caps
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use limpet::slip::{END, ESC};
    use phy::{RxToken, TxToken};

    extern crate std;
    use std::collections::VecDeque;
    use std::vec::Vec;

    /// A port with a FIFO of `space` bytes that the test drains.
    struct Port {
        out: Vec<u8>,
        inp: VecDeque<u8>,
        space: usize,
    }

    impl SerialPort for Port {
        fn tx_space(&self) -> usize {
            self.space.saturating_sub(self.out.len())
        }
        fn write(&mut self, b: u8) {
            self.out.push(b);
        }
        fn read(&mut self) -> Option<u8> {
            self.inp.pop_front()
        }
    }

    fn slip(frame: &[u8]) -> Vec<u8> {
        let mut encoder = Encoder::new();
        core::iter::from_fn(|| encoder.next(frame)).collect()
    }

    #[test]
    fn a_packet_goes_out_escaped_as_the_fifo_takes_it() {
        let mut frames = SlipFrames::new();
        let mut d: SlipIp<Port, 64> = SlipIp::new(
            Port {
                out: Vec::new(),
                inp: VecDeque::new(),
                space: 3,
            },
            &mut frames,
        );
        let packet = [0x45, END, 7, ESC, 9];
        let t = d.transmit(Instant::ZERO).unwrap();
        t.consume(packet.len(), |buf| buf.copy_from_slice(&packet));
        let mut wire = Vec::new();
        while d.sending() {
            assert!(d.transmit(Instant::ZERO).is_none(), "one frame at a time");
            wire.append(&mut d.port().out);
            d.pump();
        }
        wire.append(&mut d.port().out);
        assert_eq!(wire, slip(&packet));
        assert_eq!(d.counters().frames_out, 1);
    }

    #[test]
    fn received_frames_are_whole_packets_and_bad_ones_are_dropped() {
        let mut inp = VecDeque::new();
        inp.extend(slip(&[1, 2, END, 3]));
        inp.extend([END, 5, ESC, 0x41, 6, END]); // a bad escape
        inp.extend(slip(&[9u8; 80])); // longer than the MTU
        inp.extend(slip(&[4, ESC]));
        let mut frames = SlipFrames::new();
        let mut d: SlipIp<Port, 64> = SlipIp::new(
            Port {
                out: Vec::new(),
                inp,
                space: 1024,
            },
            &mut frames,
        );
        let mut got = Vec::new();
        for _ in 0..10 {
            if let Some((rx, _tx)) = d.receive(Instant::ZERO) {
                rx.consume(|f| got.push(f.to_vec()));
            }
        }
        assert_eq!(got, [std::vec![1, 2, END, 3], std::vec![4, ESC]]);
        assert_eq!(d.counters().dropped, 2);
        assert_eq!(d.capabilities().medium, Medium::Ip);
    }
}
