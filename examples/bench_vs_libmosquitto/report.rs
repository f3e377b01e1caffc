//! The figures table: each figure's median per client, its range, the
//! ratio limpet / libmosquitto and its target.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::child::{Row, Run, Who};

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

struct Figure {
    name: String,
    unit: &'static str,
    /// Per run.
    get: fn(&Run) -> Option<f64>,
    /// The target on limpet/libmosquitto: whether higher is better, and
    /// the bound; none: reported only.
    target: Option<(bool, f64)>,
}

/// The figures table. `tls`: the TLS goals (issue 15: connect time <= 1.0,
/// QoS 1 rate >= 1.0, CPU per message <= 1.0; the round trip and the
/// connect's p90 and CPU reported only), else the plain bench's.
pub fn table(
    results: &BTreeMap<(Row, Who), Vec<Run>>,
    counts: &BTreeMap<Row, u64>,
    repeats: usize,
    tls: bool,
) -> String {
    let rtt_target = if tls { None } else { Some((false, 1.0)) };
    let cpu_target = Some((false, if tls { 1.0 } else { 0.5 }));
    let mut figures: Vec<(Row, Figure)> = Vec::new();
    for (&row, _) in counts.iter() {
        match row {
            Row::Connect => {
                figures.push((
                    row,
                    Figure {
                        name: "connect to CONNACK p50".into(),
                        unit: "us",
                        get: |r| r.connect_p50_us,
                        target: Some((false, 1.0)),
                    },
                ));
                figures.push((
                    row,
                    Figure {
                        name: "connect to CONNACK p90".into(),
                        unit: "us",
                        get: |r| r.connect_p90_us,
                        target: None,
                    },
                ));
            }
            Row::Rtt => {
                figures.push((
                    row,
                    Figure {
                        name: "round trip p50".into(),
                        unit: "us",
                        get: |r| r.p50_us,
                        target: rtt_target,
                    },
                ));
                figures.push((
                    row,
                    Figure {
                        name: "round trip p99".into(),
                        unit: "us",
                        get: |r| r.p99_us,
                        target: rtt_target,
                    },
                ));
            }
            _ => figures.push((
                row,
                Figure {
                    name: format!("{} rate", row.label()),
                    unit: "msg/s",
                    get: |r| Some(r.rate()),
                    target: Some((true, 1.0)),
                },
            )),
        }
    }
    for (&row, _) in counts.iter() {
        let (name, target) = match row {
            Row::Connect => ("CPU per connect".to_owned(), None),
            _ => (format!("CPU per message, {}", row.label()), cpu_target),
        };
        figures.push((
            row,
            Figure {
                name,
                unit: "us",
                get: |r| Some(r.cpu_us_per_msg()),
                target,
            },
        ));
    }

    let mut t = String::new();
    let _ = writeln!(
        t,
        "median of {repeats} runs per client (min-max in brackets); ratio = limpet / libmosquitto"
    );
    let _ = writeln!(
        t,
        "{:<46} {:>9} {:>24} {:>24} {:>7}  target",
        "figure", "messages", "limpet", "libmosquitto", "ratio"
    );
    let fmt = |v: &[f64]| -> String {
        let med = median(v.to_vec());
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let p = |x: f64| {
            if x >= 1000.0 {
                format!("{x:.0}")
            } else if x >= 10.0 {
                format!("{x:.1}")
            } else {
                format!("{x:.3}")
            }
        };
        format!("{} ({}-{})", p(med), p(lo), p(hi))
    };
    for (row, f) in &figures {
        let vals = |who| -> Vec<f64> {
            results
                .get(&(*row, who))
                .map(|runs| runs.iter().filter_map(f.get).collect())
                .unwrap_or_default()
        };
        let (l, m) = (vals(Who::Limpet), vals(Who::Libmosquitto));
        let ratio = median(l.clone()) / median(m.clone());
        let target = match f.target {
            Some((higher, bound)) => {
                let ok = if higher {
                    ratio >= bound
                } else {
                    ratio <= bound
                };
                format!(
                    "{}{bound:.1} {}",
                    if higher { ">=" } else { "<=" },
                    if ok { "met" } else { "MISSED" }
                )
            }
            None => "report".into(),
        };
        let _ = writeln!(
            t,
            "{:<46} {:>9} {:>24} {:>24} {:>7.3}  {target}",
            format!("{} ({})", f.name, f.unit),
            counts[row],
            fmt(&l),
            fmt(&m),
            ratio,
        );
    }
    let _ = writeln!(
        t,
        "\nlimpet's loop per 100,000 messages (median): sleeps | zero-length sleeps (a deadline \
         already due: a spin) | wake-ups by the socket"
    );
    for &row in counts.keys().filter(|&&r| r != Row::Connect) {
        let runs = results
            .get(&(row, Who::Limpet))
            .map_or(&[][..], Vec::as_slice);
        let per = |f: fn(&Run) -> Option<f64>| -> String {
            let v: Vec<f64> = runs
                .iter()
                .filter_map(|r| f(r).map(|x| x * 1e5 / r.messages as f64))
                .collect();
            if v.is_empty() {
                "-".into()
            } else {
                format!("{:.0}", median(v))
            }
        };
        let _ = writeln!(
            t,
            "{:<46} {:>9} {:>24}",
            row.label(),
            "",
            format!(
                "{} | {} | {}",
                per(|r| r.sleeps),
                per(|r| r.zero_sleeps),
                per(|r| r.wakeups)
            )
        );
    }
    let _ = writeln!(
        t,
        "\nduring the measured runs (median): client CPU in user space % | broker CPU % | \
         other processes, % of one core | steal %"
    );
    for &row in counts.keys() {
        let cell = |who| -> String {
            let runs = results.get(&(row, who)).map_or(&[][..], Vec::as_slice);
            let pct = |f: fn(&Run) -> Option<f64>, wall: fn(&Run) -> f64| -> String {
                let v: Vec<f64> = runs
                    .iter()
                    .filter_map(|r| f(r).map(|x| 100.0 * x / wall(r)))
                    .collect();
                if v.is_empty() {
                    "-".into()
                } else {
                    format!("{:.0}", median(v))
                }
            };
            format!(
                "{} | {} | {} | {}",
                pct(|r| Some(r.user_s), |r| r.cpu_s),
                pct(|r| r.broker_cpu_s, |r| r.seconds),
                pct(|r| r.others_s, |r| r.wall_s),
                pct(|r| r.steal_s, |r| r.wall_s)
            )
        };
        let _ = writeln!(
            t,
            "{:<46} {:>9} {:>24} {:>24}",
            row.label(),
            "",
            cell(Who::Limpet),
            cell(Who::Libmosquitto)
        );
    }
    t
}
