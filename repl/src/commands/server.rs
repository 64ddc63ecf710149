//! `brook server`: one long-running process owns the data directory and serves ksqlDB's
//! REST API (brook-server). On start the engine replays the command topic, restarting every
//! persistent query from its committed state; on SIGTERM/SIGINT (or `/ksql/terminate`) it
//! stops accepting, ends push queries, commits the queries and exits. Logs go to stderr
//! (`RUST_LOG=debug` shows one line per request).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use brook_engine::runtime::{Engine, EngineOptions};
use brook_server::{RunningServer, ServerConfig};
use clap::Args;

/// How long the final commit may take at shutdown.
const FINAL_COMMIT: Duration = Duration::from_secs(4);

#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Address to listen on [default: 127.0.0.1:8088, or `listeners=` of --config].
    #[arg(long, value_name = "HOST:PORT")]
    pub listen: Option<SocketAddr>,
    /// A ksqlDB-style properties file: `listeners=http://HOST:PORT`; `ksql.*` and streams
    /// properties become every request's defaults.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

pub fn run(data_dir: &Path, args: ServerArgs) -> anyhow::Result<()> {
    init_logging();
    let mut config = ServerConfig::default();
    if let Some(file) = &args.config {
        config.load_file(file)?;
    }
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    let engine = Engine::open(data_dir, EngineOptions::default())
        .with_context(|| format!("cannot open data directory {}", data_dir.display()))?;
    let queries = engine.queries().len();
    let engine = Arc::new(Mutex::new(engine));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the server's runtime")?;
    let listen = config.listen;
    let mut server = RunningServer::start(engine.clone(), config, runtime.handle())
        .with_context(|| format!("cannot listen on {listen}"))?;
    tracing::info!(
        "Brook server listening on http://{} (data directory {}, {queries} persistent queries restarted)",
        server.addr,
        data_dir.display()
    );
    let state = server.state.clone();
    runtime.block_on(async move {
        #[cfg(unix)]
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        #[cfg(unix)]
        let sigterm = async move {
            match term.as_mut() {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let sigterm = std::future::pending::<()>();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => tracing::info!("interrupted: shutting down"),
            _ = sigterm => tracing::info!("terminated: shutting down"),
            _ = state.shutdown_requested() => tracing::info!("cluster terminated: shutting down"),
        }
    });
    server.stop();
    // Commit what the queries processed: step until none has anything left (a step that
    // reads nothing commits them all), within a bounded time.
    let deadline = Instant::now() + FINAL_COMMIT;
    let mut engine = engine.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        match engine.step_queries() {
            Ok(0) => break,
            Ok(_) if Instant::now() < deadline => {}
            Ok(_) => {
                tracing::warn!(
                    "queries still had input at shutdown; they resume from their last commit"
                );
                break;
            }
            Err(e) => {
                tracing::error!("final commit failed: {e}");
                break;
            }
        }
    }
    drop(engine);
    runtime.shutdown_timeout(Duration::from_secs(1));
    tracing::info!("stopped");
    Ok(())
}
