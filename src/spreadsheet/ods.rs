//! OpenDocument spreadsheets (`.ods`, ISO/IEC 26300), written as the Government Statistical
//! Service asks of published tables: each sheet's title in cell A1, one table a sheet with
//! no blank rows or columns inside it, numbers stored as numbers, symbols (`[c]`, `[x]`,
//! `[z]`) as text, and a cover sheet first. Any spreadsheet program opens it, and screen
//! readers read the sheets in order.
//!
//! The file is a ZIP archive whose entries are stored uncompressed: the `mimetype` entry
//! must be first and stored, and storing the rest too keeps the writer small (CRC-32 is
//! the only arithmetic it needs) at the cost of a larger download, which for a report's few
//! hundred cells does not matter.

/// A cell: text, or a number with the text shown for it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    /// A number, shown as `text` (for example `12` or `31,702`).
    Number(f64, String),
    /// A share from 0 to 1, shown as `text` (for example `80.0%`).
    Percent(f64, String),
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }
}

/// One sheet: its name (as the tab shows it), its title (cell A1), lines of notes under the
/// title, and its table (the first row the headings).
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    pub name: String,
    pub title: String,
    pub notes: Vec<String>,
    pub table: Vec<Vec<Cell>>,
}

/// A sheet name a spreadsheet accepts: at most 31 characters, none of `[]*?:/\`.
fn sheet_name(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '[' | ']' | '*' | '?' | ':' | '/' | '\\') && !c.is_control())
        .take(31)
        .collect()
}

/// Text for XML: escaped, without the control characters XML does not allow.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() && c != '\t' && c != '\n' => {}
            c => out.push(c),
        }
    }
    out
}

fn cell_xml(cell: &Cell, style: &str) -> String {
    let style = if style.is_empty() {
        String::new()
    } else {
        format!(" table:style-name=\"{style}\"")
    };
    match cell {
        Cell::Text(t) => format!(
            "<table:table-cell office:value-type=\"string\"{style}><text:p>{}</text:p></table:table-cell>",
            xml(t)
        ),
        Cell::Number(v, t) if v.is_finite() => format!(
            "<table:table-cell office:value-type=\"float\" office:value=\"{v}\"{style}><text:p>{}</text:p></table:table-cell>",
            xml(t)
        ),
        Cell::Percent(v, t) if v.is_finite() => format!(
            "<table:table-cell office:value-type=\"percentage\" office:value=\"{v}\"{style}><text:p>{}</text:p></table:table-cell>",
            xml(t)
        ),
        Cell::Number(_, t) | Cell::Percent(_, t) => format!(
            "<table:table-cell office:value-type=\"string\"{style}><text:p>{}</text:p></table:table-cell>",
            xml(t)
        ),
    }
}

fn content(sheets: &[Sheet]) -> String {
    let mut body = String::new();
    for sheet in sheets {
        body.push_str(&format!(
            "<table:table table:name=\"{}\">",
            xml(&sheet_name(&sheet.name))
        ));
        let columns = sheet.table.iter().map(Vec::len).max().unwrap_or(1).max(1);
        body.push_str(&format!(
            "<table:table-column table:style-name=\"first\"/><table:table-column table:style-name=\"wide\" table:number-columns-repeated=\"{}\"/>",
            columns.saturating_sub(1).max(1)
        ));
        let row = |cells: String| format!("<table:table-row>{cells}</table:table-row>");
        body.push_str(&row(cell_xml(&Cell::text(&sheet.title), "title")));
        for note in &sheet.notes {
            body.push_str(&row(cell_xml(&Cell::text(note), "")));
        }
        for (i, cells) in sheet.table.iter().enumerate() {
            let style = if i == 0 { "heading" } else { "" };
            body.push_str(&row(cells.iter().map(|c| cell_xml(c, style)).collect()));
        }
        body.push_str("</table:table>");
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
<office:document-content xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\" \
xmlns:style=\"urn:oasis:names:tc:opendocument:xmlns:style:1.0\" \
xmlns:text=\"urn:oasis:names:tc:opendocument:xmlns:text:1.0\" \
xmlns:table=\"urn:oasis:names:tc:opendocument:xmlns:table:1.0\" \
xmlns:fo=\"urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0\" office:version=\"1.3\">\
<office:automatic-styles>\
<style:style style:name=\"first\" style:family=\"table-column\"><style:table-column-properties style:column-width=\"8cm\"/></style:style>\
<style:style style:name=\"wide\" style:family=\"table-column\"><style:table-column-properties style:column-width=\"3.5cm\"/></style:style>\
<style:style style:name=\"title\" style:family=\"table-cell\"><style:text-properties fo:font-size=\"14pt\" fo:font-weight=\"bold\"/></style:style>\
<style:style style:name=\"heading\" style:family=\"table-cell\"><style:table-cell-properties fo:wrap-option=\"wrap\"/><style:text-properties fo:font-weight=\"bold\"/></style:style>\
</office:automatic-styles>\
<office:body><office:spreadsheet>{body}</office:spreadsheet></office:body></office:document-content>"
    )
}

