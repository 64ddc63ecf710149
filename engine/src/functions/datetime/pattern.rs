//! Java `DateTimeFormatter` patterns (`yyyy-MM-dd'T'HH:mm:ss.SSSX`) on chrono: compile a
//! pattern once, then format instants, dates and times with it or parse text back.
//!
//! ksqlDB's date functions (and the `TIMESTAMP_FORMAT` of a source) take these patterns.
//! Parsing is case-insensitive and fields missing from the pattern default to 1970-01-01
//! 00:00:00.000, as ksqlDB's formatter does. Supported letters: `G y u M L d D E a h K k H
//! m s S n z V X x Z`; quoted text (`'T'`, `''` for a quote) and every non-letter are
//! literals; `[` `]` (optional sections) are accepted and ignored. Other letters are an
//! error, like Java's "Unknown pattern letter".

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    TimeZone, Timelike, Utc,
};
use chrono_tz::{OffsetName, Tz};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

#[derive(Clone, Debug, PartialEq, Eq)]
enum Item {
    Literal(String),
    Era,
    Year(usize),
    Month(usize),
    Day(usize),
    DayOfYear(usize),
    DayName(usize),
    AmPm,
    Hour24(usize),
    Hour24From1(usize),
    Hour12(usize),
    Hour12From0(usize),
    Minute(usize),
    Second(usize),
    Fraction(usize),
    Nano(usize),
    ZoneText(usize),
    ZoneId,
    /// `X` (true: "Z" for zero) or `x`, with the letter count.
    OffsetIso(usize, bool),
    /// `Z`, with the letter count.
    OffsetZ(usize),
}

impl Item {
    fn is_numeric(&self) -> bool {
        matches!(
            self,
            Item::Year(_)
                | Item::Month(1 | 2)
                | Item::Day(_)
                | Item::DayOfYear(_)
                | Item::Hour24(_)
                | Item::Hour24From1(_)
                | Item::Hour12(_)
                | Item::Hour12From0(_)
                | Item::Minute(_)
                | Item::Second(_)
                | Item::Fraction(_)
                | Item::Nano(_)
        )
    }
}

/// A time zone as ksqlDB's functions accept it: a region id (`America/Los_Angeles`), `UTC`
/// / `GMT` / `Z`, or a fixed offset (`+02:00`, `+0200`, `-05`, `GMT+2`, `UTC-03:30`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Zone {
    Named(Tz),
    Fixed(FixedOffset),
}

impl Zone {
    pub fn utc() -> Zone {
        Zone::Fixed(FixedOffset::east_opt(0).expect("zero offset"))
    }

    /// Parses a zone id; None when unknown.
    pub fn parse(id: &str) -> Option<Zone> {
        let t = id.trim();
        if ["Z", "UTC", "GMT", "UT"]
            .iter()
            .any(|u| t.eq_ignore_ascii_case(u))
        {
            return Some(Zone::utc());
        }
        if t.starts_with('+') || t.starts_with('-') {
            return parse_offset_text(t).map(|(secs, _)| {
                Zone::Fixed(FixedOffset::east_opt(secs).expect("offset in range"))
            });
        }
        for prefix in ["UTC", "GMT", "UT"] {
            if let Some(rest) = t.strip_prefix(prefix) {
                if rest.starts_with('+') || rest.starts_with('-') {
                    return parse_offset_text(rest)
                        .map(|(s, _)| Zone::Fixed(FixedOffset::east_opt(s).expect("offset")));
                }
            }
        }
        t.parse::<Tz>().ok().map(Zone::Named)
    }

    /// The offset from UTC at instant `utc`, and the zone's short name there (`PDT`).
    fn offset_at(&self, utc: &NaiveDateTime) -> (FixedOffset, String, String) {
        match self {
            Zone::Named(tz) => {
                let off = tz.offset_from_utc_datetime(utc);
                let abbrev = off.abbreviation().unwrap_or("").to_string();
                (off.fix(), abbrev, tz.name().to_string())
            }
            Zone::Fixed(f) => {
                let name = if f.local_minus_utc() == 0 {
                    "Z".to_string()
                } else {
                    format_offset(f.local_minus_utc(), true, false)
                };
                (*f, name.clone(), name)
            }
        }
    }

