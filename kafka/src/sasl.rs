//! sasl.rs owns SASL authentication of Kafka connections: the users (loaded from a file of
//! `user:password` lines), and the server side of the PLAIN (RFC 4616) and SCRAM-SHA-256
//! (RFC 5802 / 7677, as Kafka uses it) exchanges carried by SaslHandshake v1 and
//! SaslAuthenticate. Passwords are kept only as SCRAM's salted keys and a PBKDF2 hash for
//! PLAIN, computed once at load.

use std::collections::HashMap;
use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ring::rand::{SecureRandom, SystemRandom};
use ring::{digest, hmac, pbkdf2};

/// SCRAM iterations for the keys derived at load (Kafka's minimum is 4096).
const SCRAM_ITERATIONS: u32 = 4096;

#[derive(Debug, thiserror::Error)]
pub enum SaslError {
    #[error("cannot read the SASL users file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("SASL users file {path}, line {line}: {reason}")]
    Line {
        path: String,
        line: usize,
        reason: String,
    },
    #[error("SASL users file {path} lists no users")]
    Empty { path: String },
    #[error("cannot draw random bytes for the SCRAM salts")]
    Random,
}

/// A mechanism this broker serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    Plain,
    ScramSha256,
}

impl Mechanism {
    pub const ALL: [Mechanism; 2] = [Mechanism::Plain, Mechanism::ScramSha256];

    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
        }
    }

    fn parse(name: &str) -> Option<Mechanism> {
        Mechanism::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// One user's SCRAM credentials (the password itself is not kept).
#[derive(Clone)]
pub struct Credentials {
    salt: Vec<u8>,
    stored_key: Vec<u8>,
    server_key: Vec<u8>,
    /// Salted password, to check a PLAIN password: PBKDF2 of it with `salt` must match.
    salted: Vec<u8>,
}

/// The users SASL authenticates, and the mechanisms enabled.
#[derive(Clone)]
pub struct SaslUsers {
    users: HashMap<String, Credentials>,
    pub mechanisms: Vec<Mechanism>,
}

impl std::fmt::Debug for SaslUsers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&String> = self.users.keys().collect();
        names.sort();
        f.debug_struct("SaslUsers")
            .field("users", &names)
            .field("mechanisms", &self.mechanisms)
            .finish()
    }
}

fn salted_password(password: &[u8], salt: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 32];
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        std::num::NonZeroU32::new(SCRAM_ITERATIONS).expect("non-zero"),
        salt,
        password,
        &mut out,
    );
    out
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data)
        .as_ref()
        .to_vec()
}

/// Compares without stopping at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl SaslUsers {
    /// Users from `(name, password)` pairs, every mechanism enabled.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<SaslUsers, SaslError> {
        let rng = SystemRandom::new();
        let mut users = HashMap::new();
        for (name, password) in pairs {
            let mut salt = vec![0u8; 16];
            rng.fill(&mut salt).map_err(|_| SaslError::Random)?;
            let salted = salted_password(password.as_bytes(), &salt);
            let client_key = hmac_sha256(&salted, b"Client Key");
            let stored_key = digest::digest(&digest::SHA256, &client_key)
                .as_ref()
                .to_vec();
            let server_key = hmac_sha256(&salted, b"Server Key");
            users.insert(
                name.to_string(),
                Credentials {
                    salt,
                    stored_key,
                    server_key,
                    salted,
                },
            );
        }
        Ok(SaslUsers {
            users,
            mechanisms: Mechanism::ALL.to_vec(),
        })
    }

    /// Users from a file of `user:password` lines (blank lines and `#` comments skipped; the
    /// password is everything after the first colon).
    pub fn load(path: &Path) -> Result<SaslUsers, SaslError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SaslError::Read {
            path: shown.clone(),
            source,
        })?;
        let mut pairs = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let bad = |reason: &str| SaslError::Line {
                path: shown.clone(),
                line: i + 1,
                reason: reason.to_string(),
            };
            let (user, password) = line
                .split_once(':')
                .ok_or_else(|| bad("expected user:password"))?;
            if user.is_empty() {
                return Err(bad("empty user name"));
            }
            if password.is_empty() {
                return Err(bad("empty password"));
            }
            if pairs.iter().any(|(u, _)| *u == user) {
                return Err(bad(&format!("user {user:?} listed twice")));
            }
            pairs.push((user, password));
        }
        if pairs.is_empty() {
            return Err(SaslError::Empty { path: shown });
        }
        SaslUsers::from_pairs(pairs)
    }

    pub fn mechanism(&self, name: &str) -> Option<Mechanism> {
        Mechanism::parse(name).filter(|m| self.mechanisms.contains(m))
    }

    pub fn mechanism_names(&self) -> Vec<&'static str> {
        self.mechanisms.iter().map(|m| m.name()).collect()
    }
}

