//! The Protocol Buffers wire encoding: base-128 varints, zigzag, field tags, fixed-width and
//! length-delimited values, as the protobuf encoding spec defines them. Reading reports
//! malformed input with protobuf-java's messages and never panics.

/// Wire type of varint-encoded values (int32, int64, uint*, sint*, bool, enum).
pub(crate) const VARINT: u8 = 0;
/// Wire type of 8-byte little-endian values (double, fixed64, sfixed64).
pub(crate) const I64: u8 = 1;
/// Wire type of length-delimited values (string, bytes, messages, packed repeated fields).
pub(crate) const LEN: u8 = 2;
const SGROUP: u8 = 3;
const EGROUP: u8 = 4;
/// Wire type of 4-byte little-endian values (float, fixed32, sfixed32).
pub(crate) const I32: u8 = 5;

/// The largest field number protobuf allows.
pub(crate) const MAX_FIELD_NUMBER: u32 = (1 << 29) - 1;

const TRUNCATED: &str = "While parsing a protocol message, the input ended unexpectedly in the middle of a field.  This could mean either that the input has been truncated or that an embedded message misreported its own length.";

pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(crate) fn put_tag(out: &mut Vec<u8>, field: u32, wire: u8) {
    put_varint(out, ((field as u64) << 3) | wire as u64);
}

