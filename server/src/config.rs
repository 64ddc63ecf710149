//! config.rs owns [`ServerConfig`]: where the server listens, the properties every request
//! starts from, and its limits, read from flags and a ksqlDB-style properties file
//! (`listeners=http://0.0.0.0:8088`, `ksql.*` and streams properties).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

/// Why a configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}: expected `name=value`, got {text:?}")]
    Syntax {
        path: String,
        line: usize,
        text: String,
    },
    #[error("listeners={0}: not a listener this server supports (http://HOST:PORT)")]
    Listener(String),
    #[error("authentication.method={0}: only BASIC (or NONE) is supported")]
    AuthMethod(String),
    #[error("authentication.method=BASIC needs authentication.basic.password.file=FILE (lines `user: password[,role...]`)")]
    NoPasswordFile,
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
}

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Properties every request starts from (`ksql.*`, `auto.offset.reset`...).
    pub properties: BTreeMap<String, String>,
    /// Largest request body accepted, in bytes (`brook.server.max.body.bytes`).
    pub max_body_bytes: usize,
    /// Whether `RUN SCRIPT` may read files on the server (`brook.server.run.script.enabled`).
    pub allow_run_script: bool,
    /// HTTP Basic authentication, when `authentication.method=BASIC`.
    pub basic_auth: Option<crate::auth::BasicAuth>,
}

/// The default request body limit (ksqlDB's default is unlimited; a statement batch of
/// 16 MiB is far beyond any real one).
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8088)),
            properties: BTreeMap::new(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            allow_run_script: false,
            basic_auth: None,
        }
    }
}

impl ServerConfig {
    /// Applies a properties file: `listeners` sets the address, server settings theirs,
    /// everything else becomes a default property of every request.
    pub fn load_file(&mut self, path: &Path) -> Result<(), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let props = parse_properties(&text, &path.display().to_string())?;
        let get = |name: &str| props.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v);
        match get("authentication.method").map(|m| m.to_ascii_uppercase()) {
            Some(m) if m == "BASIC" => {
                let file =
                    get("authentication.basic.password.file").ok_or(ConfigError::NoPasswordFile)?;
                let realm = get("authentication.realm").map_or("KsqlServer-Props", |r| r);
                // A relative password file is relative to the configuration file.
                let file = path.parent().unwrap_or(Path::new(".")).join(file);
                let mut auth = crate::auth::BasicAuth::from_file(&file, realm)?;
                if let Some(skip) = get("authentication.skip.paths") {
                    auth.skip_paths = skip
                        .split(',')
                        .map(|p| p.trim().to_string())
                        .filter(|p| !p.is_empty())
                        .collect();
                }
                self.basic_auth = Some(auth);
            }
            Some(m) if m == "NONE" => {}
            Some(m) => return Err(ConfigError::AuthMethod(m)),
            None => {}
        }
        for (k, v) in props {
            if k.starts_with("authentication.") {
                continue;
            }
            self.apply(&k, &v)?;
        }
        Ok(())
    }

    /// Applies one setting.
    pub fn apply(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        match name {
            "listeners" => {
                let first = value.split(',').next().unwrap_or("").trim();
                let addr = first.strip_prefix("http://").unwrap_or(first);
                let addr = addr.replace("localhost", "127.0.0.1");
                self.listen = addr
                    .parse()
                    .map_err(|_| ConfigError::Listener(value.to_string()))?;
            }
            "brook.server.max.body.bytes" => {
                if let Ok(n) = value.parse() {
                    self.max_body_bytes = n;
                }
            }
            "brook.server.run.script.enabled" => {
                self.allow_run_script = value.eq_ignore_ascii_case("true");
            }
            _ => {
                self.properties.insert(name.to_string(), value.to_string());
            }
        }
        Ok(())
    }
}

/// Java properties syntax, the parts ksqlDB's files use: `name=value` or `name: value`,
/// `#` and `!` comments, blank lines.
pub fn parse_properties(text: &str, path: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with('!') {
            continue;
        }
        let Some(at) = t.find(['=', ':']) else {
            return Err(ConfigError::Syntax {
                path: path.to_string(),
                line: i + 1,
                text: line.to_string(),
            });
        };
        out.push((t[..at].trim().to_string(), t[at + 1..].trim().to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_listeners_and_properties() {
        let mut c = ServerConfig::default();
        let p = parse_properties(
            "# comment\nlisteners=http://0.0.0.0:9099\nksql.streams.auto.offset.reset = earliest\n",
            "f",
        )
        .unwrap();
        for (k, v) in p {
            c.apply(&k, &v).unwrap();
        }
        assert_eq!(c.listen.port(), 9099);
        assert_eq!(
            c.properties["ksql.streams.auto.offset.reset"],
            "earliest".to_string()
        );
        assert!(parse_properties("nonsense", "f").is_err());
    }
}