/// Where one connection's authentication is.
pub enum Exchange {
    /// PLAIN: one message.
    Plain,
    /// SCRAM: the client-first message is next.
    ScramFirst,
    /// SCRAM: the server-first message was sent; the client-final message is next.
    ScramFinal {
        user: String,
        credentials: Box<Credentials>,
        gs2_header: String,
        nonce: String,
        /// client-first-bare + "," + server-first.
        auth_prefix: String,
    },
}

/// What one SaslAuthenticate step decided.
pub enum Step {
    /// Send these bytes and wait for the next message.
    Continue(Exchange, Vec<u8>),
    /// Authenticated as this user; send these bytes (empty for PLAIN).
    Done(String, Vec<u8>),
    /// Refused: the reason (told to the client, then the connection closes).
    Failed(String),
}

fn invalid_credentials(mechanism: Mechanism) -> Step {
    Step::Failed(format!(
        "Authentication failed: invalid credentials with SASL mechanism {}",
        mechanism.name()
    ))
}

impl Exchange {
    pub fn start(mechanism: Mechanism) -> Exchange {
        match mechanism {
            Mechanism::Plain => Exchange::Plain,
            Mechanism::ScramSha256 => Exchange::ScramFirst,
        }
    }

    /// Takes one client message.
    pub fn step(self, users: &SaslUsers, message: &[u8]) -> Step {
        match self {
            Exchange::Plain => plain(users, message),
            Exchange::ScramFirst => scram_first(users, message),
            Exchange::ScramFinal {
                user,
                credentials,
                gs2_header,
                nonce,
                auth_prefix,
            } => scram_final(
                user,
                &credentials,
                &gs2_header,
                &nonce,
                &auth_prefix,
                message,
            ),
        }
    }
}

/// PLAIN: `[authzid] NUL authcid NUL passwd`.
fn plain(users: &SaslUsers, message: &[u8]) -> Step {
    let parts: Vec<&[u8]> = message.split(|b| *b == 0).collect();
    let [authzid, user, password] = parts[..] else {
        return Step::Failed("PLAIN message must be authzid NUL user NUL password".into());
    };
    let (Ok(authzid), Ok(user)) = (std::str::from_utf8(authzid), std::str::from_utf8(user)) else {
        return Step::Failed("PLAIN user names must be UTF-8".into());
    };
    if !authzid.is_empty() && authzid != user {
        return Step::Failed("PLAIN: authorization id must be empty or the user itself".into());
    }
    match users.users.get(user) {
        Some(c) if same(&salted_password(password, &c.salt), &c.salted) => {
            Step::Done(user.to_string(), Vec::new())
        }
        _ => invalid_credentials(Mechanism::Plain),
    }
}

