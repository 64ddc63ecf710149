//! `brook produce TOPIC`: one record per stdin line, partitioned by key like Kafka.

use std::io::{BufRead, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use brook_engine::log::{Bytes, LogError, Record, Topic, TopicConfig};

use super::open_log;
use crate::cli::ProduceArgs;

/// Records per append: large enough to amortise the write, small enough to bound memory.
const BATCH_RECORDS: usize = 4096;

/// What one `produce` run did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ProduceSummary {
    pub written: u64,
    pub rejected: u64,
}

pub fn run(
    data_dir: &Path,
    args: ProduceArgs,
    input: impl BufRead,
    out: &mut impl Write,
    err: &mut impl Write,
) -> anyhow::Result<()> {
    let log = open_log(data_dir)?;
    let topic = match (log.topic(&args.topic), args.partitions) {
        (Ok(topic), _) => topic,
        (Err(LogError::TopicNotFound(_)), Some(partitions)) => {
            log.create_topic(&args.topic, TopicConfig::new(partitions))?
        }
        (Err(LogError::TopicNotFound(_)), None) => bail!(
            "topic {:?} does not exist: create it with `brook topic create` or pass --partitions N",
            args.topic
        ),
        (Err(e), _) => return Err(e.into()),
    };
    if matches!(&args.key_separator, Some(sep) if sep.is_empty()) {
        bail!("--key-separator must not be empty");
    }
    let summary = produce_lines(&topic, args.key_separator.as_deref(), input, err)?;
    writeln!(
        out,
        "{} records written to {}",
        summary.written,
        topic.name()
    )?;
    if summary.rejected > 0 {
        bail!("{} line(s) were not accepted (see above)", summary.rejected);
    }
    Ok(())
}

/// Appends every line of `input` to `topic`; lines that cannot be accepted are reported
/// on `err` with their line number and skipped, the rest are written.
pub fn produce_lines(
    topic: &Topic,
    key_separator: Option<&str>,
    mut input: impl BufRead,
    err: &mut impl Write,
) -> anyhow::Result<ProduceSummary> {
    let mut summary = ProduceSummary::default();
    let mut batch: Vec<(u64, Record)> = Vec::with_capacity(BATCH_RECORDS);
    let mut line = Vec::new();
    let mut line_no = 0u64;
    loop {
        line.clear();
        let n = input
            .read_until(b'\n', &mut line)
            .context("cannot read stdin")?;
        if n == 0 {
            break;
        }
        line_no += 1;
        strip_line_end(&mut line);
        let timestamp = now_ms();
        let record = match key_separator {
            None => Record::unkeyed(Bytes::copy_from_slice(&line), timestamp),
            Some(sep) => match find(&line, sep.as_bytes()) {
                Some(at) => Record::keyed(
                    Bytes::copy_from_slice(&line[..at]),
                    Bytes::copy_from_slice(&line[at + sep.len()..]),
                    timestamp,
                ),
                None => {
                    writeln!(
                        err,
                        "line {line_no}: no key separator {sep:?} in the line; skipped"
                    )?;
                    summary.rejected += 1;
                    continue;
                }
            },
        };
        batch.push((line_no, record));
        if batch.len() == BATCH_RECORDS {
            flush(topic, &mut batch, &mut summary, err)?;
        }
    }
    flush(topic, &mut batch, &mut summary, err)?;
    Ok(summary)
}

/// Appends a batch. If the batch as a whole is refused because of one record (too large,
/// say), retries record by record so that only the bad lines are rejected.
fn flush(
    topic: &Topic,
    batch: &mut Vec<(u64, Record)>,
    summary: &mut ProduceSummary,
    err: &mut impl Write,
) -> anyhow::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let records: Vec<Record> = batch.iter().map(|(_, r)| r.clone()).collect();
    match topic.produce(&records) {
        Ok(_) => summary.written += records.len() as u64,
        Err(e) if is_record_error(&e) => {
            for (line_no, record) in batch.iter() {
                match topic.produce(std::slice::from_ref(record)) {
                    Ok(_) => summary.written += 1,
                    Err(e) if is_record_error(&e) => {
                        writeln!(err, "line {line_no}: {e}; skipped")?;
                        summary.rejected += 1;
                    }
                    Err(e) => return Err(e).context(format!("writing line {line_no}")),
                }
            }
        }
        Err(e) => {
            let first = batch[0].0;
            return Err(e).context(format!(
                "writing lines {first}..{} ({} records were written before)",
                first + batch.len() as u64 - 1,
                summary.written
            ));
        }
    }
    batch.clear();
    Ok(())
}

/// True when one record is the cause (so the others can still be written); an append refused
/// as a whole (`index: None`, e.g. a partition that failed to write) is not.
fn is_record_error(e: &LogError) -> bool {
    matches!(
        e,
        LogError::RecordTooLarge { .. } | LogError::InvalidRecord { index: Some(_), .. }
    )
}

fn strip_line_end(line: &mut Vec<u8>) {
    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
