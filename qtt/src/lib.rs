//! brook-qtt: reads ksqlDB's conformance files ("query validation tests", see
//! `../shared/qtt/README.md`) into cases, one per `{FORMAT}` variant. It only reads: the
//! parse and analyze conformance tests, and later the `brook test` runner, decide what to
//! do with each case. The files carry `//` comments, so they are read leniently.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// What can go wrong reading conformance files.
#[derive(Debug, thiserror::Error)]
pub enum QttError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not valid JSON (after removing // comments): {source}", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// One case of a file, for one entry of its `format` list (or the case as written when it
/// has none), with `{FORMAT}` replaced in its statements.
#[derive(Debug, Clone)]
pub struct CaseVariant {
    /// The file's path relative to the directory that was read.
    pub file: String,
    /// The case's name, with ` [FORMAT]` appended for a format variant.
    pub name: String,
    /// The format this variant substitutes for `{FORMAT}`, if any.
    pub format: Option<String>,
    /// The statements, with `{FORMAT}` replaced.
    pub statements: Vec<String>,
    /// The case as written (inputs, outputs, topics, properties, expectations...).
    pub case: Value,
}

impl CaseVariant {
    /// The expected exception (`expectedException`, or the REST files' `expectedError`).
    pub fn expected_error(&self) -> Option<&Value> {
        self.case
            .get("expectedException")
            .or_else(|| self.case.get("expectedError"))
    }
}

/// Finds `shared/qtt` beside one of `start`'s ancestors (the repository sits beside
/// `shared/`), so crates at any depth find the same files.
pub fn locate(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|a| a.join("shared").join("qtt"))
        .find(|p| p.is_dir())
}

/// Reads every `*.json` file below `dir` (sorted, recursively) into its case variants.
pub fn load_cases(dir: &Path) -> Result<Vec<CaseVariant>, QttError> {
    let mut files = Vec::new();
    json_files(dir, &mut files)?;
    let mut cases = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|source| QttError::Io {
            path: path.clone(),
            source,
        })?;
        let json: Value =
            serde_json::from_str(&strip_comments(&text)).map_err(|source| QttError::Json {
                path: path.clone(),
                source,
            })?;
        let file = path
            .strip_prefix(dir)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        for case in json
            .get("tests")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            cases.extend(expand_formats(&file, case));
        }
    }
    Ok(cases)
}

/// Reads a file of cases, or every `*.json` file below a directory (as [`load_cases`]).
/// A file's cases are named by the path as given.
pub fn load_path(path: &Path) -> Result<Vec<CaseVariant>, QttError> {
    if path.is_dir() {
        return load_cases(path);
    }
    let text = std::fs::read_to_string(path).map_err(|source| QttError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let json: Value =
        serde_json::from_str(&strip_comments(&text)).map_err(|source| QttError::Json {
            path: path.to_path_buf(),
            source,
        })?;
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    Ok(json
        .get("tests")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|case| expand_formats(&file, case))
        .collect())
}

/// One variant per entry of the case's `format` list, or the case itself without one.
pub fn expand_formats(file: &str, case: &Value) -> Vec<CaseVariant> {
    let name = case["name"].as_str().unwrap_or("?");
    let statements: Vec<&str> = case["statements"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let formats: Vec<Option<&str>> = match case.get("format").and_then(Value::as_array) {
        Some(fs) if !fs.is_empty() => fs.iter().map(Value::as_str).collect(),
        _ => vec![None],
    };
    formats
        .into_iter()
        .map(|format| CaseVariant {
            file: file.to_string(),
            name: match format {
                Some(f) => format!("{name} [{f}]"),
                None => name.to_string(),
            },
            format: format.map(str::to_string),
            statements: statements
                .iter()
                .map(|s| match format {
                    Some(f) => s.replace("{FORMAT}", f),
                    None => s.to_string(),
                })
                .collect(),
            case: case.clone(),
        })
        .collect()
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), QttError> {
    let io = |source| QttError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        entries.push(entry.map_err(io)?.path());
    }
    entries.sort();
    for path in entries {
        if path.is_dir() {
            json_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

/// Removes `//` comments outside JSON strings.
pub fn strip_comments(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    let mut in_str = false;
    while let Some(c) = chars.next() {
        if in_str {
            out.push(c);
            if c == '\\' {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            } else if c == '"' {
                in_str = false;
            }
        } else if c == '"' {
            in_str = true;
            out.push(c);
        } else if c == '/' && chars.peek() == Some(&'/') {
            for n in chars.by_ref() {
                if n == '\n' {
                    out.push('\n');
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_go_strings_stay() {
        let text = "{\"a\": \"http://x\", // note\n \"b\": 1}";
        let v: Value = serde_json::from_str(&strip_comments(text)).unwrap();
        assert_eq!(v["a"], "http://x");
        assert_eq!(v["b"], 1);
    }

    #[test]
    fn formats_expand_into_variants() {
        let case: Value = serde_json::json!({
            "name": "n", "format": ["JSON", "AVRO"],
            "statements": ["CREATE STREAM S (A INT) WITH (value_format='{FORMAT}');"]
        });
        let v = expand_formats("f.json", &case);
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].name, "n [AVRO]");
        assert_eq!(
            v[1].statements[0],
            "CREATE STREAM S (A INT) WITH (value_format='AVRO');"
        );
        let plain = expand_formats(
            "f.json",
            &serde_json::json!({"name": "m", "statements": ["X"]}),
        );
        assert_eq!((plain.len(), plain[0].format.clone()), (1, None));
    }
}
