//! config.rs owns [`ServerConfig`]: where the server listens, the properties every request
//! starts from, and its limits, read from flags and a ksqlDB-style properties file
//! (`listeners=http://0.0.0.0:8088` or `https://...` with `ssl.*` settings (see `tls.rs`),
//! `ksql.*` and streams properties).

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
    #[error("listeners={0}: not a listener this server supports (http://HOST:PORT or https://HOST:PORT)")]
    Listener(String),
    #[error("authentication.method={0}: only BASIC (or NONE) is supported")]
    AuthMethod(String),
    #[error("authentication.method=BASIC needs authentication.basic.password.file=FILE (lines `user: password[,role...]`)")]
    NoPasswordFile,
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
}

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Whether the listener is `https://` (TLS with [`ServerConfig::tls`]).
    pub https: bool,
    /// The `ssl.*` settings: certificate and key for an https listener.
    pub tls: crate::tls::TlsSettings,
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
            https: false,
            tls: crate::tls::TlsSettings::default(),
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
        let base = path.parent().unwrap_or(Path::new("."));
        for (k, v) in props {
            if k.starts_with("authentication.") {
                continue;
            }
            if k.starts_with("ssl.") {
                // Certificates and passwords are the server's, never request properties.
                self.tls.apply(&k, &v, base);
                continue;
            }
            self.apply(&k, &v)?;
        }
        Ok(())
    }

    /// Sets the listener from `http://HOST:PORT`, `https://HOST:PORT` or `HOST:PORT`
    /// (ksqlDB's `listeners`; the first of a list).
    pub fn set_listener(&mut self, value: &str) -> Result<(), ConfigError> {
        let mut listeners = value.split(',').map(str::trim).filter(|l| !l.is_empty());
        let first = listeners.next().unwrap_or("");
        let rest: Vec<&str> = listeners.collect();
        if !rest.is_empty() {
            tracing::warn!(
                "listeners={value}: Brook serves one listener for now, {first}; not {}",
                rest.join(", ")
            );
        }
        let (https, addr) = match first.split_once("://") {
            Some((scheme, addr)) if scheme.eq_ignore_ascii_case("http") => (false, addr),
            Some((scheme, addr)) if scheme.eq_ignore_ascii_case("https") => (true, addr),
            Some(_) => return Err(ConfigError::Listener(value.to_string())),
            None => (false, first),
        };
        let addr = addr.trim_end_matches('/').replace("localhost", "127.0.0.1");
        self.listen = addr
            .parse()
            .map_err(|_| ConfigError::Listener(value.to_string()))?;
        self.https = https;
        Ok(())
    }

    /// The rustls configuration of an https listener, its certificate and key read and
    /// checked now; None for plain http.
    pub fn tls_config(&self) -> Result<Option<std::sync::Arc<rustls::ServerConfig>>, ConfigError> {
        if !self.https {
            return Ok(None);
        }
        Ok(Some(self.tls.server_config()?))
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &'static str {
        if self.https {
            "https"
        } else {
            "http"
        }
    }

    /// Applies one setting.
    pub fn apply(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        match name {
            "listeners" => self.set_listener(value)?,
            _ if name.starts_with("ssl.") => {
                self.tls.apply(name, value, Path::new("."));
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
/// `#` and `!` comments, blank lines, and a line ending in `\` continued on the next (as a
/// PEM certificate in `ssl.keystore.certificate.chain` is written).
pub fn parse_properties(text: &str, path: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((i, first)) = lines.next() {
        let mut joined = first.to_string();
        let is_comment = {
            let t = first.trim_start();
            t.starts_with('#') || t.starts_with('!')
        };
        while !is_comment && continues(&joined) {
            joined.pop();
            match lines.next() {
                Some((_, next)) => joined.push_str(next.trim_start()),
                None => break,
            }
        }
        let line = joined.as_str();
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

/// Whether a line ends in an odd number of backslashes (a continuation).
fn continues(line: &str) -> bool {
    line.chars().rev().take_while(|c| *c == '\\').count() % 2 == 1
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

    #[test]
    fn https_listeners_and_continued_lines() {
        let mut c = ServerConfig::default();
        c.apply("listeners", "https://localhost:8443").unwrap();
        assert!(c.https);
        assert_eq!(c.listen.port(), 8443);
        assert_eq!(c.scheme(), "https");
        c.apply("listeners", "http://0.0.0.0:8088,https://0.0.0.0:8443")
            .unwrap();
        assert!(!c.https);
        assert!(c.apply("listeners", "ftp://h:1").is_err());
        // An https listener without a key store is refused when the server starts.
        c.apply("listeners", "https://127.0.0.1:8443").unwrap();
        let e = c.tls_config().unwrap_err().to_string();
        assert!(e.contains("ssl.keystore.location"), "{e}");

        let p = parse_properties(
            "ssl.keystore.key=-----BEGIN PRIVATE KEY----- \\\n   AAAA \\\n -----END PRIVATE KEY-----\nx=1\n# c \\\ny=2\n",
            "f",
        )
        .unwrap();
        assert_eq!(
            p,
            vec![
                (
                    "ssl.keystore.key".to_string(),
                    "-----BEGIN PRIVATE KEY----- AAAA -----END PRIVATE KEY-----".to_string()
                ),
                ("x".to_string(), "1".to_string()),
                ("y".to_string(), "2".to_string()),
            ]
        );
    }

    #[test]
    fn ssl_settings_stay_out_of_request_properties() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("server.properties");
        std::fs::write(
            &f,
            "listeners=https://127.0.0.1:0\nssl.keystore.type=PEM\nssl.keystore.location=ks.pem\nssl.keystore.password=secret\n",
        )
        .unwrap();
        let mut c = ServerConfig::default();
        c.load_file(&f).unwrap();
        assert!(c.https);
        assert!(c.properties.keys().all(|k| !k.starts_with("ssl.")));
        assert_eq!(
            c.tls.keystore.as_deref(),
            Some(dir.path().join("ks.pem").as_path())
        );
    }
}
