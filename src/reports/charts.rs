//! Charts drawn on the server as SVG, for pages that must work without JavaScript. Every chart
//! comes with the table of the same figures, names itself to assistive technology (`role="img"`
//! with a `<title>` and `<desc>`), writes every figure as text beside its bar so nothing is told
//! by colour alone, and escapes every piece of text it is given. A figure that is withheld is
//! not drawn: the GSS symbol `[c]` stands in its place, and `[z]` where nothing applies.

use std::sync::OnceLock;

use serde::Serialize;

/// GOV.UK colours, each at least 3:1 against white (WCAG 1.4.11) and used with text labels.
const TEXT: &str = "#0b0c0c";
const AXIS: &str = "#505a5f";
pub const BLUE: &str = "#1d70b8";
pub const DARK_BLUE: &str = "#003078";
pub const GREEN: &str = "#00703c";
pub const GREY: &str = "#505a5f";

/// One bar's figure as the report shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// The number the bar's length is drawn from, and how the page writes it.
    Shown(f64, String),
    /// Withheld by disclosure control: no bar, `[c]`.
    Suppressed,
    /// Nothing to show (no denominator, say): no bar, `[z]`.
    None,
}

impl Value {
    fn text(&self) -> String {
        match self {
            Value::Shown(_, text) => text.clone(),
            Value::Suppressed => crate::reports::uptake::WITHHELD.into(),
            Value::None => crate::reports::uptake::NOT_APPLICABLE.into(),
        }
    }

    fn number(&self) -> Option<f64> {
        match self {
            Value::Shown(v, _) if v.is_finite() => Some(v.max(0.0)),
            _ => None,
        }
    }
}

/// One bar of a horizontal bar chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: Value,
    pub colour: &'static str,
}

/// A chart ready for a template: the SVG, and its table alternative.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chart {
    pub id: String,
    pub title: String,
    pub svg: String,
    pub table: ChartTable,
}

/// The same figures as the chart, for people who cannot see it or want the numbers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChartTable {
    pub caption: String,
    pub headings: Vec<String>,
    pub rows: Vec<(String, Vec<String>)>,
}

/// The chart templates, escaped as they are filled (every piece of text is the caller's).
fn templates() -> &'static tera::Tera {
    static TERA: OnceLock<tera::Tera> = OnceLock::new();
    TERA.get_or_init(|| {
        let mut tera = tera::Tera::default();
        tera.autoescape_on(vec![".svg"]);
        // Both templates are in the binary and covered by the tests below: a parse error
        // cannot reach a running service, and would leave the charts empty, not the page.
        let _ = tera.add_raw_templates([
            ("bars.svg", include_str!("../../templates/charts/bars.svg")),
            (
                "columns.svg",
                include_str!("../../templates/charts/columns.svg"),
            ),
            (
                "funnel.svg",
                include_str!("../../templates/charts/funnel.svg"),
            ),
        ]);
        tera
    })
}

/// Text without control characters, which XML does not allow (the template escapes the rest).
fn plain(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect()
}

/// An id fit for an `id` attribute: letters, digits and hyphens only.
fn safe_id(id: &str) -> String {
    id.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

const WIDTH: f64 = 640.0;
const LABEL_WIDTH: f64 = 310.0;
const BAR_AREA: f64 = 230.0;
const ROW: f64 = 28.0;
const BAR: f64 = 18.0;

/// What every chart says of itself, and its size.
#[derive(Serialize)]
struct Frame<M: Serialize> {
    id: String,
    title: String,
    description: String,
    width: f64,
    height: f64,
    text_colour: &'static str,
    axis_colour: &'static str,
    marks: Vec<M>,
}

impl<M: Serialize> Frame<M> {
    fn new(id: &str, title: &str, description: &str, height: f64, marks: Vec<M>) -> Self {
        Self {
            id: safe_id(id),
            title: plain(title),
            description: plain(description),
            width: WIDTH,
            height,
            text_colour: TEXT,
            axis_colour: AXIS,
            marks,
        }
    }

    /// The chart drawn by `template`, with `extra` values beside the frame's own.
    fn draw(&self, template: &str, extra: &[(&str, String)]) -> String {
        self.draw_with_ticks(template, extra, &[])
    }

    /// As [`Frame::draw`], with lists of axis ticks (text, position) too.
    fn draw_with_ticks(
        &self,
        template: &str,
        extra: &[(&str, String)],
        ticks: &[(&str, Vec<(String, String)>)],
    ) -> String {
        let mut ctx = match tera::Context::from_serialize(self) {
            Ok(ctx) => ctx,
            Err(_) => return String::new(),
        };
        for (k, v) in extra {
            ctx.insert(*k, v);
        }
        for (k, v) in ticks {
            ctx.insert(*k, v);
        }
        templates()
            .render(template, &ctx)
            .map(|svg| svg.trim().to_owned())
            .unwrap_or_default()
    }
}

/// The length of a mark for `value` when the largest shown is `max` and fills `room`.
fn length(value: &Value, max: f64, room: f64) -> f64 {
    match value.number() {
        Some(v) if max > 0.0 => v / max * room,
        _ => 0.0,
    }
}

fn largest<'a>(values: impl Iterator<Item = &'a Value>) -> f64 {
    values.filter_map(Value::number).fold(0.0_f64, f64::max)
}

