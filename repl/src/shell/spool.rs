//! spool.rs owns the shell's SPOOL command (ksqlDB's CLI `SPOOL <file_name|OFF>`): while a
//! spool is open, every command typed at the prompt is written to the file prefixed with
//! the prompt (`brook> `), followed by its output and errors. One spool at a time;
//! `SPOOL OFF` closes it.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// What `SPOOL ...` asked for.
#[derive(Debug, PartialEq, Eq)]
pub enum SpoolArg {
    /// `SPOOL` alone: say whether a spool is open.
    Status,
    Off,
    File(PathBuf),
}

/// Reads `SPOOL <file_name|OFF>` (case-insensitive word, optional trailing `;`, the file
/// name possibly quoted), or `None` when `line` is not a SPOOL command.
pub fn parse(line: &str) -> Option<SpoolArg> {
    let line = line.trim().trim_end_matches(';').trim();
    let (word, rest) = match line.split_once(char::is_whitespace) {
        Some((w, r)) => (w, r.trim()),
        None => (line, ""),
    };
    if !word.eq_ignore_ascii_case("spool") {
        return None;
    }
    if rest.is_empty() {
        return Some(SpoolArg::Status);
    }
    if rest.eq_ignore_ascii_case("off") {
        return Some(SpoolArg::Off);
    }
    let name = ['\'', '"']
        .iter()
        .find_map(|q| rest.strip_prefix(*q).and_then(|r| r.strip_suffix(*q)))
        .unwrap_or(rest);
    Some(SpoolArg::File(PathBuf::from(name)))
}

/// The open spool, if any.
#[derive(Default)]
pub struct Spool {
    file: Option<(PathBuf, File)>,
}

impl Spool {
    /// Carries out `arg`, returning the message the shell shows.
    pub fn apply(&mut self, arg: SpoolArg) -> Result<String, String> {
        match arg {
            SpoolArg::Status => Ok(match &self.file {
                Some((p, _)) => format!("Spooling to {}", p.display()),
                None => "No spool is active".to_string(),
            }),
            SpoolArg::Off => match self.file.take() {
                Some((p, mut f)) => {
                    let _ = f.flush();
                    Ok(format!("Spool to {} closed", p.display()))
                }
                None => Err("No spool is active; SPOOL OFF has nothing to close".to_string()),
            },
            SpoolArg::File(path) => {
                if let Some((p, _)) = &self.file {
                    return Err(format!(
                        "Cannot set spool to {}: a spool to {} is already active; \
                         SPOOL OFF closes it first",
                        path.display(),
                        p.display()
                    ));
                }
                let file =
                    open(&path).map_err(|e| format!("Cannot spool to {}: {e}", path.display()))?;
                let msg = format!("Spooling to {}", path.display());
                self.file = Some((path, file));
                Ok(msg)
            }
        }
    }

    pub fn is_active(&self) -> bool {
        self.file.is_some()
    }

    /// Records a command as typed, prefixed with the prompt.
    pub fn command(&mut self, prompt: &str, text: &str) {
        if let Some((_, f)) = &mut self.file {
            for (i, line) in text.trim_end().lines().enumerate() {
                let p = if i == 0 { prompt } else { "" };
                let _ = writeln!(f, "{p}{line}");
            }
            let _ = f.flush();
        }
    }

    /// Records a message (an error, a shell command's answer).
    pub fn message(&mut self, text: &str) {
        if let Some((_, f)) = &mut self.file {
            let _ = writeln!(f, "{text}");
            let _ = f.flush();
        }
    }

    /// A writer that sends output to `out` and, when a spool is open, to the file too.
    pub fn tee<'a>(&'a mut self, out: &'a mut dyn Write) -> Tee<'a> {
        Tee {
            out,
            file: self.file.as_mut().map(|(_, f)| f),
        }
    }
}

/// Appends to `path` like ksqlDB's CLI does (an existing file keeps its contents).
fn open(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// Output copied to the spool file.
pub struct Tee<'a> {
    out: &'a mut dyn Write,
    file: Option<&'a mut File>,
}

impl Write for Tee<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        if let Some(f) = &mut self.file {
            // A spool that cannot be written must not stop the shell's own output.
            let _ = f.write_all(&buf[..n]);
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        if let Some(f) = &mut self.file {
            let _ = f.flush();
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_file_off_and_status() {
        assert_eq!(parse("spool OFF;"), Some(SpoolArg::Off));
        assert_eq!(parse("SPOOL"), Some(SpoolArg::Status));
        assert_eq!(
            parse("SPOOL '/tmp/a b.txt';"),
            Some(SpoolArg::File(PathBuf::from("/tmp/a b.txt")))
        );
        assert_eq!(
            parse("Spool out.txt"),
            Some(SpoolArg::File(PathBuf::from("out.txt")))
        );
        assert_eq!(parse("SPOOLS x"), None);
        assert_eq!(parse("SELECT 1;"), None);
    }

    #[test]
    fn one_spool_at_a_time_and_off_closes_it() {
        let dir = std::env::temp_dir().join(format!("brook-spool-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = dir.join("a.txt");
        let _ = std::fs::remove_file(&a);
        let mut s = Spool::default();
        assert!(s.apply(SpoolArg::Off).is_err());
        s.apply(SpoolArg::File(a.clone())).unwrap();
        assert!(s.apply(SpoolArg::File(dir.join("b.txt"))).is_err());
        s.command("brook> ", "SHOW STREAMS;");
        let mut out = Vec::new();
        writeln!(s.tee(&mut out), "result").unwrap();
        s.apply(SpoolArg::Off).unwrap();
        s.command("brook> ", "not recorded");
        assert_eq!(out, b"result\n");
        assert_eq!(
            std::fs::read_to_string(&a).unwrap(),
            "brook> SHOW STREAMS;\nresult\n"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
