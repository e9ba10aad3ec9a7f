//! Outcome measures taken at sessions: PHQ-9 (depression), GAD-7 (anxiety) and CORE-10
//! (psychological distress). Owns the item wording, scoring, severity bands, the risk items
//! and reliable change, so forms, reports and the API score the same way.

use crate::coded_enum;

coded_enum! {
    /// A standard questionnaire.
    pub enum Instrument {
        Phq9 = ("phq9", "PHQ-9"),
        Gad7 = ("gad7", "GAD-7"),
        Core10 = ("core10", "CORE-10"),
    }
}

const PHQ9_QUESTIONS: [&str; 9] = [
    "Little interest or pleasure in doing things",
    "Feeling down, depressed or hopeless",
    "Trouble falling or staying asleep, or sleeping too much",
    "Feeling tired or having little energy",
    "Poor appetite or overeating",
    "Feeling bad about yourself, or that you are a failure or have let yourself or your family \
     down",
    "Trouble concentrating on things, such as reading the newspaper or watching television",
    "Moving or speaking so slowly that other people could have noticed, or the opposite: being so \
     fidgety or restless that you have been moving around a lot more than usual",
    "Thoughts that you would be better off dead, or of hurting yourself in some way",
];

const GAD7_QUESTIONS: [&str; 7] = [
    "Feeling nervous, anxious or on edge",
    "Not being able to stop or control worrying",
    "Worrying too much about different things",
    "Trouble relaxing",
    "Being so restless that it is hard to sit still",
    "Becoming easily annoyed or irritable",
    "Feeling afraid as if something awful might happen",
];

const CORE10_QUESTIONS: [&str; 10] = [
    "I have felt tense, anxious or nervous",
    "I have felt I have someone to turn to for support when needed",
    "I have felt able to cope when things go wrong",
    "Talking to people has felt too much for me",
    "I have felt panic or terror",
    "I made plans to end my life",
    "I have had difficulty getting to sleep or staying asleep",
    "I have felt despairing or hopeless",
    "I have felt unhappy",
    "Unwanted images or memories have been distressing me",
];

const FREQUENCY_ANSWERS: [&str; 4] = [
    "Not at all",
    "Several days",
    "More than half the days",
    "Nearly every day",
];

const CORE10_ANSWERS: [&str; 5] = [
    "Not at all",
    "Only occasionally",
    "Sometimes",
    "Often",
    "Most or all of the time",
];

/// CORE-10 items (0-based) worded positively, so a high answer means less distress.
const CORE10_REVERSED: [usize; 2] = [1, 2];

impl Instrument {
    pub fn title(self) -> &'static str {
        match self {
            Instrument::Phq9 => "Patient Health Questionnaire (PHQ-9)",
            Instrument::Gad7 => "Generalised Anxiety Disorder (GAD-7)",
            Instrument::Core10 => "Clinical Outcomes in Routine Evaluation (CORE-10)",
        }
    }

    /// The question put before the items, giving the period they are about.
    pub fn stem(self) -> &'static str {
        match self {
            Instrument::Phq9 => {
                "Over the last 2 weeks, how often have you been bothered by any of the following \
                 problems?"
            }
            Instrument::Gad7 => {
                "Over the last 2 weeks, how often have you been bothered by the following \
                 problems?"
            }
            Instrument::Core10 => "Over the last week, how often have you felt like this?",
        }
    }

    /// The items, in order.
    pub fn questions(self) -> &'static [&'static str] {
        match self {
            Instrument::Phq9 => &PHQ9_QUESTIONS,
            Instrument::Gad7 => &GAD7_QUESTIONS,
            Instrument::Core10 => &CORE10_QUESTIONS,
        }
    }

    /// The response options, in value order from 0.
    pub fn answers(self) -> &'static [&'static str] {
        match self {
            Instrument::Phq9 | Instrument::Gad7 => &FREQUENCY_ANSWERS,
            Instrument::Core10 => &CORE10_ANSWERS,
        }
    }

    pub fn max_answer(self) -> u8 {
        match self {
            Instrument::Phq9 | Instrument::Gad7 => 3,
            Instrument::Core10 => 4,
        }
    }

    pub fn max_total(self) -> u32 {
        self.questions().len() as u32 * u32::from(self.max_answer())
    }

    /// The 1-based item about ending one's life or self-harm, which is flagged whatever the
    /// total.
    pub fn risk_item(self) -> Option<usize> {
        match self {
            Instrument::Phq9 => Some(9),
            Instrument::Gad7 => None,
            Instrument::Core10 => Some(6),
        }
    }

    /// The severity band a total falls in.
    pub fn severity(self, total: u32) -> &'static str {
        match self {
            Instrument::Phq9 => match total {
                0..=4 => "Minimal",
                5..=9 => "Mild",
                10..=14 => "Moderate",
                15..=19 => "Moderately severe",
                _ => "Severe",
            },
            Instrument::Gad7 => match total {
                0..=4 => "Minimal",
                5..=9 => "Mild",
                10..=14 => "Moderate",
                _ => "Severe",
            },
            Instrument::Core10 => match total {
                0..=5 => "Healthy",
                6..=10 => "Low",
                11..=14 => "Mild",
                15..=19 => "Moderate",
                20..=24 => "Moderate to severe",
                _ => "Severe",
            },
        }
    }

    /// The fall in total that counts as a reliable improvement (from the one thresholds
    /// table, [`THRESHOLDS`]).
    pub fn reliable_change(self) -> u32 {
        thresholds(self).reliable_change
    }

    /// Whether item `index` (0-based) is positively worded and scored in reverse.
    pub fn is_reversed(self, index: usize) -> bool {
        self == Instrument::Core10 && CORE10_REVERSED.contains(&index)
    }

    /// What item `index` (0-based) adds to the total.
    pub fn item_score(self, index: usize, answer: u8) -> u32 {
        if self == Instrument::Core10 && CORE10_REVERSED.contains(&index) {
            u32::from(self.max_answer() - answer)
        } else {
            u32::from(answer)
        }
    }
}

