//! Rates per 100,000 adults: each area's referrals, MHTRs made and starts against its adult
//! population (the ONS mid-year estimate recorded for it, `areas::population`), so a small
//! area can be compared with a large one. Worked out from the counts as shown: a withheld
//! count gives a withheld rate, and an area with no population recorded gives `[x]`.

use super::*;
use crate::areas::population::Population;
use crate::web::format::thousands;

/// The counts given per 100,000 adults, with their labels.
const PER_100K: [(&str, &str); 3] = [
    ("referred", "Referrals made per 100,000 adults"),
    ("order_made", "Diverted: MHTRs made per 100,000 adults"),
    ("started", "Started treatment per 100,000 adults"),
];

const PER: f64 = 100_000.0;

/// The figure for `count` (as shown) out of `adults`, with its Wilson 95% interval in the
/// same unit.
fn per_100k(count: &Figure, adults: Option<i64>) -> Figure {
    if count.suppressed {
        return Figure::withheld();
    }
    match (count.value, adults) {
        (Some(k), Some(n)) if n > 0 => {
            let k = k.round() as i64;
            let v = k as f64 * PER / n as f64;
            let ci = crate::reports::interval::wilson(k, n);
            Figure {
                of: None,
                low: ci.map(|c| c.0 * PER),
                high: ci.map(|c| c.1 * PER),
                ..Figure::number(v, format!("{v:.1}"))
            }
        }
        (Some(_), _) => Figure::unavailable(),
        (None, _) => Figure::none(),
    }
}

/// Adds the rates per 100,000 adults after the rates, from `populations` (one per area, in
/// column order), and says where each population comes from.
pub fn apply_populations(report: &mut Report, populations: &[Option<Population>]) {
    let areas = report.columns.len().saturating_sub(1);
    let total: Option<i64> = populations
        .iter()
        .take(areas)
        .map(|p| p.as_ref().map(|p| p.adults))
        .sum();
    let adults: Vec<Option<i64>> = (0..areas)
        .map(|i| populations.get(i).cloned().flatten().map(|p| p.adults))
        .chain(std::iter::once(total.filter(|_| areas > 0)))
        .collect();
    let funnel_row = |key: &str| {
        report
            .sections
            .iter()
            .flat_map(|s| &s.rows)
            .find(|r| r.key == key)
            .cloned()
    };
    let mut rows = vec![Row {
        key: "adults".into(),
        label: "Adults aged 18 and over (population estimate)".into(),
        figures: adults
            .iter()
            .map(|a| match a {
                Some(n) => Figure::number(*n as f64, thousands(*n)),
                None => Figure::unavailable(),
            })
            .collect(),
        trend: None,
        target: None,
        sub: false,
    }];
    for (key, label) in PER_100K {
        let Some(counts) = funnel_row(key) else {
            continue;
        };
        rows.push(Row {
            key: format!("{key}_per_100k"),
            label: label.into(),
            figures: counts
                .figures
                .iter()
                .zip(&adults)
                .map(|(f, a)| per_100k(f, *a))
                .collect(),
            trend: None,
            target: None,
            sub: false,
        });
    }
    let at = report
        .sections
        .iter()
        .position(|s| s.key == "rates")
        .map_or(report.sections.len(), |i| i + 1);
    report.sections.insert(
        at,
        Section {
            key: "per_100k".into(),
            title: "Rates per 100,000 adults".into(),
            rows,
        },
    );
    report.population_sources = report
        .columns
        .iter()
        .zip(populations)
        .take(areas)
        .map(|(name, p)| match p {
            Some(p) => format!(
                "{name}: {} adults, mid-{} ({})",
                thousands(p.adults),
                p.year,
                p.source
            ),
            None => format!("{name}: no population recorded, so its rates are {NOT_AVAILABLE}"),
        })
        .collect();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(31_702), "31,702");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(-1_500), "-1,500");
    }

    #[test]
    fn a_rate_per_100k_is_worked_out_by_hand_and_follows_its_count() {
        // 12 of 31,702 adults: 37.85 per 100,000.
        let f = per_100k(&Figure::number(12.0, "12".into()), Some(31_702));
        assert_eq!(f.text, "37.9");
        let (lo, hi) = (f.low.unwrap(), f.high.unwrap());
        assert!(
            lo < 37.85 && 37.85 < hi && lo > 20.0 && hi < 70.0,
            "{lo} {hi}"
        );
        assert!(per_100k(&Figure::withheld(), Some(31_702)).suppressed);
        assert_eq!(
            per_100k(&Figure::number(3.0, "3".into()), None).text,
            NOT_AVAILABLE
        );
    }
}
