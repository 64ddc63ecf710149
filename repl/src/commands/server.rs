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

#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Address to listen on: HOST:PORT, http://HOST:PORT, or https://HOST:PORT (TLS, with
    /// the certificate and key of --config's `ssl.*` settings) [default: 127.0.0.1:8088, or
    /// `listeners=` of --config].
    #[arg(long, value_name = "[SCHEME://]HOST:PORT")]
    pub listen: Option<String>,
    /// A ksqlDB-style properties file: `listeners=http://HOST:PORT` (or https:// with
    /// `ssl.keystore.type=PEM`, `ssl.keystore.location=FILE.pem`); `ksql.*` and streams
    /// properties become every request's defaults.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Also serve the data directory's topics to Kafka clients on this address (Kafka's
    /// wire protocol, as `brook kafka` does).
    #[arg(long, value_name = "HOST:PORT")]
    pub kafka_listen: Option<SocketAddr>,
    /// Require SASL (PLAIN or SCRAM-SHA-256) on --kafka-listen, with the users of this file
    /// (`user:password` lines).
    #[arg(long, value_name = "FILE", requires = "kafka_listen")]
    pub kafka_sasl_users: Option<PathBuf>,
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
    if let Some(listen) = &args.listen {
        config.set_listener(listen)?;
    }
    // Certificate and key problems are reported before the data directory is opened.
    config.tls_config()?;
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
        "Brook server listening on {} (data directory {}, {queries} persistent queries restarted)",
        server.url(),
        data_dir.display()
    );
    // A `brook` opened on this directory reads the address here and talks to the server.
    let address_file = data_dir.join(crate::client::SERVER_ADDRESS_FILE);
    if let Err(e) = std::fs::write(&address_file, format!("{}\n", server.url())) {
        tracing::warn!("cannot write {}: {e}", address_file.display());
    }
    let (stop_kafka, kafka_stopped) = tokio::sync::oneshot::channel::<()>();
    let kafka_sasl = match &args.kafka_sasl_users {
        None => None,
        Some(path) => Some(std::sync::Arc::new(brook_kafka::SaslUsers::load(path)?)),
    };
    let kafka = match args.kafka_listen {
        None => None,
        Some(addr) => {
            let listener = runtime
                .block_on(tokio::net::TcpListener::bind(addr))
                .with_context(|| format!("cannot listen for Kafka clients on {addr}"))?;
            let log = engine
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .log()
                .clone();
            tracing::info!("Kafka listener on {addr}");
            Some(runtime.spawn(brook_kafka::serve(
                log,
                listener,
                brook_kafka::KafkaConfig {
                    sasl: kafka_sasl,
                    ..Default::default()
                },
                async move {
                    let _ = kafka_stopped.await;
                },
            )))
        }
    };
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
    let _ = stop_kafka.send(());
    if let Some(k) = kafka {
        if let Ok(Err(e)) = runtime.block_on(k) {
            tracing::error!("the Kafka listener failed: {e}");
        }
    }
    let _ = std::fs::remove_file(&address_file);
    // Every query finishes its batch and commits what it processed.
    let started = Instant::now();
    let mut engine = engine.lock().unwrap_or_else(|p| p.into_inner());
    if let Err(e) = engine.shutdown() {
        tracing::error!("stopping the persistent queries failed: {e}");
    }
    tracing::debug!("queries stopped in {:?}", started.elapsed());
    drop(engine);
    runtime.shutdown_timeout(Duration::from_secs(1));
    tracing::info!("stopped");
    Ok(())
}