/// A length-delimited field: tag, length, bytes.
pub(crate) fn put_len(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    put_tag(out, field, LEN);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

pub(crate) fn zigzag32(v: i32) -> u64 {
    ((v << 1) ^ (v >> 31)) as u32 as u64
}

pub(crate) fn zigzag64(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

pub(crate) fn unzigzag32(v: u64) -> i32 {
    let v = v as u32;
    ((v >> 1) as i32) ^ -((v & 1) as i32)
}

pub(crate) fn unzigzag64(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// One field value as it sits on the wire.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum WireValue<'a> {
    Varint(u64),
    Fixed64(u64),
    Len(&'a [u8]),
    Fixed32(u32),
    /// A (proto2) group, skipped: no field of ksqlDB's schemas is one.
    Group,
}

/// Reads the fields of one message, in wire order.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub(crate) fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos.min(self.buf.len())..]
    }

    pub(crate) fn varint(&mut self) -> Result<u64, String> {
        let mut v: u64 = 0;
        for i in 0..10 {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(TRUNCATED.into());
            };
            self.pos += 1;
            v |= ((b & 0x7f) as u64) << (7 * i);
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err("CodedInputStream encountered a malformed varint.".into())
    }

    /// A 4-byte little-endian value (a packed fixed32, sfixed32 or float).
    pub(crate) fn fixed32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    /// An 8-byte little-endian value (a packed fixed64, sfixed64 or double).
    pub(crate) fn fixed64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.buf.len());
        match end {
            Some(end) => {
                let s = &self.buf[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(TRUNCATED.into()),
        }
    }

    /// The next field as `(number, value)`, or `None` at the end of the message.
    pub(crate) fn field(&mut self) -> Result<Option<(u32, WireValue<'a>)>, String> {
        if self.is_empty() {
            return Ok(None);
        }
        let (number, wire) = self.tag()?;
        let value = self.value(number, wire, 0)?;
        Ok(Some((number, value)))
    }

    fn tag(&mut self) -> Result<(u32, u8), String> {
        let tag = self.varint()?;
        if tag > u32::MAX as u64 {
            return Err("Protocol message contained an invalid tag.".into());
        }
        let number = (tag >> 3) as u32;
        if number == 0 {
            return Err("Protocol message contained an invalid tag (zero).".into());
        }
        Ok((number, (tag & 7) as u8))
    }

    fn value(&mut self, number: u32, wire: u8, depth: usize) -> Result<WireValue<'a>, String> {
        Ok(match wire {
            VARINT => WireValue::Varint(self.varint()?),
            I64 => WireValue::Fixed64(self.fixed64()?),
            LEN => {
                let n = self.varint()?;
                let n = usize::try_from(n).map_err(|_| TRUNCATED.to_string())?;
                WireValue::Len(self.take(n)?)
            }
            I32 => WireValue::Fixed32(self.fixed32()?),
            SGROUP => {
                if depth > 64 {
                    return Err("Protocol message had too many levels of nesting.".into());
                }
                loop {
                    if self.is_empty() {
                        return Err(TRUNCATED.into());
                    }
                    let (n, w) = self.tag()?;
                    if w == EGROUP {
                        if n != number {
                            return Err(
                                "Protocol message end-group tag did not match expected tag.".into(),
                            );
                        }
                        break;
                    }
                    self.value(n, w, depth + 1)?;
                }
                WireValue::Group
            }
            EGROUP => {
                return Err("Protocol message end-group tag did not match expected tag.".into())
            }
            _ => return Err("Protocol message tag had invalid wire type.".into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_as_the_spec_writes_them() {
        let enc = |v: u64| {
            let mut out = vec![];
            put_varint(&mut out, v);
            out
        };
        assert_eq!(enc(0), [0x00]);
        assert_eq!(enc(1), [0x01]);
        assert_eq!(enc(150), [0x96, 0x01]);
        assert_eq!(enc(300), [0xac, 0x02]);
        // negative int32/int64 are sign-extended to ten bytes
        assert_eq!(
            enc(-1i64 as u64),
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]
        );
        for v in [0u64, 1, 127, 128, 300, u32::MAX as u64, u64::MAX] {
            assert_eq!(Reader::new(&enc(v)).varint(), Ok(v));
        }
    }

    #[test]
    fn zigzag_as_the_spec_maps_it() {
        assert_eq!(zigzag32(0), 0);
        assert_eq!(zigzag32(-1), 1);
        assert_eq!(zigzag32(1), 2);
        assert_eq!(zigzag32(-2), 3);
        assert_eq!(zigzag32(i32::MAX), 0xffff_fffe);
        assert_eq!(zigzag32(i32::MIN), 0xffff_ffff);
        assert_eq!(zigzag64(i64::MIN), u64::MAX);
        for v in [0, 1, -1, 12345, -12345, i32::MAX, i32::MIN] {
            assert_eq!(unzigzag32(zigzag32(v)), v);
        }
        for v in [0, 1, -1, i64::MAX, i64::MIN] {
            assert_eq!(unzigzag64(zigzag64(v)), v);
        }
    }

    #[test]
    fn fields_in_wire_order() {
        // field 1 varint 150, field 2 "testing", field 3 fixed32 1, field 4 fixed64 2
        let mut buf = vec![0x08, 0x96, 0x01, 0x12, 0x07];
        buf.extend_from_slice(b"testing");
        buf.extend_from_slice(&[0x1d, 1, 0, 0, 0, 0x21, 2, 0, 0, 0, 0, 0, 0, 0]);
        let mut r = Reader::new(&buf);
        assert_eq!(r.field(), Ok(Some((1, WireValue::Varint(150)))));
        assert_eq!(r.field(), Ok(Some((2, WireValue::Len(b"testing")))));
        assert_eq!(r.field(), Ok(Some((3, WireValue::Fixed32(1)))));
        assert_eq!(r.field(), Ok(Some((4, WireValue::Fixed64(2)))));
        assert_eq!(r.field(), Ok(None));
    }

    #[test]
    fn groups_are_skipped() {
        // field 5 start-group, inner field 1 varint 7, field 5 end-group, then field 1 = 1
        let buf = [0x2b, 0x08, 0x07, 0x2c, 0x08, 0x01];
        let mut r = Reader::new(&buf);
        assert_eq!(r.field(), Ok(Some((5, WireValue::Group))));
        assert_eq!(r.field(), Ok(Some((1, WireValue::Varint(1)))));
    }

    #[test]
    fn malformed_input_is_an_error() {
        let bad: [&[u8]; 7] = [
            &[0x08],             // tag without value
            &[0x08, 0x80],       // varint cut short
            &[0x12, 0x05, b'a'], // length beyond the end
            &[0x00, 0x01],       // field number zero
            &[0x0e, 0x01],       // wire type 6
            &[0x0c],             // end-group without a start
            &[
                0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
            ],
        ];
        for b in bad {
            let mut r = Reader::new(b);
            let mut res = Ok(Some((0, WireValue::Group)));
            while let Ok(Some(_)) = res {
                res = r.field();
            }
            assert!(res.is_err(), "{b:?} read as {res:?}");
        }
    }
}
