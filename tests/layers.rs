//! The layers of `src/` are enforced, not only described (src/lib.rs): every
//! `crate::…` and `super::…` path in every source file is resolved to the
//! layer it names and checked against the table below. Nothing below the
//! client names it; the bridge's host side (`host`, `link`, `frame`,
//! `proto`, `uart`, `pipe`) names neither the client nor the session, and
//! takes from `wire` only the MQTT vocabulary its messages carry; only the
//! co-processor role drives a client.
//!
//! The table is the design: a new module or a new edge is added here on
//! purpose, or the test fails and says which file crossed which line.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// Who may name whom. A layer always may name itself (and, for the
/// bridge's parts, `bridge` itself: its `mod.rs`).
const ALLOWED: &[(&str, &[&str])] = &[
    // Leaves: neutral tools every layer may stand on.
    ("time", &[]),
    ("crc", &[]),
    ("bytes", &[]),
    ("slip", &[]),
    ("security", &[]),
    ("polled", &[]),
    // MQTT bytes.
    ("wire", &["bytes"]),
    // MQTT rules, sans-IO.
    ("session", &["wire", "time", "crc", "bytes", "security"]),
    // Transports and the device's IP stack.
    ("net", &["time", "bytes", "security", "polled"]),
    // The session over a transport.
    (
        "client",
        &["session", "net", "wire", "time", "crc", "bytes"],
    ),
    // The WiFi controller: knows nothing of IP or MQTT.
    ("wlan", &["time", "polled"]),
    // The three machines composed.
    (
        "device",
        &[
            "client", "session", "net", "wlan", "wire", "time", "crc", "bytes",
        ],
    ),
    // The bridge, part by part.
    ("bridge::pipe", &[]),
    ("bridge::test_pipe", &["bridge::pipe", "time"]),
    (
        "bridge::link",
        &["bridge::pipe", "bridge::test_pipe", "time"],
    ),
    // (Its tests run the frame layer over it.)
    (
        "bridge::uart",
        &[
            "bridge::pipe",
            "bridge::test_pipe",
            "slip",
            "bridge::frame",
            "time",
        ],
    ),
    (
        "bridge::frame",
        &["bridge::pipe", "bridge::test_pipe", "crc", "time"],
    ),
    ("bridge::proto", &["wire", "net", "bytes"]),
    (
        "bridge::host",
        &[
            "bridge::frame",
            "bridge::proto",
            "bridge::pipe",
            "bridge::link",
            "bridge::uart",
            "bridge::test_pipe",
            "wire",
            "time",
        ],
    ),
    // The co-processor drives the client: the one part of the bridge that may.
    (
        "bridge::coproc",
        &[
            "bridge::frame",
            "bridge::proto",
            "bridge::pipe",
            "bridge::link",
            "bridge::uart",
            "bridge::test_pipe",
            "bridge::host",
            "client",
            "session",
            "net",
            "wire",
            "time",
            "crc",
        ],
    ),
];

/// The bridge's parts that run on the host (and the RP2040 image): they
/// must not name the MQTT client or session, even indirectly.
const HOST_SIDE: &[&str] = &[
    "bridge::host",
    "bridge::link",
    "bridge::frame",
    "bridge::proto",
    "bridge::uart",
    "bridge::pipe",
];

/// What the host side may take from `wire`: the MQTT vocabulary its
/// messages carry (QoS, a will, the topic rules of §4.7), not wire's
/// private cursors nor MQTT's packet errors.
const WIRE_FOR_THE_BRIDGE: &[&str] = &["QoS", "Will", "topic"];

/// One path a source file names, resolved from the crate root.
struct Use {
    file: String,
    from: Vec<String>,
    to: Vec<String>,
}

#[test]
fn every_module_names_only_the_layers_its_table_row_allows() {
    let table = table();
    let mut errors = Vec::new();
    for u in uses() {
        let (from, to) = (layer(&u.from), layer(&u.to));
        if from == to || to == "bridge" && from.starts_with("bridge::") {
            continue;
        }
        match table.get(from.as_str()) {
            None => errors.push(format!(
                "{}: layer `{from}` is not in tests/layers.rs's table",
                u.file
            )),
            Some(allowed) if !allowed.contains(&to.as_str()) => errors.push(format!(
                "{}: `{from}` names `crate::{}` (layer `{to}`), which its row does not allow",
                u.file,
                u.to.join("::")
            )),
            Some(_) => {}
        }
    }
    assert!(
        errors.is_empty(),
        "layer violations:\n{}",
        errors.join("\n")
    );
}

