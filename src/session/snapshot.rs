//! Saving a session into caller bytes (RTC RAM, flash) and restoring it after
//! a deep sleep or a reboot, so a persistent session resumes with nothing
//! lost and nothing delivered twice.
//!
//! What is saved: the messages in flight with their ids, phase and DUP state
//! (§4.4: they are re-sent with the same ids), the ids of incoming QoS 2
//! messages delivered but not yet released (§4.3.3: a re-send of one is not
//! delivered again), which filters the broker had confirmed, and that the
//! session exists (so `clean_init` does not wipe it on the next connection).
//! Filters are kept as a 32-bit hash: the application declares its filters
//! again after power-up, as it always does, and those the saved session had
//! confirmed are not subscribed again (a new SUBSCRIBE would make the broker
//! send retained messages a second time).
//!
//! When to save: after every change that must survive ([`Session::revision`]
//! tells), and in particular after handling a QoS 2 message and before the
//! next poll sends its PUBREC, and after `publish` returned a token. Then a
//! reboot at any moment loses nothing and duplicates nothing.
//!
//! Format (big-endian): `"LMPT"`, version 1 (an MQTT 3.1.1 session; 2 for
//! MQTT 5.0, whose saved PUBLISH bytes are 5.0's), flags (bit 0: session exists),
//! N (u16); messages: count (u16), then per message id (u16), flags (u8:
//! QoS 2, released, DUP), length (u16), PUBLISH bytes; incoming QoS 2 ids:
//! count (u16), ids; filters: count (u16), then per filter FNV-1a hash
//! (u32), QoS (u8), state (u8: 0 confirmed, 1 to subscribe, 2 to
//! unsubscribe); in version 2 the client id the server assigned: length
//! (u8), bytes (§3.2.2.3.7: the session resumes only under that id);
//! CRC-16/CCITT-FALSE of all that. Bytes from RTC RAM after a
//! power loss fail the magic or the CRC and are refused, never trusted.
//!
//! Passing the CRC is not enough to be trusted either (a half-written flash
//! page can match by chance, another firmware's layout can carry its own
//! good CRC): the header must name this format's version and this `N`, and
//! every saved message is decoded with the crate's own wire decoder and must
//! be the PUBLISH its entry says — QoS, packet id, topic, lengths (see
//! `check_message`) — before anything is restored. Whatever fails leaves
//! the session as it was ([`RestoreError`]) and nothing reaches the broker.

use super::inflight::EntryView;
use super::subscriptions::Saved;
use super::{Session, State};
use crate::bytes::{Reader, Writer};
use crate::crc;
use crate::wire::topic::check_text;
use crate::wire::{Packet, QoS};

const MAGIC: &[u8; 4] = b"LMPT";
/// The format of an MQTT 3.1.1 session.
const VERSION: u8 = 1;
/// The format of an MQTT 5.0 session: version 1's, its PUBLISH bytes 5.0's,
/// and the assigned client id.
#[cfg(feature = "mqtt5")]
const VERSION_V5: u8 = 2;
const EXISTS: u8 = 1;
const QOS2: u8 = 1;
const RELEASED: u8 = 2;
const DUP: u8 = 4;

/// Why [`Session::save`] wrote nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaveError {
    /// `out` is shorter than this many bytes.
    BufferTooSmall(usize),
}

/// Why [`Session::restore`] changed nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestoreError {
    /// Not a saved session, or damaged (magic, length or CRC wrong).
    Corrupt,
    /// Saved by another version of the format (a build without the
    /// `mqtt5` feature also says this of an MQTT 5.0 session's save).
    Version,
    /// MQTT 5.0: saved by a session of the other MQTT version (its
    /// messages are that version's packets).
    #[cfg(feature = "mqtt5")]
    Protocol,
    /// Saved with another in-flight capacity `N`, more incoming QoS 2 ids
    /// than `R`, or a message larger than a slot of this store.
    Capacity,
    /// This session has connected or holds messages already: restore right
    /// after creating it, before the first poll.
    NotFresh,
    /// A saved message is not the PUBLISH its entry describes: not exactly
    /// one well-formed PUBLISH (§3.3) with a valid Topic Name (§4.7.3), QoS
    /// 0 or not the entry's QoS (1, or 2 for an exactly-once entry), a
    /// packet identifier other than the saved one (§2.3.1), DUP set in the
    /// stored copy, or released (PUBREC received) without being QoS 2.
    /// Bytes of another layout, or a half-written page whose CRC matched by
    /// chance: never sent to the broker.
    BadMessage,
}

