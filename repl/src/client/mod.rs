//! The shell as a client of a server (`brook --server URL`, or `brook URL` as `ksql` takes
//! its server): the same prompt, completion, live push queries and Ctrl-C as the local
//! shell, over ksqlDB's REST API, so it works with `brook server` and with ksqlDB itself.
//!
//! Files: `rest.rs` (the HTTP requests and the wire format), `entities.rs` (ksqlDB's
//! entities shown as tables and text), `session.rs` (running statements against a server).

pub mod entities;
pub mod rest;
pub mod session;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use rest::ClientOptions;

/// The file in a data directory where `brook server` writes the address it listens on, so
/// that a `brook` opened on that directory talks to the server instead.
pub const SERVER_ADDRESS_FILE: &str = ".brook-server";

/// The address of the server that holds `data_dir`, if one wrote it there.
pub fn server_of(data_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(data_dir.join(SERVER_ADDRESS_FILE)).ok()?;
    let url = text.trim();
    (!url.is_empty()).then(|| url.to_string())
}

/// How to reach the server at `url` with the command line's `--ca-file`, `--user` and
/// `--password`; the password is asked for when a user is given without one.
pub fn client_options(url: &str, cli: &crate::cli::Cli) -> anyhow::Result<ClientOptions> {
    let password = match (&cli.user, &cli.password) {
        (Some(user), None) => Some(ask_password(user)?),
        (_, p) => p.clone(),
    };
    Ok(ClientOptions {
        url: url.to_string(),
        ca_file: cli.ca_file.clone(),
        user: cli.user.clone(),
        password,
    })
}

/// How to reach the server at `url` that holds a data directory: the CA file and
/// credentials from the environment (`BROOK_CA_FILE`, `BROOK_USER`, `BROOK_PASSWORD`).
pub fn options_from_env(url: &str) -> anyhow::Result<ClientOptions> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let user = var("BROOK_USER");
    let password = match (&user, var("BROOK_PASSWORD")) {
        (Some(user), None) => Some(ask_password(user)?),
        (_, p) => p,
    };
    Ok(ClientOptions {
        url: url.to_string(),
        ca_file: var("BROOK_CA_FILE").map(PathBuf::from),
        user,
        password,
    })
}

/// Asks for `user`'s password on the terminal, without echo.
fn ask_password(user: &str) -> anyhow::Result<String> {
    if !std::io::stdin().is_terminal() && !std::io::stderr().is_terminal() {
        anyhow::bail!(
            "--user {user} needs --password (or BROOK_PASSWORD): there is no terminal to ask for it on"
        );
    }
    rpassword::prompt_password(format!("Password for {user}: "))
        .map_err(|e| anyhow::anyhow!("cannot read the password for {user}: {e}"))
}