#[test]
fn nothing_below_the_client_can_reach_it() {
    let table = table();
    for layer in [
        "wire", "session", "net", "wlan", "time", "crc", "bytes", "slip", "security", "polled",
    ] {
        assert!(
            !reaches(&table, layer, "client"),
            "`{layer}` reaches the client"
        );
    }
}

#[test]
fn the_bridge_host_side_reaches_neither_client_nor_session() {
    let table = table();
    for part in HOST_SIDE {
        for mqtt in ["client", "session"] {
            assert!(
                !reaches(&table, part, mqtt),
                "`{part}` reaches `{mqtt}` through the table"
            );
        }
    }
}

#[test]
fn the_bridge_host_side_takes_from_wire_only_what_its_messages_carry() {
    let mut errors = Vec::new();
    for u in uses() {
        let from = layer(&u.from);
        if !HOST_SIDE.contains(&from.as_str()) || u.to.first().map(String::as_str) != Some("wire") {
            continue;
        }
        match u.to.get(1) {
            Some(item) if WIRE_FOR_THE_BRIDGE.contains(&item.as_str()) => {}
            _ => errors.push(format!("{}: names `crate::{}`", u.file, u.to.join("::"))),
        }
    }
    assert!(
        errors.is_empty(),
        "the bridge borrows wire's internals:\n{}",
        errors.join("\n")
    );
}

#[test]
fn the_table_has_no_cycles() {
    let table = table();
    for (layer, allowed) in ALLOWED {
        for below in *allowed {
            assert!(
                !reaches(&table, below, layer),
                "`{layer}` and `{below}` name each other"
            );
        }
    }
}

#[test]
fn the_reader_resolves_crate_super_and_grouped_paths() {
    let src = "use crate::wire::{QoS, topic::{check_name, self}};\n\
               // use crate::client::Client; (a comment names nothing)\n\
               use super::proto::{self, HostMsg};\n\
               mod tests { use super::*; use super::super::pipe::Unit; }\n\
               fn f() { crate::time::earliest(None, None); }\n\
               macro_rules! m { () => { $crate::client::X } }\n";
    let module: Vec<String> = ["bridge", "host"].iter().map(|s| s.to_string()).collect();
    let got: Vec<String> = paths(src, &module)
        .into_iter()
        .map(|p| p.join("::"))
        .collect();
    assert_eq!(
        got,
        [
            "wire::QoS",
            "wire::topic::check_name",
            "wire::topic::self",
            "bridge::proto::self",
            "bridge::proto::HostMsg",
            "bridge::host::*",
            "bridge::pipe::Unit",
            "time::earliest",
        ]
    );
    // And the tree is read: the client's own edges are found.
    assert!(uses()
        .iter()
        .any(|u| layer(&u.from) == "client" && layer(&u.to) == "session"));
}

fn table() -> BTreeMap<&'static str, &'static [&'static str]> {
    ALLOWED.iter().copied().collect()
}

/// `from` reaches `to` through allowed edges.
fn reaches(table: &BTreeMap<&str, &[&str]>, from: &str, to: &str) -> bool {
    let mut seen = vec![from];
    let mut todo = vec![from];
    while let Some(l) = todo.pop() {
        for &next in table.get(l).copied().unwrap_or(&[]) {
            if next == to {
                return true;
            }
            if !seen.contains(&next) {
                seen.push(next);
                todo.push(next);
            }
        }
    }
    false
}

/// The layer a module path belongs to: its top module, or for the bridge
/// the part (`bridge::host`), or `bridge` for the bridge's own `mod.rs`.
fn layer(path: &[String]) -> String {
    match path {
        [top, part, ..]
            if top == "bridge" && part.chars().all(|c| c.is_lowercase() || c == '_') =>
        {
            format!("bridge::{part}")
        }
        [top, ..] => top.clone(),
        [] => String::new(),
    }
}

