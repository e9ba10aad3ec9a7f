//! Which way a figure moved since the last period and whether that is good, and red, amber or
//! green against a target: the words, arrows and GOV.UK tag colours the report pages show.

use serde::Serialize;

/// Whether a rise in the figure is good news.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Polarity {
    HigherIsBetter,
    LowerIsBetter,
    Neutral,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
    Same,
}

impl Direction {
    /// How `current` moved from `previous`. Values that read the same once formatted count as
    /// the same, so a page never says "up from 12.0% to 12.0%".
    fn between(current: f64, previous: f64, format: &impl Fn(f64) -> String) -> Direction {
        if current == previous || format(current) == format(previous) {
            Direction::Same
        } else if current > previous {
            Direction::Up
        } else {
            Direction::Down
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
            Direction::Same => "same",
        }
    }

    pub fn arrow(self) -> &'static str {
        match self {
            Direction::Up => "↑",
            Direction::Down => "↓",
            Direction::Same => "→",
        }
    }
}

/// A change since the previous period, ready for a template or JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trend {
    /// "up", "down" or "same".
    pub direction: &'static str,
    /// "↑", "↓" or "→".
    pub arrow: &'static str,
    /// "better", "worse", "no change" or "not judged".
    pub judgement: &'static str,
    /// GOV.UK tag colour: "green", "red" or "grey".
    pub colour: &'static str,
    /// For example "Down from 12 to 9: better".
    pub text: String,
}

/// The trend from `previous` to `current`, or `None` when either is missing (suppressed or not
/// available) or not a number. `format` writes a value as the page shows it.
pub fn trend(
    current: Option<f64>,
    previous: Option<f64>,
    polarity: Polarity,
    format: impl Fn(f64) -> String,
) -> Option<Trend> {
    let current = current.filter(|v| v.is_finite())?;
    let previous = previous.filter(|v| v.is_finite())?;
    let direction = Direction::between(current, previous, &format);
    let (judgement, colour) =
        match (direction, polarity) {
            (Direction::Same, _) => ("no change", "grey"),
            (_, Polarity::Neutral) => ("not judged", "grey"),
            (Direction::Up, Polarity::HigherIsBetter)
            | (Direction::Down, Polarity::LowerIsBetter) => ("better", "green"),
            (Direction::Up, Polarity::LowerIsBetter)
            | (Direction::Down, Polarity::HigherIsBetter) => ("worse", "red"),
        };
    let (from, to) = (format(previous), format(current));
    let text = match (direction, polarity) {
        (Direction::Same, _) => format!("No change from {from}"),
        (Direction::Up, Polarity::Neutral) => format!("Up from {from} to {to}"),
        (Direction::Down, Polarity::Neutral) => format!("Down from {from} to {to}"),
        (Direction::Up, _) => format!("Up from {from} to {to}: {judgement}"),
        (Direction::Down, _) => format!("Down from {from} to {to}: {judgement}"),
    };
    Some(Trend {
        direction: direction.code(),
        arrow: direction.arrow(),
        judgement,
        colour,
        text,
    })
}

/// Red, amber or green against a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Rag {
    Red,
    Amber,
    Green,
}

impl Rag {
    /// Words to go with the colour, which alone tells some people nothing.
    pub fn label(self) -> &'static str {
        match self {
            Rag::Red => "Off target",
            Rag::Amber => "Near target",
            Rag::Green => "On target",
        }
    }

    /// GOV.UK tag colour.
    pub fn colour(self) -> &'static str {
        match self {
            Rag::Red => "red",
            Rag::Amber => "orange",
            Rag::Green => "green",
        }
    }
}

/// Green when the target is met, amber when missed by no more than a tenth of the target, red
/// otherwise (and for a value that is not a number). With no better direction, green only on the
/// target and amber anywhere else.
pub fn rag(value: f64, target: f64, polarity: Polarity) -> Rag {
    rag_within(value, target, target.abs() / 10.0, polarity)
}

