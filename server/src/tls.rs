//! tls.rs owns HTTPS: the certificate and private key named in the server's properties (as
//! ksqlDB and Kafka name them, PEM only), read and checked at startup, and the rustls
//! configuration (ring provider) that serves HTTP/2 and HTTP/1.1 negotiated by ALPN.
//!
//! Settings, as Kafka's PEM key stores take them:
//! - `ssl.keystore.type=PEM` with `ssl.keystore.location=FILE`: one PEM file holding the
//!   private key and the certificate chain;
//! - or `ssl.keystore.certificate.chain` and `ssl.keystore.key`: the PEM text itself (as
//!   Kafka), or the path of a PEM file (a Brook extension: a value without `-----BEGIN`);
//! - `ssl.enabled.protocols`: `TLSv1.2`, `TLSv1.3` (both by default).
//!
//! JKS and PKCS12 key stores (ksqlDB's default), encrypted private keys and client
//! certificates (`ssl.client.auth`) are refused with an error saying how to go on.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// ALPN protocols offered, most preferred first.
pub const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// Why the TLS settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("an https listener needs a certificate and key: set ssl.keystore.type=PEM and ssl.keystore.location=FILE (a PEM file with the private key and certificate chain), or ssl.keystore.certificate.chain and ssl.keystore.key")]
    NoKeystore,
    #[error("ssl.keystore.type={0}: not supported yet; only PEM key stores are. Convert a JKS or PKCS12 store with `keytool -importkeystore -srckeystore STORE.jks -destkeystore STORE.p12 -deststoretype PKCS12` and `openssl pkcs12 -in STORE.p12 -nodes -out STORE.pem`, then set ssl.keystore.type=PEM and ssl.keystore.location=STORE.pem")]
    KeystoreType(String),
    #[error("ssl.keystore.location={0}: not a PEM file (a JKS or PKCS12 key store?). Those are not supported yet: convert it with `keytool -importkeystore -srckeystore STORE.jks -destkeystore STORE.p12 -deststoretype PKCS12` and `openssl pkcs12 -in STORE.p12 -nodes -out STORE.pem`, then set ssl.keystore.type=PEM")]
    NotPem(String),
    #[error("{setting}={path}: cannot read it: {source}")]
    Read {
        setting: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("{setting}={what}: no {item} found in it")]
    Missing {
        setting: &'static str,
        what: String,
        item: &'static str,
    },
    #[error("{setting}={what}: malformed PEM: {cause}")]
    Pem {
        setting: &'static str,
        what: String,
        cause: String,
    },
    #[error("{setting}={what}: the private key is encrypted, which is not supported yet; decrypt it with `openssl pkey -in KEY.pem -out KEY-plain.pem` (keep that file private)")]
    EncryptedKey { setting: &'static str, what: String },
    #[error("{what}: {cause}")]
    Rustls { what: String, cause: rustls::Error },
    #[error("{setting}={value}: client certificate authentication is not supported yet (use HTTP Basic authentication)")]
    ClientAuth {
        setting: &'static str,
        value: String,
    },
    #[error("ssl.enabled.protocols={0}: only TLSv1.2 and TLSv1.3 are supported")]
    Protocols(String),
}

/// Where a PEM item comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PemSource {
    File(PathBuf),
    /// The PEM text itself, as Kafka's `ssl.keystore.certificate.chain` / `ssl.keystore.key`.
    Inline(String),
}

impl PemSource {
    /// A value that is PEM text, else a path (relative to `base`).
    fn of(value: &str, base: &Path) -> PemSource {
        if value.contains("-----BEGIN") {
            PemSource::Inline(value.to_string())
        } else {
            PemSource::File(base.join(value))
        }
    }

    /// How an error names it: the file, or that the value is inline.
    fn describe(&self) -> String {
        match self {
            PemSource::File(p) => p.display().to_string(),
            PemSource::Inline(_) => "<inline PEM>".to_string(),
        }
    }

