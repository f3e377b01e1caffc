//! Just enough DER to read an X.509 certificate's issuer, subject, basic
//! constraints and DNS names (RFC 5280 §4.1, §4.2.1.6, §4.2.1.9), so that a
//! refusal can say why and a chain's middle links must be CAs. Signatures
//! are embedded-tls' business. Malformed input gives `None`, never a panic.

/// One TLV: its tag, its contents and its whole encoding.
#[derive(Clone, Copy)]
pub(super) struct Tlv<'a> {
    pub tag: u8,
    pub content: &'a [u8],
    pub whole: &'a [u8],
}

/// The first TLV in `b` (definite lengths up to 3 length bytes).
pub(super) fn tlv(b: &[u8]) -> Option<Tlv<'_>> {
    let tag = *b.first()?;
    let first = usize::from(*b.get(1)?);
    let (len, header) = if first < 0x80 {
        (first, 2)
    } else {
        let n = first & 0x7f;
        if n == 0 || n > 3 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*b.get(2 + i)?);
        }
        (len, 2 + n)
    };
    let end = header.checked_add(len)?;
    Some(Tlv {
        tag,
        content: b.get(header..end)?,
        whole: b.get(..end)?,
    })
}

/// The TLVs one after another in `b`; stops at the end or at a malformed one.
struct Seq<'a>(&'a [u8]);

impl<'a> Iterator for Seq<'a> {
    type Item = Tlv<'a>;
    fn next(&mut self) -> Option<Tlv<'a>> {
        let t = tlv(self.0)?;
        self.0 = self.0.get(t.whole.len()..).unwrap_or(&[]);
        Some(t)
    }
}

const SEQUENCE: u8 = 0x30;
/// id-ce-subjectAltName, 2.5.29.17.
const SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];
/// id-ce-basicConstraints, 2.5.29.19.
const BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];

/// The parts of a certificate that are read here.
pub(super) struct Fields<'a> {
    pub issuer: &'a [u8],
    pub subject: &'a [u8],
    extensions: &'a [u8],
}

/// Issuer, subject and extensions of a DER certificate.
pub(super) fn fields(cert: &[u8]) -> Option<Fields<'_>> {
    let outer = tlv(cert).filter(|t| t.tag == SEQUENCE)?;
    let tbs = tlv(outer.content).filter(|t| t.tag == SEQUENCE)?;
    let mut it = Seq(tbs.content);
    let mut item = it.next()?;
    if item.tag == 0xa0 {
        item = it.next()?; // explicit version; now the serial number
    }
    let _serial = item;
    let _signature = it.next()?;
    let issuer = it.next()?.whole;
    let _validity = it.next()?;
    let subject = it.next()?.whole;
    let _key = it.next()?;
    let mut extensions: &[u8] = &[];
    for t in it {
        if t.tag == 0xa3 {
            extensions = tlv(t.content).filter(|s| s.tag == SEQUENCE)?.content;
        }
    }
    Some(Fields {
        issuer,
        subject,
        extensions,
    })
}

/// The value (inside the OCTET STRING) of the extension `oid`.
fn extension<'a>(f: &Fields<'a>, oid: &[u8]) -> Option<&'a [u8]> {
    for ext in Seq(f.extensions) {
        let mut parts = Seq(ext.content);
        let id = parts.next()?;
        if id.tag != 0x06 || id.content != oid {
            continue;
        }
        let mut value = parts.next()?;
        if value.tag == 0x01 {
            value = parts.next()?; // critical flag
        }
        return (value.tag == 0x04).then_some(value.content);
    }
    None
}

/// True if the certificate says it is a CA (basicConstraints cA TRUE).
pub(super) fn is_ca(cert: &[u8]) -> bool {
    let check = || {
        let f = fields(cert)?;
        let value = extension(&f, BASIC_CONSTRAINTS)?;
        let seq = tlv(value).filter(|t| t.tag == SEQUENCE)?;
        let first = tlv(seq.content)?;
        Some(first.tag == 0x01 && first.content.first().is_some_and(|b| *b != 0))
    };
    check().unwrap_or(false)
}

/// Whether one of the certificate's DNS names matches `host`; `None` if it
/// has no DNS name in a subjectAltName (then the library decides alone).
pub(super) fn names_match(cert: &[u8], host: &str) -> Option<bool> {
    let f = fields(cert)?;
    let value = extension(&f, SUBJECT_ALT_NAME)?;
    let names = tlv(value).filter(|t| t.tag == SEQUENCE)?;
    let mut any = false;
    for name in Seq(names.content) {
        if name.tag == 0x82 {
            any = true;
            if name_matches(name.content, host.as_bytes()) {
                return Some(true);
            }
        }
    }
    any.then_some(false)
}

/// RFC 6125 §6.4: equal ignoring ASCII case, or `*.rest` standing for
/// exactly one leftmost label.
fn name_matches(pattern: &[u8], host: &[u8]) -> bool {
    if let Some(rest) = pattern.strip_prefix(b"*.") {
        match host.iter().position(|b| *b == b'.') {
            Some(dot) if dot > 0 => host
                .get(dot + 1..)
                .is_some_and(|h| h.eq_ignore_ascii_case(rest)),
            _ => false,
        }
    } else {
        pattern.eq_ignore_ascii_case(host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_truncation() {
        assert!(tlv(&[0x30, 0x01]).is_none());
        assert!(tlv(&[0x30, 0x80]).is_none());
        assert!(tlv(&[0x30, 0x84, 0, 0, 0, 1, 0]).is_none());
        let t = tlv(&[0x04, 0x81, 0x01, 0xaa, 0xbb]).unwrap();
        assert_eq!((t.tag, t.content, t.whole.len()), (0x04, &[0xaa][..], 4));
        assert!(fields(&[]).is_none());
        assert!(!is_ca(&[0x30, 0x00]));
        assert_eq!(names_match(&[0x30, 0x03, 0x30, 0x01], "x"), None);
    }

    #[test]
    fn wildcards() {
        assert!(name_matches(b"LocalHost", b"localhost"));
        assert!(name_matches(b"*.example.com", b"a.example.com"));
        assert!(!name_matches(b"*.example.com", b"a.b.example.com"));
        assert!(!name_matches(b"*.example.com", b".example.com"));
        assert!(!name_matches(b"localhost", b"localhost.evil"));
    }
}