/// A checked set of answers. CORE-10 items 2 and 3 are positively worded and scored in
/// reverse (4 - answer) in the total; all other items score as answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scores {
    instrument: Instrument,
    answers: Vec<u8>,
    total: u32,
}

impl Scores {
    pub fn from_answers(instrument: Instrument, answers: &[u8]) -> Result<Scores, String> {
        let expected = instrument.questions().len();
        if answers.len() != expected {
            return Err(format!(
                "{} has {} questions but {} answers were given",
                instrument.label(),
                expected,
                answers.len()
            ));
        }
        if let Some(n) = answers.iter().position(|&a| a > instrument.max_answer()) {
            return Err(question_range_message(instrument, n + 1));
        }
        let total = answers
            .iter()
            .enumerate()
            .map(|(i, &a)| instrument.item_score(i, a))
            .sum();
        Ok(Scores {
            instrument,
            answers: answers.to_vec(),
            total,
        })
    }

    pub fn instrument(&self) -> Instrument {
        self.instrument
    }

    /// The answers as given, before any reversal.
    pub fn answers(&self) -> &[u8] {
        &self.answers
    }

    pub fn total(&self) -> u32 {
        self.total
    }

    pub fn severity(&self) -> &'static str {
        self.instrument.severity(self.total)
    }

    /// Whether the risk item was answered above zero.
    pub fn risk(&self) -> bool {
        self.instrument
            .risk_item()
            .and_then(|n| self.answers.get(n - 1))
            .is_some_and(|&a| a > 0)
    }

    /// The stored form: "0,1,3,...".
    pub fn answers_code(&self) -> String {
        self.answers
            .iter()
            .map(u8::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn from_code(instrument: Instrument, code: &str) -> Result<Scores, String> {
        let answers = code
            .split(',')
            .map(|part| {
                answer_value(instrument, part)
                    .ok_or_else(|| format!("‘{part}’ is not a {} answer", instrument.label()))
            })
            .collect::<Result<Vec<u8>, String>>()?;
        Scores::from_answers(instrument, &answers)
    }
}

fn question_range_message(instrument: Instrument, number: usize) -> String {
    format!(
        "Question {number} must be an answer from 0 to {}",
        instrument.max_answer()
    )
}

/// An answer written exactly as its value ("0" to the maximum), so "+1", "01" or "1.0" are
/// refused rather than guessed at.
fn answer_value(instrument: Instrument, raw: &str) -> Option<u8> {
    (0..=instrument.max_answer()).find(|v| v.to_string() == raw.trim())
}

/// Parses raw form answers (one per question, in order) into Scores, with one error per
/// question: (1-based question number, message).
pub fn parse_answers(instrument: Instrument, raw: &[&str]) -> Result<Scores, Vec<(usize, String)>> {
    let count = instrument.questions().len();
    let mut answers = Vec::with_capacity(count);
    let mut errors = Vec::new();
    for number in 1..=count {
        match raw.get(number - 1).map(|s| s.trim()) {
            None | Some("") => {
                errors.push((number, format!("Select an answer for question {number}")));
            }
            Some(text) => match answer_value(instrument, text) {
                Some(value) => answers.push(value),
                None => errors.push((number, question_range_message(instrument, number))),
            },
        }
    }
    if raw.len() > count {
        errors.push((
            count + 1,
            format!("{} has only {} questions", instrument.label(), count),
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Scores::from_answers(instrument, &answers).map_err(|message| vec![(1, message)])
}

/// Whether the total fell by at least the instrument's reliable change between the first and
/// last measure.
pub fn reliably_improved(instrument: Instrument, first: u32, last: u32) -> bool {
    first.saturating_sub(last) >= instrument.reliable_change()
}

/// One instrument's thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    pub instrument: Instrument,
    /// A total at or above this is "at caseness" (above the clinical threshold).
    pub caseness: u32,
    /// A change of at least this much is reliable (beyond measurement error).
    pub reliable_change: u32,
}

/// The thresholds, one row per instrument. Sources:
/// - PHQ-9 caseness 10 and reliable change 6; GAD-7 caseness 8 and reliable change 4: NHS
///   England, *NHS Talking Therapies for anxiety and depression manual* (v7, 2024), the
///   outcome measures appendix, and *Psychological therapies: reports on the use of IAPT
///   services* technical output specification.
/// - CORE-10 clinical cut-off 11 (a total of 11 or more) and reliable change 6: Barkham et
///   al. (2013), "The CORE-10: a short measure of psychological distress for routine use in
///   the psychological therapies", *Counselling and Psychotherapy Research* 13(1).
pub const THRESHOLDS: [Thresholds; 3] = [
    Thresholds {
        instrument: Instrument::Phq9,
        caseness: 10,
        reliable_change: 6,
    },
    Thresholds {
        instrument: Instrument::Gad7,
        caseness: 8,
        reliable_change: 4,
    },
    Thresholds {
        instrument: Instrument::Core10,
        caseness: 11,
        reliable_change: 6,
    },
];

/// The thresholds of `instrument`.
pub fn thresholds(instrument: Instrument) -> Thresholds {
    THRESHOLDS
        .iter()
        .copied()
        .find(|t| t.instrument == instrument)
        .unwrap_or(THRESHOLDS[0])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn instruments_have_their_shapes() {
        for &i in Instrument::ALL {
            assert_eq!(i.answers().len(), usize::from(i.max_answer()) + 1);
        }
        assert_eq!(Instrument::Phq9.questions().len(), 9);
        assert_eq!(Instrument::Gad7.questions().len(), 7);
        assert_eq!(Instrument::Core10.questions().len(), 10);
        assert_eq!(Instrument::Phq9.max_total(), 27);
        assert_eq!(Instrument::Gad7.max_total(), 21);
        assert_eq!(Instrument::Core10.max_total(), 40);
        assert_eq!("core10".parse::<Instrument>(), Ok(Instrument::Core10));
    }

    #[test]
    fn totals_add_up_with_core10_items_two_and_three_reversed() {
        let phq = Scores::from_answers(Instrument::Phq9, &[3, 3, 2, 2, 1, 1, 0, 0, 1]).unwrap();
        assert_eq!(phq.total(), 13);
        assert_eq!(phq.severity(), "Moderate");
        let gad = Scores::from_answers(Instrument::Gad7, &[3; 7]).unwrap();
        assert_eq!(gad.total(), 21);
        assert_eq!(gad.severity(), "Severe");
        // All zeros: the two positive items add 4 each.
        let core = Scores::from_answers(Instrument::Core10, &[0; 10]).unwrap();
        assert_eq!(core.total(), 8);
        let core =
            Scores::from_answers(Instrument::Core10, &[4, 0, 0, 4, 4, 4, 4, 4, 4, 4]).unwrap();
        assert_eq!(core.total(), 40);
        let core =
            Scores::from_answers(Instrument::Core10, &[1, 4, 4, 1, 1, 0, 2, 1, 1, 1]).unwrap();
        assert_eq!(core.total(), 8);
        assert_eq!(core.severity(), "Low");
    }

    #[test]
    fn answers_out_of_range_or_miscounted_are_refused() {
        assert!(Scores::from_answers(Instrument::Phq9, &[0, 0, 0, 0, 0, 0, 0, 0, 4]).is_err());
        assert!(Scores::from_answers(Instrument::Phq9, &[0; 8]).is_err());
        assert!(Scores::from_answers(Instrument::Core10, &[4; 10]).is_ok());
        assert!(Scores::from_answers(Instrument::Gad7, &[4; 7]).is_err());
    }

    #[test]
    fn risk_items_are_flagged() {
        let mut answers = [0u8; 9];
        assert!(
            !Scores::from_answers(Instrument::Phq9, &answers)
                .unwrap()
                .risk()
        );
        answers[8] = 1;
        assert!(
            Scores::from_answers(Instrument::Phq9, &answers)
                .unwrap()
                .risk()
        );
        let mut answers = [0u8; 10];
        assert!(
            !Scores::from_answers(Instrument::Core10, &answers)
                .unwrap()
                .risk()
        );
        answers[5] = 2;
        assert!(
            Scores::from_answers(Instrument::Core10, &answers)
                .unwrap()
                .risk()
        );
        assert!(
            !Scores::from_answers(Instrument::Gad7, &[3; 7])
                .unwrap()
                .risk()
        );
    }

    #[test]
    fn reliable_improvement_boundaries() {
        assert!(!reliably_improved(Instrument::Phq9, 20, 15));
        assert!(reliably_improved(Instrument::Phq9, 20, 14));
        assert!(!reliably_improved(Instrument::Gad7, 15, 12));
        assert!(reliably_improved(Instrument::Gad7, 15, 11));
        assert!(!reliably_improved(Instrument::Core10, 25, 20));
        assert!(reliably_improved(Instrument::Core10, 25, 19));
        assert!(!reliably_improved(Instrument::Phq9, 10, 20));
    }

    #[test]
    fn answers_round_trip_through_their_code() {
        let scores = Scores::from_answers(Instrument::Gad7, &[0, 1, 2, 3, 0, 1, 2]).unwrap();
        assert_eq!(scores.answers_code(), "0,1,2,3,0,1,2");
        assert_eq!(
            Scores::from_code(Instrument::Gad7, "0,1,2,3,0,1,2"),
            Ok(scores)
        );
        assert!(Scores::from_code(Instrument::Gad7, "0,1,2").is_err());
        assert!(Scores::from_code(Instrument::Gad7, "").is_err());
    }

    #[test]
    fn form_answers_give_one_error_per_question() {
        let raw = ["0", "", "7", "1", "x", "2", "3"];
        assert_eq!(
            parse_answers(Instrument::Gad7, &raw),
            Err(vec![
                (2, "Select an answer for question 2".to_string()),
                (3, "Question 3 must be an answer from 0 to 3".to_string()),
                (5, "Question 5 must be an answer from 0 to 3".to_string()),
            ])
        );
        let short = parse_answers(Instrument::Gad7, &["1"; 6]).unwrap_err();
        assert_eq!(
            short,
            vec![(7, "Select an answer for question 7".to_string())]
        );
        let ok = parse_answers(Instrument::Gad7, &["1", "1", "1", "1", "1", "1", " 2 "]).unwrap();
        assert_eq!(ok.total(), 8);
    }

    fn is_in_range(s: &str, max: u8) -> bool {
        (0..=max).any(|v| v.to_string() == s.trim())
    }

    proptest! {
        #[test]
        fn parse_answers_accepts_exactly_in_range_integers(
            instrument in prop::sample::select(Instrument::ALL),
            raw in prop::collection::vec(
                prop_oneof![".*", "[ ]?[0-9+-]{1,2}[ ]?", (0u8..6).prop_map(|v| v.to_string())],
                0..12,
            ),
        ) {
            let refs: Vec<&str> = raw.iter().map(String::as_str).collect();
            let expected_ok = raw.len() == instrument.questions().len()
                && raw.iter().all(|s| is_in_range(s, instrument.max_answer()));
            match parse_answers(instrument, &refs) {
                Ok(scores) => {
                    prop_assert!(expected_ok);
                    prop_assert!(scores.total() <= instrument.max_total());
                }
                Err(errors) => {
                    prop_assert!(!expected_ok);
                    prop_assert!(!errors.is_empty());
                }
            }
        }
    }
}
