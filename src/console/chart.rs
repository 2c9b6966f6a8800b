//! Calls per hour by outcome, drawn on the server as an SVG of stacked bars (no
//! script, no inline style: colours are presentation attributes). The same numbers
//! follow in a table for screen readers and anyone who wants them exact.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use maud::{Markup, html};

use crate::service::reporting::ActivityReport;

const OUTCOMES: [(&str, &str); 3] = [("allowed", "#2e8b57"), ("denied", "#d08a00"), ("failed", "#c0392b")];
const W: i64 = 720;
const H: i64 = 220;
const LEFT: i64 = 40;
const BOTTOM: i64 = 28;
const TOP: i64 = 12;

/// Per hour: calls per outcome (allowed, denied, failed).
fn hours(report: &ActivityReport) -> BTreeMap<DateTime<Utc>, [i64; 3]> {
    let mut by_hour: BTreeMap<DateTime<Utc>, [i64; 3]> = BTreeMap::new();
    let mut t = report.since;
    while t < report.until {
        by_hour.insert(t, [0; 3]);
        t += Duration::hours(1);
    }
    for p in &report.series {
        if let Some(i) = OUTCOMES.iter().position(|(o, _)| *o == p.outcome) {
            by_hour.entry(p.at).or_insert([0; 3])[i] += p.calls;
        }
    }
    by_hour
}

/// A round top for the axis: 1, 2, 5, 10, 20, 50…
fn nice_max(n: i64) -> i64 {
    let mut step = 1;
    loop {
        for m in [1, 2, 5] {
            if step * m >= n {
                return step * m;
            }
        }
        step *= 10;
    }
}

pub fn calls_per_hour(report: &ActivityReport) -> Markup {
    let data = hours(report);
    let max = nice_max(data.values().map(|v| v.iter().sum::<i64>()).max().unwrap_or(0).max(1));
    let n = data.len().max(1) as i64;
    let plot_w = W - LEFT - 8;
    let plot_h = H - TOP - BOTTOM;
    let slot = plot_w / n;
    let bar = (slot - 4).max(2);
    let total: i64 = report.totals.values().sum();
    let summary = OUTCOMES
        .iter()
        .map(|(o, _)| format!("{} {o}", report.totals.get(*o).copied().unwrap_or(0)))
        .collect::<Vec<_>>()
        .join(", ");
    html! {
        figure.chart {
            svg viewBox=(format!("0 0 {W} {H}")) role="img" aria-labelledby="chart-title chart-desc" {
                title #chart-title { "Calls per hour by outcome, last 24 hours" }
                desc #chart-desc { (total) " calls: " (summary) "." }
                line x1=(LEFT) y1=(TOP + plot_h) x2=(W - 8) y2=(TOP + plot_h) stroke="#8a9199" stroke-width="1" {}
                line x1=(LEFT) y1=(TOP) x2=(W - 8) y2=(TOP) stroke="#dfe3e8" stroke-width="1" {}
                text x=(LEFT - 6) y=(TOP + 4) text-anchor="end" font-size="11" fill="#5b6169" { (max) }
                text x=(LEFT - 6) y=(TOP + plot_h) text-anchor="end" font-size="11" fill="#5b6169" { "0" }
                @for (i, (at, counts)) in data.iter().enumerate() {
                    @let x = LEFT + 2 + i as i64 * slot;
                    (stack(x, bar, counts, max, plot_h))
                    @if i % 3 == 0 {
                        text x=(x + bar / 2) y=(H - 8) text-anchor="middle" font-size="11" fill="#5b6169" { (at.format("%H:00")) }
                    }
                }
            }
            figcaption.legend {
                @for (o, _) in OUTCOMES { span { span class=(format!("swatch swatch-{o}")) {} (o) } }
                span { "UTC hours · " (total) @if total == 1 { " call" } @else { " calls" } }
            }
            details {
                summary { "The numbers" }
                div.table-wrap {
                    table {
                        thead { tr { th scope="col" { "Hour (UTC)" } @for (o, _) in OUTCOMES { th.num scope="col" { (o) } } } }
                        tbody {
                            @for (at, counts) in data.iter().filter(|(_, c)| c.iter().sum::<i64>() > 0) {
                                tr { td { (at.format("%Y-%m-%d %H:00")) } @for c in counts { td.num { (c) } } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// One hour's bar: allowed at the bottom, then denied, then failed.
fn stack(x: i64, bar: i64, counts: &[i64; 3], max: i64, plot_h: i64) -> Markup {
    let mut y = TOP + plot_h;
    html! {
        @for (i, c) in counts.iter().enumerate() {
            @if *c > 0 {
                @let h = (c * plot_h / max).max(1);
                @let top = { y -= h; y };
                rect x=(x) y=(top) width=(bar) height=(h) fill=(OUTCOMES[i].1) {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn axis_tops_are_round() {
        assert_eq!(super::nice_max(1), 1);
        assert_eq!(super::nice_max(3), 5);
        assert_eq!(super::nice_max(11), 20);
        assert_eq!(super::nice_max(120), 200);
    }
}
