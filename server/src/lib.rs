//! brook-server: Brook as a service speaking ksqlDB's REST API, wire-compatible, over
//! HTTP/1.1 and HTTP/2 on one port (axum on hyper-util's auto connection builder): in
//! cleartext (HTTP/2 with prior knowledge), or over TLS (rustls) with ALPN choosing h2 or
//! http/1.1.
//!
//! Modules: `config` (flags and properties file), `tls` (certificates, rustls), `metrics`
//! (`GET /metrics`, Prometheus), `state` (what handlers share), `request`
//! (bodies, per-request properties), `auth` (HTTP Basic authentication), `entities` (ksqlDB's JSON entities), `error` (its
//! error entities), `ksql` (`/ksql`, `/ksql/terminate`), `query` (`/query`,
//! `/query-stream`, `/close-query`), `inserts` (`/inserts-stream`), `info` (`/info`,
//! `/healthcheck`, `/clusterStatus`, `/status`, `/is_valid_property`), `query_errors` (logs
//! the persistent queries' failures), `conformance` (the REST conformance cases
//! over HTTP, for `brook test --http`).

pub mod auth;
pub mod config;
pub mod conformance;
pub mod entities;
pub mod error;
pub mod info;
pub mod inserts;
pub mod ksql;
pub mod metrics;
pub mod query;
pub mod query_errors;
pub mod request;
pub mod state;
pub mod tls;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use brook_engine::runtime::Engine;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

pub use config::ServerConfig;
pub use error::ApiError;
pub use state::AppState;

/// How long open connections get to finish after shutdown began.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(3);

/// How long a client gets to complete the TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The routes of ksqlDB's REST API, and `/metrics`.
pub fn router(state: AppState) -> Router {
    let http = metrics::HttpMetrics::default();
    let scrape = {
        let http = http.clone();
        move |axum::extract::State(state): axum::extract::State<AppState>| {
            let http = http.clone();
            async move { metrics::handle(state, http).await }
        }
    };
    Router::new()
        .route("/ksql", post(ksql::handle))
        .route("/ksql/terminate", post(ksql::terminate))
        .route("/query", post(query::v1))
        .route("/query-stream", post(query::v2))
        .route("/close-query", post(query::close))
        .route("/inserts-stream", post(inserts::handle))
        .route("/info", get(info::info))
        .route("/healthcheck", get(info::healthcheck))
        .route("/clusterStatus", get(info::cluster_status))
        .route("/status", get(info::statuses))
        .route("/status/{kind}/{entity}/{action}", get(info::status))
        .route("/is_valid_property/{name}", get(info::is_valid_property))
        .route("/metrics", get(scrape))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require,
        ))
        .layer(axum::middleware::from_fn(log_request))
        .layer(axum::middleware::from_fn_with_state(
            http,
            metrics::count_request,
        ))
        .with_state(state)
}

async fn not_found(req: Request) -> Response {
    ApiError::not_found(format!("No endpoint {} {}", req.method(), req.uri().path()))
        .into_response()
}

async fn method_not_allowed(req: Request) -> Response {
    ApiError::Generic {
        status: axum::http::StatusCode::METHOD_NOT_ALLOWED,
        code: error::code::METHOD_NOT_ALLOWED,
        message: format!(
            "Method {} is not allowed on {}",
            req.method(),
            req.uri().path()
        ),
    }
    .into_response()
}

/// One debug line per request: method, path, HTTP version, status, time to the response's
/// head.
async fn log_request(req: Request, next: Next) -> Response {
    let (method, path, version) = (
        req.method().clone(),
        req.uri().path().to_string(),
        req.version(),
    );
    let started = Instant::now();
    let response = next.run(req).await;
    tracing::debug!(
        %method,
        %path,
        ?version,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    response
}

/// Serves `state`'s API on `listener` until [`AppState::begin_shutdown`]; then stops
/// accepting, and gives open connections a moment to finish.
pub async fn serve(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    serve_with(listener, state, None).await
}

/// [`serve`], over TLS when `tls` is given (each connection's handshake on its own task,
/// ALPN choosing HTTP/2 or HTTP/1.1).
pub async fn serve_with(
    listener: TcpListener,
    state: AppState,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> std::io::Result<()> {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    if let Ok(addr) = listener.local_addr() {
        state.set_host(addr.to_string());
    }
    let app = router(state.clone());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let builder = auto::Builder::new(TokioExecutor::new());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        // Out of file descriptors and the like: wait, do not spin.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let service = TowerToHyperService::new(app.clone());
                let Some(acceptor) = &acceptor else {
                    let conn =
                        builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    let conn = graceful.watch(conn.into_owned());
                    tokio::spawn(async move {
                        if let Err(e) = conn.await {
                            tracing::debug!("connection ended: {e}");
                        }
                    });
                    continue;
                };
                let (acceptor, builder, watcher) =
                    (acceptor.clone(), builder.clone(), graceful.watcher());
                tokio::spawn(async move {
                    let handshake =
                        tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream));
                    let stream = match handshake.await {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            tracing::debug!("TLS handshake with {peer} failed: {e}");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!("TLS handshake with {peer} timed out");
                            return;
                        }
                    };
                    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    if let Err(e) = watcher.watch(conn.into_owned()).await {
                        tracing::debug!("connection ended: {e}");
                    }
                });
            }
            _ = state.shutdown_requested() => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::debug!("connections still open after {DRAIN_TIMEOUT:?}; closing them");
    }
    Ok(())
}

/// A server running on a tokio runtime of its caller's, logging query failures; stops when
/// dropped.
pub struct RunningServer {
    pub addr: SocketAddr,
    /// `http` or `https`.
    pub scheme: &'static str,
    pub state: AppState,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    query_errors: Option<query_errors::QueryErrorLog>,
    runtime: tokio::runtime::Handle,
}

impl RunningServer {
    /// The server's base URL (`https://127.0.0.1:8443`).
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// Binds `config.listen` and serves `engine` (live push queries on), over TLS for an
    /// https listener (its certificate and key are read now; an error names the file).
    pub fn start(
        engine: Arc<Mutex<Engine>>,
        config: ServerConfig,
        runtime: &tokio::runtime::Handle,
    ) -> std::io::Result<RunningServer> {
        let tls = config
            .tls_config()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
        {
            let mut e = engine.lock().unwrap_or_else(|p| p.into_inner());
            e.set_live_push(true);
            for (k, v) in &config.properties {
                e.set_property(k, v);
            }
        }
        let listener = runtime.block_on(TcpListener::bind(config.listen))?;
        let addr = listener.local_addr()?;
        let state = AppState::new(engine.clone(), config);
        state.set_host(addr.to_string());
        let query_errors = query_errors::QueryErrorLog::start(engine)?;
        let tls_on = tls.is_some();
        let task = runtime.spawn(serve_with(listener, state.clone(), tls));
        Ok(RunningServer {
            addr,
            scheme: if tls_on { "https" } else { "http" },
            state,
            task: Some(task),
            query_errors: Some(query_errors),
            runtime: runtime.clone(),
        })
    }

    /// Stops accepting, ends push queries, waits for the server to stop.
    pub fn stop(&mut self) {
        self.state.begin_shutdown();
        if let Some(t) = self.task.take() {
            let _ = self.runtime.block_on(t);
        }
        if let Some(mut d) = self.query_errors.take() {
            d.stop();
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop();
    }
}
