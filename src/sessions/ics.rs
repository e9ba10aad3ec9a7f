//! The iCalendar (RFC 5545) feed of a diary, for calendar apps to subscribe to. Owns the text
//! format: line folding, escaping and UTC times, so the feed reads the same in every client.

use chrono::{NaiveDateTime, TimeDelta};

use crate::clock::london_to_utc;
use crate::coded_enum;

coded_enum! {
    /// Whether a subscribed calendar should show the event or strike it out.
    pub enum EventStatus {
        Confirmed = ("confirmed", "Confirmed"),
        Cancelled = ("cancelled", "Cancelled"),
    }
}

/// One appointment in the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Stable across edits, so clients update the event rather than add another.
    pub uid: String,
    /// UK local wall-clock time.
    pub start: NaiveDateTime,
    pub minutes: u32,
    pub summary: String,
    pub location: Option<String>,
    pub description: Option<String>,
    pub status: EventStatus,
    /// Raised on every change, so clients know the event moved.
    pub sequence: u32,
    /// UTC.
    pub updated: NaiveDateTime,
}

/// RFC 5545 limits lines to 75 octets, not counting the CRLF.
const MAX_LINE_OCTETS: usize = 75;

/// Builds the feed as CRLF lines; the content lines are folded when written.
struct Writer {
    out: String,
}

impl Writer {
    /// Writes one content line, folded at 75 octets without splitting a UTF-8 character;
    /// continuation lines start with a space, which counts towards their 75.
    fn line(&mut self, name: &str, value: &str) {
        let content = format!("{name}:{value}");
        let mut limit = MAX_LINE_OCTETS;
        let mut used = 0;
        for ch in content.chars() {
            let len = ch.len_utf8();
            if used + len > limit {
                self.out.push_str("\r\n ");
                limit = MAX_LINE_OCTETS - 1;
                used = 0;
            }
            self.out.push(ch);
            used += len;
        }
        self.out.push_str("\r\n");
    }

    fn text(&mut self, name: &str, value: &str) {
        self.line(name, &escape_text(value));
    }

    fn time(&mut self, name: &str, utc: NaiveDateTime) {
        self.line(name, &utc.format("%Y%m%dT%H%M%SZ").to_string());
    }
}

/// Escapes a TEXT value: backslash, semicolon, comma and line breaks.
fn escape_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {
                // CRLF and a lone CR are both one line break.
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            _ => out.push(ch),
        }
    }
    out
}