/// Every path named in every file under src/ (except lib.rs, the root
/// that declares the layers and re-exports them).
fn uses() -> Vec<Use> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&root, &mut files);
    assert!(files.len() > 50, "src/ read: {} files", files.len());
    let mut out = Vec::new();
    for file in files {
        let rel = file.strip_prefix(&root).unwrap();
        let mut module: Vec<String> = rel
            .with_extension("")
            .iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect();
        if module.last().map(String::as_str) == Some("mod") {
            module.pop();
        }
        if module.is_empty() || module == ["lib"] {
            continue;
        }
        let text = fs::read_to_string(&file).unwrap();
        for to in paths(&text, &module) {
            out.push(Use {
                file: format!("src/{}", rel.display()),
                from: module.clone(),
                to,
            });
        }
    }
    out
}

fn walk(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Ident(String),
    Colons,
    Open,
    Close,
    Comma,
    Dollar,
    Other,
}

/// Comments dropped (they name, they do not use), string contents kept out.
fn tokens(src: &str) -> Vec<Token> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == '\'' {
            // A char literal ('"', '\'', '{') or a lifetime.
            if next == Some('\\') {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
            }
            out.push(Token::Other);
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push(Token::Other);
        } else if c.is_alphanumeric() || c == '_' || c == '*' {
            let start = i;
            if c == '*' {
                i += 1;
            } else {
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
            }
            out.push(Token::Ident(chars[start..i].iter().collect()));
        } else {
            out.push(match (c, next) {
                (':', Some(':')) => {
                    i += 1;
                    Token::Colons
                }
                ('{', _) => Token::Open,
                ('}', _) => Token::Close,
                (',', _) => Token::Comma,
                ('$', _) => Token::Dollar,
                _ => Token::Other,
            });
            i += 1;
        }
    }
    out
}

/// The crate paths `src` names, from a file that is module `module`:
/// `crate::a::b`, `super::…` (resolved, inline `mod x { … }` included) and
/// `{…}` groups expanded. `$crate` (a macro's) and `self::` are not uses.
fn paths(src: &str, module: &[String]) -> Vec<Vec<String>> {
    let t = tokens(src);
    let mut out = Vec::new();
    // Inline modules: (name, brace depth at which they close).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0;
    let mut i = 0;
    while i < t.len() {
        match &t[i] {
            Token::Open => depth += 1,
            Token::Close => {
                depth -= 1;
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
            }
            Token::Ident(w) if w == "mod" => {
                if let (Some(Token::Ident(name)), Some(Token::Open)) = (t.get(i + 1), t.get(i + 2))
                {
                    inline.push((name.clone(), depth));
                }
            }
            Token::Ident(w)
                if (w == "crate" || w == "super") && t.get(i + 1) == Some(&Token::Colons) =>
            {
                let before = i.checked_sub(1).map(|j| &t[j]);
                if before != Some(&Token::Dollar) && before != Some(&Token::Colons) {
                    let mut base: Vec<String> = Vec::new();
                    let mut j = i;
                    if w == "super" {
                        base = module.to_vec();
                        base.extend(inline.iter().map(|(n, _)| n.clone()));
                        while t.get(j) == Some(&Token::Ident("super".into()))
                            && t.get(j + 1) == Some(&Token::Colons)
                        {
                            base.pop();
                            j += 2;
                        }
                    } else {
                        j += 2;
                    }
                    let (found, end) = path(&t, j, base);
                    out.extend(found);
                    i = end;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Reads `a::b::{c, d::e}` from `t[i]` on, after the prefix `base`.
fn path(t: &[Token], mut i: usize, mut base: Vec<String>) -> (Vec<Vec<String>>, usize) {
    loop {
        match t.get(i) {
            Some(Token::Ident(s)) => {
                base.push(s.clone());
                i += 1;
                if t.get(i) != Some(&Token::Colons) {
                    return (vec![base], i);
                }
                i += 1;
            }
            Some(Token::Open) => {
                let mut all = Vec::new();
                i += 1;
                while let Some(tok) = t.get(i) {
                    match tok {
                        Token::Close => return (all, i + 1),
                        Token::Comma => i += 1,
                        _ => {
                            let (found, end) = path(t, i, base.clone());
                            all.extend(found);
                            // `x as y`: skip to the next item.
                            i = end;
                            while !matches!(t.get(i), None | Some(Token::Comma | Token::Close)) {
                                i += 1;
                            }
                        }
                    }
                }
                return (all, i);
            }
            _ => return (vec![base], i),
        }
    }
}