const MIMETYPE: &str = "application/vnd.oasis.opendocument.spreadsheet";

fn manifest() -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
<manifest:manifest xmlns:manifest=\"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0\" manifest:version=\"1.3\">\
<manifest:file-entry manifest:full-path=\"/\" manifest:media-type=\"{MIMETYPE}\"/>\
<manifest:file-entry manifest:full-path=\"content.xml\" manifest:media-type=\"text/xml\"/>\
<manifest:file-entry manifest:full-path=\"meta.xml\" manifest:media-type=\"text/xml\"/>\
</manifest:manifest>"
    )
}

fn meta(title: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
<office:document-meta xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\" \
xmlns:dc=\"http://purl.org/dc/elements/1.1/\" office:version=\"1.3\">\
<office:meta><dc:title>{}</dc:title><dc:language>en-GB</dc:language></office:meta></office:document-meta>",
        xml(title)
    )
}

/// The spreadsheet of `sheets`, titled `title` in its properties, as the bytes of an `.ods`
/// file.
pub fn ods(title: &str, sheets: &[Sheet]) -> Vec<u8> {
    let mut zip = StoredZip::default();
    zip.add("mimetype", MIMETYPE.as_bytes());
    zip.add("META-INF/manifest.xml", manifest().as_bytes());
    zip.add("meta.xml", meta(title).as_bytes());
    zip.add("content.xml", content(sheets).as_bytes());
    zip.finish()
}

// ------------------------------------------------------------------ the archive

/// CRC-32 (ISO-HDLC, the ZIP checksum): reflected polynomial 0xEDB88320.
fn crc32(bytes: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, slot) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *slot = c;
        }
        t
    });
    !bytes.iter().fold(!0u32, |c, b| {
        table[((c ^ u32::from(*b)) & 0xFF) as usize] ^ (c >> 8)
    })
}

/// A ZIP archive of stored (uncompressed) entries, in the order added. No ZIP64: the files
/// it writes are far below 4 GiB.
#[derive(Default)]
struct StoredZip {
    out: Vec<u8>,
    central: Vec<u8>,
    entries: u16,
}

