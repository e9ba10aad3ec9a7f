//! Charts drawn on the server as SVG, for pages that must work without JavaScript. Every chart
//! comes with the table of the same figures, names itself to assistive technology (`role="img"`
//! with a `<title>` and `<desc>`), writes every figure as text beside its bar so nothing is told
//! by colour alone, and escapes every piece of text it is given. A figure that is withheld is
//! not drawn: the word "suppressed" stands in its place.

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
    /// Withheld by disclosure control: no bar, the word "suppressed".
    Suppressed,
    /// Nothing to show (no denominator, say): no bar, a dash.
    None,
}

impl Value {
    fn text(&self) -> String {
        match self {
            Value::Shown(_, text) => text.clone(),
            Value::Suppressed => "suppressed".into(),
            Value::None => "–".into(),
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

/// Escapes text for SVG (XML) content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
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

fn open(id: &str, title: &str, description: &str, height: f64) -> String {
    let id = safe_id(id);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"app-chart\" role=\"img\" \
         aria-labelledby=\"{id}-title {id}-desc\" viewBox=\"0 0 {WIDTH} {height}\" \
         width=\"100%\" preserveAspectRatio=\"xMinYMin meet\" \
         font-family=\"Arial, sans-serif\" font-size=\"14\">\
         <title id=\"{id}-title\">{}</title><desc id=\"{id}-desc\">{}</desc>",
        escape(title),
        escape(description)
    )
}

/// A horizontal bar chart, one bar a row, each with its label on the left and its figure on
/// the right. Bars are scaled to the largest figure shown.
pub fn bars(id: &str, title: &str, description: &str, bars: &[Bar]) -> String {
    let height = ROW * bars.len() as f64 + 8.0;
    let max = bars
        .iter()
        .filter_map(|b| b.value.number())
        .fold(0.0_f64, f64::max);
    let mut svg = open(id, title, description, height);
    let x0 = LABEL_WIDTH;
    svg.push_str(&format!(
        "<line x1=\"{x0}\" y1=\"0\" x2=\"{x0}\" y2=\"{height}\" stroke=\"{AXIS}\" stroke-width=\"1\"/>"
    ));
    for (i, bar) in bars.iter().enumerate() {
        let y = ROW * i as f64 + 4.0;
        let middle = y + BAR / 2.0 + 5.0;
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{middle}\" text-anchor=\"end\" fill=\"{TEXT}\">{}</text>",
            x0 - 8.0,
            escape(&bar.label)
        ));
        let length = match bar.value.number() {
            Some(v) if max > 0.0 => v / max * BAR_AREA,
            _ => 0.0,
        };
        if let Value::Shown(..) = bar.value {
            svg.push_str(&format!(
                "<rect x=\"{x0}\" y=\"{y}\" width=\"{length:.1}\" height=\"{BAR}\" fill=\"{}\"/>",
                bar.colour
            ));
        }
        let style = if bar.value == Value::Suppressed {
            " font-style=\"italic\""
        } else {
            ""
        };
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{middle}\" fill=\"{TEXT}\"{style}>{}</text>",
            x0 + length + 6.0,
            escape(&bar.value.text())
        ));
    }
    svg.push_str("</svg>");
    svg
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
    let height = TOP + PLOT + BOTTOM;
    let left = 10.0;
    let slot = (WIDTH - left * 2.0) / points.len().max(1) as f64;
    let max = points
        .iter()
        .filter_map(|(_, v)| v.number())
        .fold(0.0_f64, f64::max);
    let mut svg = open(id, title, description, height);
    let base = TOP + PLOT;
    svg.push_str(&format!(
        "<line x1=\"{left}\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\" stroke=\"{AXIS}\" stroke-width=\"1\"/>",
        WIDTH - left
    ));
    for (i, (label, value)) in points.iter().enumerate() {
        let centre = left + slot * (i as f64 + 0.5);
        let width = (slot * 0.6).min(40.0);
        let length = match value.number() {
            Some(v) if max > 0.0 => v / max * PLOT,
            _ => 0.0,
        };
        if let Value::Shown(..) = value {
            svg.push_str(&format!(
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{width:.1}\" height=\"{length:.1}\" fill=\"{colour}\"/>",
                centre - width / 2.0,
                base - length
            ));
        }
        let (size, style) = if *value == Value::Suppressed {
            ("10", " font-style=\"italic\"")
        } else {
            ("12", "")
        };
        svg.push_str(&format!(
            "<text x=\"{centre:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"{size}\" fill=\"{TEXT}\"{style}>{}</text>",
            base - length - 6.0,
            escape(&value.text())
        ));
        svg.push_str(&format!(
            "<text x=\"{centre:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"12\" fill=\"{TEXT}\" transform=\"rotate(-40 {centre:.1} {:.1})\">{}</text>",
            base + 16.0,
            base + 16.0,
            escape(label)
        ));
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(v: f64) -> Value {
        Value::Shown(v, format!("{v:.0}"))
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("<script>\"a\" & 'b'</script>\u{7}"),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
        let svg = bars(
            "x\"><script>",
            "<b>Title</b>",
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
        assert!(svg.contains(">suppressed</text>"));
        assert!(svg.contains(">–</text>"));
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
        assert!(svg.contains(">Nov 2026</text>") && svg.contains(">suppressed</text>"));
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
