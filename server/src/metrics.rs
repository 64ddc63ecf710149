//! metrics.rs owns `GET /metrics`: the server's and its persistent queries' metrics in
//! Prometheus' text format (0.0.4), with prometheus-client.
//!
//! - Kept by the server: requests answered, by endpoint (the route's pattern, so ids in paths
//!   do not make new series), method and status, and the time to each response's head, by
//!   endpoint and method — counted by the [`count_request`] middleware.
//! - Read at scrape time: per persistent query, the engine's counters ([`QueryInfo`]:
//!   records in/out/failed, lag per source partition, processing rate, last error, status);
//!   per server, open push queries, persistent queries, and bytes on disk (state stores and
//!   the whole data directory).

use std::path::Path;
use std::time::{Instant, UNIX_EPOCH};

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use brook_engine::runtime::engine::STATE_DIR;
use brook_engine::runtime::QueryInfo;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::state::AppState;

/// The longest error message a `brook_query_error_info` label carries.
const MAX_MESSAGE_CHARS: usize = 200;

/// The labels of a counted request.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    /// The route's pattern (`/status/{kind}/{entity}/{action}`), or `unmatched`.
    pub endpoint: String,
    pub status: u16,
}

/// The labels of a request's latency.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabels {
    pub method: String,
    pub endpoint: String,
}

/// Latency buckets: 0.5 ms to 16 s, doubling.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// What the server counts itself; cheap to clone (shared counters).
#[derive(Debug, Clone)]
pub struct HttpMetrics {
    requests: Family<RequestLabels, Counter>,
    latency: Family<EndpointLabels, Histogram, fn() -> Histogram>,
}

impl Default for HttpMetrics {
    fn default() -> Self {
        HttpMetrics {
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
        }
    }
}

impl HttpMetrics {
    /// The number of requests counted with these labels.
    pub fn requests(&self, labels: &RequestLabels) -> u64 {
        self.requests.get_or_create(labels).get()
    }
}

/// The middleware: counts each request by its route's pattern and its response's status.
pub async fn count_request(
    State(metrics): State<HttpMetrics>,
    req: Request,
    next: Next,
) -> Response {
    let endpoint = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = req.method().as_str().to_string();
    let started = Instant::now();
    let response = next.run(req).await;
    let elapsed = started.elapsed().as_secs_f64();
    let labels = EndpointLabels { method, endpoint };
    metrics.latency.get_or_create(&labels).observe(elapsed);
    metrics
        .requests
        .get_or_create(&RequestLabels {
            method: labels.method,
            endpoint: labels.endpoint,
            status: response.status().as_u16(),
        })
        .inc();
    response
}

/// `GET /metrics`.
pub async fn handle(state: AppState, metrics: HttpMetrics) -> Response {
    // Walking the data directory can take a moment: off the async threads.
    let text = tokio::task::spawn_blocking(move || render(&state, &metrics)).await;
    match text {
        Ok(Ok(body)) => (
            [(
                header::CONTENT_TYPE,
                prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            )],
            body,
        )
            .into_response(),
        Ok(Err(_)) | Err(_) => crate::error::ApiError::Generic {
            status: axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            code: crate::error::code::SERVER_ERROR,
            message: "cannot encode the metrics".into(),
        }
        .into_response(),
    }
}

/// The metrics as Prometheus' text format.
pub fn render(state: &AppState, http: &HttpMetrics) -> Result<String, std::fmt::Error> {
    let (queries, dir) = {
        let engine = state.lock_engine();
        (engine.queries(), engine.dir().to_path_buf())
    };
    let snapshot = Snapshot {
        queries,
        open_push_queries: state.push_queries().len() as u64,
        state_bytes: bytes_under(&dir.join(STATE_DIR)),
        data_dir_bytes: bytes_under(&dir),
    };
    let mut registry = Registry::default();
    registry.register(
        "brook_http_requests",
        "HTTP requests answered, by endpoint (the route's pattern), method and status",
        http.requests.clone(),
    );
    registry.register(
        "brook_http_request_duration_seconds",
        "Time to a response's head (a streamed query's rows come after), by endpoint and method",
        http.latency.clone(),
    );
    registry.register_collector(Box::new(snapshot));
    let mut out = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut out, &registry)?;
    Ok(out)
}

/// What a scrape reads from the engine and the server.
#[derive(Debug)]
struct Snapshot {
    queries: Vec<QueryInfo>,
    open_push_queries: u64,
    state_bytes: u64,
    data_dir_bytes: u64,
}

