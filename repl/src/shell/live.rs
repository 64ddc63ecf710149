//! live.rs owns how rows that arrive over time are shown: a table whose column widths are
//! fixed when the header is printed (rows cannot realign once on screen), as ksqlDB's CLI
//! prints push queries, or one JSON object per row.

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

    fn line(&self, cells: &[String]) -> String {
        let mut s = String::from("|");
        for (c, w) in cells.iter().zip(&self.widths) {
            let shown: String = if c.chars().count() > *w {
                let mut t: String = c.chars().take(w.saturating_sub(1)).collect();
                t.push('…');
                t
            } else {
                c.clone()
            };
            let pad = w - shown.chars().count();
            s.push(' ');
            s.push_str(&shown);
            s.push_str(&" ".repeat(pad + 1));
            s.push('|');
        }
        s
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
        assert_eq!(lines[1], "| USER_ID      | CLICKS       |");
        assert_eq!(lines[3], "| alice        | 3            |");
        assert!(lines.iter().all(|l| l.len() == lines[0].len()));
    }

    #[test]
    fn long_values_are_cut_with_an_ellipsis() {
        let t = LiveTable::new(vec![("V".into(), "INTEGER".into())], false);
        let long = "x".repeat(100);
        let line = t.line(&[long]);
        assert!(line.contains('…'));
        assert_eq!(line.chars().count(), MIN_WIDTH + 4);
    }
}
