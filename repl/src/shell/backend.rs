//! backend.rs owns what the shell's prompt loop needs of whatever runs the statements: the
//! local engine ([`Session`]) or a server ([`RemoteSession`]), so one loop serves both.

use std::io::Write;
use std::sync::{Arc, RwLock};

use super::helper::Vocabulary;
use super::session::{OutputFormat, Session};
use crate::client::session::RemoteSession;

/// Runs what the user typed and says what completion may offer.
pub trait Backend {
    /// Runs every statement of `text`, writing results to `out`.
    fn execute(&mut self, text: &str, name: &str, out: &mut dyn Write) -> anyhow::Result<()>;
    /// The names completion offers, refreshed after each statement.
    fn vocabulary(&self) -> Arc<RwLock<Vocabulary>>;
    fn output(&self) -> OutputFormat;
    fn set_output(&mut self, format: OutputFormat);
    /// Errors persistent queries hit in the background since the last call.
    fn background_errors(&mut self) -> Vec<String>;
    /// Where statements run, for the banner.
    fn location(&self) -> String;
    /// The shell is leaving: local persistent queries commit and stop (a server keeps its own).
    fn close(&mut self) -> anyhow::Result<()>;
}

impl Backend for Session {
    fn execute(&mut self, text: &str, name: &str, out: &mut dyn Write) -> anyhow::Result<()> {
        Session::execute(self, text, name, out)
    }
    fn vocabulary(&self) -> Arc<RwLock<Vocabulary>> {
        self.vocabulary.clone()
    }
    fn output(&self) -> OutputFormat {
        self.output
    }
    fn set_output(&mut self, format: OutputFormat) {
        self.output = format;
    }
    fn background_errors(&mut self) -> Vec<String> {
        Session::background_errors(self)
    }
    fn location(&self) -> String {
        format!("Data directory: {}", self.data_dir().display())
    }
    fn close(&mut self) -> anyhow::Result<()> {
        Session::close(self)
    }
}

impl Backend for RemoteSession {
    fn execute(&mut self, text: &str, name: &str, out: &mut dyn Write) -> anyhow::Result<()> {
        RemoteSession::execute(self, text, name, out)
    }
    fn vocabulary(&self) -> Arc<RwLock<Vocabulary>> {
        self.vocabulary.clone()
    }
    fn output(&self) -> OutputFormat {
        self.output
    }
    fn set_output(&mut self, format: OutputFormat) {
        self.output = format;
    }
    fn background_errors(&mut self) -> Vec<String> {
        // The server runs the queries; their errors show in SHOW QUERIES and DESCRIBE.
        Vec::new()
    }
    fn location(&self) -> String {
        match self.server_version() {
            Some(v) => format!("Server: {} (version {v})", self.url()),
            None => format!("Server: {}", self.url()),
        }
    }
    fn close(&mut self) -> anyhow::Result<()> {
        Ok(())
    }
}
