//! batch.rs owns the on-disk record batch format: encoding records into length-prefixed,
//! CRC32C-checked batches in one reusable buffer, and validating/decoding them again.
//!
//! Batch layout (big-endian, Kafka-like):
//!
//! ```text
//! 0  base_offset        u64   offset of the first record the batch covers
//! 8  batch_length       u32   bytes after this field
//! 12 magic              u8    1
//! 13 crc                u32   CRC32C of the whole batch except this field
//!                              (bytes [0, 13) then [17, end): the base offset is covered)
//! 17 attributes         u16   0 (reserved for compression)
//! 19 last_offset_delta  u32   last offset covered - base_offset
//! 23 first_timestamp    i64   timestamp of the first record
//! 31 max_timestamp      i64   largest record timestamp
//! 39 record_count       u32
//! 43 records...                (magic 1)
//! 43 producer_id        i64   (magic 2 only; -1 = no producer)
//! 51 producer_epoch     i16
//! 53 base_sequence      i32   sequence number of the first record (-1 = none)
//! 57 records...                (magic 2)
//! ```
//!
//! Magic 1 batches are plain appends (what every directory written before transactions
//! holds, and what plain appends still write). Magic 2 batches carry a producer: an
//! idempotent or transactional append, or a control batch (a transaction's commit or abort
//! marker). Attribute bits are Kafka's: `0x10` transactional, `0x20` control.
//!
//! Record: `length` (varint), `attributes` (u8), `timestamp_delta` (zigzag varlong,
//! relative to first_timestamp), `offset_delta` (varint), key length (zigzag, -1 = null)
//! and bytes, value length (zigzag, -1 = null) and bytes, header count (varint), then per
//! header: name length (varint) and UTF-8 bytes, value length (zigzag, -1 = null) and bytes.

use bytes::Bytes;

use crate::record::{AsRecord, Header, StoredRecord};

/// Bytes before `batch_length` ends: base offset + length.
pub(crate) const LOG_OVERHEAD: usize = 12;
/// Size of the fixed batch header (magic 1; the smallest a batch can have).
pub(crate) const HEADER_LEN: usize = 43;
/// Size of the header of a batch with a producer (magic 2).
pub(crate) const PRODUCER_HEADER_LEN: usize = 57;
/// The plain batch format version.
pub(crate) const MAGIC: u8 = 1;
/// The batch format version with producer id, epoch and base sequence.
pub(crate) const MAGIC_PRODUCER: u8 = 2;
/// Attribute bit: the batch belongs to a transaction.
pub(crate) const ATTR_TRANSACTIONAL: u16 = 0x10;
/// Attribute bit: the batch is a control batch (a commit or abort marker).
pub(crate) const ATTR_CONTROL: u16 = 0x20;
/// Offset of the CRC field; the CRC covers `[0, CRC_AT)` and `[CRC_START, end)`.
const CRC_AT: usize = 13;
/// Offset where the CRC-covered bytes after the CRC field start.
const CRC_START: usize = 17;

/// CRC32C of a whole batch except its CRC field.
fn batch_crc(b: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&b[..CRC_AT]), &b[CRC_START..])
}

/// The fixed header of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchHeader {
    pub magic: u8,
    pub attributes: u16,
    pub base_offset: u64,
    /// Bytes after the length field; the whole batch is `LOG_OVERHEAD + length`.
    pub length: u32,
    pub crc: u32,
    pub last_offset_delta: u32,
    pub first_timestamp: i64,
    pub max_timestamp: i64,
    pub record_count: u32,
    /// -1 when the batch has no producer (magic 1).
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
}

/// The producer of an idempotent or transactional append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProducerStamp {
    pub producer_id: i64,
    pub epoch: i16,
    /// Sequence number of the first record.
    pub base_sequence: i32,
    pub transactional: bool,
}

impl BatchHeader {
    /// Bytes of the header (records start here).
    pub fn header_len(&self) -> usize {
        if self.magic == MAGIC_PRODUCER {
            PRODUCER_HEADER_LEN
        } else {
            HEADER_LEN
        }
    }