/// As [`rag`], with amber for a miss of no more than `amber_within`.
pub fn rag_within(value: f64, target: f64, amber_within: f64, polarity: Polarity) -> Rag {
    let met = match polarity {
        Polarity::HigherIsBetter => value >= target,
        Polarity::LowerIsBetter => value <= target,
        Polarity::Neutral => {
            return if value == target {
                Rag::Green
            } else {
                Rag::Amber
            };
        }
    };
    if met {
        Rag::Green
    } else if (value - target).abs() <= amber_within.abs() + 1e-9 {
        // The tolerance keeps a miss of exactly the margin amber despite binary fractions.
        Rag::Amber
    } else {
        Rag::Red
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(v: f64) -> String {
        format!("{v:.0}")
    }

    fn percent(v: f64) -> String {
        format!("{:.1}%", v * 100.0)
    }

    #[test]
    fn fewer_missed_appointments_is_better() {
        let t = trend(Some(9.0), Some(12.0), Polarity::LowerIsBetter, whole).unwrap();
        assert_eq!(
            t,
            Trend {
                direction: "down",
                arrow: "↓",
                judgement: "better",
                colour: "green",
                text: "Down from 12 to 9: better".to_string(),
            }
        );
    }

    #[test]
    fn fewer_completions_is_worse() {
        let t = trend(Some(9.0), Some(12.0), Polarity::HigherIsBetter, whole).unwrap();
        assert_eq!(
            (t.direction, t.arrow, t.judgement, t.colour),
            ("down", "↓", "worse", "red")
        );
        assert_eq!(t.text, "Down from 12 to 9: worse");
        let t = trend(Some(12.0), Some(9.0), Polarity::HigherIsBetter, whole).unwrap();
        assert_eq!((t.arrow, t.judgement, t.colour), ("↑", "better", "green"));
        let t = trend(Some(12.0), Some(9.0), Polarity::LowerIsBetter, whole).unwrap();
        assert_eq!((t.arrow, t.judgement, t.colour), ("↑", "worse", "red"));
    }

    #[test]
    fn neutral_figures_are_not_judged() {
        let t = trend(Some(12.0), Some(9.0), Polarity::Neutral, whole).unwrap();
        assert_eq!(
            (t.direction, t.arrow, t.judgement, t.colour),
            ("up", "↑", "not judged", "grey")
        );
        assert_eq!(t.text, "Up from 9 to 12");
    }

    #[test]
    fn equal_values_are_no_change() {
        for polarity in [
            Polarity::HigherIsBetter,
            Polarity::LowerIsBetter,
            Polarity::Neutral,
        ] {
            let t = trend(Some(12.0), Some(12.0), polarity, whole).unwrap();
            assert_eq!(
                (t.direction, t.arrow, t.judgement, t.colour),
                ("same", "→", "no change", "grey")
            );
            assert_eq!(t.text, "No change from 12");
        }
        let t = trend(Some(0.12001), Some(0.12), Polarity::HigherIsBetter, percent).unwrap();
        assert_eq!((t.arrow, t.text.as_str()), ("→", "No change from 12.0%"));
    }

    #[test]
    fn missing_values_give_no_trend() {
        assert_eq!(trend(None, Some(1.0), Polarity::Neutral, whole), None);
        assert_eq!(trend(Some(1.0), None, Polarity::Neutral, whole), None);
        assert_eq!(
            trend(Some(f64::NAN), Some(1.0), Polarity::Neutral, whole),
            None
        );
    }

    #[test]
    fn rag_boundaries() {
        use Polarity::*;
        use Rag::*;
        assert_eq!(rag(100.0, 100.0, HigherIsBetter), Green);
        assert_eq!(rag(120.0, 100.0, HigherIsBetter), Green);
        assert_eq!(rag(99.0, 100.0, HigherIsBetter), Amber);
        assert_eq!(rag(90.0, 100.0, HigherIsBetter), Amber);
        assert_eq!(rag(89.9, 100.0, HigherIsBetter), Red);
        assert_eq!(rag(10.0, 10.0, LowerIsBetter), Green);
        assert_eq!(rag(5.0, 10.0, LowerIsBetter), Green);
        assert_eq!(rag(11.0, 10.0, LowerIsBetter), Amber);
        assert_eq!(rag(11.1, 10.0, LowerIsBetter), Red);
        assert_eq!(rag(0.0, 0.0, LowerIsBetter), Green);
        assert_eq!(rag(0.1, 0.0, LowerIsBetter), Red);
        assert_eq!(rag(f64::NAN, 10.0, HigherIsBetter), Red);
        assert_eq!(rag(10.0, 10.0, Neutral), Green);
        assert_eq!(rag(10.5, 10.0, Neutral), Amber);
        assert_eq!(rag(50.0, 10.0, Neutral), Amber);
    }

    #[test]
    fn rag_with_a_configured_margin() {
        use Polarity::*;
        use Rag::*;
        assert_eq!(rag_within(0.6, 0.6, 0.1, HigherIsBetter), Green);
        assert_eq!(rag_within(0.5, 0.6, 0.1, HigherIsBetter), Amber);
        assert_eq!(rag_within(0.49, 0.6, 0.1, HigherIsBetter), Red);
        assert_eq!(rag_within(0.2, 0.15, 0.05, LowerIsBetter), Amber);
        assert_eq!(rag_within(0.21, 0.15, 0.05, LowerIsBetter), Red);
        assert_eq!(rag_within(0.1, 0.15, 0.05, LowerIsBetter), Green);
        assert_eq!(rag_within(0.5, 0.6, 0.0, HigherIsBetter), Red);
    }

    #[test]
    fn rag_words_and_colours() {
        assert_eq!(
            (Rag::Green.label(), Rag::Green.colour()),
            ("On target", "green")
        );
        assert_eq!(
            (Rag::Amber.label(), Rag::Amber.colour()),
            ("Near target", "orange")
        );
        assert_eq!((Rag::Red.label(), Rag::Red.colour()), ("Off target", "red"));
        assert_eq!(serde_json::to_string(&Rag::Amber).unwrap(), "\"amber\"");
    }
}
