//! Grammar pieces shared by statements: types, column definitions, `WITH (...)` properties,
//! column-name lists, durations (`10 SECONDS`) and property literals.

use super::lexer::Tok;
use super::{Expect, Parser, Result};
use crate::ast::{
    ColumnConstraint, ColumnDef, Duration, Ident, Literal, Properties, Property, SourceKind,
    StructField, TimeUnit, Type,
};
use crate::error::ParseErrorKind;

/// Time unit keywords, singular and plural.
pub(crate) const TIME_UNITS: &[&str] = &[
    "MILLISECOND",
    "MILLISECONDS",
    "SECOND",
    "SECONDS",
    "MINUTE",
    "MINUTES",
    "HOUR",
    "HOURS",
    "DAY",
    "DAYS",
];

impl Parser<'_> {
    /// A type: `ARRAY<T>`, `MAP<K, V>`, `STRUCT<name T, ...>`, `DECIMAL(p, s)`, a base type
    /// name (with ignored parameters such as `VARCHAR(10)`), or a custom type name; any of
    /// these may be followed by the legacy `ARRAY` suffix (`INT ARRAY`).
    pub(crate) fn parse_type(&mut self) -> Result<Type> {
        self.enter()?;
        let mut ty = self.grow(|p| p.parse_type_inner())?;
        let mut wraps = 0;
        while self.peek_word() == Some("ARRAY") && self.peek_nth(1) != &Tok::Lt {
            wraps += 1;
            self.check_chain(wraps)?;
            self.advance();
            ty = Type::Array(Box::new(ty));
        }
        self.leave();
        Ok(ty)
    }

    fn parse_type_inner(&mut self) -> Result<Type> {
        match self.peek_word() {
            Some("ARRAY") if self.peek_nth(1) == &Tok::Lt => {
                self.advance();
                self.advance();
                let inner = self.parse_type()?;
                self.expect(&Tok::Gt)?;
                Ok(Type::Array(Box::new(inner)))
            }
            Some("MAP") if self.peek_nth(1) == &Tok::Lt => {
                self.advance();
                self.advance();
                let k = self.parse_type()?;
                self.expect(&Tok::Comma)?;
                let v = self.parse_type()?;
                self.expect(&Tok::Gt)?;
                Ok(Type::Map(Box::new(k), Box::new(v)))
            }
            // `STRUCT<>` tokenizes as STRUCT and `<>`.
            Some("STRUCT") if self.peek_nth(1) == &Tok::Neq => {
                self.advance();
                self.advance();
                Ok(Type::Struct(Vec::new()))
            }
            Some("STRUCT") if self.peek_nth(1) == &Tok::Lt => self.parse_struct_type(),
            Some("DECIMAL") => self.parse_decimal_type(),
            _ => self.parse_base_type(),
        }
    }

    #[inline(never)]
    fn parse_struct_type(&mut self) -> Result<Type> {
        self.advance();
        self.advance();
        let mut fields = Vec::new();
        if !self.eat(&Tok::Gt) {
            loop {
                let name = self.parse_ident()?;
                let ty = self.parse_type()?;
                fields.push(StructField { name, ty });
                if self.eat(&Tok::Comma) {
                    continue;
                }
                self.expect(&Tok::Gt)?;
                break;
            }
        }
        Ok(Type::Struct(fields))
    }

    #[inline(never)]
    fn parse_decimal_type(&mut self) -> Result<Type> {
        self.advance();
        self.expect(&Tok::LParen)?;
        let (precision, psp) = self.parse_count("the decimal precision")?;
        self.expect(&Tok::Comma)?;
        let (scale, ssp) = self.parse_count("the decimal scale")?;
        self.expect(&Tok::RParen)?;
        let precision = u32::try_from(precision).map_err(|_| {
            self.error_at(psp, ParseErrorKind::Invalid, "precision too large".into())
        })?;
        let scale = u32::try_from(scale)
            .map_err(|_| self.error_at(ssp, ParseErrorKind::Invalid, "scale too large".into()))?;
        Ok(Type::Decimal { precision, scale })
    }

    /// A base type name, with ignored parameters (`VARCHAR(10)`), or a custom type name.
    #[inline(never)]
    fn parse_base_type(&mut self) -> Result<Type> {
        if !self.at_ident() {
            return Err(self.expected("a type"));
        }
        let name = self.parse_ident()?;
        // `baseType ('(' typeParameter (',' typeParameter)* ')')?`
        if self.peek() == &Tok::LParen {
            self.advance();
            loop {
                match self.peek() {
                    Tok::Number(n) if n.bytes().all(|b| b.is_ascii_digit()) => {
                        self.advance();
                    }
                    Tok::Word { upper, .. } if upper == "STRING" => {
                        self.advance();
                    }
                    _ => {
                        self.expect_note(Expect::Keyword("STRING"));
                        return Err(self.expected("a whole number"));
                    }
                }
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
            self.expect(&Tok::RParen)?;
        }
        let builtin = if name.quoted {
            None
        } else {
            Type::from_base_name(&name.value)
        };
        Ok(builtin.unwrap_or(Type::Custom(name)))
    }

    /// `(col type [KEY | PRIMARY KEY | HEADERS | HEADER('k')], ...)`. For a stream, `PRIMARY
    /// KEY` is refused; for a table, `KEY` is (as ksqlDB does).
    pub(crate) fn parse_table_elements(
        &mut self,
        kind: Option<SourceKind>,
    ) -> Result<Vec<ColumnDef>> {
        self.expect(&Tok::LParen)?;
        let mut out = Vec::new();
        loop {
            let start = self.span().start;
            let name = self.parse_ident()?;
            let ty = self.parse_type()?;
            let constraint = if self.eat_kw("KEY") {
                ColumnConstraint::Key
            } else if self.is_kw("PRIMARY") {
                self.advance();
                self.expect_kw("KEY")?;
                ColumnConstraint::PrimaryKey
            } else if self.eat_kw("HEADERS") {
                ColumnConstraint::Headers
            } else if self.eat_kw("HEADER") {
                self.expect(&Tok::LParen)?;
                let (k, _) = self.parse_string("a header key string")?;
                self.expect(&Tok::RParen)?;
                ColumnConstraint::Header(k)
            } else {
                ColumnConstraint::None
            };
            let span = self.span_from(start);
            match (kind, &constraint) {
                (Some(SourceKind::Table), ColumnConstraint::Key) => {
                    return Err(self.error_at(
                        span,
                        ParseErrorKind::Invalid,
                        format!(
                            "Column `{}` is a 'KEY' column: please use 'PRIMARY KEY' for tables.",
                            name.value
                        ),
                    ))
                }
                (Some(SourceKind::Stream), ColumnConstraint::PrimaryKey) => {
                    return Err(self.error_at(
                        span,
                        ParseErrorKind::Invalid,
                        format!(
                            "Column `{}` is a 'PRIMARY KEY' column: please use 'KEY' for streams.",
                            name.value
                        ),
                    ))
                }
                _ => {}
            }
            out.push(ColumnDef {
                name,
                ty,
                constraint,
                span,
            });
            // The end of ksqlDB's `tableElement` rule.
            self.rule_done();
            if self.eat(&Tok::Comma) {
                continue;
            }
            self.expect(&Tok::RParen)?;
            return Ok(out);
        }
    }

    /// `(name = literal, ...)`; names are identifiers or strings, upper-cased.
    pub(crate) fn parse_properties(&mut self) -> Result<Properties> {
        self.parse_properties_cased(true)
    }

    /// `(name = literal, ...)`; names are identifiers or strings, upper-cased when `upper`
    /// (a connector's names keep their case: Kafka Connect's keys are case-sensitive).
    pub(crate) fn parse_properties_cased(&mut self, upper: bool) -> Result<Properties> {
        self.expect(&Tok::LParen)?;
        let mut entries = Vec::new();
        loop {
            let start = self.span().start;
            let name = match self.peek() {
                Tok::Str(s) => {
                    let s = s.clone();
                    self.advance();
                    s
                }
                _ if self.at_ident() => self.parse_ident()?.value,
                _ => return Err(self.expected("a property name")),
            };
            let name = if upper { name.to_uppercase() } else { name };
            self.expect(&Tok::Eq)?;
            let value = self.parse_property_literal()?;
            entries.push(Property {
                name,
                value,
                span: self.span_from(start),
            });
            if self.eat(&Tok::Comma) {
                continue;
            }
            self.expect(&Tok::RParen)?;
            return Ok(Properties { entries });
        }
    }

    /// `NULL`, `TRUE`, `FALSE`, a string, or a number with an optional leading `-`.
    pub(crate) fn parse_property_literal(&mut self) -> Result<Literal> {
        match self.peek() {
            Tok::Str(s) => {
                self.advance();
                Ok(Literal::String(s.clone()))
            }
            Tok::Number(_) => self.parse_number_literal(false),
            Tok::Minus if matches!(self.peek_nth(1), Tok::Number(_)) => {
                self.advance();
                self.parse_number_literal(true)
            }
            Tok::Word {
                upper,
                quoted: false,
                ..
            } if matches!(upper.as_str(), "NULL" | "TRUE" | "FALSE") => {
                let l = match upper.as_str() {
                    "NULL" => Literal::Null,
                    "TRUE" => Literal::Boolean(true),
                    _ => Literal::Boolean(false),
                };
                self.advance();
                Ok(l)
            }
            _ => Err(self.expected("a literal value")),
        }
    }

    /// The number at the current token as a literal: INT if it fits, else BIGINT; DECIMAL if
    /// it has a point; DOUBLE if it has an exponent.
    pub(crate) fn parse_number_literal(&mut self, negative: bool) -> Result<Literal> {
        let Tok::Number(n) = self.peek() else {
            return Err(self.expected("a number"));
        };
        let sp = self.span();
        let text = if negative { format!("-{n}") } else { n.clone() };
        let lit = if n.contains(['e', 'E']) {
            match text.parse::<f64>() {
                Ok(v) if v.is_finite() => Literal::Double(v),
                _ => {
                    return Err(self.error_at(
                        sp,
                        ParseErrorKind::Invalid,
                        format!("Invalid numeric literal: {text}"),
                    ))
                }
            }
        } else if n.contains('.') {
            Literal::Decimal(text)
        } else {
            match text.parse::<i64>() {
                Ok(v) => match i32::try_from(v) {
                    Ok(i) => Literal::Integer(i),
                    Err(_) => Literal::BigInt(v),
                },
                Err(_) => {
                    return Err(self.error_at(
                        sp,
                        ParseErrorKind::Invalid,
                        format!("Invalid numeric literal: {text}"),
                    ))
                }
            }
        };
        self.advance();
        Ok(lit)
    }

    /// `(a, b, ...)`: column names.
    pub(crate) fn parse_column_list(&mut self) -> Result<Vec<Ident>> {
        self.expect(&Tok::LParen)?;
        let mut out = vec![self.parse_ident()?];
        while self.eat(&Tok::Comma) {
            out.push(self.parse_ident()?);
        }
        self.expect(&Tok::RParen)?;
        Ok(out)
    }

    /// A time unit keyword.
    pub(crate) fn parse_time_unit(&mut self) -> Result<TimeUnit> {
        for &u in TIME_UNITS {
            if self.is_kw(u) {
                self.advance();
                return Ok(TimeUnit::from_keyword(u).expect("listed unit"));
            }
        }
        let mut e = self.unexpected();
        e.message = format!(
            "expected a time unit (MILLISECONDS, SECONDS, MINUTES, HOURS or DAYS), found {}",
            self.peek().describe()
        );
        if let Some(s) = &e.suggestion {
            e.message.push_str(&format!(". Did you mean '{s}'?"));
        }
        Err(e)
    }

    /// `n unit`, e.g. `10 SECONDS`.
    pub(crate) fn parse_duration(&mut self) -> Result<Duration> {
        let start = self.span().start;
        let (value, _) = self.parse_count("a whole number of time units")?;
        let unit = self.parse_time_unit()?;
        let span = self.span_from(start);
        let mut d = Duration::new(value, unit).ok_or_else(|| {
            self.error_at(
                span,
                ParseErrorKind::Invalid,
                "duration too long: it overflows 64-bit milliseconds".into(),
            )
        })?;
        d.span = span;
        Ok(d)
    }
}