    fn read(&self, setting: &'static str) -> Result<String, TlsError> {
        match self {
            PemSource::Inline(text) => Ok(text.clone()),
            PemSource::File(path) => {
                let bytes = std::fs::read(path).map_err(|source| TlsError::Read {
                    setting,
                    path: path.display().to_string(),
                    source,
                })?;
                String::from_utf8(bytes).map_err(|_| TlsError::NotPem(path.display().to_string()))
            }
        }
    }
}

/// The TLS settings of the server's properties (`ssl.*`), unchecked until
/// [`TlsSettings::server_config`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    pub keystore_type: Option<String>,
    /// `ssl.keystore.location`.
    pub keystore: Option<PathBuf>,
    /// `ssl.keystore.certificate.chain`.
    pub certificate_chain: Option<PemSource>,
    /// `ssl.keystore.key`.
    pub key: Option<PemSource>,
    /// `ssl.enabled.protocols`.
    pub protocols: Option<String>,
    /// `ssl.client.auth` / `ssl.client.authentication`, when set to ask for certificates.
    pub client_auth: Option<(&'static str, String)>,
}

impl TlsSettings {
    /// Takes one `ssl.*` setting; false when it is not one this server reads (ignored, as
    /// the truststore settings are without client authentication). Paths are relative to
    /// `base` (the properties file's directory).
    pub fn apply(&mut self, name: &str, value: &str, base: &Path) -> bool {
        match name {
            "ssl.keystore.type" => self.keystore_type = Some(value.trim().to_string()),
            "ssl.keystore.location" => self.keystore = Some(base.join(value.trim())),
            "ssl.keystore.certificate.chain" => {
                self.certificate_chain = Some(PemSource::of(value.trim(), base))
            }
            "ssl.keystore.key" => self.key = Some(PemSource::of(value.trim(), base)),
            "ssl.enabled.protocols" => self.protocols = Some(value.trim().to_string()),
            "ssl.client.auth" => {
                if value.trim().eq_ignore_ascii_case("true") {
                    self.client_auth = Some(("ssl.client.auth", value.trim().to_string()));
                }
            }
            "ssl.client.authentication" => {
                let v = value.trim().to_ascii_uppercase();
                if v == "REQUIRED" || v == "REQUESTED" {
                    self.client_auth = Some(("ssl.client.authentication", v));
                }
            }
            _ => return false,
        }
        true
    }

    /// Reads and checks the certificate chain and key, and builds the rustls configuration
    /// (ALPN: h2, http/1.1).
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        if let Some((setting, value)) = &self.client_auth {
            return Err(TlsError::ClientAuth {
                setting,
                value: value.clone(),
            });
        }
        let (chain, key) = self.load()?;
        let versions = protocol_versions(self.protocols.as_deref())?;
        // rustls 0.23.48 deprecates ring's provider in favour of aws-lc-rs (post-quantum key
        // exchange); aws-lc-rs needs a long C build, so ring it is, as reqwest uses too.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let what = self.describe();
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&versions)
            .map_err(|cause| TlsError::Rustls {
                what: what.clone(),
                cause,
            })?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|cause| TlsError::Rustls { what, cause })?;
        config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
        Ok(Arc::new(config))
    }

    /// The settings errors name.
    fn describe(&self) -> String {
        match (&self.keystore, &self.certificate_chain, &self.key) {
            (Some(p), _, _) => format!("ssl.keystore.location={}", p.display()),
            (None, Some(c), Some(k)) => format!(
                "ssl.keystore.certificate.chain={}, ssl.keystore.key={}",
                c.describe(),
                k.describe()
            ),
            _ => "ssl.keystore".to_string(),
        }
    }

    /// The certificate chain and the private key.
    fn load(&self) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
        if let Some(t) = &self.keystore_type {
            if !t.eq_ignore_ascii_case("PEM") {
                return Err(TlsError::KeystoreType(t.clone()));
            }
        }
        if let (Some(chain), Some(key)) = (&self.certificate_chain, &self.key) {
            let chain_text = chain.read("ssl.keystore.certificate.chain")?;
            let key_text = key.read("ssl.keystore.key")?;
            return Ok((
                certificates(
                    &chain_text,
                    "ssl.keystore.certificate.chain",
                    &chain.describe(),
                )?,
                private_key(&key_text, "ssl.keystore.key", &key.describe())?,
            ));
        }
        let Some(location) = &self.keystore else {
            return Err(TlsError::NoKeystore);
        };
        let source = PemSource::File(location.clone());
        let text = source.read("ssl.keystore.location")?;
        let what = location.display().to_string();
        if !text.contains("-----BEGIN") {
            return Err(TlsError::NotPem(what));
        }
        Ok((
            certificates(&text, "ssl.keystore.location", &what)?,
            private_key(&text, "ssl.keystore.location", &what)?,
        ))
    }
}

