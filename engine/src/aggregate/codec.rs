//! The binary encoding of accumulator state (what `Accumulator::save` writes and
//! `AggregateFunction::load` reads): a one-byte tag naming the accumulator, then its fields
//! as LEB128 varints (zig-zag for signed integers), little-endian doubles and
//! length-prefixed bytes. Values of any SQL type are written against their declared Arrow
//! type ([`write_value`] / [`read_value`]): a presence byte, then the payload; arrays,
//! maps and structs recursively. Reading never panics: truncated or inconsistent input is
//! `AggregateError::CorruptState`.

use std::sync::Arc;

use arrow::array::{Array, AsArray, StructArray};
use arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float64Type, Int32Type, Int64Type, Time32MillisecondType,
    TimeUnit, TimestampMillisecondType,
};
use datafusion::common::ScalarValue;

use super::values::{list_scalar, map_scalar, typed_null};
use super::AggregateError;

/// The tag that starts each accumulator's saved state.
pub(crate) mod tag {
    pub const COUNT: u8 = 1;
    pub const COUNT_DISTINCT: u8 = 2;
    pub const SUM_INT: u8 = 3;
    pub const SUM_BIGINT: u8 = 4;
    pub const SUM_DOUBLE: u8 = 5;
    pub const SUM_DECIMAL: u8 = 6;
    pub const SUM_LIST: u8 = 7;
    pub const MIN_MAX: u8 = 8;
    pub const AVG: u8 = 9;
    pub const COLLECT_LIST: u8 = 10;
    pub const COLLECT_SET: u8 = 11;
    pub const LATEST: u8 = 12;
    pub const EARLIEST: u8 = 13;
    pub const OFFSET_N: u8 = 14;
    pub const TOPK: u8 = 15;
    pub const HISTOGRAM: u8 = 16;
    pub const STDDEV: u8 = 17;
    pub const CORRELATION: u8 = 18;
    pub const ATTR: u8 = 19;
    /// The conformance harness's test UDAFs (`catalog::test_functions::udaf`).
    pub const TEST_UDAF: u8 = 100;
}

pub(crate) fn corrupt(what: impl Into<String>) -> AggregateError {
    AggregateError::CorruptState(what.into())
}

