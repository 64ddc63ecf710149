//! auth.rs owns HTTP Basic authentication, as ksqlDB's `authentication.method=BASIC`:
//! credentials from a password file (Jetty's property-file format, as ksqlDB's JAAS
//! `PropertyFileLoginModule` reads: `user: password[,role...]`), checked on every request
//! but the paths in `authentication.skip.paths`; 401 with `WWW-Authenticate` otherwise.

use std::collections::HashMap;
use std::path::Path;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

use crate::error::{code, ApiError};
use crate::state::AppState;

/// Users and their passwords.
#[derive(Debug, Clone, Default)]
pub struct BasicAuth {
    pub realm: String,
    users: HashMap<String, String>,
    /// Paths served without credentials.
    pub skip_paths: Vec<String>,
}

/// Why a password file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("cannot read password file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}: expected `user: password[,role...]`")]
    Syntax { path: String, line: usize },
}

impl BasicAuth {
    /// Reads a password file.
    pub fn from_file(path: &Path, realm: &str) -> Result<BasicAuth, AuthError> {
        let text = std::fs::read_to_string(path).map_err(|source| AuthError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let mut users = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let (user, rest) = t.split_once(':').ok_or_else(|| AuthError::Syntax {
                path: path.display().to_string(),
                line: i + 1,
            })?;
            let password = rest.split(',').next().unwrap_or("").trim();
            users.insert(user.trim().to_string(), password.to_string());
        }
        Ok(BasicAuth {
            realm: realm.to_string(),
            users,
            skip_paths: Vec::new(),
        })
    }

    /// Whether an `Authorization` header carries a known user's password.
    pub fn accepts(&self, authorization: Option<&str>) -> bool {
        let Some(encoded) = authorization.and_then(|a| {
            a.strip_prefix("Basic ")
                .or_else(|| a.strip_prefix("basic "))
        }) else {
            return false;
        };
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
            return false;
        };
        let Ok(text) = String::from_utf8(decoded) else {
            return false;
        };
        let Some((user, password)) = text.split_once(':') else {
            return false;
        };
        self.users
            .get(user)
            .is_some_and(|p| constant_time_eq(p.as_bytes(), password.as_bytes()))
    }
}

/// Compares without stopping at the first difference (no timing hint of the prefix).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The middleware: refuses requests without valid credentials when auth is configured.
pub async fn require(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(auth) = &state.config().basic_auth else {
        return next.run(req).await;
    };
    if auth.skip_paths.iter().any(|p| p == req.uri().path()) {
        return next.run(req).await;
    }
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if auth.accepts(header) {
        return next.run(req).await;
    }
    let mut r = ApiError::Generic {
        status: StatusCode::UNAUTHORIZED,
        code: code::UNAUTHORIZED,
        message: "Unauthorized".into(),
    }
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("Basic realm=\"{}\"", auth.realm)) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_users_and_passwords() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw");
        std::fs::write(&f, "# users\nalice: secret,admin\nbob: hunter2\n").unwrap();
        let auth = BasicAuth::from_file(&f, "KsqlServer-Props").unwrap();
        let b64 = |s: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(s)
            )
        };
        assert!(auth.accepts(Some(&b64("alice:secret"))));
        assert!(auth.accepts(Some(&b64("bob:hunter2"))));
        assert!(!auth.accepts(Some(&b64("alice:wrong"))));
        assert!(!auth.accepts(Some(&b64("carol:secret"))));
        assert!(!auth.accepts(Some("Bearer x")));
        assert!(!auth.accepts(None));
    }
}
