//! payloads.rs owns [`Payloads`]: a batch's encoded keys or values in one buffer, so a sink
//! encodes a batch without an allocation per record. Frozen ([`Payloads::freeze`]), each
//! payload is a slice of one shared `Bytes`.

use bytes::Bytes;

/// Encoded payloads, one per row, in one buffer (a row's payload may be null).
#[derive(Debug, Default)]
pub struct Payloads {
    buf: Vec<u8>,
    /// Row `i`'s payload is `buf[ends[i - 1]..ends[i]]`.
    ends: Vec<usize>,
    nulls: Vec<bool>,
    /// Bytes each non-null payload ends with, `width` per row (a windowed key's window),
    /// appended as the row ends: no second buffer to copy the keys into.
    row_suffixes: Option<(Vec<u8>, usize)>,
}

impl Payloads {
    /// Room for `rows` payloads of `bytes` bytes in all.
    pub fn with_capacity(rows: usize, bytes: usize) -> Self {
        Payloads {
            buf: Vec::with_capacity(bytes),
            ends: Vec::with_capacity(rows),
            nulls: Vec::with_capacity(rows),
            row_suffixes: None,
        }
    }

    /// From now on row `i`'s payload, unless null, ends with `suffixes[i * width..][..width]`.
    pub fn set_row_suffixes(&mut self, suffixes: Vec<u8>, width: usize) {
        self.row_suffixes = Some((suffixes, width));
    }

    /// Appends a payload (None: null).
    pub fn push(&mut self, payload: Option<&[u8]>) {
        match payload {
            Some(p) => {
                self.buf.extend_from_slice(p);
                self.end_row();
            }
            None => {
                self.ends.push(self.buf.len());
                self.nulls.push(true);
            }
        }
    }

    /// The buffer, to write the next payload's bytes at its end (then [`Payloads::end_row`]).
    pub fn buf_mut(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Ends the payload written since the last row.
    pub fn end_row(&mut self) {
        if let Some((suffixes, width)) = &self.row_suffixes {
            let row = self.ends.len();
            if let Some(s) = suffixes.get(row * width..(row + 1) * width) {
                self.buf.extend_from_slice(s);
            }
        }
        self.ends.push(self.buf.len());
        self.nulls.push(false);
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    fn span(&self, i: usize) -> (usize, usize) {
        let from = if i == 0 { 0 } else { self.ends[i - 1] };
        (from, self.ends[i])
    }

    /// Row `i`'s payload.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        if self.nulls[i] {
            return None;
        }
        let (from, to) = self.span(i);
        Some(&self.buf[from..to])
    }

    /// Each payload in a vector of its own.
    pub fn to_vecs(&self) -> Vec<Option<Vec<u8>>> {
        (0..self.len())
            .map(|i| self.get(i).map(<[u8]>::to_vec))
            .collect()
    }

    /// The payloads as slices of one `Bytes`.
    pub fn freeze(self) -> FrozenPayloads {
        FrozenPayloads {
            buf: Bytes::from(self.buf),
            ends: self.ends,
            nulls: self.nulls,
        }
    }
}

/// [`Payloads`] whose buffer is shared by the payloads handed out.
#[derive(Debug)]
pub struct FrozenPayloads {
    buf: Bytes,
    ends: Vec<usize>,
    nulls: Vec<bool>,
}

impl FrozenPayloads {
    /// Row `i`'s payload (a slice of the shared buffer).
    pub fn get(&self, i: usize) -> Option<Bytes> {
        if self.nulls[i] {
            return None;
        }
        let from = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(self.buf.slice(from..self.ends[i]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_come_back_as_pushed_before_and_after_freezing() {
        let mut p = Payloads::default();
        p.push(Some(b"ab"));
        p.push(None);
        p.buf_mut().extend_from_slice(b"c");
        p.buf_mut().extend_from_slice(b"d");
        p.end_row();
        p.push(Some(b""));
        assert_eq!(p.len(), 4);
        let want = vec![
            Some(b"ab".to_vec()),
            None,
            Some(b"cd".to_vec()),
            Some(vec![]),
        ];
        assert_eq!(p.to_vecs(), want);
        let f = p.freeze();
        let got: Vec<Option<Vec<u8>>> = (0..4).map(|i| f.get(i).map(|b| b.to_vec())).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn row_suffixes_end_non_null_payloads() {
        let mut p = Payloads::default();
        p.set_row_suffixes(b"111222333".to_vec(), 3);
        p.push(Some(b"a"));
        p.push(None);
        p.buf_mut().extend_from_slice(b"c");
        p.end_row();
        let want = vec![Some(b"a111".to_vec()), None, Some(b"c333".to_vec())];
        assert_eq!(p.to_vecs(), want);
    }
}
