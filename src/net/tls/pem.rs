//! PEM (RFC 7468) to DER into a caller's buffer, without allocation: the
//! base64 between `-----BEGIN label-----` and `-----END label-----`.
//!
//! For CA certificates (one or a bundle of several), a client certificate
//! and its private key as files give them. Encrypted PEM (`Proc-Type`
//! headers) is refused: decrypt the key first.
//!
//! ```
//! use limpet::net::tls::pem;
//! let bundle = b"-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n\
//!                -----BEGIN CERTIFICATE-----\nMAMCAQI=\n-----END CERTIFICATE-----\n";
//! let mut out = [0u8; 64];
//! let mut ders: [&[u8]; 4] = [&[]; 4];
//! let n = pem::certificates(bundle, &mut out, &mut ders).unwrap();
//! assert_eq!(&ders[..n], &[&[0x30, 3, 2, 1, 1][..], &[0x30, 3, 2, 1, 2][..]]);
//! ```

/// Why a PEM text was not decoded.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PemError {
    /// No `-----BEGIN …-----` line (or none with the wanted label).
    NoBlock,
    /// A BEGIN line without its END line.
    Unterminated,
    /// Not base64 between the lines (or an encrypted block's headers).
    BadBase64,
    /// The output buffer is too small for the DER.
    BufferTooSmall,
    /// More certificates than the slots given.
    TooManyBlocks,
}

/// One decoded block.
#[derive(Debug)]
pub struct Block<'t, 'o> {
    /// The label (`CERTIFICATE`, `PRIVATE KEY`, `EC PRIVATE KEY`, …).
    pub label: &'t [u8],
    /// The DER bytes, in the caller's buffer.
    pub der: &'o [u8],
    /// The text after the block's END line.
    pub rest: &'t [u8],
}

const BEGIN: &[u8] = b"-----BEGIN ";
const END: &[u8] = b"-----END ";
const DASHES: &[u8] = b"-----";

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The first PEM block in `text`, decoded into `out`.
pub fn decode<'t, 'o>(text: &'t [u8], out: &'o mut [u8]) -> Result<Block<'t, 'o>, PemError> {
    let start = find(text, BEGIN).ok_or(PemError::NoBlock)? + BEGIN.len();
    let after = &text[start..];
    let label_len = find(after, DASHES).ok_or(PemError::NoBlock)?;
    let label = &after[..label_len];
    if label.iter().any(|b| *b == b'\n' || *b == b'\r') {
        return Err(PemError::NoBlock);
    }
    let body_and_rest = &after[label_len + DASHES.len()..];
    let end = find(body_and_rest, END).ok_or(PemError::Unterminated)?;
    let body = &body_and_rest[..end];
    let closing = &body_and_rest[end + END.len()..];
    let rest = closing
        .strip_prefix(label)
        .and_then(|r| r.strip_prefix(DASHES))
        .ok_or(PemError::Unterminated)?;
    let n = base64(body, out)?;
    Ok(Block {
        label,
        der: &out[..n],
        rest,
    })
}

/// Every `CERTIFICATE` block of `text` (other labels are skipped), decoded
/// one after another into `out`, each DER slice put in `ders` in order; how
/// many.
pub fn certificates<'o>(
    text: &[u8],
    out: &'o mut [u8],
    ders: &mut [&'o [u8]],
) -> Result<usize, PemError> {
    let (mut text, mut out, mut n) = (text, out, 0);
    loop {
        let (label, len, rest) = match decode(text, out) {
            Ok(block) => (block.label, block.der.len(), block.rest),
            Err(PemError::NoBlock) if n > 0 => return Ok(n),
            Err(e) => return Err(e),
        };
        text = rest;
        if label != b"CERTIFICATE" {
            continue;
        }
        let (der, free) = core::mem::take(&mut out).split_at_mut(len);
        out = free;
        *ders.get_mut(n).ok_or(PemError::TooManyBlocks)? = der;
        n += 1;
    }
}