    /// A commit or abort marker.
    pub fn is_control(&self) -> bool {
        self.attributes & ATTR_CONTROL != 0
    }

    /// Part of a transaction (data or marker).
    pub fn is_transactional(&self) -> bool {
        self.attributes & ATTR_TRANSACTIONAL != 0
    }

    /// Total bytes of the batch on disk.
    pub fn total_len(&self) -> u64 {
        LOG_OVERHEAD as u64 + self.length as u64
    }

    /// Last offset covered by the batch.
    pub fn last_offset(&self) -> u64 {
        self.base_offset + self.last_offset_delta as u64
    }
}

/// Where one encoded batch sits in the encode buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchMeta {
    /// Start of the batch in the buffer.
    pub start: usize,
    /// Length of the batch.
    pub len: usize,
    pub base_offset: u64,
    pub last_offset: u64,
    pub max_timestamp: i64,
}

/// Reads the 12-byte prefix: (base_offset, batch_length).
pub(crate) fn read_prefix(b: &[u8]) -> (u64, u32) {
    let mut o = [0u8; 8];
    o.copy_from_slice(&b[0..8]);
    let mut l = [0u8; 4];
    l.copy_from_slice(&b[8..12]);
    (u64::from_be_bytes(o), u32::from_be_bytes(l))
}

/// Parses and checks the fixed header of a batch (`b` holds at least `HEADER_LEN` bytes).
/// Does not check the CRC.
pub(crate) fn parse_header(b: &[u8]) -> Result<BatchHeader, String> {
    if b.len() < HEADER_LEN {
        return Err(format!(
            "batch header needs {HEADER_LEN} bytes, have {}",
            b.len()
        ));
    }
    let (base_offset, length) = read_prefix(b);
    if (length as usize) < HEADER_LEN - LOG_OVERHEAD {
        return Err(format!(
            "batch length {length} is shorter than a batch header"
        ));
    }
    let magic = b[12];
    if magic != MAGIC && magic != MAGIC_PRODUCER {
        return Err(format!(
            "unknown batch magic {magic} (expected {MAGIC} or {MAGIC_PRODUCER})"
        ));
    }
    let producer = magic == MAGIC_PRODUCER;
    if producer
        && (b.len() < PRODUCER_HEADER_LEN || (length as usize) < PRODUCER_HEADER_LEN - LOG_OVERHEAD)
    {
        return Err(format!(
            "batch with a producer needs a {PRODUCER_HEADER_LEN}-byte header"
        ));
    }
    let attributes = u16::from_be_bytes([b[17], b[18]]);
    if !producer && attributes & (ATTR_CONTROL | ATTR_TRANSACTIONAL) != 0 {
        return Err(format!(
            "batch attributes {attributes:#x} need a producer (magic {MAGIC_PRODUCER})"
        ));
    }
    let h = BatchHeader {
        magic,
        attributes,
        base_offset,
        length,
        crc: be_u32(&b[13..17]),
        last_offset_delta: be_u32(&b[19..23]),
        first_timestamp: be_u64(&b[23..31]) as i64,
        max_timestamp: be_u64(&b[31..39]) as i64,
        record_count: be_u32(&b[39..43]),
        producer_id: if producer {
            be_u64(&b[43..51]) as i64
        } else {
            -1
        },
        producer_epoch: if producer {
            i16::from_be_bytes([b[51], b[52]])
        } else {
            -1
        },
        base_sequence: if producer {
            be_u32(&b[53..57]) as i32
        } else {
            -1
        },
    };
    if h.record_count as u64 > h.last_offset_delta as u64 + 1 {
        return Err(format!(
            "batch claims {} records for {} offsets",
            h.record_count,
            h.last_offset_delta as u64 + 1
        ));
    }
    if base_offset
        .checked_add(h.last_offset_delta as u64)
        .is_none()
    {
        return Err(format!("batch base offset {base_offset} overflows"));
    }
    Ok(h)
}

