//! Just enough DER to read an X.509 certificate's issuer, subject, validity,
//! basic constraints and DNS names (RFC 5280 §4.1, §4.1.2.5, §4.2.1.6,
//! §4.2.1.9), so that a refusal can say why, a chain's middle links must be
//! CAs and dates are checked against the caller's time; and a P-256 private
//! key (SEC1 or PKCS#8). Signatures are embedded-tls' business. Malformed
//! input gives `None`, never a panic.

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
    validity: &'a [u8],
    extensions: &'a [u8],
    /// The whole tbsCertificate, the signed bytes.
    tbs: &'a [u8],
    /// SubjectPublicKeyInfo's contents.
    key: &'a [u8],
    /// signatureAlgorithm's OID and the signature (BIT STRING contents).
    signature_algorithm: &'a [u8],
    signature: &'a [u8],
}

/// Issuer, subject and extensions of a DER certificate.
pub(super) fn fields(cert: &[u8]) -> Option<Fields<'_>> {
    let outer = tlv(cert).filter(|t| t.tag == SEQUENCE)?;
    let mut top = Seq(outer.content);
    let tbs = top.next().filter(|t| t.tag == SEQUENCE)?;
    let algorithm = top.next().filter(|t| t.tag == SEQUENCE)?;
    let signature_algorithm = tlv(algorithm.content).filter(|t| t.tag == 0x06)?.content;
    let signature = top.next().filter(|t| t.tag == 0x03)?.content;
    let mut it = Seq(tbs.content);
    let mut item = it.next()?;
    if item.tag == 0xa0 {
        item = it.next()?; // explicit version; now the serial number
    }
    let _serial = item;
    let _signature = it.next()?;
    let issuer = it.next()?.whole;
    let validity = it.next().filter(|t| t.tag == SEQUENCE)?.content;
    let subject = it.next()?.whole;
    let key = it.next().filter(|t| t.tag == SEQUENCE)?.content;
    let mut extensions: &[u8] = &[];
    for t in it {
        if t.tag == 0xa3 {
            extensions = tlv(t.content).filter(|s| s.tag == SEQUENCE)?.content;
        }
    }
    Some(Fields {
        issuer,
        subject,
        validity,
        extensions,
        tbs: tbs.whole,
        key,
        signature_algorithm,
        signature,
    })
}

/// ecdsa-with-SHA256, 1.2.840.10045.4.3.2.
const ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];

/// Whether `issuer`'s key made `cert`'s signature, for the one algorithm
/// this is asked about (ECDSA P-256 with SHA-256); `None` for any other or
/// a malformed certificate. Only picks among CAs of one name: the chain is
/// verified by embedded-tls all the same.
pub(super) fn p256_signed_by(cert: &[u8], issuer: &[u8]) -> Option<bool> {
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::{DerSignature, VerifyingKey};
    let c = fields(cert)?;
    let i = fields(issuer)?;
    if c.signature_algorithm != ECDSA_SHA256 {
        return None;
    }
    let mut spki = Seq(i.key);
    let alg = spki.next().filter(|t| t.tag == SEQUENCE)?;
    let mut alg = Seq(alg.content);
    let (id, curve) = (alg.next()?, alg.next()?);
    if id.content != EC_PUBLIC_KEY || curve.content != PRIME256V1 {
        return None;
    }
    let point = spki
        .next()
        .filter(|t| t.tag == 0x03)?
        .content
        .strip_prefix(&[0])?;
    let key = VerifyingKey::from_sec1_bytes(point).ok()?;
    let sig = DerSignature::from_bytes(c.signature.strip_prefix(&[0])?).ok()?;
    Some(key.verify(c.tbs, &sig).is_ok())
}

/// notBefore and notAfter of a DER certificate, in unix seconds.
pub(super) fn validity(cert: &[u8]) -> Option<(i64, i64)> {
    let f = fields(cert)?;
    let mut it = Seq(f.validity);
    let not_before = time(it.next()?)?;
    let not_after = time(it.next()?)?;
    Some((not_before, not_after))
}

/// A certificate `Time` (RFC 5280 §4.1.2.5) in unix seconds: UTCTime
/// `YYMMDDHHMMSSZ` (YY ≥ 50 is 19YY, else 20YY) or GeneralizedTime
/// `YYYYMMDDHHMMSSZ`, exactly these forms (no fractions, always Zulu).
fn time(t: Tlv<'_>) -> Option<i64> {
    let (year, rest) = match (t.tag, t.content.len()) {
        (0x17, 13) => {
            let yy = digits(t.content.get(..2)?)?;
            (
                if yy >= 50 { 1900 + yy } else { 2000 + yy },
                &t.content[2..],
            )
        }
        (0x18, 15) => (digits(t.content.get(..4)?)?, &t.content[4..]),
        _ => return None,
    };
    if rest.get(10) != Some(&b'Z') {
        return None;
    }
    let field = |i: usize| digits(rest.get(i..i + 2)?);
    let (month, day) = (field(0)?, field(2)?);
    let (hour, minute, second) = (field(4)?, field(6)?, field(8)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3_600 + minute * 60 + second)
}

/// ASCII decimal digits as a number; `None` if any is not a digit.
fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0i64, |n, d| {
        d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0'))
    })
}

