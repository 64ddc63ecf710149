//! Time units, durations, and the `WINDOW TUMBLING | HOPPING | SESSION (...)` clause.

use std::fmt;

use super::ident::Ident;
use super::span::Span;

/// A unit of time as written after a number (`10 SECONDS`) or as a function argument
/// (`TIMESTAMPADD(MILLISECONDS, 5, ts)`). Singular and plural spellings are the same unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeUnit {
    Milliseconds,
    Seconds,
    Minutes,
    Hours,
    Days,
}

impl TimeUnit {
    /// The unit a keyword names (upper-case, singular or plural), if any.
    pub fn from_keyword(upper: &str) -> Option<TimeUnit> {
        Some(match upper {
            "MILLISECOND" | "MILLISECONDS" => TimeUnit::Milliseconds,
            "SECOND" | "SECONDS" => TimeUnit::Seconds,
            "MINUTE" | "MINUTES" => TimeUnit::Minutes,
            "HOUR" | "HOURS" => TimeUnit::Hours,
            "DAY" | "DAYS" => TimeUnit::Days,
            _ => return None,
        })
    }

    /// Milliseconds in one unit.
    pub fn millis(self) -> u64 {
        match self {
            TimeUnit::Milliseconds => 1,
            TimeUnit::Seconds => 1_000,
            TimeUnit::Minutes => 60_000,
            TimeUnit::Hours => 3_600_000,
            TimeUnit::Days => 86_400_000,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TimeUnit::Milliseconds => "MILLISECONDS",
            TimeUnit::Seconds => "SECONDS",
            TimeUnit::Minutes => "MINUTES",
            TimeUnit::Hours => "HOURS",
            TimeUnit::Days => "DAYS",
        }
    }
}

impl fmt::Display for TimeUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A length of time such as `10 SECONDS`: kept as written (`value`, `unit`) for printing and
/// as milliseconds (`millis`) for use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Duration {
    pub value: u64,
    pub unit: TimeUnit,
    pub millis: u64,
    pub span: Span,
}

impl Duration {
    /// `value` units; `None` if that many milliseconds overflow a `u64`.
    pub fn new(value: u64, unit: TimeUnit) -> Option<Duration> {
        Some(Duration {
            value,
            unit,
            millis: value.checked_mul(unit.millis())?,
            span: Span::default(),
        })
    }

    /// A duration given in milliseconds, printed as `n MILLISECONDS`.
    pub fn from_millis(millis: u64) -> Duration {
        Duration {
            value: millis,
            unit: TimeUnit::Milliseconds,
            millis,
            span: Span::default(),
        }
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.value, self.unit)
    }
}

/// The `WINDOW` clause of a query.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WindowExpr {
    /// The optional name written before the window kind (`WINDOW w TUMBLING (...)`).
    pub name: Option<Ident>,
    pub kind: WindowKind,
    pub retention: Option<Duration>,
    pub grace: Option<Duration>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum WindowKind {
    /// `TUMBLING (SIZE n unit ...)`
    Tumbling { size: Duration },
    /// `HOPPING (SIZE n unit, ADVANCE BY n unit ...)`
    Hopping { size: Duration, advance: Duration },
    /// `SESSION (n unit ...)`: the inactivity gap.
    Session { gap: Duration },
}

impl fmt::Display for WindowExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = &self.name {
            write!(f, "{name} ")?;
        }
        match &self.kind {
            WindowKind::Tumbling { size } => write!(f, "TUMBLING (SIZE {size}")?,
            WindowKind::Hopping { size, advance } => {
                write!(f, "HOPPING (SIZE {size}, ADVANCE BY {advance}")?
            }
            WindowKind::Session { gap } => write!(f, "SESSION ({gap}")?,
        }
        if let Some(r) = &self.retention {
            write!(f, ", RETENTION {r}")?;
        }
        if let Some(g) = &self.grace {
            write!(f, ", GRACE PERIOD {g}")?;
        }
        f.write_str(")")
    }
}
