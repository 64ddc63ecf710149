//! `brook kafka`: serves the data directory's log to Kafka clients (no SQL engine) until
//! interrupted. `brook server --kafka-listen` serves the same listener beside the engine.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;

#[derive(Debug, Args)]
pub struct KafkaArgs {
    /// Address to accept Kafka clients on.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:9092")]
    pub listen: String,
    /// Address given to clients in Metadata, when it differs from the listening address.
    #[arg(long, value_name = "HOST:PORT")]
    pub advertise: Option<String>,
    /// Partitions of topics created because a client named them (Metadata) or asked for the
    /// default (CreateTopics with -1).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub default_partitions: u32,
    /// Do not create topics that clients name in Metadata requests.
    #[arg(long)]
    pub no_auto_create_topics: bool,
    /// Require SASL (PLAIN or SCRAM-SHA-256) with the users of this file (`user:password`
    /// lines); unauthenticated connections are closed.
    #[arg(long, value_name = "FILE")]
    pub sasl_users: Option<std::path::PathBuf>,
}

pub fn run(data_dir: &Path, args: KafkaArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let advertised = match &args.advertise {
        None => None,
        Some(a) => {
            let (host, port) = a
                .rsplit_once(':')
                .with_context(|| format!("--advertise {a:?} is not HOST:PORT"))?;
            let port: u16 = port
                .parse()
                .with_context(|| format!("--advertise {a:?}: {port:?} is not a port number"))?;
            Some((host.to_string(), port))
        }
    };
    if args.default_partitions == 0 {
        anyhow::bail!("--default-partitions must be at least 1");
    }
    let sasl = match &args.sasl_users {
        None => None,
        Some(path) => Some(Arc::new(brook_kafka::SaslUsers::load(path)?)),
    };
    let config = brook_kafka::KafkaConfig {
        sasl,
        advertised,
        auto_create_topics: !args.no_auto_create_topics,
        default_partitions: args.default_partitions,
        ..Default::default()
    };
    let log = Arc::new(super::open_log(data_dir)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the Kafka listener's runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        writeln!(
            out,
            "Kafka listener on {} serving {} (Ctrl-C stops)",
            listener.local_addr()?,
            data_dir.display()
        )?;
        out.flush()?;
        brook_kafka::serve(log, listener, config, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("Kafka listener failed")
    })
}
