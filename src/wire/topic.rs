//! Topic names and topic filters (MQTT 3.1.1 §4.7), and the strings a client
//! may safely send (§1.5.3).
//!
//! Two levels of checking. [`check_name`] and [`check_filter`] hold a topic to
//! what the spec says it MUST be: the codec enforces exactly these both ways,
//! so everything it decodes re-encodes. [`check_text`] adds what a receiver
//! MAY close the connection over (§1.5.3: control characters and Unicode
//! non-characters; mosquitto does close). The session checks every string the
//! application hands it with both, so nothing it queues can make a broker
//! drop the connection each time it is sent.
//!
//! ```
//! use limpet::wire::topic::{check_filter, check_name, check_text, matches, TopicError};
//!
//! // A name is what a message is published to; a filter what is subscribed to.
//! assert_eq!(check_name("home/kitchen/temp"), Ok(()));
//! assert_eq!(check_name("home/+/temp"), Err(TopicError::WildcardInName));
//! assert_eq!(check_filter("home/+/temp"), Ok(()));
//! assert_eq!(check_filter("home/#/temp"), Err(TopicError::MisplacedWildcard));
//! assert_eq!(check_filter(""), Err(TopicError::Empty));
//!
//! assert!(matches("home/+/temp", "home/kitchen/temp"));
//! assert!(matches("home/#", "home")); // "#" also matches the parent (§4.7.1.2)
//! assert!(!matches("#", "$SYS/uptime")); // $-topics need an explicit $ (§4.7.2)
//!
//! // Well-formed, but a broker may close the connection over it (§1.5.3).
//! assert_eq!(check_text("bell\u{7}"), Err(TopicError::Control));
//! ```

/// Why a topic or string was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TopicError {
    /// Zero length [MQTT-4.7.3-1].
    Empty,
    /// Longer than 65,535 bytes [MQTT-4.7.3-3], or than the buffers allow.
    TooLong,
    /// U+0000 [MQTT-4.7.3-2].
    Null,
    /// U+0001–U+001F, U+007F–U+009F or a Unicode non-character: a receiver
    /// may close the connection on them (§1.5.3), and mosquitto does.
    Control,
    /// `+` or `#` in a topic name [MQTT-3.3.2-2].
    WildcardInName,
    /// `#` not alone in the last level [MQTT-4.7.1-2], or `+` not alone in
    /// its level [MQTT-4.7.1-3].
    MisplacedWildcard,
}

/// The longest string MQTT can carry: a two-byte length prefix (§1.5.3).
pub const MAX_STRING: usize = 65_535;

/// A Topic Name as §4.7 requires it: 1..=65,535 bytes, no U+0000, no wildcard.
pub fn check_name(name: &str) -> Result<(), TopicError> {
    check_length(name)?;
    for &b in name.as_bytes() {
        match b {
            0 => return Err(TopicError::Null),
            b'+' | b'#' => return Err(TopicError::WildcardInName),
            _ => {}
        }
    }
    Ok(())
}

/// A Topic Filter as §4.7 requires it: 1..=65,535 bytes, no U+0000, `+`
/// alone in its level, `#` alone in the last level.
pub fn check_filter(filter: &str) -> Result<(), TopicError> {
    check_length(filter)?;
    let bytes = filter.as_bytes();
    // A wildcard must be a whole level: '/' (or the start) before it, '/'
    // (or the end) after it; '#' must also be the last byte.
    let mut level_start = true;
    for (i, &b) in bytes.iter().enumerate() {
        let next = bytes.get(i + 1).copied();
        let ok = match b {
            0 => return Err(TopicError::Null),
            b'+' => level_start && matches!(next, None | Some(b'/')),
            b'#' => level_start && next.is_none(),
            _ => true,
        };
        if !ok {
            return Err(TopicError::MisplacedWildcard);
        }
        level_start = b == b'/';
    }
    Ok(())
}

/// A string a receiver has no reason to refuse (§1.5.3): at most 65,535
/// bytes, no U+0000, no control character (U+0001–U+001F, U+007F–U+009F),
/// no non-character (U+FDD0–U+FDEF, U+nFFFE, U+nFFFF). May be empty.
pub fn check_text(s: &str) -> Result<(), TopicError> {
    if s.len() > MAX_STRING {
        return Err(TopicError::TooLong);
    }
    // Byte patterns of the refused code points; `s` is valid UTF-8.
    let b = s.as_bytes();
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    for (i, &c) in b.iter().enumerate() {
        let refused = match c {
            0 => return Err(TopicError::Null),
            // U+0001–U+001F, U+007F.
            0x01..=0x1F | 0x7F => true,
            // U+0080–U+009F: C2 80..=9F.
            0xC2 => at(i + 1) < 0xA0,
            // U+FDD0–U+FDEF: EF B7 90..=AF; U+FFFE, U+FFFF: EF BF BE..=BF.
            0xEF => {
                (at(i + 1) == 0xB7 && (0x90..=0xAF).contains(&at(i + 2)))
                    || (at(i + 1) == 0xBF && at(i + 2) >= 0xBE)
            }
            // U+nFFFE, U+nFFFF (planes 1–16): F0..=F4 x?, 8F/9F/AF/BF, BF, BE..=BF.
            0xF0..=0xF4 => at(i + 1) & 0x0F == 0x0F && at(i + 2) == 0xBF && at(i + 3) >= 0xBE,
            _ => false,
        };
        if refused {
            return Err(TopicError::Control);
        }
    }
    Ok(())
}