fn days_in_month(year: i64, month: i64) -> i64 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// id-ecPublicKey, 1.2.840.10045.2.1.
const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// prime256v1 (secp256r1), 1.2.840.10045.3.1.7.
const PRIME256V1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// The 32-byte secret scalar of a P-256 private key in DER: a SEC1
/// `ECPrivateKey` (RFC 5915, `openssl ecparam -genkey`) or a PKCS#8
/// `PrivateKeyInfo` holding one (RFC 5208/5958, `openssl genpkey`). `None`
/// for another curve or algorithm, or a malformed key.
pub(super) fn p256_secret(key: &[u8]) -> Option<&[u8]> {
    let outer = tlv(key).filter(|t| t.tag == SEQUENCE && t.whole.len() == key.len())?;
    let mut it = Seq(outer.content);
    let version = it.next().filter(|t| t.tag == 0x02)?;
    let second = it.next()?;
    if second.tag == SEQUENCE {
        // PKCS#8: version 0, AlgorithmIdentifier { id-ecPublicKey, curve }.
        if version.content != [0] {
            return None;
        }
        let mut alg = Seq(second.content);
        let (id, curve) = (alg.next()?, alg.next()?);
        if id.tag != 0x06 || id.content != EC_PUBLIC_KEY || curve.content != PRIME256V1 {
            return None;
        }
        let inner = it.next().filter(|t| t.tag == 0x04)?;
        return sec1_secret(inner.content, true);
    }
    sec1_secret(outer.whole, false)
}

/// SEC1 `ECPrivateKey { version 1, privateKey OCTET STRING, [0] curve,
/// [1] publicKey }`; the curve, if named, must be P-256 (PKCS#8 names it
/// outside, so `curve_named_outside` allows it to be absent).
fn sec1_secret(key: &[u8], curve_named_outside: bool) -> Option<&[u8]> {
    let outer = tlv(key).filter(|t| t.tag == SEQUENCE && t.whole.len() == key.len())?;
    let mut it = Seq(outer.content);
    if it.next().filter(|t| t.tag == 0x02)?.content != [1] {
        return None;
    }
    let secret = it
        .next()
        .filter(|t| t.tag == 0x04 && t.content.len() == 32)?;
    let mut curve_ok = curve_named_outside;
    for t in it {
        if t.tag == 0xa0 {
            let oid = tlv(t.content).filter(|o| o.tag == 0x06)?;
            curve_ok = oid.content == PRIME256V1;
            if !curve_ok {
                return None;
            }
        }
    }
    curve_ok.then_some(secret.content)
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

    fn time_of(tag: u8, s: &str) -> Option<i64> {
        let mut b = [0u8; 32];
        b[0] = tag;
        b[1] = s.len() as u8;
        b[2..2 + s.len()].copy_from_slice(s.as_bytes());
        time(tlv(&b[..2 + s.len()])?)
    }

    #[test]
    fn times() {
        assert_eq!(time_of(0x17, "700101000000Z"), Some(0));
        assert_eq!(time_of(0x17, "491231235959Z"), Some(2_524_607_999));
        assert_eq!(time_of(0x17, "500101000000Z"), Some(-631_152_000));
        assert_eq!(time_of(0x17, "200101000000Z"), Some(1_577_836_800));
        assert_eq!(time_of(0x18, "20600101000000Z"), Some(2_840_140_800));
        assert_eq!(time_of(0x18, "20240229120000Z"), Some(1_709_208_000));
        assert_eq!(time_of(0x18, "99991231235959Z"), Some(253_402_300_799));
        // Not the DER forms, or not a date.
        assert_eq!(time_of(0x18, "20230229120000Z"), None);
        assert_eq!(time_of(0x17, "2001010000Z"), None);
        assert_eq!(time_of(0x17, "200101000000+0100"), None);
        assert_eq!(time_of(0x18, "20200101000000.5Z"), None);
        assert_eq!(time_of(0x17, "201301000000Z"), None);
        assert_eq!(time_of(0x17, "200101240000Z"), None);
        assert_eq!(time_of(0x17, "2001010000-0Z"), None);
        assert_eq!(time_of(0x17, "20010100000 Z"), None);
        assert_eq!(time_of(0x04, "200101000000Z"), None);
    }

    #[test]
    fn private_keys() {
        let secret = [7u8; 32];
        // SEC1 with the curve named.
        let mut sec1 = [0u8; 64];
        let head = [0x30, 0x31, 0x02, 0x01, 0x01, 0x04, 0x20];
        sec1[..7].copy_from_slice(&head);
        sec1[7..39].copy_from_slice(&secret);
        sec1[39..41].copy_from_slice(&[0xa0, 0x0a]);
        sec1[41..43].copy_from_slice(&[0x06, 0x08]);
        sec1[43..51].copy_from_slice(PRIME256V1);
        assert_eq!(p256_secret(&sec1[..51]), Some(&secret[..]));
        // No curve and nothing outside naming it: refused.
        let mut bare = sec1;
        bare[1] = 0x25;
        assert_eq!(p256_secret(&bare[..39]), None);
        // Another curve (secp384r1's OID, 1.3.132.0.34).
        let mut other = sec1;
        other[1] = 0x2e;
        other[40] = 0x07;
        other[42] = 0x05;
        other[43..48].copy_from_slice(&[0x2b, 0x81, 0x04, 0x00, 0x22]);
        assert_eq!(p256_secret(&other[..48]), None);
        // Truncated and trailing bytes.
        assert_eq!(p256_secret(&sec1[..50]), None);
        assert_eq!(p256_secret(&sec1[..52]), None);
        assert_eq!(p256_secret(&[]), None);
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