/// FNV-1a, 32 bits: enough to recognise a filter the application declares again.
fn hash(s: &str) -> u32 {
    s.bytes().fold(0x811C_9DC5, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

impl<'a, const N: usize, const S: usize, const R: usize> Session<'a, N, S, R> {
    /// Bytes [`Session::save`] writes now.
    pub fn saved_len(&self) -> usize {
        let mut out = Writer::counter();
        self.write(&mut out);
        out.position()
    }

    /// Writes the session into `out`; returns the bytes written.
    pub fn save(&self, out: &mut [u8]) -> Result<usize, SaveError> {
        let need = self.saved_len();
        let dst = out.get_mut(..need).ok_or(SaveError::BufferTooSmall(need))?;
        let mut w = Writer::new(dst);
        self.write(&mut w);
        Ok(w.position())
    }

    /// Into a buffer of [`Session::saved_len`] bytes, or a counter: room
    /// is never short (hence the results ignored). Counts (`N`, entries,
    /// ids, filters) and a message's length fit 16 bits: a slot holds at
    /// most 65,535 bytes, and N, R and the filters are far fewer.
    fn write(&self, w: &mut Writer<'_>) {
        let _ = w.bytes(MAGIC);
        let _ = w.bytes(&[
            self.format_version(),
            if self.connected_once { EXISTS } else { 0 },
        ]);
        let _ = w.u16(N as u16);
        let _ = w.u16(self.inflight.len() as u16);
        for e in self.inflight.entries() {
            let flags = flag(e.qos2, QOS2) | flag(e.released, RELEASED) | flag(e.dup, DUP);
            let _ = w.u16(e.pid);
            let _ = w.u8(flags);
            let _ = w.u16(e.bytes.len() as u16);
            let _ = w.bytes(e.bytes);
        }
        let ids = self.unreleased.ids();
        let _ = w.u16(ids.len() as u16);
        for &id in ids {
            let _ = w.u16(id);
        }
        let _ = w.u16(self.subs.saved().count() as u16);
        for (topic, qos, saved) in self.subs.saved() {
            let _ = w.u32(hash(topic));
            let _ = w.bytes(&[qos as u8, saved as u8]);
        }
        #[cfg(feature = "mqtt5")]
        if self.config.is_v5() {
            let id = self.v5.assigned.as_str();
            let _ = w.u8(id.len() as u8);
            let _ = w.bytes(id.as_bytes());
        }
        let crc = w.written().map_or(0, crc::crc16);
        let _ = w.u16(crc);
    }

    /// The format this session saves in (and restores from).
    fn format_version(&self) -> u8 {
        #[cfg(feature = "mqtt5")]
        if self.config.is_v5() {
            return VERSION_V5;
        }
        VERSION
    }

    /// Restores a session saved by [`Session::save`] into this new one
    /// (created with the same `N`, its filters declared again with
    /// `subscribe`, not yet connected). On `Err` nothing changed.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), RestoreError> {
        if self.state != State::Offline || self.connected_once || self.inflight.len() > 0 {
            return Err(RestoreError::NotFresh);
        }
        let body_len = bytes.len().checked_sub(2).ok_or(RestoreError::Corrupt)?;
        let (body, crc) = bytes.split_at(body_len);
        if crc::crc16(body).to_be_bytes() != crc || body.get(..4) != Some(&MAGIC[..]) {
            return Err(RestoreError::Corrupt);
        }
        // Check everything before changing anything.
        self.apply(body, false)?;
        self.apply(body, true)
    }

    fn apply(&mut self, body: &[u8], commit: bool) -> Result<(), RestoreError> {
        use RestoreError::{Capacity, Corrupt};
        // The magic (checked by the caller) is behind.
        let mut r = Reader::new(body.get(MAGIC.len()..).ok_or(Corrupt)?);
        // Where `r` is in `body`.
        let at = |r: &Reader<'_>| body.len() - r.remaining();
        let version = r.u8().map_err(|_| Corrupt)?;
        if version != self.format_version() {
            #[cfg(feature = "mqtt5")]
            if version == VERSION || version == VERSION_V5 {
                return Err(RestoreError::Protocol);
            }
            return Err(RestoreError::Version);
        }
        let flags = r.u8().map_err(|_| Corrupt)?;
        if usize::from(r.u16().map_err(|_| Corrupt)?) != N {
            return Err(Capacity);
        }
        let messages = r.u16().map_err(|_| Corrupt)?;
        if usize::from(messages) > N {
            return Err(Capacity);
        }
        let slot = self.inflight.slot_size();
        let first = at(&r);
        for k in 0..messages {
            let this = at(&r);
            let (pid, f, bytes) = message(&mut r).ok_or(Corrupt)?;
            if f & !(QOS2 | RELEASED | DUP) != 0 {
                return Err(Corrupt);
            }
            if f & QOS2 != 0 && R == 0 || bytes.len() > slot || !slot_of::<N>(pid) {
                return Err(Capacity);
            }
            self.check_message(pid, f, bytes)?;
            // Two ids for one slot would be a damaged (or forged) save.
            let mut earlier = Reader::new(body.get(first..this).ok_or(Corrupt)?);
            for _ in 0..k {
                let (other, _, _) = message(&mut earlier).ok_or(Corrupt)?;
                if (other - 1) % (N as u16 + 1) == (pid - 1) % (N as u16 + 1) {
                    return Err(Corrupt);
                }
            }
            if commit {
                let entry = EntryView {
                    pid,
                    qos2: f & QOS2 != 0,
                    released: f & RELEASED != 0,
                    dup: f & DUP != 0,
                    bytes,
                };
                self.inflight.restore(entry).map_err(|()| Capacity)?;
            }
        }
        let ids = r.u16().map_err(|_| Corrupt)?;
        if usize::from(ids) > R {
            return Err(Capacity);
        }
        let first = at(&r);
        for k in 0..ids {
            let pid = r.u16().map_err(|_| Corrupt)?;
            // §2.3.1: 0 is no packet identifier; one PUBREL is owed per id.
            let mut earlier = Reader::new(body.get(first..).ok_or(Corrupt)?);
            if pid == 0 || (0..k).any(|_| earlier.u16() == Ok(pid)) {
                return Err(Corrupt);
            }
            if commit {
                self.unreleased.insert(pid).map_err(|_| Capacity)?;
            }
        }
        let filters = r.u16().map_err(|_| Corrupt)?;
        for _ in 0..filters {
            let h = r.u32().map_err(|_| Corrupt)?;
            let qos = QoS::from_bits(r.u8().map_err(|_| Corrupt)?).ok_or(Corrupt)?;
            let saved = match r.u8().map_err(|_| Corrupt)? {
                0 => Saved::Active,
                1 => Saved::Subscribe,
                2 => Saved::Unsubscribe,
                _ => return Err(Corrupt),
            };
            if commit {
                self.subs.restore(qos, saved, |topic| hash(topic) == h);
            }
        }
        #[cfg(feature = "mqtt5")]
        if self.config.is_v5() {
            let len = r.u8().map_err(|_| Corrupt)?;
            let id = r.take(usize::from(len)).map_err(|_| Corrupt)?;
            let id = core::str::from_utf8(id).map_err(|_| Corrupt)?;
            if check_text(id).is_err() || id.len() > super::v5::MAX_ASSIGNED_ID {
                return Err(Corrupt);
            }
            if commit {
                self.v5.assigned.set(id);
            }
        }
        if r.remaining() != 0 {
            return Err(Corrupt);
        }
        if commit {
            self.connected_once = flags & EXISTS != 0;
            self.changed();
        }
        Ok(())
    }
}

/// One saved message: id, flags, PUBLISH bytes.
fn message<'b>(r: &mut Reader<'b>) -> Option<(u16, u8, &'b [u8])> {
    let pid = r.u16().ok()?;
    let flags = r.u8().ok()?;
    let len = usize::from(r.u16().ok()?);
    Some((pid, flags, r.take(len).ok()?))
}