type Labels = Vec<(&'static str, String)>;

fn query_labels(q: &QueryInfo) -> Labels {
    vec![("query_id", q.id.clone()), ("sink", q.sink_name.clone())]
}

/// One family: a descriptor, then a sample per label set.
fn family<M: EncodeMetric>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    metric_type: MetricType,
    samples: impl IntoIterator<Item = (Labels, M)>,
) -> Result<(), std::fmt::Error> {
    let mut metric_encoder = encoder.encode_descriptor(name, help, None, metric_type)?;
    for (labels, metric) in samples {
        metric.encode(metric_encoder.encode_family(&labels)?)?;
    }
    Ok(())
}

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let e = &mut encoder;
        let qs = &self.queries;
        let counter = |f: fn(&QueryInfo) -> u64| {
            qs.iter()
                .map(move |q| (query_labels(q), ConstCounter::new(f(q))))
        };
        family(
            e,
            "brook_query_records_in",
            "Records a persistent query read from its sources, since the server started",
            MetricType::Counter,
            counter(|q| q.processed),
        )?;
        family(
            e,
            "brook_query_records_out",
            "Records a persistent query wrote to its sink, since the server started",
            MetricType::Counter,
            counter(|q| q.produced),
        )?;
        family(
            e,
            "brook_query_records_failed",
            "Records a persistent query could not process (written to the processing log), since the server started",
            MetricType::Counter,
            counter(|q| q.failed),
        )?;
        family(
            e,
            "brook_query_records_per_second",
            "Records a persistent query read per second, over the last 30 seconds",
            MetricType::Gauge,
            qs.iter()
                .map(|q| (query_labels(q), ConstGauge::new(q.records_per_second))),
        )?;
        family(
            e,
            "brook_query_lag",
            "Records of a source partition a persistent query has yet to read",
            MetricType::Gauge,
            qs.iter().flat_map(|q| {
                q.lag.iter().map(move |l| {
                    let mut labels = query_labels(q);
                    labels.push(("topic", l.topic.clone()));
                    labels.push(("partition", l.partition.to_string()));
                    (labels, ConstGauge::new(l.lag() as i64))
                })
            }),
        )?;
        family(
            e,
            "brook_query_last_error_timestamp_seconds",
            "When a persistent query last failed a record or stopped on an error (seconds since the epoch; 0: never)",
            MetricType::Gauge,
            qs.iter().map(|q| {
                let at = q
                    .last_error_at
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map_or(0.0, |d| d.as_secs_f64());
                (query_labels(q), ConstGauge::new(at))
            }),
        )?;
        family(
            e,
            "brook_query_running",
            "1 while a persistent query runs, 0 while it is paused or once it stopped on an error (the status label says which)",
            MetricType::Gauge,
            qs.iter().map(|q| {
                let mut labels = query_labels(q);
                labels.push(("status", q.status.word().to_string()));
                let running = q.status == brook_engine::runtime::QueryStatus::Running;
                (labels, ConstGauge::new(i64::from(running)))
            }),
        )?;
        family(
            e,
            "brook_query_error",
            "The error a persistent query stopped on (1 per failed query, the message in a label)",
            MetricType::Gauge,
            qs.iter().filter_map(|q| match &q.status {
                brook_engine::runtime::QueryStatus::Error(message) => {
                    let mut labels = query_labels(q);
                    labels.push(("message", clip(message)));
                    Some((labels, ConstGauge::new(1i64)))
                }
                _ => None,
            }),
        )?;
        let single = |v: i64| [(Labels::new(), ConstGauge::new(v))];
        family(
            e,
            "brook_persistent_queries",
            "Persistent queries (running or failed)",
            MetricType::Gauge,
            single(qs.len() as i64),
        )?;
        family(
            e,
            "brook_push_queries_open",
            "Push queries being streamed to clients",
            MetricType::Gauge,
            single(self.open_push_queries as i64),
        )?;
        family(
            e,
            "brook_state_size_bytes",
            "Bytes on disk of the state stores (aggregations, joins, tables)",
            MetricType::Gauge,
            single(self.state_bytes as i64),
        )?;
        family(
            e,
            "brook_data_dir_size_bytes",
            "Bytes on disk of the whole data directory (topics, offsets, state)",
            MetricType::Gauge,
            single(self.data_dir_bytes as i64),
        )?;
        Ok(())
    }
}

fn clip(message: &str) -> String {
    let one_line = message.replace(['\n', '\r'], " ");
    if one_line.chars().count() <= MAX_MESSAGE_CHARS {
        one_line
    } else {
        format!(
            "{}…",
            one_line.chars().take(MAX_MESSAGE_CHARS).collect::<String>()
        )
    }
}

/// Bytes of the files under `dir` (0 when it does not exist); files that vanish while it
/// walks are skipped.
pub fn bytes_under(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(entry.path());
            } else if meta.is_file() {
                total += meta.len();
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_under_sums_files_recursively() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("x"), [0u8; 10]).unwrap();
        std::fs::write(dir.path().join("a/b/y"), [0u8; 5]).unwrap();
        assert_eq!(bytes_under(dir.path()), 15);
        assert_eq!(bytes_under(&dir.path().join("missing")), 0);
    }

    #[test]
    fn long_messages_are_clipped_to_one_line() {
        assert_eq!(clip("a\nb"), "a b");
        assert_eq!(
            clip(&"x".repeat(500)).chars().count(),
            MAX_MESSAGE_CHARS + 1
        );
    }
}
