//! The DNS server's logic: a table of A records the test controls, failure
//! modes, and a small response encoder (smoltcp's `wire::dns` parses queries
//! but only emits queries, and has no setter for the response code).
//!
//! A query is one question, class IN, with no compression in it (what
//! smoltcp's and every stub resolver's queries are). The response copies the
//! question and, for an A query of a known name, adds one A record whose
//! name is a pointer to the question (offset 12). A known name asked for
//! another type gets NOERROR with no answer; an unknown name NXDOMAIN.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use smoltcp::time::Duration;
use smoltcp::wire::{DnsFlags, DnsOpcode, DnsPacket, DnsQueryType, DnsQuestion, DnsRcode};

/// Largest query handled and largest response emitted (plain DNS over UDP).
pub(crate) const MAX_MESSAGE: usize = 512;

/// A failure mode of the whole DNS server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DnsFault {
    /// Answer from the table (unknown names get NXDOMAIN).
    #[default]
    None,
    /// Every query gets NXDOMAIN.
    NxDomain,
    /// No query gets an answer (the client times out).
    Silent,
    /// Answers as usual, each one this long (simulated time) after its query.
    Delay(Duration),
}

/// What the DNS server did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DnsStats {
    /// Well-formed queries received.
    pub queries: u64,
    /// Responses with an A record.
    pub answered: u64,
    /// NXDOMAIN responses.
    pub nxdomain: u64,
    /// NOERROR responses without an answer (a known name, another type).
    pub no_data: u64,
    /// Queries left unanswered by [`DnsFault::Silent`].
    pub silenced: u64,
    /// Responses held back by [`DnsFault::Delay`].
    pub delayed: u64,
    /// Delayed responses dropped because the gateway's queue was full.
    pub delay_overflow: u64,
    /// Datagrams that were not a query this server understands.
    pub malformed: u64,
}

/// A response to send, and when.
pub(crate) enum Outcome {
    /// Send now.
    Now(usize),
    /// Send after this delay.
    Later(usize, Duration),
    /// Say nothing.
    Nothing,
}

/// Records, failure mode, counts.
#[derive(Debug, Default)]
pub(crate) struct DnsTable {
    records: HashMap<String, Ipv4Addr>,
    pub(crate) fault: DnsFault,
    pub(crate) ttl: u32,
    per_name: HashMap<String, u64>,
    pub(crate) stats: DnsStats,
}

impl DnsTable {
    pub(crate) fn new(ttl: u32) -> DnsTable {
        DnsTable {
            ttl,
            ..DnsTable::default()
        }
    }

    pub(crate) fn set_record(&mut self, name: &str, addr: Ipv4Addr) {
        self.records.insert(normalise(name), addr);
    }

    pub(crate) fn remove_record(&mut self, name: &str) -> Option<Ipv4Addr> {
        self.records.remove(&normalise(name))
    }

    pub(crate) fn record(&self, name: &str) -> Option<Ipv4Addr> {
        self.records.get(&normalise(name)).copied()
    }

    pub(crate) fn queries_for(&self, name: &str) -> u64 {
        self.per_name.get(&normalise(name)).copied().unwrap_or(0)
    }

    /// Handles one query datagram; the response is written to `out`.
    pub(crate) fn handle(&mut self, query: &[u8], out: &mut [u8; MAX_MESSAGE]) -> Outcome {
        let Some(q) = parse_query(query) else {
            self.stats.malformed += 1;
            return Outcome::Nothing;
        };
        self.stats.queries += 1;
        *self.per_name.entry(q.name.clone()).or_default() += 1;
        let (rcode, answer) = match (self.fault, self.records.get(&q.name)) {
            (DnsFault::Silent, _) => {
                self.stats.silenced += 1;
                return Outcome::Nothing;
            }
            (DnsFault::NxDomain, _) | (_, None) => (DnsRcode::NXDomain, None),
            (_, Some(&a)) if q.type_ == DnsQueryType::A => (DnsRcode::NoError, Some(a)),
            (_, Some(_)) => (DnsRcode::NoError, None),
        };
        match (rcode, answer) {
            (DnsRcode::NXDomain, _) => self.stats.nxdomain += 1,
            (_, Some(_)) => self.stats.answered += 1,
            _ => self.stats.no_data += 1,
        }
        let len = encode_response(query, &q, rcode, answer, self.ttl, out);
        match self.fault {
            DnsFault::Delay(d) => {
                self.stats.delayed += 1;
                Outcome::Later(len, d)
            }
            _ => Outcome::Now(len),
        }
    }
}

