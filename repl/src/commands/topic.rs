//! `brook topic create|list|describe|delete`.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use brook_engine::log::TopicConfig;

use super::{open_log, parse_config_pairs};
use crate::cli::TopicCommand;

pub fn run(data_dir: &Path, command: TopicCommand, out: &mut impl Write) -> anyhow::Result<()> {
    match command {
        TopicCommand::Create {
            name,
            partitions,
            config,
        } => {
            let log = open_log(data_dir)?;
            let config = TopicConfig::from_properties(partitions, &parse_config_pairs(&config)?)?;
            log.create_topic(&name, config)?;
            writeln!(out, "Created topic {name} with {partitions} partition(s)")?;
        }
        TopicCommand::List => {
            let log = open_log(data_dir)?;
            for name in log.topics() {
                writeln!(out, "{name}")?;
            }
        }
        TopicCommand::Describe { name } => {
            let log = open_log(data_dir)?;
            let topic = log.topic(&name)?;
            writeln!(
                out,
                "Topic: {}  Partitions: {}",
                topic.name(),
                topic.partition_count()
            )?;
            let config = topic.config().to_properties();
            if !config.is_empty() {
                let rendered: Vec<String> =
                    config.iter().map(|(k, v)| format!("{k}={v}")).collect();
                writeln!(out, "Config: {}", rendered.join(", "))?;
            }
            let mut table = comfy_table::Table::new();
            table.load_preset(comfy_table::presets::ASCII_BORDERS_ONLY_CONDENSED);
            table.set_header([
                "Partition",
                "Start offset",
                "End offset",
                "Segments",
                "Bytes",
            ]);
            for partition in topic.partitions() {
                let (start, end) = (partition.start_offset(), partition.end_offset());
                table.add_row([
                    partition.id().to_string(),
                    start.to_string(),
                    end.to_string(),
                    partition.segments().len().to_string(),
                    partition.size_bytes().to_string(),
                ]);
            }
            writeln!(out, "{table}")?;
        }
        TopicCommand::Delete { name } => {
            let log = open_log(data_dir)?;
            log.delete_topic(&name)
                .with_context(|| format!("cannot delete topic {name}"))?;
            writeln!(out, "Deleted topic {name}")?;
        }
    }
    Ok(())
}
