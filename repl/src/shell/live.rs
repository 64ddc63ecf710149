//! live.rs owns how rows that arrive over time are shown: a table whose column widths are
//! fixed when the header is printed (rows cannot realign once on screen), as ksqlDB's CLI
//! prints push queries, or one JSON object per row. A value wider than its column wraps onto
//! further lines of the same row, so nothing is cut.

use std::io::Write;

/// Widest column, so one long value does not push the rest off the screen.
const MAX_WIDTH: usize = 40;
/// Narrowest column.
const MIN_WIDTH: usize = 12;

/// Prints a push query's rows as they come.
pub struct LiveTable {
    headers: Vec<String>,
    widths: Vec<usize>,
    json: bool,
}

impl LiveTable {
    /// `columns` are names with their SQL type's name, which sets the column's width.
    pub fn new(columns: Vec<(String, String)>, json: bool) -> LiveTable {
        let widths = columns
            .iter()
            .map(|(h, ty)| {
                let by_type = if ty.starts_with("STRING") || ty.starts_with("VARCHAR") {
                    20
                } else if ty.starts_with("TIMESTAMP") {
                    24
                } else if ty.starts_with("BIGINT")
                    || ty.starts_with("DOUBLE")
                    || ty.starts_with("DECIMAL")
                {
                    // an epoch-millisecond WINDOWSTART (13 digits) fits on one line
                    16
                } else if ty.starts_with("ARRAY")
                    || ty.starts_with("MAP")
                    || ty.starts_with("STRUCT")
                {
                    30
                } else {
                    MIN_WIDTH
                };
                h.chars().count().max(by_type).clamp(MIN_WIDTH, MAX_WIDTH)
            })
            .collect();
        let headers = columns.into_iter().map(|(h, _)| h).collect();
        LiveTable {
            headers,
            widths,
            json,
        }
    }

    fn rule(&self) -> String {
        let mut s = String::from("+");
        for w in &self.widths {
            s.push_str(&"-".repeat(w + 2));
            s.push('+');
        }
        s
    }

    /// One row: a line per wrapped line of its tallest cell.
    fn line(&self, cells: &[String]) -> String {
        let wrapped: Vec<Vec<String>> = cells
            .iter()
            .zip(&self.widths)
            .map(|(c, w)| wrap(c, *w))
            .collect();
        let height = wrapped.iter().map(Vec::len).max().unwrap_or(1).max(1);
        let mut lines = Vec::with_capacity(height);
        for i in 0..height {
            let mut s = String::from("|");
            for (cell, w) in wrapped.iter().zip(&self.widths) {
                let shown = cell.get(i).map(String::as_str).unwrap_or("");
                let pad = w.saturating_sub(shown.chars().count());
                s.push(' ');
                s.push_str(shown);
                s.push_str(&" ".repeat(pad + 1));
                s.push('|');
            }
            lines.push(s);
        }
        lines.join("\n")
    }

    /// The header (nothing in JSON mode).
    pub fn header(&self, out: &mut dyn Write) -> std::io::Result<()> {
        if self.json {
            return Ok(());
        }
        writeln!(out, "{}", self.rule())?;
        writeln!(out, "{}", self.line(&self.headers))?;
        writeln!(out, "{}", self.rule())?;
        out.flush()
    }

    /// Rows: cells as text (tables) and as JSON objects (JSON mode).
    pub fn rows(
        &self,
        out: &mut dyn Write,
        cells: &[Vec<String>],
        json: &[serde_json::Value],
    ) -> std::io::Result<()> {
        if self.json {
            for j in json {
                writeln!(out, "{j}")?;
            }
        } else {
            for c in cells {
                writeln!(out, "{}", self.line(c))?;
            }
        }
        out.flush()
    }

    /// The closing rule (nothing in JSON mode).
    pub fn footer(&self, out: &mut dyn Write) -> std::io::Result<()> {
        if !self.json {
            writeln!(out, "{}", self.rule())?;
        }
        out.flush()
    }
}

/// `text` cut into lines of at most `width` characters: at its own line breaks, then at the
/// last space that fits, and within a word only when the word alone is wider than the column.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    for para in text.split('\n') {
        let mut rest: Vec<char> = para.chars().collect();
        while rest.len() > width {
            let cut = rest[..=width]
                .iter()
                .rposition(|c| *c == ' ')
                .filter(|&i| i > 0)
                .unwrap_or(width);
            out.push(
                rest[..cut]
                    .iter()
                    .collect::<String>()
                    .trim_end()
                    .to_string(),
            );
            let skip = if rest.get(cut) == Some(&' ') {
                cut + 1
            } else {
                cut
            };
            rest.drain(..skip);
        }
        out.push(rest.into_iter().collect());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_line_up_under_a_fixed_header() {
        let t = LiveTable::new(
            vec![
                ("USER_ID".into(), "INTEGER".into()),
                ("CLICKS".into(), "BIGINT".into()),
            ],
            false,
        );
        let mut out = Vec::new();
        t.header(&mut out).unwrap();
        t.rows(&mut out, &[vec!["alice".into(), "3".into()]], &[])
            .unwrap();
        t.footer(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "| USER_ID      | CLICKS           |");
        assert_eq!(lines[3], "| alice        | 3                |");
        assert!(lines.iter().all(|l| l.len() == lines[0].len()));
    }

    #[test]
    fn long_values_wrap_onto_further_lines_of_the_row() {
        let t = LiveTable::new(
            vec![
                ("K".into(), "INTEGER".into()),
                ("V".into(), "INTEGER".into()),
            ],
            false,
        );
        let long = "x".repeat(30);
        let text = t.line(&["1".into(), long.clone()]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines
            .iter()
            .all(|l| l.chars().count() == 2 * (MIN_WIDTH + 3) + 1));
        let shown: String = lines
            .iter()
            .map(|l| l.split('|').nth(2).unwrap().trim())
            .collect();
        assert_eq!(shown, long);
        assert!(lines[1].starts_with("|              |"));
    }

    #[test]
    fn wrapping_prefers_spaces_and_keeps_line_breaks() {
        assert_eq!(
            wrap("the quick brown fox", 10),
            vec!["the quick", "brown fox"]
        );
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("a\nb", 10), vec!["a", "b"]);
        assert_eq!(wrap("", 10), vec![""]);
        assert_eq!(wrap("ünïcødé wörds", 7), vec!["ünïcødé", "wörds"]);
    }
}
