//! Local targets beside the indicators they are set for.

use super::*;

/// Puts each configured target beside its indicator with a red, amber or green status for
/// the total. A withheld or missing total gets no status: a status would hint at the figure.
pub fn apply_targets(report: &mut Report, targets: &BTreeMap<String, Target>) {
    for row in report.sections.iter_mut().flat_map(|s| s.rows.iter_mut()) {
        let (Some(t), Some((scale, polarity, write))) =
            (targets.get(&row.key), target_unit(&row.key))
        else {
            continue;
        };
        let total = row
            .figures
            .last()
            .filter(|f| !f.suppressed)
            .and_then(|f| f.value);
        row.target = total.map(|value| {
            let rag = trend::rag_within(value, t.target * scale, t.amber_within * scale, polarity);
            TargetStatus {
                target: write(t.target * scale),
                rag: serde_json::to_value(rag)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                label: rag.label().into(),
                colour: rag.colour().into(),
            }
        });
    }
}
