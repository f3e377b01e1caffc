//! The host's end of a SLIP line (RFC 1055): IP packets framed on a byte
//! stream, as a smoltcp `Device` with `Medium::Ip`.
//!
//! This is the gateway's side of the ESP8266's UART0 link
//! (`limpet_esp8266::slip_ip` is the device's side): under QEMU the stream is
//! the emulator's semihosting stdin/stdout, on a bench a USB-serial adapter.
//! A reader thread decodes frames off the stream into a bounded queue;
//! transmit encodes straight into the writer. The framing is
//! [`limpet::slip`]'s, with its rule: frames with a bad escape (an `END`
//! right after an `ESC` included) or longer than the MTU are dropped and
//! counted.

use limpet::slip::{Encoder, FrameDecoder};
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, TryRecvError};
use std::sync::Arc;
use std::thread;

/// Whole frames the reader may hold before it stops reading (back-pressure
/// on the stream, not a drop).
const QUEUE: usize = 64;

/// Counters of the line since it was opened.
#[derive(Debug, Default)]
pub struct SlipStats {
    /// Packets received whole and handed over.
    pub frames_in: AtomicU32,
    /// Packets written to the stream.
    pub frames_out: AtomicU32,
    /// Bad escapes and frames over the MTU.
    pub dropped: AtomicU32,
}

/// A SLIP line over a byte stream.
pub struct SlipLine<W> {
    rx: Receiver<Vec<u8>>,
    /// A frame [`SlipLine::wait`] took off the queue, not handed over yet.
    next: Option<Vec<u8>>,
    writer: W,
    mtu: usize,
    closed: bool,
    stats: Arc<SlipStats>,
}

impl<W: Write> SlipLine<W> {
    /// Reads frames from `reader` on a thread of its own; writes to `writer`.
    pub fn new<R: Read + Send + 'static>(reader: R, writer: W, mtu: usize) -> Self {
        let (tx, rx) = sync_channel(QUEUE);
        let stats = Arc::new(SlipStats::default());
        let counters = stats.clone();
        thread::spawn(move || read_frames(reader, mtu, &counters, |f| tx.send(f).is_ok()));
        SlipLine {
            rx,
            next: None,
            writer,
            mtu,
            closed: false,
            stats,
        }
    }

    /// The line's counters.
    pub fn stats(&self) -> &SlipStats {
        &self.stats
    }

    /// The stream ended (the device's side went away).
    pub fn closed(&self) -> bool {
        self.closed
    }

    /// Blocks until a frame arrives, the line closes or `timeout` passes
    /// (for a real-time loop that sleeps between polls).
    pub fn wait(&mut self, timeout: std::time::Duration) {
        if self.next.is_some() || self.closed {
            return;
        }
        match self.rx.recv_timeout(timeout) {
            Ok(frame) => self.next = Some(frame),
            Err(RecvTimeoutError::Disconnected) => self.closed = true,
            Err(RecvTimeoutError::Timeout) => {}
        }
    }
}

/// Decodes SLIP off `reader` until it ends or `deliver` refuses a frame.
fn read_frames<R: Read>(
    mut reader: R,
    mtu: usize,
    stats: &SlipStats,
    mut deliver: impl FnMut(Vec<u8>) -> bool,
) {
    let mut decoder = FrameDecoder::new();
    let mut frame = vec![0u8; mtu];
    let mut chunk = [0u8; 2048];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        for &b in &chunk[..n] {
            match decoder.feed(b, &mut frame) {
                Some(Ok(len)) => {
                    stats.frames_in.fetch_add(1, Ordering::Relaxed);
                    if !deliver(frame[..len].to_vec()) {
                        return;
                    }
                }
                Some(Err(_)) => {
                    stats.dropped.fetch_add(1, Ordering::Relaxed);
                }
                None => {}
            }
        }
    }
}

/// Appends `packet` as one SLIP frame (an `END` before and after).
fn encode(packet: &[u8], out: &mut Vec<u8>) {
    let mut encoder = Encoder::new();
    out.extend(std::iter::from_fn(|| encoder.next(packet)));
}

impl<W: Write> Device for SlipLine<W> {
    type RxToken<'a>
        = RxToken
    where
        Self: 'a;
    type TxToken<'a>
        = TxToken<'a, W>
    where
        Self: 'a;

    fn receive(&mut self, _now: Instant) -> Option<(RxToken, TxToken<'_, W>)> {
        let frame = match self.next.take() {
            Some(frame) => Ok(frame),
            None => self.rx.try_recv(),
        };
        match frame {
            Ok(frame) => Some((
                RxToken(frame),
                TxToken {
                    writer: &mut self.writer,
                    stats: &self.stats,
                },
            )),
            Err(TryRecvError::Disconnected) => {
                self.closed = true;
                None
            }
            Err(TryRecvError::Empty) => None,
        }
    }

    fn transmit(&mut self, _now: Instant) -> Option<TxToken<'_, W>> {
        Some(TxToken {
            writer: &mut self.writer,
            stats: &self.stats,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = self.mtu;
        caps
    }
}

/// A received packet, handed to smoltcp.
pub struct RxToken(Vec<u8>);

impl phy::RxToken for RxToken {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

/// Room for one packet, framed into the writer when smoltcp fills it.
pub struct TxToken<'a, W> {
    writer: &'a mut W,
    stats: &'a SlipStats,
}

impl<W: Write> phy::TxToken for TxToken<'_, W> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut packet = vec![0u8; len];
        let r = f(&mut packet);
        let mut framed = Vec::with_capacity(len + len / 8 + 2);
        encode(&packet, &mut framed);
        // A write error means the device's side is gone; the reader sees
        // the end of the stream and `closed` reports it.
        if self
            .writer
            .write_all(&framed)
            .and_then(|_| self.writer.flush())
            .is_ok()
        {
            self.stats.frames_out.fetch_add(1, Ordering::Relaxed);
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use limpet::slip::{END, ESC};

    fn decode_all(bytes: &[u8], mtu: usize) -> (Vec<Vec<u8>>, u32) {
        let stats = SlipStats::default();
        let mut frames = Vec::new();
        read_frames(bytes, mtu, &stats, |f| {
            frames.push(f);
            true
        });
        (frames, stats.dropped.load(Ordering::Relaxed))
    }

    #[test]
    fn round_trip_with_escapes() {
        let packet = [0x45, END, 1, ESC, END, ESC, 2];
        let mut line = b"boot noise".to_vec();
        encode(&packet, &mut line);
        encode(&[9, 9], &mut line);
        let (frames, dropped) = decode_all(&line, 576);
        // Bytes before the first END read as a frame of their own: the IP
        // layer rejects it, as on a real line.
        assert_eq!(
            frames,
            vec![b"boot noise".to_vec(), packet.to_vec(), vec![9, 9]]
        );
        assert_eq!(dropped, 0);
    }

    #[test]
    fn bad_escape_cut_off_escape_and_oversize_are_dropped_not_delivered() {
        let mut line = vec![END, 1, ESC, 7, 2, END, 3, ESC, END];
        encode(&[5; 10], &mut line);
        encode(&[6; 4], &mut line);
        let (frames, dropped) = decode_all(&line, 8);
        assert_eq!(frames, vec![vec![6; 4]]);
        assert_eq!(dropped, 3);
    }
}