fn protocol_versions(
    list: Option<&str>,
) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, TlsError> {
    let Some(list) = list.filter(|l| !l.trim().is_empty()) else {
        return Ok(vec![&rustls::version::TLS13, &rustls::version::TLS12]);
    };
    let mut versions = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match name {
            "TLSv1.3" => versions.push(&rustls::version::TLS13),
            "TLSv1.2" => versions.push(&rustls::version::TLS12),
            _ => return Err(TlsError::Protocols(list.to_string())),
        }
    }
    Ok(versions)
}

/// PEM text as Kafka accepts it (blocks on one line, literal `\n`s, extra spaces) in the
/// strict form of RFC 7468: each block's base64 on lines of 64 characters.
pub fn normalize_pem(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(begin) = rest.find("-----BEGIN ") {
        let after = &rest[begin + "-----BEGIN ".len()..];
        let Some(label_end) = after.find("-----") else {
            break;
        };
        let label = after[..label_end].trim();
        let body_and_more = &after[label_end + 5..];
        let end_marker = format!("-----END {label}-----");
        let Some(end) = body_and_more.find(&end_marker) else {
            break;
        };
        let body: String = body_and_more[..end]
            .replace("\\n", "")
            .replace("\\r", "")
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        out.push_str(&format!("-----BEGIN {label}-----\n"));
        for chunk in body.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
            out.push('\n');
        }
        out.push_str(&end_marker);
        out.push('\n');
        rest = &body_and_more[end + end_marker.len()..];
    }
    out
}

fn certificates(
    text: &str,
    setting: &'static str,
    what: &str,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = normalize_pem(text);
    let chain = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            setting,
            what: what.to_string(),
            cause: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::Missing {
            setting,
            what: what.to_string(),
            item: "certificate (-----BEGIN CERTIFICATE-----)",
        });
    }
    Ok(chain)
}

