//! forward.rs owns statement forwarding between two `brook` processes on one data
//! directory. Only one process may write a directory (the log's lock); the shell that holds
//! it listens on a Unix socket in the directory (`.brook.sock`), and a second `brook` — a
//! read-only follower — sends it the statements that change things (CREATE, INSERT, DROP,
//! TERMINATE...), so either terminal can insert while the other watches a push query.
//!
//! Protocol: one JSON line per request, `{"sql": "..."}`, answered by one JSON line,
//! `{"ok": true, "output": "..."}` or `{"ok": false, "error": "..."}`. The writer runs the
//! statements exactly as if they had been typed into it.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{anyhow, Context};
use brook_engine::runtime::{Engine, StatementResult};
use serde::{Deserialize, Serialize};

use super::helper::Vocabulary;
use crate::render::write_result;

/// The socket's name inside the data directory.
pub const SOCKET: &str = ".brook.sock";

#[derive(Debug, Serialize, Deserialize)]
struct Request {
    sql: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Response {
    ok: bool,
    #[serde(default)]
    output: String,
    #[serde(default)]
    error: String,
}

/// The writer's listener; stops (and removes the socket) when dropped.
pub struct Server {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Starts listening for forwarded statements. The caller holds the directory's write lock,
/// so a socket file already there is left over from a process that died: it is replaced.
pub fn serve(
    data_dir: &Path,
    engine: Arc<Mutex<Engine>>,
    vocabulary: Arc<RwLock<Vocabulary>>,
) -> anyhow::Result<Server> {
    let path = data_dir.join(SOCKET);
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path)
        .with_context(|| format!("cannot listen on {}", path.display()))?;
    listener.set_nonblocking(true)?;
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let handle = std::thread::Builder::new()
        .name("brook-forward".into())
        .spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let _ = answer(stream, &engine, &vocabulary);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(50))
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(200)),
                }
            }
        })?;
    Ok(Server {
        path,
        stop,
        handle: Some(handle),
    })
}

fn answer(
    stream: UnixStream,
    engine: &Mutex<Engine>,
    vocabulary: &RwLock<Vocabulary>,
) -> anyhow::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line)?;
    let response = match serde_json::from_str::<Request>(&line) {
        Ok(req) => {
            let mut engine = engine.lock().unwrap_or_else(|p| p.into_inner());
            let mut output = Vec::new();
            let result = execute(&mut engine, &req.sql, &mut output);
            *vocabulary.write().unwrap_or_else(|p| p.into_inner()) = Vocabulary::of(&engine);
            match result {
                Ok(()) => Response {
                    ok: true,
                    output: String::from_utf8_lossy(&output).into_owned(),
                    error: String::new(),
                },
                Err(e) => Response {
                    ok: false,
                    output: String::from_utf8_lossy(&output).into_owned(),
                    error: format!("{e:#}"),
                },
            }
        }
        Err(e) => Response {
            ok: false,
            output: String::new(),
            error: format!("bad request: {e}"),
        },
    };
    let mut w = &stream;
    writeln!(w, "{}", serde_json::to_string(&response)?)?;
    Ok(())
}

/// Runs forwarded statements: all parsed first, then each in order.
fn execute(engine: &mut Engine, text: &str, out: &mut Vec<u8>) -> anyhow::Result<()> {
    let name = "<forwarded>";
    let parsed = engine.parse_all(text, name).map_err(|e| anyhow!("{e}"))?;
    for (st, sql) in parsed {
        match engine
            .execute_statement(&st, &sql, text, name)
            .map_err(|e| anyhow!("{e}"))?
        {
            StatementResult::Push(_) | StatementResult::Print(_) => {
                return Err(anyhow!("queries run in the shell that asks them"))
            }
            other => write_result(out, &other)?,
        }
    }
    Ok(())
}

/// Sends `sql` to the process writing `data_dir`; returns what it printed. Fails when no
/// such process listens (it exited, or was started with `-e`/`-f`).
pub fn forward(data_dir: &Path, sql: &str) -> anyhow::Result<String> {
    let path = data_dir.join(SOCKET);
    let stream = UnixStream::connect(&path).map_err(|_| {
        anyhow!(
            "this session is read-only: another Brook process has the data directory open for \
             writing and does not take statements from other terminals (it is not an \
             interactive shell); run statements that change the directory there"
        )
    })?;
    stream.set_read_timeout(Some(Duration::from_secs(600)))?;
    let mut w = &stream;
    writeln!(
        w,
        "{}",
        serde_json::to_string(&Request {
            sql: sql.to_string()
        })?
    )?;
    let mut line = String::new();
    BufReader::new(&stream)
        .read_line(&mut line)
        .context("the writing process did not answer")?;
    let r: Response = serde_json::from_str(&line)
        .with_context(|| format!("the writing process answered {line:?}"))?;
    if r.ok {
        Ok(r.output)
    } else {
        Err(anyhow!("{}{}", r.output, r.error))
    }
}