    /// The instant of local time `local` in this zone. In a DST gap the time moves forward
    /// by the gap; in an overlap the earlier instant wins (Java's `ZonedDateTime` rules).
    pub fn local_to_utc_millis(&self, local: &NaiveDateTime) -> i64 {
        match self {
            Zone::Fixed(f) => (*local - Duration::seconds(f.local_minus_utc() as i64))
                .and_utc()
                .timestamp_millis(),
            Zone::Named(tz) => match tz.from_local_datetime(local).earliest() {
                Some(dt) => dt.timestamp_millis(),
                None => {
                    let later = *local + Duration::hours(1);
                    let dt = tz
                        .from_local_datetime(&later)
                        .earliest()
                        .unwrap_or_else(|| tz.from_utc_datetime(local));
                    dt.timestamp_millis()
                }
            },
        }
    }

    /// Local wall-clock time of `millis` since the epoch, with the offset and short name.
    pub fn local_time(&self, millis: i64) -> Option<(NaiveDateTime, FixedOffset, String, String)> {
        let utc = DateTime::<Utc>::from_timestamp_millis(millis)?.naive_utc();
        let (off, abbrev, id) = self.offset_at(&utc);
        Some((
            utc + Duration::seconds(off.local_minus_utc() as i64),
            off,
            abbrev,
            id,
        ))
    }
}

/// Common zone abbreviations as Java parses them for `z` (each names a region, so DST
/// applies: "PST" in May is UTC-7).
fn zone_from_abbreviation(name: &str) -> Option<Zone> {
    let id = match name.to_ascii_uppercase().as_str() {
        "PST" | "PDT" | "PT" => "America/Los_Angeles",
        "MST" | "MDT" | "MT" => "America/Denver",
        "CST" | "CDT" | "CT" => "America/Chicago",
        "EST" | "EDT" | "ET" => "America/New_York",
        "AKST" | "AKDT" => "America/Anchorage",
        "HST" => "Pacific/Honolulu",
        "BST" => "Europe/London",
        "CET" | "CEST" => "Europe/Paris",
        "EET" | "EEST" => "Europe/Athens",
        "WET" | "WEST" => "Europe/Lisbon",
        "IST" => "Asia/Kolkata",
        "JST" => "Asia/Tokyo",
        "AEST" | "AEDT" => "Australia/Sydney",
        _ => return Zone::parse(name),
    };
    id.parse::<Tz>().ok().map(Zone::Named)
}

/// `+HH`, `+HHMM`, `+HH:MM`, `+HH:MM:SS`; returns (seconds east, bytes consumed).
fn parse_offset_text(s: &str) -> Option<(i32, usize)> {
    let b = s.as_bytes();
    let sign = match b.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let mut i = 1;
    let digits = |i: usize, n: usize| -> Option<i32> {
        let part = s.get(i..i + n)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (h, hl) = match digits(i, 2) {
        Some(h) => (h, 2),
        None => (digits(i, 1)?, 1),
    };
    i += hl;
    let mut total = h * 3600;
    for unit in [60, 1] {
        let colon = b.get(i) == Some(&b':');
        let at = if colon { i + 1 } else { i };
        match digits(at, 2) {
            Some(v) => {
                total += v * unit;
                i = at + 2;
            }
            None => break,
        }
    }
    (total <= 18 * 3600).then_some((sign * total, i))
}

/// `+HH:MM` (colon) or `+HHMM`; just `+HH` when `short` and the minutes are zero.
fn format_offset(secs: i32, colon: bool, short: bool) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.abs();
    let (h, m, s) = (a / 3600, (a / 60) % 60, a % 60);
    let mut out = format!("{sign}{h:02}");
    if short && m == 0 && s == 0 {
        return out;
    }
    if colon {
        out.push(':');
    }
    out.push_str(&format!("{m:02}"));
    if s != 0 {
        if colon {
            out.push(':');
        }
        out.push_str(&format!("{s:02}"));
    }
    out
}

/// A compiled Java date-time pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JavaDateFormat {
    pattern: String,
    items: Vec<Item>,
}

