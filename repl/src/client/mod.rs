//! The shell as a client of a server (`brook --server URL`, or `brook URL` as `ksql` takes
//! its server): the same prompt, completion, live push queries and Ctrl-C as the local
//! shell, over ksqlDB's REST API, so it works with `brook server` and with ksqlDB itself.
//!
//! Files: `rest.rs` (the HTTP requests and the wire format), `entities.rs` (ksqlDB's
//! entities shown as tables and text), `session.rs` (running statements against a server).

pub mod entities;
pub mod rest;
pub mod session;

use std::path::Path;

/// The file in a data directory where `brook server` writes the address it listens on, so
/// that a `brook` opened on that directory talks to the server instead.
pub const SERVER_ADDRESS_FILE: &str = ".brook-server";

/// The address of the server that holds `data_dir`, if one wrote it there.
pub fn server_of(data_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(data_dir.join(SERVER_ADDRESS_FILE)).ok()?;
    let url = text.trim();
    (!url.is_empty()).then(|| url.to_string())
}