/// Appends the encoding to a byte vector.
#[derive(Default)]
pub(crate) struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn new(tag: u8) -> Self {
        Writer { buf: vec![tag] }
    }

    pub fn finish(self) -> Vec<u8> {
        self.buf
    }

    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub fn bool(&mut self, v: bool) {
        self.buf.push(v as u8);
    }

    pub fn u64(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    pub fn u128(&mut self, mut v: u128) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    pub fn i64(&mut self, v: i64) {
        self.u64(((v << 1) ^ (v >> 63)) as u64);
    }

    pub fn i128(&mut self, v: i128) {
        self.u128(((v << 1) ^ (v >> 127)) as u128);
    }

    pub fn usize(&mut self, v: usize) {
        self.u64(v as u64);
    }

    pub fn f64(&mut self, v: f64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn bytes(&mut self, v: &[u8]) {
        self.usize(v.len());
        self.buf.extend_from_slice(v);
    }
}

/// Reads what [`Writer`] wrote.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts reading a state that must begin with `tag`.
    pub fn new(buf: &'a [u8], tag: u8) -> Result<Self, AggregateError> {
        match buf.first() {
            Some(t) if *t == tag => Ok(Reader { buf, pos: 1 }),
            Some(t) => Err(corrupt(format!(
                "state tagged {t}, expected {tag} (saved by another aggregate function?)"
            ))),
            None => Err(corrupt("empty state")),
        }
    }

    /// Errors unless everything was read.
    pub fn finish(self) -> Result<(), AggregateError> {
        if self.pos == self.buf.len() {
            Ok(())
        } else {
            Err(corrupt(format!(
                "{} trailing bytes",
                self.buf.len() - self.pos
            )))
        }
    }

    pub fn u8(&mut self) -> Result<u8, AggregateError> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| corrupt("truncated state"))?;
        self.pos += 1;
        Ok(b)
    }

    pub fn bool(&mut self) -> Result<bool, AggregateError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(corrupt(format!("bad boolean byte {b}"))),
        }
    }

    pub fn u64(&mut self) -> Result<u64, AggregateError> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(corrupt("varint too long"))
    }

    pub fn u128(&mut self) -> Result<u128, AggregateError> {
        let mut v: u128 = 0;
        for shift in (0..128).step_by(7) {
            let b = self.u8()?;
            v |= u128::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(corrupt("varint too long"))
    }

    pub fn i64(&mut self) -> Result<i64, AggregateError> {
        let v = self.u64()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    pub fn i32(&mut self) -> Result<i32, AggregateError> {
        i32::try_from(self.i64()?).map_err(|_| corrupt("integer out of range"))
    }

    pub fn i128(&mut self) -> Result<i128, AggregateError> {
        let v = self.u128()?;
        Ok(((v >> 1) as i128) ^ -((v & 1) as i128))
    }

    /// A count or length: bounded by the bytes left, so that a corrupt length cannot make
    /// the reader allocate gigabytes (every element takes at least one byte).
    pub fn len(&mut self) -> Result<usize, AggregateError> {
        let n = self.u64()?;
        let left = (self.buf.len() - self.pos) as u64;
        if n > left {
            return Err(corrupt(format!("length {n} beyond the {left} bytes left")));
        }
        Ok(n as usize)
    }

    pub fn f64(&mut self) -> Result<f64, AggregateError> {
        let end = self.pos + 8;
        let b = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| corrupt("truncated state"))?;
        self.pos = end;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_le_bytes(a))
    }

    pub fn bytes(&mut self) -> Result<&'a [u8], AggregateError> {
        let n = self.len()?;
        let end = self.pos + n;
        let b = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| corrupt("truncated state"))?;
        self.pos = end;
        Ok(b)
    }

    pub fn string(&mut self) -> Result<String, AggregateError> {
        let b = self.bytes()?;
        String::from_utf8(b.to_vec()).map_err(|_| corrupt("invalid UTF-8"))
    }
}

fn unsupported(dt: &DataType) -> AggregateError {
    AggregateError::InvalidArgument(format!("values of type {dt} cannot be stored"))
}

/// Writes `v`, a value of the declared type `dt` (as the accumulators keep them: see
/// `values::conform`).
pub(crate) fn write_value(
    w: &mut Writer,
    v: &ScalarValue,
    dt: &DataType,
) -> Result<(), AggregateError> {
    use ScalarValue as S;
    if v.is_null() {
        w.u8(0);
        return Ok(());
    }
    match v {
        S::List(a) => return write_array_value(w, a.as_ref(), 0, dt),
        S::Struct(a) => return write_array_value(w, a.as_ref(), 0, dt),
        S::Map(a) => return write_array_value(w, a.as_ref(), 0, dt),
        _ => {}
    }
    w.u8(1);
    match (v, dt) {
        (S::Boolean(Some(x)), DataType::Boolean) => w.bool(*x),
        (S::Int32(Some(x)), DataType::Int32)
        | (S::Date32(Some(x)), DataType::Date32)
        | (S::Time32Millisecond(Some(x)), DataType::Time32(TimeUnit::Millisecond)) => {
            w.i64(i64::from(*x))
        }
        (S::Int64(Some(x)), DataType::Int64)
        | (S::TimestampMillisecond(Some(x), _), DataType::Timestamp(TimeUnit::Millisecond, _)) => {
            w.i64(*x)
        }
        (S::Float64(Some(x)), DataType::Float64) => w.f64(*x),
        (S::Decimal128(Some(x), _, _), DataType::Decimal128(..)) => w.i128(*x),
        (S::Utf8(Some(x)), DataType::Utf8) => w.bytes(x.as_bytes()),
        (S::Binary(Some(x)), DataType::Binary) => w.bytes(x),
        _ => {
            return Err(AggregateError::InvalidArgument(format!(
                "cannot store a {} value as {dt}",
                v.data_type()
            )))
        }
    }
    Ok(())
}