fn check_length(topic: &str) -> Result<(), TopicError> {
    match topic.len() {
        0 => Err(TopicError::Empty),
        n if n > MAX_STRING => Err(TopicError::TooLong),
        _ => Ok(()),
    }
}

/// Whether the topic name `name` matches the topic filter `filter` (§4.7.1,
/// §4.7.2). Both are assumed valid. A name starting with `$` is not matched
/// by a filter starting with a wildcard [MQTT-4.7.2-1].
pub fn matches(filter: &str, name: &str) -> bool {
    let (f, n) = (filter.as_bytes(), name.as_bytes());
    if n.first() == Some(&b'$') && matches!(f.first(), Some(b'+' | b'#')) {
        return false;
    }
    let (mut i, mut j) = (0, 0);
    loop {
        match f.get(i) {
            // "sport/#" also matches "sport" (§4.7.1.2).
            Some(b'#') => return true,
            Some(b'+') => {
                // Skip one level of the name.
                while j < n.len() && n[j] != b'/' {
                    j += 1;
                }
                i += 1;
            }
            Some(&c) => {
                if n.get(j) != Some(&c) {
                    // "a/#" against "a": the name ends where "/#" begins.
                    return j == n.len() && f.get(i..) == Some(&b"/#"[..]);
                }
                i += 1;
                j += 1;
            }
            None => return j == n.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
    #[cfg(target_os = "none")]
    use core::prelude::v1::test_case as test;

    #[test]
    fn filters_follow_the_wildcard_rules_of_4_7_1() {
        // §4.7.1.2 and §4.7.1.3's own examples, valid and not.
        for ok in [
            "#",
            "sport/#",
            "sport/tennis/#",
            "+",
            "+/tennis/#",
            "sport/+/player1",
            "/+",
            "+/+",
            "/",
            "a//b",
            "$SYS/#",
        ] {
            assert_eq!(check_filter(ok), Ok(()), "{ok}");
        }
        for bad in [
            "sport/tennis#",
            "sport/tennis/#/ranking",
            "sport+",
            "a/#/b",
            "+a",
            "a#",
            "#/a",
            "a/b+",
        ] {
            assert_eq!(
                check_filter(bad),
                Err(TopicError::MisplacedWildcard),
                "{bad}"
            );
        }
        assert_eq!(check_filter(""), Err(TopicError::Empty));
        assert_eq!(check_filter("a/\0/b"), Err(TopicError::Null));
    }

    #[test]
    fn names_have_no_wildcards_and_no_null() {
        assert_eq!(check_name("a/b"), Ok(()));
        assert_eq!(check_name("/"), Ok(()));
        assert_eq!(check_name("a/+"), Err(TopicError::WildcardInName));
        assert_eq!(check_name("#"), Err(TopicError::WildcardInName));
        assert_eq!(check_name("a\0"), Err(TopicError::Null));
        assert_eq!(check_name(""), Err(TopicError::Empty));
    }

    #[test]
    fn control_characters_and_non_characters_are_not_text() {
        assert_eq!(check_text("a/ü/€/𝄞 ok"), Ok(()));
        assert_eq!(check_text(""), Ok(()));
        for bad in [
            "a\tb",
            "\u{1}",
            "\u{1f}",
            "\u{7f}",
            "\u{80}",
            "\u{9f}",
            "\u{fdd0}",
            "\u{fffe}",
            "\u{10ffff}",
            "\u{1fffe}",
        ] {
            assert_eq!(check_text(bad), Err(TopicError::Control), "{bad:?}");
        }
        assert_eq!(check_text("\0"), Err(TopicError::Null));
        assert_eq!(check_text("\u{a0}\u{fdcf}\u{fdf0}\u{fffd}"), Ok(()));
    }

    #[cfg(not(target_os = "none"))]
    #[test]
    fn longer_than_65535_bytes_is_too_long() {
        extern crate std;
        let long = std::string::String::from("a").repeat(MAX_STRING + 1);
        assert_eq!(check_name(&long), Err(TopicError::TooLong));
        assert_eq!(check_filter(&long), Err(TopicError::TooLong));
        assert_eq!(check_text(&long), Err(TopicError::TooLong));
        assert_eq!(check_name(&long[1..]), Ok(()));
    }

    #[test]
    fn matching_follows_4_7() {
        let cases = [
            ("sport/tennis/player1/#", "sport/tennis/player1", true),
            (
                "sport/tennis/player1/#",
                "sport/tennis/player1/ranking",
                true,
            ),
            ("sport/#", "sport", true),
            ("#", "a/b/c", true),
            ("sport/+", "sport/", true),
            ("sport/+", "sport", false),
            ("+/+", "/finance", true),
            ("/+", "/finance", true),
            ("+", "/finance", false),
            ("a/b", "a/b", true),
            ("a/b", "a/c", false),
            ("a/b", "a/b/c", false),
            ("a/b/c", "a/b", false),
            ("#", "$SYS/x", false),
            ("+/x", "$SYS/x", false),
            ("$SYS/#", "$SYS/x", true),
        ];
        for (filter, name, want) in cases {
            assert_eq!(matches(filter, name), want, "{filter} vs {name}");
        }
    }
}