/// Lower case, without a trailing dot.
fn normalise(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// A parsed query.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Query {
    pub(crate) id: u16,
    pub(crate) recursion_desired: bool,
    /// Dotted, lower case.
    pub(crate) name: String,
    pub(crate) type_: DnsQueryType,
    /// Bytes of the question section (name, type, class) from offset 12.
    pub(crate) question_len: usize,
}

pub(crate) fn parse_query(bytes: &[u8]) -> Option<Query> {
    if bytes.len() > MAX_MESSAGE {
        return None;
    }
    let packet = DnsPacket::new_checked(bytes).ok()?;
    if packet.flags().contains(DnsFlags::RESPONSE)
        || packet.opcode() != DnsOpcode::Query
        || packet.question_count() != 1
    {
        return None;
    }
    let (rest, question) = DnsQuestion::parse(packet.payload()).ok()?;
    // No compression pointer in a query's only name: plain labels up to the root.
    let mut at = 0;
    loop {
        match *question.name.get(at)? {
            0 if at + 1 == question.name.len() => break,
            len if len & 0xC0 == 0 && len > 0 => at += 1 + usize::from(len),
            _ => return None,
        }
    }
    let mut name = String::new();
    for label in packet.parse_name(question.name) {
        let label = std::str::from_utf8(label.ok()?).ok()?;
        if !name.is_empty() {
            name.push('.');
        }
        name.push_str(label);
    }
    name.make_ascii_lowercase();
    Some(Query {
        id: packet.transaction_id(),
        recursion_desired: packet.flags().contains(DnsFlags::RECURSION_DESIRED),
        name,
        type_: question.type_,
        question_len: packet.payload().len() - rest.len(),
    })
}