impl StoredZip {
    fn add(&mut self, name: &str, data: &[u8]) {
        let offset = self.out.len() as u32;
        let (crc, size, name_len) = (crc32(data), data.len() as u32, name.len() as u16);
        // 1980-01-01 00:00 in MS-DOS time: the files carry no meaningful date.
        let (time, date) = (0u16, 0x0021u16);
        let mut local = Vec::with_capacity(30 + name.len());
        local.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        local.extend_from_slice(&20u16.to_le_bytes()); // version needed
        local.extend_from_slice(&0x0800u16.to_le_bytes()); // flags: names are UTF-8
        local.extend_from_slice(&0u16.to_le_bytes()); // method: stored
        local.extend_from_slice(&time.to_le_bytes());
        local.extend_from_slice(&date.to_le_bytes());
        local.extend_from_slice(&crc.to_le_bytes());
        local.extend_from_slice(&size.to_le_bytes());
        local.extend_from_slice(&size.to_le_bytes());
        local.extend_from_slice(&name_len.to_le_bytes());
        local.extend_from_slice(&0u16.to_le_bytes()); // extra field length
        local.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(&local);
        self.out.extend_from_slice(data);

        let c = &mut self.central;
        c.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        c.extend_from_slice(&20u16.to_le_bytes()); // version made by
        c.extend_from_slice(&20u16.to_le_bytes()); // version needed
        c.extend_from_slice(&0x0800u16.to_le_bytes());
        c.extend_from_slice(&0u16.to_le_bytes());
        c.extend_from_slice(&time.to_le_bytes());
        c.extend_from_slice(&date.to_le_bytes());
        c.extend_from_slice(&crc.to_le_bytes());
        c.extend_from_slice(&size.to_le_bytes());
        c.extend_from_slice(&size.to_le_bytes());
        c.extend_from_slice(&name_len.to_le_bytes());
        c.extend_from_slice(&0u16.to_le_bytes()); // extra
        c.extend_from_slice(&0u16.to_le_bytes()); // comment
        c.extend_from_slice(&0u16.to_le_bytes()); // disk
        c.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        c.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        c.extend_from_slice(&offset.to_le_bytes());
        c.extend_from_slice(name.as_bytes());
        self.entries += 1;
    }

    fn finish(mut self) -> Vec<u8> {
        let start = self.out.len() as u32;
        let size = self.central.len() as u32;
        self.out.extend_from_slice(&self.central);
        self.out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        self.out.extend_from_slice(&0u16.to_le_bytes()); // this disk
        self.out.extend_from_slice(&0u16.to_le_bytes()); // disk with the directory
        self.out.extend_from_slice(&self.entries.to_le_bytes());
        self.out.extend_from_slice(&self.entries.to_le_bytes());
        self.out.extend_from_slice(&size.to_le_bytes());
        self.out.extend_from_slice(&start.to_le_bytes());
        self.out.extend_from_slice(&0u16.to_le_bytes()); // comment length
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn the_mimetype_comes_first_and_stored_so_the_file_is_recognised() {
        let bytes = ods("T", &[]);
        assert_eq!(&bytes[0..4], b"PK\x03\x04");
        assert_eq!(&bytes[30..38], b"mimetype");
        assert_eq!(
            &bytes[38..38 + MIMETYPE.len()],
            MIMETYPE.as_bytes(),
            "stored, so readable at offset 38"
        );
    }

    #[test]
    fn text_is_escaped_numbers_are_numbers_and_names_are_legal() {
        let sheet = Sheet {
            name: "Rates: [all] areas/and more besides, long".into(),
            title: "<b>Rates</b> & more".into(),
            notes: vec!["A note\u{7}".into()],
            table: vec![
                vec![Cell::text("Indicator"), Cell::text("Rutland")],
                vec![Cell::text("Referrals"), Cell::Number(12.0, "12".into())],
                vec![Cell::text("Rate"), Cell::Percent(0.8, "80.0%".into())],
                vec![Cell::text("Withheld"), Cell::text("[c]")],
            ],
        };
        let xml = content(&[sheet]);
        assert!(
            xml.contains("table:name=\"Rates all areasand more besides\""),
            "{xml}"
        );
        assert!(xml.contains("&lt;b&gt;Rates&lt;/b&gt; &amp; more"));
        assert!(!xml.contains('\u{7}'));
        assert!(xml.contains("office:value-type=\"float\" office:value=\"12\""));
        assert!(xml.contains("office:value-type=\"percentage\" office:value=\"0.8\""));
        assert!(xml.contains("<text:p>[c]</text:p>"));
    }
}