/// True when the CRC stored in the batch matches its contents (`b` is the whole batch).
pub(crate) fn crc_ok(h: &BatchHeader, b: &[u8]) -> bool {
    b.len() >= HEADER_LEN && batch_crc(b) == h.crc
}

fn be_u32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    u32::from_be_bytes(a)
}

fn be_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_be_bytes(a)
}

// ---------- varints ----------

#[inline]
fn uvarint_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

#[inline]
fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

#[inline]
fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

#[inline]
fn put_uvarint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

#[inline]
fn put_varint(buf: &mut Vec<u8>, v: i64) {
    put_uvarint(buf, zigzag(v));
}

#[inline]
fn opt_len(b: Option<&[u8]>) -> i64 {
    b.map_or(-1, |b| b.len() as i64)
}

/// Size of a record's body (everything after its length varint).
fn body_len(
    ts_delta: i64,
    offset_delta: u64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[Header],
) -> usize {
    let mut n = 1
        + uvarint_len(zigzag(ts_delta))
        + uvarint_len(offset_delta)
        + uvarint_len(zigzag(opt_len(key)))
        + key.map_or(0, |k| k.len())
        + uvarint_len(zigzag(opt_len(value)))
        + value.map_or(0, |v| v.len())
        + uvarint_len(headers.len() as u64);
    for (name, v) in headers {
        let v = v.as_deref();
        n += uvarint_len(name.len() as u64)
            + name.len()
            + uvarint_len(zigzag(opt_len(v)))
            + v.map_or(0, |v| v.len());
    }
    n
}

/// Encoded size of a record (length varint + body).
fn record_len(
    ts_delta: i64,
    offset_delta: u64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[Header],
) -> usize {
    let b = body_len(ts_delta, offset_delta, key, value, headers);
    uvarint_len(b as u64) + b
}

#[allow(clippy::too_many_arguments)]
fn put_record(
    buf: &mut Vec<u8>,
    body: usize,
    ts_delta: i64,
    offset_delta: u64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[Header],
) {
    put_uvarint(buf, body as u64);
    buf.push(0); // attributes
    put_varint(buf, ts_delta);
    put_uvarint(buf, offset_delta);
    put_varint(buf, opt_len(key));
    if let Some(k) = key {
        buf.extend_from_slice(k);
    }
    put_varint(buf, opt_len(value));
    if let Some(v) = value {
        buf.extend_from_slice(v);
    }
    put_uvarint(buf, headers.len() as u64);
    for (name, v) in headers {
        put_uvarint(buf, name.len() as u64);
        buf.extend_from_slice(name.as_bytes());
        let v = v.as_deref();
        put_varint(buf, opt_len(v));
        if let Some(v) = v {
            buf.extend_from_slice(v);
        }
    }
}

/// Size of `r` alone in a batch of its own: what `max.message.bytes` is compared with.
pub(crate) fn single_record_batch_len<R: AsRecord>(r: &R) -> usize {
    HEADER_LEN + record_len(0, 0, r.key(), r.value(), r.headers())
}

/// Why records could not be encoded.
#[derive(Debug)]
pub(crate) enum EncodeError {
    /// Record `index` (of the slice given) is larger than the batch limit on its own
    /// (`size` bytes).
    RecordTooLarge { index: usize, size: usize },
}