fn private_key(
    text: &str,
    setting: &'static str,
    what: &str,
) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = normalize_pem(text);
    if pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")
        || text.contains("Proc-Type: 4,ENCRYPTED")
    {
        return Err(TlsError::EncryptedKey {
            setting,
            what: what.to_string(),
        });
    }
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => TlsError::Missing {
            setting,
            what: what.to_string(),
            item: "private key (-----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY or EC PRIVATE KEY)",
        },
        e => TlsError::Pem {
            setting,
            what: what.to_string(),
            cause: e.to_string(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn self_signed() -> (String, String) {
        let c = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        (c.cert.pem(), c.signing_key.serialize_pem())
    }

    #[test]
    fn a_pem_keystore_with_key_and_chain_loads() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = self_signed();
        std::fs::write(dir.path().join("ks.pem"), format!("{key}{cert}")).unwrap();
        let mut s = TlsSettings::default();
        assert!(s.apply("ssl.keystore.type", "PEM", dir.path()));
        assert!(s.apply("ssl.keystore.location", "ks.pem", dir.path()));
        let config = s.server_config().unwrap();
        assert_eq!(
            config.alpn_protocols,
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
    }

    #[test]
    fn inline_pem_on_one_line_loads() {
        let (cert, key) = self_signed();
        let one_line = |t: &str| t.replace('\n', " ");
        let mut s = TlsSettings::default();
        s.apply(
            "ssl.keystore.certificate.chain",
            &one_line(&cert),
            Path::new("."),
        );
        s.apply("ssl.keystore.key", &one_line(&key), Path::new("."));
        assert!(matches!(s.certificate_chain, Some(PemSource::Inline(_))));
        s.server_config().unwrap();
    }

    #[test]
    fn bad_files_are_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        let err = |s: &TlsSettings| s.server_config().unwrap_err().to_string();

        let mut missing = TlsSettings::default();
        missing.apply("ssl.keystore.location", "nope.pem", base);
        let e = err(&missing);
        assert!(e.contains("nope.pem") && e.contains("cannot read"), "{e}");

        std::fs::write(base.join("ks.jks"), [0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2]).unwrap();
        let mut jks = TlsSettings::default();
        jks.apply("ssl.keystore.location", "ks.jks", base);
        let e = err(&jks);
        assert!(
            e.contains("ks.jks") && e.contains("not supported yet"),
            "{e}"
        );

        let mut typed = TlsSettings::default();
        typed.apply("ssl.keystore.type", "JKS", base);
        typed.apply("ssl.keystore.location", "ks.jks", base);
        assert!(err(&typed).contains("ssl.keystore.type=JKS: not supported yet"));

        let (cert, key) = self_signed();
        std::fs::write(base.join("cert-only.pem"), &cert).unwrap();
        let mut no_key = TlsSettings::default();
        no_key.apply("ssl.keystore.location", "cert-only.pem", base);
        let e = err(&no_key);
        assert!(
            e.contains("cert-only.pem") && e.contains("no private key"),
            "{e}"
        );

        // A key that is not the certificate's.
        let (_, other_key) = self_signed();
        std::fs::write(base.join("mismatch.pem"), format!("{other_key}{cert}")).unwrap();
        let mut mismatch = TlsSettings::default();
        mismatch.apply("ssl.keystore.location", "mismatch.pem", base);
        let e = err(&mismatch);
        assert!(e.contains("mismatch.pem"), "{e}");

        std::fs::write(
            base.join("enc.pem"),
            format!("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n{cert}"),
        )
        .unwrap();
        let mut enc = TlsSettings::default();
        enc.apply("ssl.keystore.location", "enc.pem", base);
        assert!(err(&enc).contains("encrypted"));

        std::fs::write(base.join("key.pem"), &key).unwrap();
        let mut garbled = TlsSettings::default();
        garbled.apply(
            "ssl.keystore.certificate.chain",
            "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----",
            base,
        );
        garbled.apply("ssl.keystore.key", "key.pem", base);
        assert!(err(&garbled).contains("ssl.keystore.certificate.chain"));

        assert!(matches!(
            TlsSettings::default().server_config(),
            Err(TlsError::NoKeystore)
        ));
        let mut mtls = TlsSettings::default();
        mtls.apply("ssl.client.auth", "true", base);
        assert!(err(&mtls).contains("not supported yet"));
        let mut protocols = TlsSettings::default();
        protocols.apply("ssl.enabled.protocols", "TLSv1.1", base);
        protocols.apply("ssl.keystore.location", "ks.jks", base);
        assert!(protocol_versions(Some("TLSv1.1")).is_err());
        assert_eq!(protocol_versions(Some("TLSv1.3")).unwrap().len(), 1);
    }

    #[test]
    fn pem_is_normalized() {
        let t = "junk -----BEGIN CERTIFICATE----- AAAA\\nBBBB  CCCC -----END CERTIFICATE-----";
        assert_eq!(
            normalize_pem(t),
            "-----BEGIN CERTIFICATE-----\nAAAABBBBCCCC\n-----END CERTIFICATE-----\n"
        );
    }
}