#[derive(Serialize)]
struct BarMark {
    label: String,
    label_x: f64,
    y: f64,
    middle: f64,
    length: String,
    figure_x: String,
    figure: String,
    colour: &'static str,
    drawn: bool,
    suppressed: bool,
}

/// A horizontal bar chart, one bar a row, each with its label on the left and its figure on
/// the right. Bars are scaled to the largest figure shown.
pub fn bars(id: &str, title: &str, description: &str, bars: &[Bar]) -> String {
    let height = ROW * bars.len() as f64 + 8.0;
    let max = largest(bars.iter().map(|b| &b.value));
    let marks = bars
        .iter()
        .enumerate()
        .map(|(i, bar)| {
            let y = ROW * i as f64 + 4.0;
            let length = length(&bar.value, max, BAR_AREA);
            BarMark {
                label: plain(&bar.label),
                label_x: LABEL_WIDTH - 8.0,
                y,
                middle: y + BAR / 2.0 + 5.0,
                length: format!("{length:.1}"),
                figure_x: format!("{:.1}", LABEL_WIDTH + length + 6.0),
                figure: bar.value.text(),
                colour: bar.colour,
                drawn: matches!(bar.value, Value::Shown(..)),
                suppressed: bar.value == Value::Suppressed,
            }
        })
        .collect();
    Frame::new(id, title, description, height, marks).draw(
        "bars.svg",
        &[
            ("axis_x", LABEL_WIDTH.to_string()),
            ("bar", BAR.to_string()),
        ],
    )
}

#[derive(Serialize)]
struct ColumnMark {
    label: String,
    label_y: String,
    x: String,
    top: String,
    centre: String,
    width: String,
    length: String,
    figure_y: String,
    figure: String,
    drawn: bool,
    suppressed: bool,
}

/// A column chart over time: one column a period, oldest on the left, the figure above each
/// column and the period's name below it.
pub fn columns(
    id: &str,
    title: &str,
    description: &str,
    points: &[(String, Value)],
    colour: &str,
) -> String {
    const TOP: f64 = 24.0;
    const PLOT: f64 = 150.0;
    const BOTTOM: f64 = 70.0;
    const LEFT: f64 = 10.0;
    let height = TOP + PLOT + BOTTOM;
    let slot = (WIDTH - LEFT * 2.0) / points.len().max(1) as f64;
    let max = largest(points.iter().map(|(_, v)| v));
    let base = TOP + PLOT;
    let marks = points
        .iter()
        .enumerate()
        .map(|(i, (label, value))| {
            let centre = LEFT + slot * (i as f64 + 0.5);
            let width = (slot * 0.6).min(40.0);
            let length = length(value, max, PLOT);
            ColumnMark {
                label: plain(label),
                label_y: format!("{:.1}", base + 16.0),
                x: format!("{:.1}", centre - width / 2.0),
                top: format!("{:.1}", base - length),
                centre: format!("{centre:.1}"),
                width: format!("{width:.1}"),
                length: format!("{length:.1}"),
                figure_y: format!("{:.1}", base - length - 6.0),
                figure: value.text(),
                drawn: matches!(value, Value::Shown(..)),
                suppressed: *value == Value::Suppressed,
            }
        })
        .collect();
    Frame::new(id, title, description, height, marks).draw(
        "columns.svg",
        &[
            ("left", LEFT.to_string()),
            ("right", (WIDTH - LEFT).to_string()),
            ("base", base.to_string()),
            ("colour", colour.to_owned()),
        ],
    )
}

