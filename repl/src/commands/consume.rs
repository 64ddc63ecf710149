//! `brook consume TOPIC`: prints records as JSON lines, from the end (like Kafka's console
//! consumer), the beginning or an offset; `--follow` tails the log until interrupted.
//! `--isolation-level read_committed` leaves out records of aborted transactions and stops
//! at the first record of a transaction still open in the writing process (the read-only
//! log derives both from the batches it reads; see `Partition::last_stable_offset`).

use std::borrow::Cow;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context};
use base64::Engine as _;
use brook_engine::log::{IsolationLevel, Partition, ReadLimit, StoredRecord};
use serde::Serialize;

use crate::cli::{ConsumeArgs, Isolation};
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
    let isolation = match args.isolation_level {
        Isolation::ReadUncommitted => IsolationLevel::ReadUncommitted,
        Isolation::ReadCommitted => IsolationLevel::ReadCommitted,
    };
    let mut remaining = args.limit.unwrap_or(u64::MAX);
    let mut out = std::io::BufWriter::new(out);
    loop {
        let mut progressed = false;
        // Where to wait for the next append when nothing could be read: past what the log
        // held before this round (records beyond the last stable offset are there, but
        // unreadable until their transaction ends, which appends a marker).
        let mut wait_at: Vec<u64> = partitions.iter().map(|p| p.end_offset()).collect();
        for ((partition, position), wait_at) in partitions
            .iter()
            .zip(positions.iter_mut())
            .zip(&mut wait_at)
        {
            while remaining > 0 {
                let chunk = (remaining.min(READ_CHUNK as u64)) as usize;
                let read = partition
                    .read_isolated(*position, ReadLimit::records(chunk), isolation)
                    .with_context(|| {
                        format!(
                            "reading {} partition {} at offset {}",
                            topic.name(),
                            partition.id(),
                            position
                        )
                    })?;
                // Past transaction markers and aborted records too, never to read them again.
                let moved = read.next_offset > *position;
                *position = read.next_offset;
                *wait_at = (*wait_at).max(*position);
                let records = read.records;
                if records.is_empty() {
                    if moved {
                        continue;
                    }
                    break;
                }
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
            runtime.block_on(wait_for_any(&partitions, &wait_at))?;
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

/// One record as `consume` prints it; fields serialize in this order.
#[derive(Debug, Serialize)]
pub struct RecordJson<'a> {
    pub topic: &'a str,
    pub partition: u32,
    pub offset: u64,
    pub timestamp: i64,
    pub key: Option<Cow<'a, str>>,
    /// `"base64"` when the key is not UTF-8 and `key` holds its base64 form.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_encoding: Option<&'static str>,
    pub value: Option<Cow<'a, str>>,
    /// `"base64"` when the value is not UTF-8 and `value` holds its base64 form.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_encoding: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HeaderJson<'a>>,
}

/// One record header as `consume` prints it.
#[derive(Debug, Serialize)]
pub struct HeaderJson<'a> {
    pub key: &'a str,
    pub value: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_encoding: Option<&'static str>,
}

/// One record as the JSON object `consume` prints:
/// `{"topic","partition","offset","timestamp","key","value"}` (+ encodings and headers).
pub fn record_json<'a>(topic: &'a str, partition: u32, record: &'a StoredRecord) -> RecordJson<'a> {
    let (key, key_encoding) = text_or_base64(record.key.as_deref());
    let (value, value_encoding) = text_or_base64(record.value.as_deref());
    let headers = record
        .headers
        .iter()
        .map(|(name, value)| {
            let (value, value_encoding) = text_or_base64(value.as_deref());
            HeaderJson {
                key: name,
                value,
                value_encoding,
            }
        })
        .collect();
    RecordJson {
        topic,
        partition,
        offset: record.offset,
        timestamp: record.timestamp,
        key,
        key_encoding,
        value,
        value_encoding,
        headers,
    }
}

/// UTF-8 bytes stay text; other bytes become base64, flagged with `Some("base64")`.
fn text_or_base64(bytes: Option<&[u8]>) -> (Option<Cow<'_, str>>, Option<&'static str>) {
    match bytes {
        None => (None, None),
        Some(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => (Some(Cow::Borrowed(text)), None),
            Err(_) => (
                Some(Cow::Owned(
                    base64::engine::general_purpose::STANDARD.encode(bytes),
                )),
                Some("base64"),
            ),
        },
    }
}