/// [`write_value`], writing a null instead of a value that cannot be stored (none can
/// once conformed to its declared type; `save` has no error to return).
pub(crate) fn write_value_or_null(w: &mut Writer, v: &ScalarValue, dt: &DataType) {
    let start = w.buf.len();
    if write_value(w, v, dt).is_err() {
        w.buf.truncate(start);
        w.u8(0);
    }
}

/// Writes row `i` of `a` (an array of the declared type `dt`).
fn write_array_value(
    w: &mut Writer,
    a: &dyn Array,
    i: usize,
    dt: &DataType,
) -> Result<(), AggregateError> {
    if i >= a.len() {
        return Err(AggregateError::InvalidArgument("row out of range".into()));
    }
    if a.is_null(i) {
        w.u8(0);
        return Ok(());
    }
    if a.data_type() != dt {
        return Err(AggregateError::InvalidArgument(format!(
            "cannot store a {} value as {dt}",
            a.data_type()
        )));
    }
    w.u8(1);
    let bad = || unsupported(dt);
    match dt {
        DataType::Boolean => w.bool(a.as_boolean_opt().ok_or_else(bad)?.value(i)),
        DataType::Int32 => w.i64(i64::from(
            a.as_primitive_opt::<Int32Type>().ok_or_else(bad)?.value(i),
        )),
        DataType::Date32 => w.i64(i64::from(
            a.as_primitive_opt::<Date32Type>().ok_or_else(bad)?.value(i),
        )),
        DataType::Time32(TimeUnit::Millisecond) => w.i64(i64::from(
            a.as_primitive_opt::<Time32MillisecondType>()
                .ok_or_else(bad)?
                .value(i),
        )),
        DataType::Int64 => w.i64(a.as_primitive_opt::<Int64Type>().ok_or_else(bad)?.value(i)),
        DataType::Timestamp(TimeUnit::Millisecond, _) => w.i64(
            a.as_primitive_opt::<TimestampMillisecondType>()
                .ok_or_else(bad)?
                .value(i),
        ),
        DataType::Float64 => w.f64(
            a.as_primitive_opt::<Float64Type>()
                .ok_or_else(bad)?
                .value(i),
        ),
        DataType::Decimal128(..) => w.i128(
            a.as_primitive_opt::<Decimal128Type>()
                .ok_or_else(bad)?
                .value(i),
        ),
        DataType::Utf8 => w.bytes(
            a.as_string_opt::<i32>()
                .ok_or_else(bad)?
                .value(i)
                .as_bytes(),
        ),
        DataType::Binary => w.bytes(a.as_binary_opt::<i32>().ok_or_else(bad)?.value(i)),
        DataType::List(f) => {
            let child = a.as_list_opt::<i32>().ok_or_else(bad)?.value(i);
            w.usize(child.len());
            for j in 0..child.len() {
                write_array_value(w, child.as_ref(), j, f.data_type())?;
            }
        }
        DataType::Struct(fields) => {
            let s = a.as_struct_opt().ok_or_else(bad)?;
            for (col, f) in s.columns().iter().zip(fields.iter()) {
                write_array_value(w, col.as_ref(), i, f.data_type())?;
            }
        }
        DataType::Map(entries, _) => {
            let m = a.as_map_opt().ok_or_else(bad)?;
            let DataType::Struct(kv) = entries.data_type() else {
                return Err(bad());
            };
            if kv.len() != 2 {
                return Err(bad());
            }
            let row = m.value(i);
            w.usize(row.len());
            for j in 0..row.len() {
                write_array_value(w, row.column(0).as_ref(), j, kv[0].data_type())?;
                write_array_value(w, row.column(1).as_ref(), j, kv[1].data_type())?;
            }
        }
        _ => return Err(bad()),
    }
    Ok(())
}