/// Encodes `records` with offsets from `base_offset` into `buf` (appending), splitting
/// into several batches so that none is larger than `max_batch_bytes` (when a record alone
/// is larger, that is an error). Pushes one `BatchMeta` per batch into `metas`.
pub(crate) fn encode_records<R: AsRecord>(
    buf: &mut Vec<u8>,
    metas: &mut Vec<BatchMeta>,
    base_offset: u64,
    records: &[R],
    max_batch_bytes: usize,
    producer: Option<ProducerStamp>,
) -> Result<(), EncodeError> {
    let header_len = if producer.is_some() {
        PRODUCER_HEADER_LEN
    } else {
        HEADER_LEN
    };
    let estimate: usize = records
        .iter()
        .map(|r| {
            24 + r.key().map_or(0, |k| k.len())
                + r.value().map_or(0, |v| v.len())
                + r.headers()
                    .iter()
                    .map(|(n, v)| n.len() + v.as_ref().map_or(0, |v| v.len()) + 4)
                    .sum::<usize>()
        })
        .sum();
    buf.reserve(estimate + header_len);
    let mut i = 0;
    while i < records.len() {
        let start = buf.len();
        let batch_base = base_offset + i as u64;
        let first_ts = records[i].timestamp();
        let mut max_ts = i64::MIN;
        buf.resize(start + header_len, 0);
        let mut n = 0usize;
        while i + n < records.len() {
            let r = &records[i + n];
            let ts_delta = r.timestamp().wrapping_sub(first_ts);
            let (key, value) = (r.key(), r.value());
            let body = body_len(ts_delta, n as u64, key, value, r.headers());
            let rlen = uvarint_len(body as u64) + body;
            if buf.len() - start + rlen > max_batch_bytes {
                if n == 0 {
                    buf.truncate(start);
                    return Err(EncodeError::RecordTooLarge {
                        index: i,
                        size: single_record_batch_len(r) + header_len - HEADER_LEN,
                    });
                }
                break;
            }
            put_record(buf, body, ts_delta, n as u64, key, value, r.headers());
            max_ts = max_ts.max(r.timestamp());
            n += 1;
        }
        let stamp = producer.map(|p| ProducerStamp {
            base_sequence: p.base_sequence.wrapping_add(i as i32),
            ..p
        });
        finish_batch(
            buf,
            start,
            batch_base,
            (n - 1) as u32,
            first_ts,
            max_ts,
            n as u32,
            stamp.map(|p| {
                (
                    p,
                    if p.transactional {
                        ATTR_TRANSACTIONAL
                    } else {
                        0
                    },
                )
            }),
        );
        metas.push(BatchMeta {
            start,
            len: buf.len() - start,
            base_offset: batch_base,
            last_offset: batch_base + (n - 1) as u64,
            max_timestamp: max_ts,
        });
        i += n;
    }
    Ok(())
}

/// Re-encodes records that keep their original offsets (compaction) as one batch covering
/// `base_offset..=base_offset + last_offset_delta`. `records` must be non-empty, in offset
/// order, within that range.
pub(crate) fn encode_with_offsets(
    buf: &mut Vec<u8>,
    base_offset: u64,
    last_offset_delta: u32,
    records: &[StoredRecord],
) {
    let start = buf.len();
    buf.resize(start + HEADER_LEN, 0);
    let first_ts = records.first().map_or(0, |r| r.timestamp);
    let mut max_ts = i64::MIN;
    for r in records {
        let ts_delta = r.timestamp.wrapping_sub(first_ts);
        let od = r.offset - base_offset;
        let (key, value) = (r.key.as_deref(), r.value.as_deref());
        let body = body_len(ts_delta, od, key, value, &r.headers);
        put_record(buf, body, ts_delta, od, key, value, &r.headers);
        max_ts = max_ts.max(r.timestamp);
    }
    finish_batch(
        buf,
        start,
        base_offset,
        last_offset_delta,
        first_ts,
        max_ts,
        records.len() as u32,
        None,
    );
}

/// What a control record says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ControlKind {
    Abort,
    Commit,
}

