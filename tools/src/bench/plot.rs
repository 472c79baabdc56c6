//! The latency percentile chart of `ctistream bench --plot`: one curve per run
//! with a latency histogram, percentiles on the usual HdrHistogram axis
//! (1/(1−p), logarithmic, 50% to 99.99%) and latency on a logarithmic axis.
//! A few polylines do not need a plotting library.

use std::fmt::Write as _;

use super::Run;

const WIDTH: f64 = 820.0;
const HEIGHT: f64 = 480.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 200.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 50.0;
const COLOURS: [&str; 6] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];
/// Percentiles drawn: 50% … 99.99%.
const QUANTILES: [f64; 9] = [0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9995, 0.9999];

/// The chart as an SVG document.
pub fn percentile_svg(runs: &[Run]) -> String {
    let curves: Vec<(&str, Vec<(f64, f64)>)> = runs
        .iter()
        .filter_map(|run| {
            let histogram = run.latency.as_ref().filter(|h| !h.is_empty())?;
            let points = QUANTILES
                .iter()
                .map(|&q| (q, (histogram.value_at_quantile(q) as f64 / 1000.0).max(0.001)))
                .collect();
            Some((run.name, points))
        })
        .collect();
    let (low, high) = curves
        .iter()
        .flat_map(|(_, points)| points.iter().map(|&(_, us)| us))
        .fold((f64::MAX, f64::MIN), |(lo, hi), us| (lo.min(us), hi.max(us)));
    let (y_min, y_max) = if low <= high {
        (
            10f64.powf(low.log10().floor()),
            10f64.powf(high.log10().ceil().max(low.log10().floor() + 1.0)),
        )
    } else {
        (1.0, 10.0)
    };
    let x_of = |q: f64| {
        let x = (1.0 / (1.0 - q)).log10(); // 0.30 … 4
        LEFT + (x - 2f64.log10()) / (4.0 - 2f64.log10()) * (WIDTH - LEFT - RIGHT)
    };
    let y_of = |us: f64| {
        let span = y_max.log10() - y_min.log10();
        HEIGHT - BOTTOM - (us.log10() - y_min.log10()) / span * (HEIGHT - TOP - BOTTOM)
    };
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{LEFT}" y="18" font-size="14">End-to-end latency by percentile (ctistream bench)</text>"#
    );
    // Axes, grid and labels.
    let mut decade = y_min;
    while decade <= y_max * 1.0001 {
        let y = y_of(decade);
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            format_us(decade)
        );
        decade *= 10.0;
    }
    for &q in &QUANTILES {
        let x = x_of(q);
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#eee"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}%</text>"##,
            HEIGHT - BOTTOM,
            HEIGHT - BOTTOM + 16.0,
            q * 100.0
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">percentile</text><text x="16" y="{:.1}" transform="rotate(-90 16 {:.1})" text-anchor="middle">latency (µs)</text>"#,
        (LEFT + WIDTH - RIGHT) / 2.0,
        HEIGHT - 12.0,
        HEIGHT / 2.0,
        HEIGHT / 2.0
    );
    for (index, (name, points)) in curves.iter().enumerate() {
        let colour = COLOURS[index % COLOURS.len()];
        let path: Vec<String> =
            points.iter().map(|&(q, us)| format!("{:.1},{:.1}", x_of(q), y_of(us))).collect();
        let _ = writeln!(
            svg,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
            path.join(" ")
        );
        let legend_y = TOP + 20.0 * index as f64 + 10.0;
        let _ = writeln!(
            svg,
            r#"<line x1="{:.1}" y1="{legend_y:.1}" x2="{:.1}" y2="{legend_y:.1}" stroke="{colour}" stroke-width="2"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            WIDTH - RIGHT + 10.0,
            WIDTH - RIGHT + 30.0,
            WIDTH - RIGHT + 36.0,
            legend_y + 4.0,
            escape(name)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn format_us(us: f64) -> String {
    if us >= 1_000_000.0 {
        format!("{} s", us / 1_000_000.0)
    } else if us >= 1000.0 {
        format!("{} ms", us / 1000.0)
    } else {
        format!("{us} µs")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