/// Reads a value of type `dt` written by [`write_value`].
pub(crate) fn read_value(r: &mut Reader, dt: &DataType) -> Result<ScalarValue, AggregateError> {
    match r.u8()? {
        0 => return Ok(typed_null(dt)),
        1 => {}
        b => return Err(corrupt(format!("bad presence byte {b}"))),
    }
    let bad = |e: AggregateError| corrupt(format!("unreadable {dt} value: {e}"));
    Ok(match dt {
        DataType::Boolean => ScalarValue::Boolean(Some(r.bool()?)),
        DataType::Int32 => ScalarValue::Int32(Some(r.i32()?)),
        DataType::Date32 => ScalarValue::Date32(Some(r.i32()?)),
        DataType::Time32(TimeUnit::Millisecond) => ScalarValue::Time32Millisecond(Some(r.i32()?)),
        DataType::Int64 => ScalarValue::Int64(Some(r.i64()?)),
        DataType::Timestamp(TimeUnit::Millisecond, tz) => {
            ScalarValue::TimestampMillisecond(Some(r.i64()?), tz.clone())
        }
        DataType::Float64 => ScalarValue::Float64(Some(r.f64()?)),
        DataType::Decimal128(p, s) => ScalarValue::Decimal128(Some(r.i128()?), *p, *s),
        DataType::Utf8 => ScalarValue::Utf8(Some(r.string()?)),
        DataType::Binary => ScalarValue::Binary(Some(r.bytes()?.to_vec())),
        DataType::List(f) => {
            let n = r.len()?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(read_value(r, f.data_type())?);
            }
            list_scalar(f, items).map_err(bad)?
        }
        DataType::Struct(fields) => {
            let mut cols = Vec::with_capacity(fields.len());
            for f in fields.iter() {
                let v = read_value(r, f.data_type())?;
                cols.push(
                    v.to_array_of_size(1)
                        .map_err(|e| corrupt(format!("unreadable struct field: {e}")))?,
                );
            }
            let s = StructArray::try_new(fields.clone(), cols, None)
                .map_err(|e| corrupt(format!("unreadable struct: {e}")))?;
            ScalarValue::Struct(Arc::new(s))
        }
        DataType::Map(entries, _) => {
            let DataType::Struct(kv) = entries.data_type() else {
                return Err(corrupt(format!("bad map type {dt}")));
            };
            if kv.len() != 2 {
                return Err(corrupt(format!("bad map type {dt}")));
            }
            let n = r.len()?;
            let mut keys = Vec::with_capacity(n);
            let mut values = Vec::with_capacity(n);
            for _ in 0..n {
                keys.push(read_value(r, kv[0].data_type())?);
                values.push(read_value(r, kv[1].data_type())?);
            }
            map_scalar(entries, keys, values).map_err(bad)?
        }
        _ => return Err(corrupt(format!("values of type {dt} cannot be stored"))),
    })
}

/// The encoding of one value alone (the identity of a value for sets and ATTR).
pub(crate) fn value_key(v: &ScalarValue, dt: &DataType) -> Result<Vec<u8>, AggregateError> {
    let mut w = Writer::default();
    write_value(&mut w, v, dt)?;
    Ok(w.buf)
}