/// Fields read from text, before they are resolved into a date, time or instant.
#[derive(Default, Debug)]
struct Parsed {
    year: Option<i32>,
    two_digit_year: bool,
    month: Option<u32>,
    day: Option<u32>,
    day_of_year: Option<u32>,
    hour: Option<u32>,
    hour12: Option<u32>,
    pm: Option<bool>,
    minute: Option<u32>,
    second: Option<u32>,
    nanos: Option<u32>,
    offset: Option<i32>,
    zone: Option<Zone>,
}

impl JavaDateFormat {
    /// Compiles `pattern`; an error names the offending letter or unterminated quote.
    pub fn new(pattern: &str) -> Result<JavaDateFormat, String> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut items: Vec<Item> = Vec::new();
        let mut i = 0;
        let push_lit = |items: &mut Vec<Item>, s: &str| {
            if let Some(Item::Literal(prev)) = items.last_mut() {
                prev.push_str(s);
            } else {
                items.push(Item::Literal(s.to_string()));
            }
        };
        while i < chars.len() {
            let c = chars[i];
            if c == '\'' {
                if chars.get(i + 1) == Some(&'\'') {
                    push_lit(&mut items, "'");
                    i += 2;
                    continue;
                }
                let mut lit = String::new();
                let mut j = i + 1;
                loop {
                    match chars.get(j) {
                        None => {
                            return Err(format!(
                                "Pattern ends with an incomplete string literal: {pattern}"
                            ))
                        }
                        Some('\'') if chars.get(j + 1) == Some(&'\'') => {
                            lit.push('\'');
                            j += 2;
                        }
                        Some('\'') => break,
                        Some(ch) => {
                            lit.push(*ch);
                            j += 1;
                        }
                    }
                }
                push_lit(&mut items, &lit);
                i = j + 1;
                continue;
            }
            if c == '[' || c == ']' {
                i += 1;
                continue;
            }
            if !c.is_ascii_alphabetic() {
                push_lit(&mut items, &c.to_string());
                i += 1;
                continue;
            }
            let mut n = 1;
            while chars.get(i + n) == Some(&c) {
                n += 1;
            }
            i += n;
            items.push(match c {
                'G' => Item::Era,
                'y' | 'u' | 'Y' => Item::Year(n),
                'M' | 'L' => Item::Month(n),
                'd' => Item::Day(n),
                'D' => Item::DayOfYear(n),
                'E' => Item::DayName(n),
                'a' => Item::AmPm,
                'H' => Item::Hour24(n),
                'k' => Item::Hour24From1(n),
                'h' => Item::Hour12(n),
                'K' => Item::Hour12From0(n),
                'm' => Item::Minute(n),
                's' => Item::Second(n),
                'S' => Item::Fraction(n),
                'n' => Item::Nano(n),
                'z' => Item::ZoneText(n),
                'V' => Item::ZoneId,
                'X' => Item::OffsetIso(n, true),
                'x' => Item::OffsetIso(n, false),
                'Z' => Item::OffsetZ(n),
                other => return Err(format!("Unknown pattern letter: {other}")),
            });
        }
        Ok(JavaDateFormat {
            pattern: pattern.to_string(),
            items,
        })
    }

    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Formats `millis` since the epoch as wall-clock time in `zone`.
    pub fn format_millis(&self, millis: i64, zone: &Zone) -> Option<String> {
        let (local, off, abbrev, id) = zone.local_time(millis)?;
        Some(self.render(&local, Some((off, abbrev, id))))
    }

    /// Formats a date (time fields render as midnight).
    pub fn format_date(&self, date: NaiveDate) -> String {
        self.render(&date.and_hms_opt(0, 0, 0).expect("midnight"), None)
    }

    /// Formats a time of day (date fields render as 1970-01-01).
    pub fn format_time(&self, time: NaiveTime) -> String {
        self.render(&epoch_date().and_time(time), None)
    }

    fn render(&self, t: &NaiveDateTime, zone: Option<(FixedOffset, String, String)>) -> String {
        let mut out = String::new();
        let pad = |out: &mut String, v: i64, n: usize| out.push_str(&format!("{v:0n$}"));
        let utc_zone = || {
            (
                FixedOffset::east_opt(0).expect("zero"),
                "UTC".to_string(),
                "UTC".to_string(),
            )
        };
        for item in &self.items {
            match item {
                Item::Literal(s) => out.push_str(s),
                Item::Era => out.push_str(if t.year() > 0 { "AD" } else { "BC" }),
                Item::Year(2) => pad(&mut out, t.year().rem_euclid(100) as i64, 2),
                Item::Year(n) => {
                    let y = t.year() as i64;
                    if *n >= 4 && y > 9999 {
                        out.push('+');
                    }
                    pad(&mut out, y, *n)
                }
                Item::Month(n) if *n >= 4 => out.push_str(MONTHS[t.month0() as usize]),
                Item::Month(3) => out.push_str(&MONTHS[t.month0() as usize][..3]),
                Item::Month(n) => pad(&mut out, t.month() as i64, *n),
                Item::Day(n) => pad(&mut out, t.day() as i64, *n),
                Item::DayOfYear(n) => pad(&mut out, t.ordinal() as i64, *n),
                Item::DayName(n) => {
                    let name = DAYS[t.weekday().num_days_from_monday() as usize];
                    out.push_str(if *n >= 4 { name } else { &name[..3] })
                }
                Item::AmPm => out.push_str(if t.hour() < 12 { "AM" } else { "PM" }),
                Item::Hour24(n) => pad(&mut out, t.hour() as i64, *n),
                Item::Hour24From1(n) => pad(
                    &mut out,
                    if t.hour() == 0 { 24 } else { t.hour() as i64 },
                    *n,
                ),
                Item::Hour12(n) => {
                    let h = t.hour() % 12;
                    pad(&mut out, if h == 0 { 12 } else { h as i64 }, *n)
                }
                Item::Hour12From0(n) => pad(&mut out, (t.hour() % 12) as i64, *n),
                Item::Minute(n) => pad(&mut out, t.minute() as i64, *n),
                Item::Second(n) => pad(&mut out, t.second() as i64, *n),
                Item::Fraction(count) => {
                    let digits = format!("{:09}", t.nanosecond() % 1_000_000_000);
                    out.push_str(&digits[..(*count).min(9)]);
                    for _ in 9..*count {
                        out.push('0');
                    }
                }
                Item::Nano(n) => pad(&mut out, t.nanosecond() as i64, *n),
                Item::ZoneText(n) => {
                    let (_, abbrev, id) = zone.clone().unwrap_or_else(utc_zone);
                    out.push_str(if *n >= 4 { &id } else { &abbrev })
                }
                Item::ZoneId => out.push_str(&zone.clone().unwrap_or_else(utc_zone).2),
                Item::OffsetIso(n, zulu) => {
                    let secs = zone.as_ref().map_or(0, |z| z.0.local_minus_utc());
                    if secs == 0 && *zulu {
                        out.push('Z');
                    } else {
                        out.push_str(&format_offset(secs, *n >= 3 && *n != 4, *n == 1))
                    }
                }
                Item::OffsetZ(n) => {
                    let secs = zone.as_ref().map_or(0, |z| z.0.local_minus_utc());
                    match n {
                        4 => {
                            if secs == 0 {
                                out.push_str("GMT")
                            } else {
                                out.push_str(&format!("GMT{}", format_offset(secs, true, false)))
                            }
                        }
                        5 if secs == 0 => out.push('Z'),
                        5 => out.push_str(&format_offset(secs, true, false)),
                        _ => out.push_str(&format_offset(secs, false, false)),
                    }
                }
            }
        }
        out
    }

    fn parse_fields(&self, text: &str) -> Result<Parsed, String> {
        self.parse_fields_from(text, true)
    }

    /// Parses `text` from its start; with `whole`, text left after the pattern fails the
    /// parse (as `DateTimeFormatter.parse`), else it is ignored (as `FastDateFormat.parse`).
    fn parse_fields_from(&self, text: &str, whole: bool) -> Result<Parsed, String> {
        let fail = || {
            format!(
                "Text '{text}' could not be parsed with pattern '{}'",
                self.pattern
            )
        };
        let mut p = Parsed::default();
        let s = text;
        let mut pos = 0;
        for (k, item) in self.items.iter().enumerate() {
            let rest = &s[pos..];
            let next_numeric = self.items.get(k + 1).is_some_and(Item::is_numeric);
            // Digits to read: fixed width when the next field is numeric too (Java's
            // adjacent value parsing) or the pattern says so; otherwise greedy.
            let numeric = |min: usize, fixed: bool| -> Option<(i64, usize)> {
                let avail = rest.bytes().take_while(u8::is_ascii_digit).count();
                if avail < min.max(1) {
                    return None;
                }
                let take = if fixed || next_numeric {
                    min.max(1)
                } else {
                    avail.min(18)
                };
                Some((rest[..take].parse().ok()?, take))
            };
            match item {
                Item::Literal(l) => {
                    let n = l.len();
                    if rest.len() < n || !rest[..n].eq_ignore_ascii_case(l) {
                        return Err(fail());
                    }
                    pos += n;
                }
                Item::Era => {
                    let era = rest.get(..2).ok_or_else(fail)?;
                    if !era.eq_ignore_ascii_case("AD") && !era.eq_ignore_ascii_case("BC") {
                        return Err(fail());
                    }
                    pos += 2;
                }
                Item::Year(n) => {
                    let (v, used) = numeric(*n, *n == 2).ok_or_else(fail)?;
                    p.year = Some(v as i32);
                    p.two_digit_year = *n == 2;
                    pos += used;
                }
                Item::Month(n) if *n >= 3 => {
                    let (m, used) = match_name(rest, &MONTHS, *n == 3).ok_or_else(fail)?;
                    p.month = Some(m as u32 + 1);
                    pos += used;
                }
                Item::DayName(n) => {
                    let (_, used) = match_name(rest, &DAYS, *n < 4).ok_or_else(fail)?;
                    pos += used;
                }
                Item::AmPm => {
                    if rest.len() < 2 {
                        return Err(fail());
                    }
                    let v = &rest[..2];
                    p.pm = Some(if v.eq_ignore_ascii_case("PM") {
                        true
                    } else if v.eq_ignore_ascii_case("AM") {
                        false
                    } else {
                        return Err(fail());
                    });
                    pos += 2;
                }
                Item::Fraction(n) => {
                    let (v, used) = numeric(*n, true).ok_or_else(fail)?;
                    if used != *n {
                        return Err(fail());
                    }
                    let scale = 10u32.pow(9 - (*n as u32).min(9));
                    p.nanos = Some(v as u32 * scale);
                    pos += used;
                }
                Item::ZoneText(_) | Item::ZoneId => {
                    let len = rest
                        .char_indices()
                        .find(|(_, c)| !(c.is_ascii_alphanumeric() || "/_+-:".contains(*c)))
                        .map_or(rest.len(), |(i, _)| i);
                    let zone = zone_from_abbreviation(&rest[..len]).ok_or_else(fail)?;
                    p.zone = Some(zone);
                    pos += len;
                }
                Item::OffsetIso(..) | Item::OffsetZ(_) => {
                    if rest.starts_with(['Z', 'z']) {
                        p.offset = Some(0);
                        pos += 1;
                    } else if rest.len() >= 3 && rest[..3].eq_ignore_ascii_case("GMT") {
                        let (secs, used) = parse_offset_text(&rest[3..]).unwrap_or((0, 0));
                        p.offset = Some(secs);
                        pos += 3 + used;
                    } else {
                        let (secs, used) = parse_offset_text(rest).ok_or_else(fail)?;
                        p.offset = Some(secs);
                        pos += used;
                    }
                }
                numeric_item => {
                    let (n, slot): (usize, &mut Option<u32>) = match numeric_item {
                        Item::Month(n) => (*n, &mut p.month),
                        Item::Day(n) => (*n, &mut p.day),
                        Item::DayOfYear(n) => (*n, &mut p.day_of_year),
                        Item::Hour24(n) => (*n, &mut p.hour),
                        Item::Hour24From1(n) => (*n, &mut p.hour),
                        Item::Hour12(n) | Item::Hour12From0(n) => (*n, &mut p.hour12),
                        Item::Minute(n) => (*n, &mut p.minute),
                        Item::Second(n) => (*n, &mut p.second),
                        Item::Nano(n) => (*n, &mut p.nanos),
                        _ => unreachable!("all other items handled above"),
                    };
                    let (v, used) = numeric(n, n >= 2).ok_or_else(fail)?;
                    *slot = Some(u32::try_from(v).map_err(|_| fail())?);
                    if matches!(numeric_item, Item::Hour24From1(_)) && v == 24 {
                        *slot = Some(0);
                    }
                    pos += used;
                }
            }
        }
        if whole && pos != s.len() {
            return Err(format!(
                "Text '{text}' could not be parsed, unparsed text found at index {pos}"
            ));
        }
        Ok(p)
    }

    fn resolve_date(&self, p: &Parsed, text: &str) -> Result<NaiveDate, String> {
        let bad = || format!("Text '{text}' could not be parsed: invalid date");
        let mut year = p.year.unwrap_or(1970);
        if p.two_digit_year {
            year += 2000;
        }
        if let Some(doy) = p.day_of_year {
            return NaiveDate::from_yo_opt(year, doy).ok_or_else(bad);
        }
        NaiveDate::from_ymd_opt(year, p.month.unwrap_or(1), p.day.unwrap_or(1)).ok_or_else(bad)
    }

    fn resolve_time(&self, p: &Parsed, text: &str) -> Result<NaiveTime, String> {
        let bad = || format!("Text '{text}' could not be parsed: invalid time");
        let hour = match (p.hour, p.hour12) {
            (Some(h), _) => h,
            (None, Some(h)) => {
                if h > 12 {
                    return Err(bad());
                }
                (h % 12) + if p.pm == Some(true) { 12 } else { 0 }
            }
            (None, None) => {
                if p.pm == Some(true) {
                    12
                } else {
                    0
                }
            }
        };
        NaiveTime::from_hms_nano_opt(
            hour,
            p.minute.unwrap_or(0),
            p.second.unwrap_or(0),
            p.nanos.unwrap_or(0),
        )
        .ok_or_else(bad)
    }

    /// Parses an instant: the text's own offset or zone if it has one, else `zone`.
    /// Returns milliseconds since the epoch.
    pub fn parse_millis(&self, text: &str, zone: &Zone) -> Result<i64, String> {
        let p = self.parse_fields(text)?;
        let local = self
            .resolve_date(&p, text)?
            .and_time(self.resolve_time(&p, text)?);
        Ok(match (p.offset, p.zone) {
            (Some(off), _) => (local - Duration::seconds(off as i64))
                .and_utc()
                .timestamp_millis(),
            (None, Some(z)) => z.local_to_utc_millis(&local),
            (None, None) => zone.local_to_utc_millis(&local),
        })
    }

    /// Parses a date; days since the epoch.
    pub fn parse_days(&self, text: &str) -> Result<i32, String> {
        let p = self.parse_fields(text)?;
        let d = self.resolve_date(&p, text)?;
        Ok((d - epoch_date()).num_days() as i32)
    }

    /// As [`Self::parse_days`], ignoring any text after the pattern's last item (ksqlDB's
    /// PARSE_DATE reads with commons-lang's `FastDateFormat`, which stops there).
    pub fn parse_days_prefix(&self, text: &str) -> Result<i32, String> {
        let p = self.parse_fields_from(text, false)?;
        let d = self.resolve_date(&p, text)?;
        Ok((d - epoch_date()).num_days() as i32)
    }

    /// Parses a time of day; milliseconds since midnight.
    pub fn parse_time_millis(&self, text: &str) -> Result<i32, String> {
        let p = self.parse_fields(text)?;
        let t = self.resolve_time(&p, text)?;
        Ok((t.num_seconds_from_midnight() * 1000 + t.nanosecond() / 1_000_000) as i32)
    }
}