/// The saved bytes are the PUBLISH the entry describes, as
/// [`Session::publish`] stored it: exactly one well-formed PUBLISH (§3.3,
/// decoded by the crate's own decoder, so the lengths agree and the Topic
/// Name has no wildcard or U+0000, §4.7.3), whose topic passes the checks
/// `publish` makes (§1.5.3), QoS 1, or 2 for an exactly-once entry
/// (§3.3.1.2), packet identifier `pid` (§2.3.1: the id the broker will
/// acknowledge, and the slot the table files it under), DUP clear (the
/// entry's flag sets it on a re-send, §3.3.1.1); released (PUBREC came,
/// §4.3.3) only if QoS 2. Anything else would go to the broker as it is.
fn check_message(pid: u16, flags: u8, bytes: &[u8]) -> Result<(), RestoreError> {
    // The receive path's decoder: the same PUBLISH checks, and it links no
    // decoder of the packets only a client sends.
    match Packet::decode_from_server(bytes) {
        Ok(Packet::Publish(p)) => check_entry(pid, flags, p.qos, p.pid, p.dup, p.topic),
        _ => Err(RestoreError::BadMessage),
    }
}

/// [`check_message`] for an MQTT 5.0 session: its PUBLISH as 5.0 encodes
/// it, with the properties `publish_with` accepts (the decoder validated
/// the block against table 2-4; no Topic Alias, which would name another
/// connection's topic, no Subscription Identifier, which a client never
/// sends [MQTT-3.3.4-6], a Response Topic that is a Topic Name).
#[cfg(feature = "mqtt5")]
fn check_message_v5(pid: u16, flags: u8, bytes: &[u8]) -> Result<(), RestoreError> {
    use crate::wire::v5;
    match v5::Packet::decode_from_server(bytes) {
        Ok(v5::Packet::Publish(p)) if super::v5::check_properties(&p.properties).is_ok() => {
            check_entry(pid, flags, p.qos, p.pid, p.dup, p.topic)
        }
        _ => Err(RestoreError::BadMessage),
    }
}