/// SCRAM's `saslname`: `=2C` is a comma, `=3D` an equals sign.
fn unescape(name: &str) -> Option<String> {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        match rest.get(i..i + 3)? {
            "=2C" => out.push(','),
            "=3D" => out.push('='),
            _ => return None,
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Some(out)
}

fn scram_first(users: &SaslUsers, message: &[u8]) -> Step {
    let failed = |why: &str| Step::Failed(format!("SCRAM-SHA-256 client-first message: {why}"));
    let Ok(text) = std::str::from_utf8(message) else {
        return failed("not UTF-8");
    };
    // gs2-header: "n," or "y," then an optional "a=authzid", then ",".
    let mut fields = text.splitn(3, ',');
    let (Some(cb), Some(authz), Some(bare)) = (fields.next(), fields.next(), fields.next()) else {
        return failed("no GS2 header");
    };
    if cb == "p" || cb.starts_with("p=") {
        return failed("channel binding is not supported");
    }
    if cb != "n" && cb != "y" {
        return failed("bad GS2 header");
    }
    let gs2_header = format!("{cb},{authz},");
    let mut user = None;
    let mut client_nonce = None;
    for attr in bare.split(',') {
        if let Some(v) = attr.strip_prefix("n=") {
            user = unescape(v);
        } else if let Some(v) = attr.strip_prefix("r=") {
            client_nonce = Some(v.to_string());
        } else if attr.starts_with("m=") {
            return failed("mandatory extensions are not supported");
        }
    }
    let (Some(user), Some(client_nonce)) = (user, client_nonce) else {
        return failed("user name (n=) and nonce (r=) are required");
    };
    if client_nonce.is_empty() {
        return failed("empty nonce");
    }
    if let Some(authzid) = authz.strip_prefix("a=") {
        if unescape(authzid).as_deref() != Some(user.as_str()) {
            return failed("authorization id must be the user itself");
        }
    }
    let Some(credentials) = users.users.get(&user) else {
        return invalid_credentials(Mechanism::ScramSha256);
    };
    let mut random = [0u8; 18];
    if SystemRandom::new().fill(&mut random).is_err() {
        return Step::Failed("cannot draw a nonce".into());
    }
    let nonce = format!("{client_nonce}{}", B64.encode(random));
    let server_first = format!(
        "r={nonce},s={},i={SCRAM_ITERATIONS}",
        B64.encode(&credentials.salt)
    );
    let auth_prefix = format!("{bare},{server_first}");
    Step::Continue(
        Exchange::ScramFinal {
            user,
            credentials: Box::new(credentials.clone()),
            gs2_header,
            nonce,
            auth_prefix,
        },
        server_first.into_bytes(),
    )
}

fn scram_final(
    user: String,
    c: &Credentials,
    gs2_header: &str,
    nonce: &str,
    auth_prefix: &str,
    message: &[u8],
) -> Step {
    let failed = |why: &str| Step::Failed(format!("SCRAM-SHA-256 client-final message: {why}"));
    let Ok(text) = std::str::from_utf8(message) else {
        return failed("not UTF-8");
    };
    let Some((without_proof, proof)) = text.rsplit_once(",p=") else {
        return failed("no proof (p=)");
    };
    let mut channel = None;
    let mut final_nonce = None;
    for attr in without_proof.split(',') {
        if let Some(v) = attr.strip_prefix("c=") {
            channel = Some(v);
        } else if let Some(v) = attr.strip_prefix("r=") {
            final_nonce = Some(v);
        }
    }
    if channel != Some(B64.encode(gs2_header.as_bytes()).as_str()) {
        return failed("channel binding (c=) does not match the GS2 header");
    }
    if final_nonce != Some(nonce) {
        return failed("nonce (r=) does not match");
    }
    let Ok(proof) = B64.decode(proof) else {
        return failed("proof is not base64");
    };
    let auth_message = format!("{auth_prefix},{without_proof}");
    let signature = hmac_sha256(&c.stored_key, auth_message.as_bytes());
    if proof.len() != signature.len() {
        return invalid_credentials(Mechanism::ScramSha256);
    }
    let client_key: Vec<u8> = proof.iter().zip(&signature).map(|(p, s)| p ^ s).collect();
    let stored = digest::digest(&digest::SHA256, &client_key);
    if !same(stored.as_ref(), &c.stored_key) {
        return invalid_credentials(Mechanism::ScramSha256);
    }
    let server_signature = hmac_sha256(&c.server_key, auth_message.as_bytes());
    Step::Done(
        user,
        format!("v={}", B64.encode(server_signature)).into_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_file_errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        std::fs::write(&path, "# users\nalice:secret\n\nbob\n").unwrap();
        let e = SaslUsers::load(&path).unwrap_err().to_string();
        assert!(e.contains("line 4") && e.contains("user:password"), "{e}");
        std::fs::write(&path, "alice:a:b\n").unwrap();
        let users = SaslUsers::load(&path).unwrap();
        assert!(matches!(
            Exchange::Plain.step(&users, b"\0alice\0a:b"),
            Step::Done(u, _) if u == "alice"
        ));
        std::fs::write(&path, "# nobody\n").unwrap();
        assert!(matches!(
            SaslUsers::load(&path),
            Err(SaslError::Empty { .. })
        ));
    }

    #[test]
    fn plain_checks_the_password() {
        let users = SaslUsers::from_pairs([("alice", "secret")]).unwrap();
        assert!(matches!(
            Exchange::Plain.step(&users, b"\0alice\0secret"),
            Step::Done(..)
        ));
        assert!(matches!(
            Exchange::Plain.step(&users, b"\0alice\0nope"),
            Step::Failed(_)
        ));
        assert!(matches!(
            Exchange::Plain.step(&users, b"\0carol\0secret"),
            Step::Failed(_)
        ));
        assert!(matches!(
            Exchange::Plain.step(&users, b"garbage"),
            Step::Failed(_)
        ));
    }

    /// The client side of SCRAM-SHA-256, as RFC 5802 computes it.
    fn client_final(password: &str, client_first_bare: &str, server_first: &str) -> String {
        let attrs: HashMap<&str, &str> = server_first
            .split(',')
            .filter_map(|a| a.split_once('='))
            .collect();
        let salt = B64.decode(attrs["s"]).unwrap();
        let iterations: u32 = attrs["i"].parse().unwrap();
        let mut salted = vec![0u8; 32];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            std::num::NonZeroU32::new(iterations).unwrap(),
            &salt,
            password.as_bytes(),
            &mut salted,
        );
        let client_key = hmac_sha256(&salted, b"Client Key");
        let stored_key = digest::digest(&digest::SHA256, &client_key);
        let without_proof = format!("c=biws,r={}", attrs["r"]);
        let auth = format!("{client_first_bare},{server_first},{without_proof}");
        let signature = hmac_sha256(stored_key.as_ref(), auth.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&signature)
            .map(|(a, b)| a ^ b)
            .collect();
        format!("{without_proof},p={}", B64.encode(proof))
    }

    fn scram(users: &SaslUsers, user: &str, password: &str) -> Step {
        let bare = format!("n={user},r=abc123");
        let first = format!("n,,{bare}");
        match Exchange::ScramFirst.step(users, first.as_bytes()) {
            Step::Continue(next, server_first) => {
                let server_first = String::from_utf8(server_first).unwrap();
                assert!(server_first.starts_with("r=abc123"));
                let last = client_final(password, &bare, &server_first);
                next.step(users, last.as_bytes())
            }
            other => other,
        }
    }

    #[test]
    fn scram_accepts_the_password_and_refuses_others() {
        let users = SaslUsers::from_pairs([("alice", "secret")]).unwrap();
        assert!(
            matches!(scram(&users, "alice", "secret"), Step::Done(u, v) if u == "alice" && v.starts_with(b"v="))
        );
        assert!(matches!(scram(&users, "alice", "wrong"), Step::Failed(_)));
        assert!(matches!(scram(&users, "nobody", "secret"), Step::Failed(_)));
        assert!(matches!(
            Exchange::ScramFirst.step(&users, b"p=tls-unique,,n=alice,r=x"),
            Step::Failed(_)
        ));
        assert!(matches!(
            Exchange::ScramFirst.step(&users, b"\xff"),
            Step::Failed(_)
        ));
    }
}