/// An RFC 5545 VCALENDAR named `name` holding `events`, stamped `now_utc`.
pub fn calendar(name: &str, events: &[Event], now_utc: NaiveDateTime) -> String {
    let mut w = Writer { out: String::new() };
    w.line("BEGIN", "VCALENDAR");
    w.line("VERSION", "2.0");
    w.line("PRODID", "-//mhtr-pathway//Sessions//EN");
    w.line("CALSCALE", "GREGORIAN");
    w.line("METHOD", "PUBLISH");
    w.text("X-WR-CALNAME", name);
    // Ask subscribing clients to poll hourly; both spellings, as clients read one or the other.
    w.line("REFRESH-INTERVAL;VALUE=DURATION", "PT1H");
    w.line("X-PUBLISHED-TTL", "PT1H");
    for event in events {
        let start = london_to_utc(event.start);
        // The length is real time, so a session across a clock change keeps its minutes.
        let end = start + TimeDelta::minutes(i64::from(event.minutes));
        w.line("BEGIN", "VEVENT");
        w.text("UID", &event.uid);
        w.time("DTSTAMP", now_utc);
        w.time("DTSTART", start);
        w.time("DTEND", end);
        w.text("SUMMARY", &event.summary);
        if let Some(location) = &event.location {
            w.text("LOCATION", location);
        }
        if let Some(description) = &event.description {
            w.text("DESCRIPTION", description);
        }
        let status = match event.status {
            EventStatus::Confirmed => "CONFIRMED",
            EventStatus::Cancelled => "CANCELLED",
        };
        w.line("STATUS", status);
        w.line("SEQUENCE", &event.sequence.to_string());
        w.time("LAST-MODIFIED", event.updated);
        w.line("END", "VEVENT");
    }
    w.line("END", "VCALENDAR");
    w.out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use icalendar::parser::{Component, Property, read_calendar, unfold};

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|d| d.and_hms_opt(h, min, 0))
            .expect("test time")
    }

    fn event(uid: &str, start: NaiveDateTime, summary: &str) -> Event {
        Event {
            uid: uid.to_string(),
            start,
            minutes: 50,
            summary: summary.to_string(),
            location: Some("Room 2, Probation Office; Leeds".to_string()),
            description: Some("Bring your diary\nand a pen \\ notes".to_string()),
            status: EventStatus::Confirmed,
            sequence: 0,
            updated: at(2026, 6, 1, 9, 0),
        }
    }

    fn prop(properties: &[Property<'_>], name: &str) -> Option<String> {
        properties
            .iter()
            .find(|p| p.name.as_str() == name)
            .map(|p| p.val.as_str().to_string())
    }

    const LONG: &str = "Session 3 of 12, with Zoë Ó Briain; check-in, PHQ-9; GAD-7 – \
                        then a longer conversation about next steps, «ça va», naïve café résumé";

    fn sample() -> String {
        let mut winter = event("s1@mhtr", at(2026, 12, 14, 10, 0), "Session 1 of 12");
        winter.status = EventStatus::Cancelled;
        winter.sequence = 2;
        let summer = event("s2@mhtr", at(2026, 6, 15, 10, 0), LONG);
        calendar(
            "Sam’s sessions, Leeds",
            &[winter, summer],
            at(2026, 11, 22, 17, 0),
        )
    }

    #[test]
    fn the_feed_is_crlf_and_folded_at_75_octets() {
        let feed = sample();
        assert!(feed.ends_with("END:VCALENDAR\r\n"));
        for line in feed.split("\r\n") {
            assert!(line.len() <= 75, "{line:?} is {} octets", line.len());
            assert!(!line.contains('\n') && !line.contains('\r'));
        }
        assert!(feed.contains("\r\n "), "the long summary is folded");
    }

    #[test]
    fn the_feed_parses_with_its_events_in_utc() {
        let feed = sample();
        let unfolded = unfold(&feed);
        // Escaped on the wire; the parser below hands back the unescaped text.
        assert!(unfolded.contains("LOCATION:Room 2\\, Probation Office\\; Leeds\r\n"));
        assert!(unfolded.contains("DESCRIPTION:Bring your diary\\nand a pen \\\\ notes\r\n"));
        let parsed = read_calendar(&unfolded).expect("parses");
        let cal = &parsed.properties;
        assert_eq!(prop(cal, "VERSION").as_deref(), Some("2.0"));
        assert_eq!(
            prop(cal, "PRODID").as_deref(),
            Some("-//mhtr-pathway//Sessions//EN")
        );
        assert_eq!(prop(cal, "METHOD").as_deref(), Some("PUBLISH"));
        assert_eq!(
            prop(cal, "X-WR-CALNAME").as_deref(),
            Some("Sam’s sessions, Leeds")
        );
        assert_eq!(prop(cal, "X-PUBLISHED-TTL").as_deref(), Some("PT1H"));

        let events: Vec<&[Property<'_>]> = parsed
            .components
            .iter()
            .filter(|c: &&Component<'_>| c.name == "VEVENT")
            .map(|c| c.properties.as_slice())
            .collect();
        assert_eq!(events.len(), 2);

        let winter = events[0];
        assert_eq!(prop(winter, "UID").as_deref(), Some("s1@mhtr"));
        // GMT in December: the wall clock is UTC.
        assert_eq!(prop(winter, "DTSTART").as_deref(), Some("20261214T100000Z"));
        assert_eq!(prop(winter, "DTEND").as_deref(), Some("20261214T105000Z"));
        assert_eq!(prop(winter, "STATUS").as_deref(), Some("CANCELLED"));
        assert_eq!(prop(winter, "SEQUENCE").as_deref(), Some("2"));
        assert_eq!(prop(winter, "DTSTAMP").as_deref(), Some("20261122T170000Z"));
        assert_eq!(
            prop(winter, "LAST-MODIFIED").as_deref(),
            Some("20260601T090000Z")
        );

        let summer = events[1];
        // BST in June: 10:00 on the wall clock is 09:00 UTC.
        assert_eq!(prop(summer, "DTSTART").as_deref(), Some("20260615T090000Z"));
        assert_eq!(prop(summer, "DTEND").as_deref(), Some("20260615T095000Z"));
        assert_eq!(prop(summer, "STATUS").as_deref(), Some("CONFIRMED"));
        assert_eq!(prop(summer, "SUMMARY").as_deref(), Some(LONG));
        assert_eq!(
            prop(summer, "LOCATION").as_deref(),
            Some("Room 2, Probation Office; Leeds")
        );
        assert_eq!(
            prop(summer, "DESCRIPTION").as_deref(),
            Some("Bring your diary\nand a pen \\ notes")
        );
    }

    #[test]
    fn the_high_level_parser_reads_the_events() {
        use icalendar::{CalendarComponent, Component as _};
        let parsed: icalendar::Calendar = sample().parse().expect("parses");
        let summaries: Vec<String> = parsed
            .components
            .iter()
            .filter_map(|c| match c {
                CalendarComponent::Event(e) => e.get_summary().map(str::to_string),
                _ => None,
            })
            .collect();
        assert_eq!(summaries.len(), 2);
        assert_eq!(summaries[0], "Session 1 of 12");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape_text("a\\b;c,d\ne\r\nf\rg"),
            "a\\\\b\\;c\\,d\\ne\\nf\\ng"
        );
    }

    #[test]
    fn folding_never_splits_a_character() {
        let feed = calendar(
            "ééééééééééééééééééééééééééééééééééééééééééééééééééé€€€€€",
            &[],
            at(2026, 1, 1, 0, 0),
        );
        // Every line is valid UTF-8 on its own, which `split` on a String guarantees only
        // if no character straddles a fold.
        for line in feed.as_bytes().split(|&b| b == b'\n') {
            assert!(std::str::from_utf8(line).is_ok());
            assert!(line.len() <= 76);
        }
        assert_eq!(unfold(&feed).matches('é').count(), 51);
    }
}
