//! Synthetic CaseBook exports of any size for tests and the throughput benchmark: every
//! person has one case (a few have two) and three appointments a case, and about one row in a
//! hundred is messy (a bad date, a code the mapping refuses, a duplicate, a case past retention).

use std::fmt::Write as _;

use super::Input;

const GIVEN: &[&str] = &[
    "Alex", "Sam", "Jordan", "Casey", "Riley", "Morgan", "Taylor", "Jamie", "Charlie", "Robin",
    "Avery", "Quinn", "Rowan", "Harper", "Elliot", "Jude",
];
const FAMILY: &[&str] = &[
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Khan", "Robinson", "Wright", "Thompson", "Evans", "Walker", "White",
];
const AREAS: &[&str] = &[
    "LEIC", "RUT", "BLA", "CHA", "HAR", "HBB", "MEL", "NWL", "OWB",
];
const ETH: &[&str] = &[
    "W1", "W2", "W9", "M1", "A1", "A2", "A3", "B1", "B2", "O9", "",
];
const OFF: &[&str] = &["VAP", "THF", "DRG", "PUB", "CDA", "FRD", "OTH"];
const STATUS: &[&str] = &["NEW", "ASSESS", "ACTIVE", "ENDED", "CLOSED"];

/// A small deterministic generator, so a seed gives the same files every time.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// What was generated, to check reconciliation against.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expected {
    pub people: usize,
    pub cases: usize,
    pub sessions: usize,
}

/// The three CaseBook files for `people` people (about `5 * people` source rows), with
/// appointments held by `practitioner` (an existing user's email).
pub fn casebook(people: usize, practitioner: &str, seed: u64) -> (Vec<Input>, Expected) {
    let mut r = Lcg(seed ^ 0x9E37_79B9_7F4A_7C15);
    let mut clients = String::with_capacity(people * 90);
    let mut cases = String::with_capacity(people * 70);
    let mut appts = String::with_capacity(people * 3 * 90);
    clients.push_str(
        "ClientRef,Forename,Surname,DOB,Gender,GenderSameAsBirth,EthCode,PNC,CRN,District,GP,Interp,Lang\n",
    );
    cases.push_str(
        "CaseNo,ClientRef,Route,CaseStatus,OffGroup,Priority,Opened,Sentenced,OrderEnds,Closed\n",
    );
    appts.push_str("ApptId,CaseNo,ApptDateTime,Mins,Contact,ApptStatus,Attendance,WorkerEmail\n");
    let mut expected = Expected::default();
    let mut case_no = 0usize;
    let mut appt_no = 0usize;
    for i in 0..people {
        let messy = r.below(100);
        let dob = if messy == 0 {
            "31/02/1980".to_owned()
        } else {
            format!(
                "{:02}/{:02}/{}",
                1 + r.below(28),
                1 + r.below(12),
                1950 + r.below(55)
            )
        };
        let sex = if messy == 1 {
            "X"
        } else if r.below(2) == 0 {
            "M"
        } else {
            "F"
        };
        let crn = format!("{}{:06}", (b'A' + (i % 26) as u8) as char, i % 1_000_000);
        let _ = writeln!(
            clients,
            "P{i:08},{},{},{dob},{sex},Y,{},,{crn},{},,N,",
            r.pick(GIVEN),
            r.pick(FAMILY),
            r.pick(ETH),
            r.pick(AREAS)
        );
        let person_ok = messy > 1;
        if person_ok {
            expected.people += 1;
        }
        if messy == 2 {
            // An exact duplicate row of the person just written.
            let last = clients.lines().last().unwrap_or_default().to_owned();
            clients.push_str(&last);
            clients.push('\n');
        }
        let n_cases = if r.below(10) == 0 { 2 } else { 1 };
        for k in 0..n_cases {
            case_no += 1;
            let old = messy == 3 && k == 0;
            let status = if old { "CLOSED" } else { r.pick(STATUS) };
            let opened_year = if old { 2012 } else { 2022 + r.below(4) };
            let opened = format!(
                "{:02}/{:02}/{opened_year}",
                1 + r.below(28),
                1 + r.below(12)
            );
            let closed = if old {
                "01/06/2014".to_owned()
            } else if status == "CLOSED" {
                format!("{:02}/{:02}/2026", 1 + r.below(28), 1 + r.below(10))
            } else {
                String::new()
            };
            let bad_code = messy == 4 && k == 0;
            let _ = writeln!(
                cases,
                "C{case_no:08},P{i:08},{},{status},{},{},{opened},,,{closed}",
                if r.below(2) == 0 { "LD" } else { "PSR" },
                if bad_code { "ZZZ" } else { r.pick(OFF) },
                if r.below(5) == 0 { "U" } else { "R" },
            );
            // A person is brought over only with a case: the person of a past-retention
            // only case is excluded too, and one whose only case is rejected is rejected.
            let case_ok = person_ok && !old && !bad_code;
            if case_ok {
                expected.cases += 1;
            }
            if (old || bad_code) && n_cases == 1 && person_ok {
                expected.people -= 1;
            }
            for s in 0..3 {
                appt_no += 1;
                let bad_time = messy == 5 && s == 0 && k == 0;
                let when = if bad_time {
                    "2025-02-30 10:00".to_owned()
                } else {
                    format!(
                        "{:02}/{:02}/{} {:02}:{}",
                        1 + r.below(28),
                        1 + r.below(12),
                        opened_year + 1,
                        9 + r.below(8),
                        if r.below(2) == 0 { "00" } else { "30" }
                    )
                };
                let (status, outcome) = match r.below(6) {
                    0 => ("DNA", "UA"),
                    1 => ("CAN", ""),
                    2 => ("BKD", ""),
                    3 => ("ATT", "L"),
                    _ => ("ATT", "A"),
                };
                let _ = writeln!(
                    appts,
                    "A{appt_no:09},C{case_no:08},{when},50,{},{status},{outcome},{practitioner}",
                    if r.below(3) == 0 { "TEL" } else { "F2F" }
                );
                if case_ok && !bad_time {
                    expected.sessions += 1;
                }
            }
        }
    }
    let inputs = vec![
        Input {
            name: "cb_clients.csv".into(),
            bytes: clients.into_bytes(),
        },
        Input {
            name: "cb_cases.csv".into(),
            bytes: cases.into_bytes(),
        },
        Input {
            name: "cb_appointments.csv".into(),
            bytes: appts.into_bytes(),
        },
    ];
    (inputs, expected)
}