/// A stable 64-bit hash (FNV-1a with a SplitMix64 finish): the same on every run and
/// machine, so hashes can be saved.
pub(crate) fn stable_hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::sql_to_arrow;
    use brook_sql::SqlType;

    fn round_trip(v: &ScalarValue, t: &SqlType) -> ScalarValue {
        let dt = sql_to_arrow(t);
        let mut w = Writer::new(99);
        write_value(&mut w, v, &dt).unwrap();
        let bytes = w.finish();
        let mut r = Reader::new(&bytes, 99).unwrap();
        let back = read_value(&mut r, &dt).unwrap();
        r.finish().unwrap();
        assert_eq!(back.data_type(), dt);
        back
    }

    #[test]
    fn integers_round_trip() {
        let mut w = Writer::new(1);
        for v in [0i64, 1, -1, 63, -64, 64, i64::MAX, i64::MIN] {
            w.i64(v);
        }
        for v in [0i128, -1, i128::MAX, i128::MIN] {
            w.i128(v);
        }
        w.f64(-0.0);
        let b = w.finish();
        let mut r = Reader::new(&b, 1).unwrap();
        for v in [0i64, 1, -1, 63, -64, 64, i64::MAX, i64::MIN] {
            assert_eq!(r.i64().unwrap(), v);
        }
        for v in [0i128, -1, i128::MAX, i128::MIN] {
            assert_eq!(r.i128().unwrap(), v);
        }
        assert!(r.f64().unwrap().is_sign_negative());
        r.finish().unwrap();
    }

    #[test]
    fn nested_values_round_trip() {
        use SqlType as T;
        let t = T::array(T::Struct(vec![
            ("A".into(), T::String),
            ("M".into(), T::map(T::String, T::Double)),
            ("D".into(), T::decimal(4, 1)),
        ]));
        let dt = sql_to_arrow(&t);
        // [{A: 'x', M: {'k': 1.5}, D: 12.3}, NULL]
        let DataType::List(item) = &dt else { panic!() };
        let DataType::Struct(fields) = item.data_type() else {
            panic!()
        };
        let DataType::Map(entries, _) = fields[1].data_type() else {
            panic!()
        };
        let m = map_scalar(
            entries,
            vec![ScalarValue::Utf8(Some("k".into()))],
            vec![ScalarValue::Float64(Some(1.5))],
        )
        .unwrap();
        let cols = vec![
            ScalarValue::Utf8(Some("x".into())).to_array().unwrap(),
            m.to_array().unwrap(),
            ScalarValue::Decimal128(Some(123), 4, 1).to_array().unwrap(),
        ];
        let s = ScalarValue::Struct(Arc::new(
            StructArray::try_new(fields.clone(), cols, None).unwrap(),
        ));
        let null_struct = typed_null(item.data_type());
        let v = list_scalar(item, vec![s, null_struct]).unwrap();
        let back = round_trip(&v, &t);
        assert_eq!(back, v);
        // Every primitive type.
        for (v, t) in [
            (ScalarValue::Boolean(Some(true)), T::Boolean),
            (ScalarValue::Int32(Some(-5)), T::Int),
            (ScalarValue::Int64(Some(i64::MIN)), T::BigInt),
            (ScalarValue::Float64(Some(f64::NAN)), T::Double),
            (
                ScalarValue::Decimal128(Some(-12345), 10, 2),
                T::decimal(10, 2),
            ),
            (ScalarValue::Utf8(Some("héllo".into())), T::String),
            (ScalarValue::Binary(Some(vec![0, 255])), T::Bytes),
            (ScalarValue::Date32(Some(-3)), T::Date),
            (ScalarValue::Time32Millisecond(Some(1000)), T::Time),
            (
                ScalarValue::TimestampMillisecond(Some(-1), None),
                T::Timestamp,
            ),
            (ScalarValue::Utf8(None), T::String),
        ] {
            let back = round_trip(&v, &t);
            assert_eq!(format!("{back:?}"), format!("{v:?}"));
        }
    }

    #[test]
    fn corrupt_input_is_an_error() {
        let dt = sql_to_arrow(&SqlType::array(SqlType::String));
        for bytes in [
            vec![],
            vec![7],
            vec![99, 1],
            vec![
                99, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
            ],
            vec![99, 2],
            vec![99, 1, 1, 1, 3, b'a'],
            vec![99, 1, 1, 1, 1, 0xff],
        ] {
            let res = Reader::new(&bytes, 99).and_then(|mut r| {
                let v = read_value(&mut r, &dt)?;
                r.finish()?;
                Ok(v)
            });
            assert!(
                matches!(res, Err(AggregateError::CorruptState(_))),
                "{bytes:?}: {res:?}"
            );
        }
    }

    const PINNED_ONE: u64 = 10330108457994824801;

    #[test]
    fn stable_hash_is_stable() {
        assert_eq!(stable_hash(b""), stable_hash(b""));
        assert_ne!(stable_hash(b"a"), stable_hash(b"b"));
        // Pinned: a saved COUNT_DISTINCT state depends on it.
        assert_eq!(stable_hash(b"one"), stable_hash("one".as_bytes()));
        assert_eq!(stable_hash(b"one"), PINNED_ONE);
    }
}