/// The fields of a saved PUBLISH against its entry (see [`check_message`]).
fn check_entry(
    pid: u16,
    flags: u8,
    qos: QoS,
    id: Option<u16>,
    dup: bool,
    topic: &str,
) -> Result<(), RestoreError> {
    let entry_qos = if flags & QOS2 != 0 {
        QoS::ExactlyOnce
    } else {
        QoS::AtLeastOnce
    };
    let released_ok = entry_qos == QoS::ExactlyOnce || flags & RELEASED == 0;
    if qos == entry_qos && id == Some(pid) && !dup && released_ok && check_text(topic).is_ok() {
        Ok(())
    } else {
        Err(RestoreError::BadMessage)
    }
}

impl<const N: usize, const S: usize, const R: usize> Session<'_, N, S, R> {
    /// The saved PUBLISH of an entry, in this session's protocol version.
    fn check_message(&self, pid: u16, flags: u8, bytes: &[u8]) -> Result<(), RestoreError> {
        #[cfg(feature = "mqtt5")]
        if self.config.is_v5() {
            return check_message_v5(pid, flags, bytes);
        }
        check_message(pid, flags, bytes)
    }
}

/// True if `pid` is an id the in-flight table of capacity `N` can hold.
fn slot_of<const N: usize>(pid: u16) -> bool {
    pid != 0 && (usize::from(pid) - 1) % (N + 1) < N
}

fn flag(on: bool, f: u8) -> u8 {
    if on {
        f
    } else {
        0
    }
}
