//! Spreadsheets the service writes: the OpenDocument writer ([`ods`]) and, here, the one
//! rule for every CSV (reports, the audit log, import reports, the command line's export):
//! a text cell a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a
//! tab or a carriage return) gets a leading apostrophe, so it is shown as text and never
//! run.

use std::borrow::Cow;

pub mod ods;

/// `s` made safe to open in a spreadsheet.
pub fn defused(s: &str) -> Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// One CSV field, always quoted (RFC 4180: quotes doubled), its formula defused.
pub fn quoted(s: &str) -> String {
    format!("\"{}\"", defused(s).replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_shown_as_text_and_nothing_else_changes() {
        for f in ["=HYPERLINK(\"x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(defused(f), format!("'{f}"));
        }
        assert_eq!(defused("Zoë, 3 = 3"), "Zoë, 3 = 3");
        assert_eq!(quoted("=1+\"a\""), "\"'=1+\"\"a\"\"\"");
    }
}