pub fn epoch_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")
}

/// Matches a month or day name (case-insensitive; `short`: its first three letters).
fn match_name(rest: &str, names: &[&str], short: bool) -> Option<(usize, usize)> {
    names.iter().enumerate().find_map(|(i, name)| {
        let cand = if short { &name[..3] } else { name };
        (rest.len() >= cand.len() && rest[..cand.len()].eq_ignore_ascii_case(cand))
            .then_some((i, cand.len()))
    })
}

/// Compiles each distinct pattern once per batch.
#[derive(Default)]
pub struct PatternCache {
    last: Option<JavaDateFormat>,
}

impl PatternCache {
    pub fn get(&mut self, pattern: &str) -> datafusion::common::Result<&JavaDateFormat> {
        if self.last.as_ref().is_none_or(|f| f.pattern != pattern) {
            let f = JavaDateFormat::new(pattern).map_err(|e| {
                datafusion::common::DataFusionError::Execution(format!(
                    "Invalid date pattern '{pattern}': {e}"
                ))
            })?;
            self.last = Some(f);
        }
        Ok(self.last.as_ref().expect("just set"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn la() -> Zone {
        Zone::parse("America/Los_Angeles").unwrap()
    }

    #[test]
    fn formats_like_java() {
        let f = JavaDateFormat::new("yyyy-MM-dd HH:mm:ss zzz").unwrap();
        assert_eq!(
            f.format_millis(1526075913000, &la()).unwrap(),
            "2018-05-11 14:58:33 PDT"
        );
        let london = Zone::parse("Europe/London").unwrap();
        assert_eq!(
            f.format_millis(1526075913000, &london).unwrap(),
            "2018-05-11 22:58:33 BST"
        );
        let f = JavaDateFormat::new("dd-MMM-yyyy EEE hh:mm a X").unwrap();
        assert_eq!(
            f.format_millis(1640995200000 + 13 * 3600 * 1000, &Zone::utc())
                .unwrap(),
            "01-Jan-2022 Sat 01:00 PM Z"
        );
        let f = JavaDateFormat::new("yyyy-MM-dd'T'HH:mm:ss.SSSXXX").unwrap();
        assert_eq!(
            f.format_millis(1526075913123, &la()).unwrap(),
            "2018-05-11T14:58:33.123-07:00"
        );
        assert!(JavaDateFormat::new("yyyy-qq").is_err());
        assert!(JavaDateFormat::new("yyyy'oops").is_err());
    }

    #[test]
    fn parses_like_java() {
        let f = JavaDateFormat::new("yyyy-MM-dd'T'HH:mm:ssX").unwrap();
        assert_eq!(
            f.parse_millis("2018-05-11T21:58:33Z", &Zone::utc()),
            Ok(1526075913000)
        );
        assert_eq!(
            f.parse_millis("2020-05-11T21:58:33z", &Zone::utc()),
            Ok(1589234313000)
        );
        let f = JavaDateFormat::new("yyyy-MM-dd'T'HH:mm:ss.SX").unwrap();
        assert_eq!(
            f.parse_millis("2019-08-27T13:31:09.2+0000", &Zone::utc()),
            Ok(1566912669200)
        );
        let f = JavaDateFormat::new("yyyy-MM-dd'T'HH:mm:ss zzz").unwrap();
        assert_eq!(
            f.parse_millis("2018-05-11T21:58:33 PST", &Zone::utc()),
            Ok(1526101113000)
        );
        let f = JavaDateFormat::new("yyyyMMddHHmmss").unwrap();
        assert_eq!(
            f.parse_millis("20180511215833", &Zone::utc()),
            Ok(1526075913000)
        );
        let f = JavaDateFormat::new("dd-MMM-yyyy").unwrap();
        assert_eq!(f.parse_days("01-JAN-2022"), Ok(18993));
        assert!(f.parse_days("2004").is_err());
        let f = JavaDateFormat::new("hh:mm:ss a").unwrap();
        assert_eq!(f.parse_time_millis("01:00:00 Pm"), Ok(46800000));
        assert!(JavaDateFormat::new("yyyy-MM-dd")
            .unwrap()
            .parse_days("2004-01-01x")
            .is_err());
        assert_eq!(
            JavaDateFormat::new("yyyy-MM-dd")
                .unwrap()
                .parse_days_prefix("2003-12-24-01-01"),
            Ok(12410)
        );
        assert!(JavaDateFormat::new("yyyy-MM-dd")
            .unwrap()
            .parse_days_prefix("2004-01")
            .is_err());
    }

    #[test]
    fn zones() {
        assert_eq!(
            Zone::parse("+0200"),
            Some(Zone::Fixed(FixedOffset::east_opt(7200).unwrap()))
        );
        assert_eq!(
            Zone::parse("-05:30"),
            Some(Zone::Fixed(FixedOffset::west_opt(19800).unwrap()))
        );
        assert!(Zone::parse("Mars/Olympus").is_none());
        assert_eq!(Zone::parse("UTC"), Some(Zone::utc()));
    }
}