/// Writes the response to `query` (parsed as `q`); returns its length.
pub(crate) fn encode_response(
    query: &[u8],
    q: &Query,
    rcode: DnsRcode,
    answer: Option<Ipv4Addr>,
    ttl: u32,
    out: &mut [u8; MAX_MESSAGE],
) -> usize {
    let mut flags: u16 = 0x8000 | 0x0400 | 0x0080; // QR, AA, RA; opcode QUERY
    if q.recursion_desired {
        flags |= 0x0100;
    }
    flags |= u16::from(u8::from(rcode) & 0x0F);
    let ancount = u16::from(answer.is_some());
    out[0..2].copy_from_slice(&q.id.to_be_bytes());
    out[2..4].copy_from_slice(&flags.to_be_bytes());
    out[4..6].copy_from_slice(&1u16.to_be_bytes());
    out[6..8].copy_from_slice(&ancount.to_be_bytes());
    out[8..12].fill(0);
    let mut at = 12 + q.question_len;
    out[12..at].copy_from_slice(&query[12..at]);
    if let Some(addr) = answer {
        let record = [
            [0xC0, 0x0C], // name: pointer to the question's
            1u16.to_be_bytes(),
            1u16.to_be_bytes(), // type A, class IN
        ];
        for part in record {
            out[at..at + 2].copy_from_slice(&part);
            at += 2;
        }
        out[at..at + 4].copy_from_slice(&ttl.to_be_bytes());
        out[at + 4..at + 6].copy_from_slice(&4u16.to_be_bytes());
        out[at + 6..at + 10].copy_from_slice(&addr.octets());
        at += 10;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::wire::{DnsRecord, DnsRecordData, DnsRepr};

    /// A query as smoltcp's DNS socket builds it.
    fn query(id: u16, name: &str, type_: DnsQueryType) -> Vec<u8> {
        let mut raw = Vec::new();
        for label in name.split('.') {
            raw.push(label.len() as u8);
            raw.extend_from_slice(label.as_bytes());
        }
        raw.push(0);
        let repr = DnsRepr {
            transaction_id: id,
            opcode: DnsOpcode::Query,
            flags: DnsFlags::RECURSION_DESIRED,
            question: DnsQuestion { name: &raw, type_ },
        };
        let mut buf = vec![0; repr.buffer_len()];
        repr.emit(&mut DnsPacket::new_unchecked(&mut buf[..]));
        buf
    }

    /// (id, rcode, A records) of a response, parsed with smoltcp.
    fn parse_response(bytes: &[u8]) -> (u16, DnsRcode, Vec<(Ipv4Addr, u32)>) {
        let p = DnsPacket::new_checked(bytes).unwrap();
        assert!(p.flags().contains(DnsFlags::RESPONSE));
        assert_eq!(p.question_count(), 1);
        let (mut rest, _) = DnsQuestion::parse(p.payload()).unwrap();
        let mut addrs = Vec::new();
        for _ in 0..p.answer_record_count() {
            let (r, record): (_, DnsRecord) = DnsRecord::parse(rest).unwrap();
            rest = r;
            let name: Vec<&[u8]> = p.parse_name(record.name).map(|l| l.unwrap()).collect();
            assert_eq!(
                name.len(),
                2,
                "the pointer leads back to the question's name"
            );
            match record.data {
                DnsRecordData::A(a) => addrs.push((a, record.ttl)),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(rest.is_empty());
        (p.transaction_id(), p.rcode(), addrs)
    }

    fn ask(t: &mut DnsTable, q: &[u8]) -> Option<Vec<u8>> {
        let mut out = [0; MAX_MESSAGE];
        match t.handle(q, &mut out) {
            Outcome::Now(n) => Some(out[..n].to_vec()),
            Outcome::Later(..) => panic!("delayed"),
            Outcome::Nothing => None,
        }
    }

    #[test]
    fn parses_smoltcp_s_query() {
        let q = parse_query(&query(0x1234, "Broker.Example", DnsQueryType::A)).unwrap();
        assert_eq!(q.id, 0x1234);
        assert!(q.recursion_desired);
        assert_eq!(q.name, "broker.example");
        assert_eq!(q.type_, DnsQueryType::A);
        assert_eq!(q.question_len, 16 + 4);
    }

    #[test]
    fn answers_a_known_name() {
        let mut t = DnsTable::new(30);
        t.set_record("broker.example.", Ipv4Addr::new(10, 0, 0, 2));
        let r = ask(&mut t, &query(7, "BROKER.example", DnsQueryType::A)).unwrap();
        assert_eq!(
            parse_response(&r),
            (7, DnsRcode::NoError, vec![(Ipv4Addr::new(10, 0, 0, 2), 30)])
        );
        assert_eq!(t.stats.answered, 1);
        assert_eq!(t.queries_for("broker.example"), 1);
    }

    #[test]
    fn unknown_name_is_nxdomain_and_other_types_get_no_data() {
        let mut t = DnsTable::new(30);
        t.set_record("a.example", Ipv4Addr::new(10, 0, 0, 2));
        let r = ask(&mut t, &query(1, "b.example", DnsQueryType::A)).unwrap();
        assert_eq!(parse_response(&r), (1, DnsRcode::NXDomain, vec![]));
        let r = ask(&mut t, &query(2, "a.example", DnsQueryType::Aaaa)).unwrap();
        assert_eq!(parse_response(&r), (2, DnsRcode::NoError, vec![]));
        assert_eq!((t.stats.nxdomain, t.stats.no_data), (1, 1));
        t.remove_record("a.example");
        let r = ask(&mut t, &query(3, "a.example", DnsQueryType::A)).unwrap();
        assert_eq!(parse_response(&r).1, DnsRcode::NXDomain);
    }

    #[test]
    fn faults() {
        let mut t = DnsTable::new(30);
        t.set_record("a.example", Ipv4Addr::new(10, 0, 0, 2));
        t.fault = DnsFault::NxDomain;
        let r = ask(&mut t, &query(1, "a.example", DnsQueryType::A)).unwrap();
        assert_eq!(parse_response(&r).1, DnsRcode::NXDomain);
        t.fault = DnsFault::Silent;
        assert!(ask(&mut t, &query(2, "a.example", DnsQueryType::A)).is_none());
        t.fault = DnsFault::Delay(Duration::from_millis(1500));
        let mut out = [0; MAX_MESSAGE];
        match t.handle(&query(3, "a.example", DnsQueryType::A), &mut out) {
            Outcome::Later(n, d) => {
                assert_eq!(d, Duration::from_millis(1500));
                assert_eq!(parse_response(&out[..n]).2.len(), 1);
            }
            _ => panic!("not delayed"),
        }
        assert_eq!(t.stats.queries, 3);
        assert_eq!((t.stats.silenced, t.stats.delayed), (1, 1));
    }

    #[test]
    fn rejects_what_is_not_a_plain_query() {
        let mut t = DnsTable::new(30);
        let good = query(1, "a.example", DnsQueryType::A);
        let mut response = good.clone();
        response[2] |= 0x80;
        let mut two = good.clone();
        two[5] = 2;
        let mut pointer = good.clone();
        pointer.truncate(12);
        pointer.extend_from_slice(&[0xC0, 0x0C, 0, 1, 0, 1]);
        for bad in [
            &good[..5],
            &response[..],
            &two[..],
            &pointer[..],
            &good[..good.len() - 1],
        ] {
            assert!(ask(&mut t, bad).is_none(), "{bad:?}");
        }
        assert_eq!(t.stats.malformed, 5);
        assert_eq!(t.stats.queries, 0);
    }
}