/// Standard base64 (RFC 4648 §4) with padding; whitespace is skipped.
fn base64(body: &[u8], out: &mut [u8]) -> Result<usize, PemError> {
    let (mut acc, mut bits, mut n) = (0u32, 0u32, 0usize);
    let (mut symbols, mut pad) = (0usize, 0usize);
    for &c in body {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                pad += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            _ => return Err(PemError::BadBase64),
        };
        if pad > 0 {
            return Err(PemError::BadBase64); // data after padding
        }
        symbols += 1;
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            *out.get_mut(n).ok_or(PemError::BufferTooSmall)? = (acc >> bits) as u8;
            n += 1;
            acc &= (1 << bits) - 1;
        }
    }
    let whole = (symbols + pad) % 4 == 0 && pad <= 2 && (pad == 0 || symbols % 4 == 4 - pad);
    if !whole || acc != 0 || n == 0 {
        return Err(PemError::BadBase64);
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> Result<([u8; 16], usize), PemError> {
        let mut out = [0u8; 16];
        let n = base64(s.as_bytes(), &mut out)?;
        Ok((out, n))
    }

    #[test]
    fn base64_vectors() {
        // RFC 4648 §10.
        for (enc, dec) in [
            ("Zg==", "f"),
            ("Zm8=", "fo"),
            ("Zm9v", "foo"),
            ("Zm9vYg==", "foob"),
            ("Zm9vYmE=", "fooba"),
            ("Zm9v\r\nYmFy", "foobar"),
        ] {
            let (out, n) = b64(enc).unwrap();
            assert_eq!(&out[..n], dec.as_bytes(), "{enc}");
        }
        for bad in [
            "Zg=", "Zm9", "Zg==Zg==", "Zh==", "Z===", "Zm9v!", "", "====",
        ] {
            assert_eq!(b64(bad).err(), Some(PemError::BadBase64), "{bad}");
        }
        assert_eq!(
            base64(b"Zm9vYmFy", &mut [0u8; 5]),
            Err(PemError::BufferTooSmall)
        );
    }

    #[test]
    fn blocks() {
        let text = b"junk\n-----BEGIN EC PARAMETERS-----\nZm9v\n-----END EC PARAMETERS-----\nmore";
        let mut out = [0u8; 8];
        let b = decode(text, &mut out).unwrap();
        assert_eq!(
            (b.label, b.der, b.rest),
            (&b"EC PARAMETERS"[..], &b"foo"[..], &b"\nmore"[..])
        );
        let mut out = [0u8; 8];
        let mismatched = b"-----BEGIN A-----\nZm9v\n-----END B-----\n";
        assert_eq!(
            decode(mismatched, &mut out).err(),
            Some(PemError::Unterminated)
        );
        assert_eq!(
            decode(b"-----BEGIN A-----\nZm9v\n", &mut out).err(),
            Some(PemError::Unterminated)
        );
        assert_eq!(decode(b"Zm9v", &mut out).err(), Some(PemError::NoBlock));
        let encrypted = b"-----BEGIN A-----\nProc-Type: 4,ENCRYPTED\n\nZm9v\n-----END A-----\n";
        assert_eq!(decode(encrypted, &mut out).err(), Some(PemError::BadBase64));
    }

    #[test]
    fn bundles() {
        let text = b"-----BEGIN CERTIFICATE-----\nZm9v\n-----END CERTIFICATE-----\n\
            -----BEGIN PUBLIC KEY-----\nYmFy\n-----END PUBLIC KEY-----\n\
            -----BEGIN CERTIFICATE-----\nYmF6\n-----END CERTIFICATE-----\n";
        let mut out = [0u8; 16];
        let mut ders: [&[u8]; 2] = [&[]; 2];
        assert_eq!(certificates(text, &mut out, &mut ders), Ok(2));
        assert_eq!(ders, [&b"foo"[..], &b"baz"[..]]);
        let mut out = [0u8; 16];
        let mut one: [&[u8]; 1] = [&[]; 1];
        assert_eq!(
            certificates(text, &mut out, &mut one),
            Err(PemError::TooManyBlocks)
        );
        let mut out = [0u8; 4];
        let mut ders: [&[u8]; 2] = [&[]; 2];
        assert_eq!(
            certificates(text, &mut out, &mut ders),
            Err(PemError::BufferTooSmall)
        );
        let mut out = [0u8; 4];
        assert_eq!(
            certificates(b"none", &mut out, &mut ders),
            Err(PemError::NoBlock)
        );
    }
}
