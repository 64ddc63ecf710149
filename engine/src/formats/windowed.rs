//! Windowed keys: the bytes Kafka Streams (and so ksqlDB) writes for the keys of windowed
//! tables, and their logical form in conformance cases.
//!
//! - Time windows (tumbling, hopping): the inner key's bytes followed by the window start as an
//!   8-byte big-endian epoch-ms (`TimeWindowedSerializer`). The end is not stored: it is the
//!   start plus the window size, which the reader must know.
//! - Session windows: the inner key's bytes followed by the window end and then the window
//!   start, each 8 bytes big-endian (`SessionWindowedSerializer`).
//!
//! Conformance cases write the window beside the key as `"window": {"start": 0, "end": 30000,
//! "type": "time"}` (or `"session"`).

use serde_json::json;

use super::FormatError;

/// The kind of window a key carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WindowType {
    /// Tumbling and hopping windows: fixed size, only the start is serialized.
    Time,
    /// Session windows: start and end are serialized.
    Session,
}

impl WindowType {
    /// The name conformance cases use (`time` / `session`).
    pub fn as_str(self) -> &'static str {
        match self {
            WindowType::Time => "time",
            WindowType::Session => "session",
        }
    }
}

/// A window's bounds in epoch ms (`end` exclusive for time windows, the last record's time
/// for sessions, as ksqlDB reports them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    pub start: i64,
    pub end: i64,
}

const TS: usize = 8;

fn read_i64(bytes: &[u8]) -> i64 {
    let mut buf = [0u8; TS];
    buf.copy_from_slice(bytes);
    i64::from_be_bytes(buf)
}

/// Appends the window start to a serialized inner key (time windows).
pub fn encode_time_windowed(inner: &[u8], start: i64) -> Vec<u8> {
    encode_windowed(inner, Window { start, end: start }, WindowType::Time)
}

/// Splits a time-windowed key into the inner key's bytes and the window, whose end is
/// `start + size_ms`.
pub fn decode_time_windowed(bytes: &[u8], size_ms: i64) -> Result<(&[u8], Window), FormatError> {
    if bytes.len() < TS {
        return Err(FormatError::Decode(format!(
            "time-windowed key of {} bytes is shorter than its {TS}-byte window start",
            bytes.len()
        )));
    }
    let (inner, ts) = bytes.split_at(bytes.len() - TS);
    let start = read_i64(ts);
    Ok((
        inner,
        Window {
            start,
            end: start.saturating_add(size_ms),
        },
    ))
}

/// Appends the window end and start to a serialized inner key (session windows).
pub fn encode_session_windowed(inner: &[u8], window: Window) -> Vec<u8> {
    encode_windowed(inner, window, WindowType::Session)
}

/// Splits a session-windowed key into the inner key's bytes and the window.
pub fn decode_session_windowed(bytes: &[u8]) -> Result<(&[u8], Window), FormatError> {
    if bytes.len() < 2 * TS {
        return Err(FormatError::Decode(format!(
            "session-windowed key of {} bytes is shorter than its {}-byte window",
            bytes.len(),
            2 * TS
        )));
    }
    let (inner, rest) = bytes.split_at(bytes.len() - 2 * TS);
    let end = read_i64(&rest[..TS]);
    let start = read_i64(&rest[TS..]);
    Ok((inner, Window { start, end }))
}

/// Encodes a windowed key of either type.
pub fn encode_windowed(inner: &[u8], window: Window, window_type: WindowType) -> Vec<u8> {
    let trailer = match window_type {
        WindowType::Time => TS,
        WindowType::Session => 2 * TS,
    };
    // Exactly its length, so that a record's `Bytes` takes it without reallocating.
    let mut out = Vec::with_capacity(inner.len() + trailer);
    out.extend_from_slice(inner);
    append_window(&mut out, window, window_type);
    out
}

/// Appends what [`encode_windowed`] puts after the inner key: the window start (time
/// windows), or its end and start (session windows).
pub fn append_window(out: &mut Vec<u8>, window: Window, window_type: WindowType) {
    if window_type == WindowType::Session {
        out.extend_from_slice(&window.end.to_be_bytes());
    }
    out.extend_from_slice(&window.start.to_be_bytes());
}

/// Decodes a windowed key of either type (`size_ms` is used for time windows only).
pub fn decode_windowed(
    bytes: &[u8],
    window_type: WindowType,
    size_ms: i64,
) -> Result<(&[u8], Window), FormatError> {
    match window_type {
        WindowType::Time => decode_time_windowed(bytes, size_ms),
        WindowType::Session => decode_session_windowed(bytes),
    }
}

/// The logical form: `{"start": .., "end": .., "type": "time"|"session"}`.
pub fn window_to_json(window: Window, window_type: WindowType) -> serde_json::Value {
    json!({"start": window.start, "end": window.end, "type": window_type.as_str()})
}

/// Reads the logical form (type names case-insensitive; `tumbling`/`hopping` mean `time`).
pub fn window_from_json(value: &serde_json::Value) -> Result<(Window, WindowType), FormatError> {
    let bad = |what: &str| FormatError::Decode(format!("invalid window {value}: {what}"));
    let field = |name: &str| {
        value
            .get(name)
            .and_then(|v| v.as_i64())
            .ok_or_else(|| bad(&format!("missing integer '{name}'")))
    };
    let start = field("start")?;
    let end = field("end")?;
    let window_type = match value
        .get("type")
        .and_then(|t| t.as_str())
        .map(|t| t.to_ascii_lowercase())
        .as_deref()
    {
        Some("time") | Some("tumbling") | Some("hopping") => WindowType::Time,
        Some("session") => WindowType::Session,
        _ => return Err(bad("type must be 'time' or 'session'")),
    };
    Ok((Window { start, end }, window_type))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_windowed_bytes() {
        let bytes = encode_time_windowed(&[0, 0, 0, 7], 30_000);
        assert_eq!(bytes, [0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0x75, 0x30]);
        let (inner, w) = decode_time_windowed(&bytes, 30_000).unwrap();
        assert_eq!(inner, [0, 0, 0, 7]);
        assert_eq!(
            w,
            Window {
                start: 30_000,
                end: 60_000
            }
        );
    }

    #[test]
    fn session_windowed_bytes_end_before_start() {
        let w = Window { start: 1, end: 2 };
        let bytes = encode_session_windowed(b"k", w);
        assert_eq!(
            bytes,
            [b'k', 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1]
        );
        assert_eq!(decode_session_windowed(&bytes).unwrap(), (&b"k"[..], w));
    }

    #[test]
    fn empty_inner_key_and_truncation() {
        let bytes = encode_windowed(b"", Window { start: -5, end: 0 }, WindowType::Session);
        assert_eq!(
            decode_windowed(&bytes, WindowType::Session, 0).unwrap().0,
            b""
        );
        assert!(decode_time_windowed(&[1, 2, 3], 10).is_err());
        assert!(decode_session_windowed(&[0; 15]).is_err());
    }

    #[test]
    fn logical_form() {
        let w = Window {
            start: 0,
            end: 30000,
        };
        let j = window_to_json(w, WindowType::Time);
        assert_eq!(j, json!({"start": 0, "end": 30000, "type": "time"}));
        assert_eq!(window_from_json(&j).unwrap(), (w, WindowType::Time));
        let s = json!({"start": 10, "end": 20, "type": "session"});
        assert_eq!(
            window_from_json(&s).unwrap(),
            (Window { start: 10, end: 20 }, WindowType::Session)
        );
        assert!(window_from_json(&json!({"start": 1})).is_err());
    }
}