/// One area on a funnel plot: `k` of `n`, both as the report shows them.
#[derive(Debug, Clone, PartialEq)]
pub struct FunnelPoint {
    pub label: String,
    pub k: i64,
    pub n: i64,
}

#[derive(Serialize)]
struct FunnelMark {
    x: String,
    y: String,
    label: String,
    label_x: String,
    label_y: String,
    anchor: &'static str,
    colour: &'static str,
}

/// The smallest of 1, 2 or 5 times a power of ten that is at least `n`.
fn round_up(n: i64) -> i64 {
    let mut step = 1;
    loop {
        for m in [1, 2, 5] {
            if m * step >= n {
                return m * step;
            }
        }
        step *= 10;
    }
}

/// A funnel plot: each area's rate (y, per cent) against the count it is a share of (x),
/// with the partnership's rate `mean` (a proportion) as a line and the 95 % and 99.8 %
/// limits around it, so an area outside them differs by more than chance would explain.
/// `x_title` names the denominator.
pub fn funnel(
    id: &str,
    title: &str,
    description: &str,
    points: &[FunnelPoint],
    mean: f64,
    x_title: &str,
) -> String {
    use crate::reports::interval::{Z95, Z998, wilson_p};
    const TOP: f64 = 12.0;
    const LEFT: f64 = 52.0;
    const RIGHT: f64 = WIDTH - 150.0;
    const PLOT: f64 = 220.0;
    let base = TOP + PLOT;
    let max_n = round_up(points.iter().map(|p| p.n).max().unwrap_or(1).max(1));
    let x = |n: f64| LEFT + n / max_n as f64 * (RIGHT - LEFT);
    let y = |p: f64| base - p.clamp(0.0, 1.0) * PLOT;
    let limit = |z: f64, upper: bool| -> String {
        (1..=60)
            .filter_map(|i| {
                let n = max_n as f64 * f64::from(i) / 60.0;
                let (lo, hi) = wilson_p(mean, n, z)?;
                Some(format!("{:.1},{:.1}", x(n), y(if upper { hi } else { lo })))
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let marks = points
        .iter()
        .filter(|p| p.n > 0)
        .map(|p| {
            let rate = p.k as f64 / p.n as f64;
            let (px, py) = (x(p.n as f64), y(rate));
            // Labels sit right of the point, or left of it near the right edge.
            let right = px < RIGHT - 40.0;
            FunnelMark {
                x: format!("{px:.1}"),
                y: format!("{py:.1}"),
                label: plain(&format!("{} {:.1}%", p.label, rate * 100.0)),
                label_x: format!("{:.1}", if right { px + 8.0 } else { px - 8.0 }),
                label_y: format!("{:.1}", py + 4.0),
                anchor: if right { "start" } else { "end" },
                colour: DARK_BLUE,
            }
        })
        .collect();
    let height = base + 62.0;
    let y_ticks = [0.0, 0.25, 0.5, 0.75, 1.0]
        .iter()
        .map(|p| (format!("{:.0}%", p * 100.0), format!("{:.1}", y(*p) + 4.0)))
        .collect();
    // Only the ends of the count axis are labelled: its middle could be a count too small to
    // show a councillor.
    let x_ticks = vec![
        ("0".to_owned(), format!("{LEFT:.1}")),
        (max_n.to_string(), format!("{:.1}", x(max_n as f64))),
    ];
    Frame::new(id, title, description, height, marks).draw_with_ticks(
        "funnel.svg",
        &[
            ("top", TOP.to_string()),
            ("left", LEFT.to_string()),
            ("right", RIGHT.to_string()),
            ("base", base.to_string()),
            ("left_label", (LEFT - 6.0).to_string()),
            ("x_label_y", (base + 16.0).to_string()),
            ("x_title_x", ((LEFT + RIGHT) / 2.0).to_string()),
            ("x_title_y", (base + 32.0).to_string()),
            ("x_title", plain(x_title)),
            ("mean_y", format!("{:.1}", y(mean))),
            ("mean_colour", GREEN.to_owned()),
            ("upper95", limit(Z95, true)),
            ("lower95", limit(Z95, false)),
            ("upper998", limit(Z998, true)),
            ("lower998", limit(Z998, false)),
            ("key_y", (base + 52.0).to_string()),
            (
                "key",
                format!(
                    "Solid line: the partnership, {:.1}%. Dashed: 95% limits. Dotted: 99.8% limits.",
                    mean * 100.0
                ),
            ),
        ],
        &[("y_ticks", y_ticks), ("x_ticks", x_ticks)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(v: f64) -> Value {
        Value::Shown(v, format!("{v:.0}"))
    }

    #[test]
    fn text_is_escaped() {
        let svg = bars(
            "x\"><script>",
            "<b>Title</b>\u{7}",
            "A & B",
            &[Bar {
                label: "<img src=x>".into(),
                value: shown(3.0),
                colour: BLUE,
            }],
        );
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(!svg.contains("<img"), "{svg}");
        assert!(!svg.contains("<b>"), "{svg}");
        assert!(svg.contains("&lt;img src=x&gt;"));
        assert!(svg.contains("A &amp; B"), "{svg}");
        assert!(!svg.contains('\u{7}'), "no control characters: {svg}");
        assert!(svg.contains("id=\"x---script--title\""), "{svg}");
    }

    #[test]
    fn a_bar_chart_names_itself_and_labels_every_bar() {
        let svg = bars(
            "funnel",
            "The pathway",
            "Referrals to completions",
            &[
                Bar {
                    label: "Referrals".into(),
                    value: shown(100.0),
                    colour: BLUE,
                },
                Bar {
                    label: "Started".into(),
                    value: shown(50.0),
                    colour: BLUE,
                },
            ],
        );
        assert!(svg.starts_with("<svg "));
        assert!(svg.ends_with("</svg>"));
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("aria-labelledby=\"funnel-title funnel-desc\""));
        assert!(svg.contains("<title id=\"funnel-title\">The pathway</title>"));
        assert!(svg.contains("<desc id=\"funnel-desc\">Referrals to completions</desc>"));
        assert!(svg.contains(">Referrals</text>") && svg.contains(">100</text>"));
        // The largest bar fills the area, the others are in proportion.
        assert!(svg.contains("width=\"230.0\""), "{svg}");
        assert!(svg.contains("width=\"115.0\""), "{svg}");
    }

    #[test]
    fn a_suppressed_bar_is_not_drawn_but_said() {
        let svg = bars(
            "c",
            "t",
            "d",
            &[
                Bar {
                    label: "Referrals".into(),
                    value: shown(10.0),
                    colour: BLUE,
                },
                Bar {
                    label: "Screened".into(),
                    value: Value::Suppressed,
                    colour: BLUE,
                },
                Bar {
                    label: "Completed".into(),
                    value: Value::None,
                    colour: BLUE,
                },
            ],
        );
        assert_eq!(svg.matches("<rect").count(), 1, "{svg}");
        assert!(svg.contains(">[c]</text>"));
        assert!(svg.contains(">[z]</text>"));
    }

    #[test]
    fn columns_show_each_period_and_withhold_what_is_withheld() {
        let points = vec![
            ("Oct 2026".to_string(), shown(4.0)),
            ("Nov 2026".to_string(), Value::Suppressed),
            ("Dec 2026".to_string(), shown(8.0)),
        ];
        let svg = columns("t", "Referrals", "By month", &points, BLUE);
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains("height=\"150.0\""), "largest fills the plot");
        assert!(svg.contains("height=\"75.0\""));
        assert!(svg.contains(">Nov 2026</text>") && svg.contains(">[c]</text>"));
    }

    #[test]
    fn nothing_to_draw_draws_no_bars() {
        let svg = bars(
            "e",
            "t",
            "d",
            &[Bar {
                label: "Zero".into(),
                value: shown(0.0),
                colour: BLUE,
            }],
        );
        assert!(svg.contains("width=\"0.0\""));
        let svg = columns("e", "t", "d", &[], BLUE);
        assert!(svg.ends_with("</svg>"));
    }
}
