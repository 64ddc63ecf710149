//! Command-line flags of the `brook` binary (clap definitions only; commands live in `commands/`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Streaming SQL in the ksqlDB dialect over an embedded partitioned log.
#[derive(Debug, Parser)]
#[command(
    name = "brook",
    version,
    about = "Streaming SQL in the ksqlDB dialect over an embedded partitioned log. Without a command: the interactive shell."
)]
pub struct Cli {
    /// Data directory holding topics, offsets and state [default: ./brook-data].
    #[arg(long, global = true, env = "BROOK_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Run these statements (as the shell would) and exit.
    #[arg(
        short = 'e',
        long = "execute",
        value_name = "STATEMENTS",
        conflicts_with = "file"
    )]
    pub execute: Option<String>,
    /// Run the statements of this file (as the shell would) and exit.
    #[arg(short = 'f', long = "file", value_name = "FILE.sql")]
    pub file: Option<PathBuf>,
    /// Run the shell (or -e / -f) against a Brook or ksqlDB server's REST API instead of a
    /// data directory, e.g. --server http://localhost:8088.
    #[arg(long, value_name = "URL", env = "BROOK_SERVER", global = true)]
    pub server: Option<String>,
    /// The server to connect to, as `ksql` takes it: `brook http://localhost:8088`.
    #[arg(value_name = "SERVER_URL", conflicts_with = "server")]
    pub server_url: Option<String>,
    /// For an https server: a PEM file of certificates to trust besides the system's (its
    /// CA, or its self-signed certificate).
    #[arg(long, value_name = "FILE.pem", env = "BROOK_CA_FILE", global = true)]
    pub ca_file: Option<PathBuf>,
    /// User name for a server with HTTP Basic authentication (as `ksql -u`).
    #[arg(short = 'u', long = "user", value_name = "USER", env = "BROOK_USER")]
    pub user: Option<String>,
    /// Password for --user (asked for when omitted and stdin is a terminal).
    #[arg(
        short = 'p',
        long = "password",
        value_name = "PASSWORD",
        env = "BROOK_PASSWORD",
        hide_env_values = true
    )]
    pub password: Option<String>,
    /// Without a command: the interactive shell (statements from stdin when it is not a
    /// terminal).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Where commands keep their data when `--data-dir` is not given.
pub const DEFAULT_DATA_DIR: &str = "./brook-data";

impl Cli {
    /// The server the shell talks to: `--server URL` or the positional `SERVER_URL`.
    pub fn server(&self) -> anyhow::Result<Option<&str>> {
        if let Some(url) = &self.server_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                anyhow::bail!(
                    "unknown command '{url}' (a server address starts with http:// or https://); see brook --help"
                );
            }
        }
        Ok(self.server.as_deref().or(self.server_url.as_deref()))
    }

    /// The data directory: `--data-dir`, else `BROOK_DATA_DIR`, else `./brook-data`.
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR))
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The interactive SQL shell (the default).
    Shell,
    /// Create, list, describe and delete topics.
    #[command(subcommand)]
    Topic(TopicCommand),
    /// Write records read from stdin (one per line) to a topic.
    Produce(ProduceArgs),
    /// Print a topic's records as JSON, one object per line.
    Consume(ConsumeArgs),
    /// Parse and analyze SQL scripts without running them (`-` reads stdin).
    Check(CheckArgs),
    /// Run SQL scripts: statements in order, queries until caught up, SELECT results as tables.
    Run(crate::commands::run::RunArgs),
    /// Run ksqlDB-format conformance test files (files or directories): query-validation
    /// cases (outputs checked) and REST cases (each statement's response checked).
    Test(crate::commands::test::TestArgs),
    /// Measure throughput.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Serve the data directory's topics to Kafka clients (Kafka's wire protocol) until Ctrl-C.
    Kafka(crate::commands::kafka::KafkaArgs),
    /// Serve ksqlDB's REST API over the data directory (HTTP/1.1 and HTTP/2).
    Server(crate::commands::server::ServerArgs),
}

#[derive(Debug, Subcommand)]
pub enum TopicCommand {
    /// Create a topic.
    Create {
        name: String,
        /// Number of partitions.
        #[arg(long, default_value_t = 1)]
        partitions: u32,
        /// Topic configuration as Kafka names, e.g. --config retention.ms=60000 (repeatable).
        #[arg(long = "config", value_name = "KEY=VALUE")]
        config: Vec<String>,
    },
    /// List topics.
    List,
    /// Show a topic's partitions with their start and end offsets, and its configuration.
    Describe { name: String },
    /// Delete a topic and its data.
    Delete { name: String },
}

#[derive(Debug, Args)]
pub struct ProduceArgs {
    pub topic: String,
    /// Split each line at the first SEP into key and value.
    #[arg(long, value_name = "SEP")]
    pub key_separator: Option<String>,
    /// Create the topic with N partitions if it does not exist.
    #[arg(long, value_name = "N")]
    pub partitions: Option<u32>,
}

#[derive(Debug, Args)]
pub struct ConsumeArgs {
    pub topic: String,
    /// Start at the beginning of each partition instead of its end.
    #[arg(long)]
    pub from_beginning: bool,
    /// Read only this partition.
    #[arg(long, value_name = "P")]
    pub partition: Option<u32>,
    /// Start at this offset (needs --partition).
    #[arg(long, value_name = "O", requires = "partition")]
    pub offset: Option<u64>,
    /// Stop after N records.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Keep waiting for new records instead of exiting at the end of the log.
    #[arg(long)]
    pub follow: bool,
    /// Kafka's consumer `isolation.level`: `read_uncommitted` (the default, as in Kafka)
    /// prints records of open and aborted transactions too; `read_committed` prints only
    /// committed records: it leaves out aborted transactions and stops at the first record
    /// of a transaction still open in the process writing the log (the last stable
    /// offset), going on once that transaction commits or aborts.
    #[arg(
        long,
        value_enum,
        default_value = "read_uncommitted",
        value_name = "LEVEL"
    )]
    pub isolation_level: Isolation,
}

/// Which records of transactions a reader sees (Kafka's `isolation.level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Isolation {
    #[value(name = "read_uncommitted")]
    ReadUncommitted,
    #[value(name = "read_committed")]
    ReadCommitted,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Scripts to check, in order; later files see the sources earlier ones create.
    #[arg(value_name = "FILE.sql", required = true)]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Append and read throughput of the embedded log, beside the disk's sequential write bandwidth.
    Log(crate::bench::log::LogBenchArgs),
    /// End-to-end throughput of a tumbling-window COUNT over click events in the log.
    Engine(crate::bench::engine::EngineBenchArgs),
    /// The Nexmark benchmark: generated persons, auctions and bids, queries q0-q8 in ksqlDB SQL.
    Nexmark(crate::bench::nexmark::NexmarkBenchArgs),
    /// `brook server` at scale: memory per idle push query, insert-to-push latency, pull lookups per second, idle connections.
    Server(crate::bench::server::ServerBenchArgs),
}
