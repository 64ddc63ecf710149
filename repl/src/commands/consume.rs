//! `brook consume TOPIC`: prints records as JSON lines, from the end (like Kafka's console
//! consumer), the beginning or an offset; `--follow` tails the log until interrupted.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context};
use base64::Engine as _;
use brook_engine::log::{Partition, ReadLimit, StoredRecord};
use serde_json::{json, Map, Value};

use crate::cli::ConsumeArgs;
use brook_engine::log::Log;

/// Records read per call: keeps memory bounded while amortising the read.
const READ_CHUNK: usize = 4096;

pub fn run(data_dir: &Path, args: ConsumeArgs, out: &mut impl Write) -> anyhow::Result<()> {
    // A reader never takes the data directory's lock, so `brook produce` (or a server) can
    // keep writing while this process tails the topic.
    let log = Log::open_read_only(data_dir)
        .with_context(|| format!("cannot open data directory {}", data_dir.display()))?;
    let topic = log.topic(&args.topic)?;
    let partitions: Vec<Arc<Partition>> = match args.partition {
        Some(p) => vec![topic.partition(p)?.clone()],
        None => topic.partitions().to_vec(),
    };
    let mut positions = Vec::with_capacity(partitions.len());
    for partition in &partitions {
        let position = match args.offset {
            Some(offset) => {
                let (start, end) = (partition.start_offset(), partition.end_offset());
                if offset < start || offset > end {
                    bail!(
                        "offset {offset} is outside partition {} of {} (offsets {start}..{end})",
                        partition.id(),
                        topic.name()
                    );
                }
                offset
            }
            None if args.from_beginning => partition.start_offset(),
            None => partition.end_offset(),
        };
        positions.push(position);
    }
    let runtime = match args.follow {
        true => Some(
            tokio::runtime::Builder::new_current_thread()
                .build()
                .context("cannot start the tailing runtime")?,
        ),
        false => None,
    };
    let mut remaining = args.limit.unwrap_or(u64::MAX);
    let mut out = std::io::BufWriter::new(out);
    loop {
        let mut progressed = false;
        for (partition, position) in partitions.iter().zip(positions.iter_mut()) {
            while remaining > 0 {
                let chunk = (remaining.min(READ_CHUNK as u64)) as usize;
                let records = partition
                    .read(*position, ReadLimit::records(chunk))
                    .with_context(|| {
                        format!(
                            "reading {} partition {} at offset {}",
                            topic.name(),
                            partition.id(),
                            position
                        )
                    })?;
                let Some(last) = records.last() else { break };
                *position = last.offset + 1;
                remaining -= records.len() as u64;
                progressed = true;
                for record in &records {
                    serde_json::to_writer(
                        &mut out,
                        &record_json(topic.name(), partition.id(), record),
                    )?;
                    out.write_all(b"\n")?;
                }
            }
        }
        let Some(runtime) = runtime.as_ref().filter(|_| remaining > 0) else {
            break;
        };
        if !progressed {
            out.flush()?;
            runtime.block_on(wait_for_any(&partitions, &positions))?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Waits until one of the partitions has a record at or past its reader's position.
/// Fails if the topic is deleted meanwhile.
async fn wait_for_any(
    partitions: &[Arc<Partition>],
    positions: &[u64],
) -> brook_engine::log::Result<u64> {
    let waits = partitions
        .iter()
        .zip(positions)
        .map(|(p, &pos)| Box::pin(p.wait_for_append(pos)));
    futures::future::select_all(waits).await.0
}

/// One record as the JSON object `consume` prints.
pub fn record_json(topic: &str, partition: u32, record: &StoredRecord) -> Value {
    let mut object = Map::new();
    object.insert("topic".into(), json!(topic));
    object.insert("partition".into(), json!(partition));
    object.insert("offset".into(), json!(record.offset));
    object.insert("timestamp".into(), json!(record.timestamp));
    insert_bytes(&mut object, "key", record.key.as_deref());
    insert_bytes(&mut object, "value", record.value.as_deref());
    if !record.headers.is_empty() {
        let headers: Vec<Value> = record
            .headers
            .iter()
            .map(|(name, value)| {
                let mut header = Map::new();
                header.insert("key".into(), json!(name));
                insert_bytes(&mut header, "value", value.as_deref());
                Value::Object(header)
            })
            .collect();
        object.insert("headers".into(), Value::Array(headers));
    }
    Value::Object(object)
}

/// UTF-8 bytes become a string; other bytes become base64 with `<field>_encoding: "base64"`.
fn insert_bytes(object: &mut Map<String, Value>, field: &str, bytes: Option<&[u8]>) {
    match bytes {
        None => {
            object.insert(field.into(), Value::Null);
        }
        Some(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => {
                object.insert(field.into(), json!(text));
            }
            Err(_) => {
                object.insert(
                    field.into(),
                    json!(base64::engine::general_purpose::STANDARD.encode(bytes)),
                );
                object.insert(format!("{field}_encoding"), json!("base64"));
            }
        },
    }
}