/// Encodes a control batch (a transaction marker) of one record at `offset`: key =
/// version (i16, 0) + type (i16: 0 abort, 1 commit), as Kafka's; value = version (i16, 0)
/// + the first offset of the transaction in this partition (u64).
pub(crate) fn encode_control(
    buf: &mut Vec<u8>,
    offset: u64,
    producer_id: i64,
    epoch: i16,
    kind: ControlKind,
    first_offset: u64,
    ts: i64,
) {
    let start = buf.len();
    buf.resize(start + PRODUCER_HEADER_LEN, 0);
    let mut key = Vec::with_capacity(4);
    key.extend_from_slice(&0i16.to_be_bytes());
    key.extend_from_slice(&(if kind == ControlKind::Commit { 1i16 } else { 0 }).to_be_bytes());
    let mut value = Vec::with_capacity(10);
    value.extend_from_slice(&0i16.to_be_bytes());
    value.extend_from_slice(&first_offset.to_be_bytes());
    let body = body_len(0, 0, Some(&key), Some(&value), &[]);
    put_record(buf, body, 0, 0, Some(&key), Some(&value), &[]);
    let stamp = ProducerStamp {
        producer_id,
        epoch,
        base_sequence: -1,
        transactional: true,
    };
    finish_batch(
        buf,
        start,
        offset,
        0,
        ts,
        ts,
        1,
        Some((stamp, ATTR_TRANSACTIONAL | ATTR_CONTROL)),
    );
}

/// Decodes a control record's (kind, first offset of the transaction).
pub(crate) fn parse_control(r: &StoredRecord) -> Option<(ControlKind, u64)> {
    let k = r.key.as_deref()?;
    let v = r.value.as_deref()?;
    if k.len() != 4 || v.len() != 10 {
        return None;
    }
    let kind = match i16::from_be_bytes([k[2], k[3]]) {
        0 => ControlKind::Abort,
        1 => ControlKind::Commit,
        _ => return None,
    };
    Some((kind, u64::from_be_bytes(v[2..10].try_into().ok()?)))
}

#[allow(clippy::too_many_arguments)]
fn finish_batch(
    buf: &mut [u8],
    start: usize,
    base: u64,
    last_delta: u32,
    first_ts: i64,
    max_ts: i64,
    count: u32,
    producer: Option<(ProducerStamp, u16)>,
) {
    let len = (buf.len() - start - LOG_OVERHEAD) as u32;
    let h = &mut buf[start..];
    h[0..8].copy_from_slice(&base.to_be_bytes());
    h[8..12].copy_from_slice(&len.to_be_bytes());
    match producer {
        None => {
            h[12] = MAGIC;
            h[17..19].copy_from_slice(&0u16.to_be_bytes());
        }
        Some((p, attributes)) => {
            h[12] = MAGIC_PRODUCER;
            h[17..19].copy_from_slice(&attributes.to_be_bytes());
            h[43..51].copy_from_slice(&p.producer_id.to_be_bytes());
            h[51..53].copy_from_slice(&p.epoch.to_be_bytes());
            h[53..57].copy_from_slice(&p.base_sequence.to_be_bytes());
        }
    }
    h[19..23].copy_from_slice(&last_delta.to_be_bytes());
    h[23..31].copy_from_slice(&first_ts.to_be_bytes());
    h[31..39].copy_from_slice(&max_ts.to_be_bytes());
    h[39..43].copy_from_slice(&count.to_be_bytes());
    let crc = batch_crc(h);
    h[13..17].copy_from_slice(&crc.to_be_bytes());
}

// ---------- decoding ----------

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn uvarint(&mut self) -> Result<u64, String> {
        let mut v: u64 = 0;
        let mut shift = 0;
        loop {
            let byte = *self
                .b
                .get(self.pos)
                .ok_or("varint runs past end of record")?;
            self.pos += 1;
            if shift == 63 && byte > 1 {
                return Err("varint overflows 64 bits".into());
            }
            v |= ((byte & 0x7f) as u64) << shift;
            if byte & 0x80 == 0 {
                return Ok(v);
            }
            shift += 7;
            if shift > 63 {
                return Err("varint longer than 10 bytes".into());
            }
        }
    }

    fn varint(&mut self) -> Result<i64, String> {
        self.uvarint().map(unzigzag)
    }

    fn u8(&mut self) -> Result<u8, String> {
        let b = *self.b.get(self.pos).ok_or("record truncated")?;
        self.pos += 1;
        Ok(b)
    }

    /// A (start, len) span of `n` bytes.
    fn span(&mut self, n: usize) -> Result<(usize, usize), String> {
        if n > self.b.len() - self.pos {
            return Err(format!("field of {n} bytes runs past end of record"));
        }
        let s = self.pos;
        self.pos += n;
        Ok((s, n))
    }

    /// A nullable length-prefixed span.
    fn opt_span(&mut self) -> Result<Option<(usize, usize)>, String> {
        match self.varint()? {
            -1 => Ok(None),
            n if n < 0 => Err(format!("negative field length {n}")),
            n => self.span(n as usize).map(Some),
        }
    }
}

/// Decodes the records of one CRC-checked batch. `batch` is the whole batch (header
/// included) as a slice of a shared buffer, so keys and values are zero-copy slices.
/// Calls `f` for each record with offset `>= from_offset`; `f` returns false to stop.
/// The `usize` passed along is the record's encoded size.
pub(crate) fn decode_records(
    batch: &Bytes,
    h: &BatchHeader,
    from_offset: u64,
    mut f: impl FnMut(StoredRecord, usize) -> bool,
) -> Result<(), String> {
    let b: &[u8] = batch;
    let mut c = Cursor {
        b,
        pos: h.header_len(),
    };
    let mut last_offset: Option<u64> = None;
    for _ in 0..h.record_count {
        let len = c.uvarint()?;
        let start = c.pos;
        if len as usize > b.len() - start {
            return Err(format!("record length {len} runs past end of batch"));
        }
        let end = start + len as usize;
        let mut r = Cursor {
            b: &b[..end],
            pos: start,
        };
        let _attributes = r.u8()?;
        let ts = h.first_timestamp.wrapping_add(r.varint()?);
        let od = r.uvarint()?;
        if od > h.last_offset_delta as u64 {
            return Err(format!(
                "record offset delta {od} beyond batch's last delta {}",
                h.last_offset_delta
            ));
        }
        let offset = h.base_offset + od;
        if last_offset.is_some_and(|l| offset <= l) {
            return Err(format!("record offsets not increasing at offset {offset}"));
        }
        last_offset = Some(offset);
        let key = r.opt_span()?;
        let value = r.opt_span()?;
        let nh = r.uvarint()?;
        if nh > len {
            return Err(format!(
                "header count {nh} is impossible in a {len}-byte record"
            ));
        }
        let wanted = offset >= from_offset;
        let mut headers = Vec::new();
        if nh > 0 && wanted {
            headers.reserve(nh as usize);
        }
        for _ in 0..nh {
            let nl = r.uvarint()?;
            let (ns, nl) = r.span(usize::try_from(nl).map_err(|_| "header name too long")?)?;
            let hv = r.opt_span()?;
            if wanted {
                let name = std::str::from_utf8(&b[ns..ns + nl])
                    .map_err(|_| "header name is not UTF-8".to_string())?;
                headers.push((name.to_string(), hv.map(|(s, l)| batch.slice(s..s + l))));
            }
        }
        if r.pos != end {
            return Err(format!(
                "record at offset {offset} has {} trailing bytes",
                end - r.pos
            ));
        }
        c.pos = end;
        if wanted {
            let rec = StoredRecord {
                offset,
                timestamp: ts,
                key: key.map(|(s, l)| batch.slice(s..s + l)),
                value: value.map(|(s, l)| batch.slice(s..s + l)),
                headers,
            };
            if !f(rec, end - start + uvarint_len(len)) {
                return Ok(());
            }
        }
    }
    if c.pos != b.len() {
        return Err(format!(
            "batch has {} trailing bytes after {} records",
            b.len() - c.pos,
            h.record_count
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Record;

    fn rec(i: u64) -> Record {
        let mut r = Record::new(
            if i.is_multiple_of(3) {
                None
            } else {
                Some(Bytes::from(format!("key-{i}")))
            },
            if i % 5 == 4 {
                None
            } else {
                Some(Bytes::from(vec![i as u8; (i % 40) as usize]))
            },
            1_700_000_000_000 + (i as i64 * 7919) % 1000 - 500,
        );
        if i.is_multiple_of(2) {
            r.headers
                .push((format!("h{i}"), Some(Bytes::from_static(b"hv"))));
            r.headers.push(("null".into(), None));
        }
        r
    }

    fn decode_all(buf: &[u8], metas: &[BatchMeta]) -> Vec<StoredRecord> {
        let mut out = Vec::new();
        for m in metas {
            let b = Bytes::copy_from_slice(&buf[m.start..m.start + m.len]);
            let h = parse_header(&b).unwrap();
            assert!(crc_ok(&h, &b));
            assert_eq!(h.total_len() as usize, m.len);
            assert_eq!(h.base_offset, m.base_offset);
            assert_eq!(h.last_offset(), m.last_offset);
            decode_records(&b, &h, 0, |r, _| {
                out.push(r);
                true
            })
            .unwrap();
        }
        out
    }

    #[test]
    fn varints_size_write_and_read_back_at_every_width() {
        let mut values = vec![0u64, 1, u64::MAX, u64::MAX - 1];
        for shift in 1..64 {
            let edge = 1u64 << shift;
            values.extend([edge - 1, edge, edge + 1]);
        }
        for v in values {
            let mut buf = Vec::new();
            put_uvarint(&mut buf, v);
            assert_eq!(buf.len(), uvarint_len(v), "{v}");
            let mut c = Cursor { b: &buf, pos: 0 };
            assert_eq!(c.uvarint(), Ok(v));
            assert_eq!(c.pos, buf.len());
            let signed = v as i64;
            let mut buf = Vec::new();
            put_varint(&mut buf, signed);
            let mut c = Cursor { b: &buf, pos: 0 };
            assert_eq!(c.varint(), Ok(signed));
        }
    }

    #[test]
    fn roundtrip_one_batch() {
        let records: Vec<Record> = (0..100).map(rec).collect();
        let (mut buf, mut metas) = (Vec::new(), Vec::new());
        encode_records(&mut buf, &mut metas, 1000, &records, usize::MAX, None).unwrap();
        assert_eq!(metas.len(), 1);
        let out = decode_all(&buf, &metas);
        assert_eq!(out.len(), 100);
        for (i, (o, r)) in out.iter().zip(&records).enumerate() {
            assert_eq!(o.offset, 1000 + i as u64);
            assert_eq!(&o.to_record(), r);
        }
        assert_eq!(
            metas[0].max_timestamp,
            records.iter().map(|r| r.timestamp).max().unwrap()
        );
    }

    #[test]
    fn splits_batches_at_max_bytes_and_rejects_huge_record() {
        let records: Vec<Record> = (0..200)
            .map(|i| Record::unkeyed(vec![1u8; 100], i))
            .collect();
        let (mut buf, mut metas) = (Vec::new(), Vec::new());
        encode_records(&mut buf, &mut metas, 0, &records, 1000, None).unwrap();
        assert!(metas.len() > 20);
        assert!(metas.iter().all(|m| m.len <= 1000));
        let out = decode_all(&buf, &metas);
        assert_eq!(out.len(), 200);
        assert!(out
            .iter()
            .enumerate()
            .all(|(i, r)| r.offset == i as u64 && r.timestamp == i as i64));

        let big = [Record::unkeyed(vec![0u8; 2000], 0)];
        let (mut buf, mut metas) = (Vec::new(), Vec::new());
        match encode_records(&mut buf, &mut metas, 0, &big, 1000, None) {
            Err(EncodeError::RecordTooLarge { index, size }) => {
                assert_eq!(index, 0);
                assert!(size > 2000)
            }
            Ok(()) => panic!("accepted a too large record"),
        }
        assert!(buf.is_empty());
    }

    #[test]
    fn detects_corruption() {
        let records: Vec<Record> = (0..10).map(rec).collect();
        let (mut buf, mut metas) = (Vec::new(), Vec::new());
        encode_records(&mut buf, &mut metas, 0, &records, usize::MAX, None).unwrap();
        for i in (0..buf.len()).filter(|i| !(CRC_AT..CRC_START).contains(i)) {
            let mut b = buf.clone();
            b[i] ^= 0x40;
            let h = parse_header(&b);
            assert!(
                h.is_err() || !crc_ok(h.as_ref().unwrap(), &b),
                "flip at {i} undetected"
            );
        }
        let mut b = buf.clone();
        b[12] = 9;
        assert!(parse_header(&b).is_err());
    }

    #[test]
    fn garbage_never_panics() {
        // Decoding arbitrary bytes that pass the header check must error, not panic.
        let mut seed = 12345u64;
        for _ in 0..2000 {
            let len = HEADER_LEN + (seed % 64) as usize;
            let mut v = vec![0u8; len];
            for x in v.iter_mut() {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                *x = (seed >> 33) as u8;
            }
            v[8..12].copy_from_slice(&((len - LOG_OVERHEAD) as u32).to_be_bytes());
            // Both formats: plain, and with a producer (whose header is longer).
            v[12] = if seed.is_multiple_of(2) {
                MAGIC
            } else {
                MAGIC_PRODUCER
            };
            v[19..23].copy_from_slice(&1000u32.to_be_bytes());
            v[39..43].copy_from_slice(&((seed % 5) as u32).to_be_bytes());
            let b = Bytes::from(v);
            if let Ok(h) = parse_header(&b) {
                let _ = decode_records(&b, &h, 0, |_, _| true);
            }
        }
    }

    #[test]
    fn producer_batches_and_markers_round_trip() {
        let records: Vec<Record> = (0..40).map(rec).collect();
        let (mut buf, mut metas) = (Vec::new(), Vec::new());
        let stamp = ProducerStamp {
            producer_id: 42,
            epoch: 3,
            base_sequence: 7,
            transactional: true,
        };
        encode_records(&mut buf, &mut metas, 100, &records, 300, Some(stamp)).unwrap();
        assert!(metas.len() > 1, "split into several batches");
        let mut seq = 7;
        for m in &metas {
            let b = Bytes::copy_from_slice(&buf[m.start..m.start + m.len]);
            let h = parse_header(&b).unwrap();
            assert!(crc_ok(&h, &b));
            assert_eq!(
                (h.producer_id, h.producer_epoch, h.base_sequence),
                (42, 3, seq)
            );
            assert!(h.is_transactional() && !h.is_control());
            seq += h.record_count as i32;
        }
        let out = decode_all(&buf, &metas);
        assert_eq!(
            out.iter().map(|r| r.to_record()).collect::<Vec<_>>(),
            records
        );

        let mut m = Vec::new();
        encode_control(&mut m, 500, 42, 3, ControlKind::Abort, 100, 9);
        let b = Bytes::from(m);
        let h = parse_header(&b).unwrap();
        assert!(crc_ok(&h, &b) && h.is_control() && h.is_transactional());
        let mut recs = Vec::new();
        decode_records(&b, &h, 0, |r, _| {
            recs.push(r);
            true
        })
        .unwrap();
        assert_eq!(parse_control(&recs[0]), Some((ControlKind::Abort, 100)));
        assert_eq!(recs[0].offset, 500);
    }

    #[test]
    fn compaction_reencode_keeps_offsets() {
        let records: Vec<Record> = (0..10)
            .map(|i| Record::keyed(format!("k{i}"), "v", i))
            .collect();
        let (mut buf, mut metas) = (Vec::new(), Vec::new());
        encode_records(&mut buf, &mut metas, 50, &records, usize::MAX, None).unwrap();
        let all = decode_all(&buf, &metas);
        let kept: Vec<StoredRecord> = all.into_iter().filter(|r| r.offset % 3 == 0).collect();
        let mut b2 = Vec::new();
        encode_with_offsets(&mut b2, 50, 9, &kept);
        let b2 = Bytes::from(b2);
        let h = parse_header(&b2).unwrap();
        assert!(crc_ok(&h, &b2));
        assert_eq!(h.last_offset(), 59);
        let mut out = Vec::new();
        decode_records(&b2, &h, 0, |r, _| {
            out.push(r);
            true
        })
        .unwrap();
        assert_eq!(out, kept);
    }
}
