//! The statement grammar: one function per leading keyword.

use super::lexer::Tok;
use super::{Expect, Parser, Result};
use crate::ast::{
    ColumnConstraint, ColumnDef, ConnectorKind, CreateAsSelect, CreateSource, ExplainTarget,
    InsertInto, InsertValues, Print, Properties, QueryTarget, ResourceName, ShowKind, SourceKind,
    Statement, StatementKind,
};
use crate::error::ParseErrorKind;
use crate::keywords::STATEMENT_START;

impl Parser<'_> {
    /// One statement, without its `;`.
    pub(crate) fn parse_statement(&mut self) -> Result<Statement> {
        let start = self.span().start;
        let kind = match self.peek_word() {
            Some("SELECT") => StatementKind::Query(self.parse_query()?),
            Some("CREATE") => self.parse_create()?,
            Some("INSERT") => self.parse_insert()?,
            Some("SHOW" | "LIST") => self.parse_show()?,
            Some("DESCRIBE") => self.parse_describe()?,
            Some("EXPLAIN") => self.parse_explain()?,
            Some("DROP") => self.parse_drop()?,
            Some(w @ ("TERMINATE" | "PAUSE" | "RESUME")) => {
                self.advance();
                let target = if self.eat_kw("ALL") {
                    QueryTarget::All
                } else {
                    QueryTarget::Query(self.parse_ident()?)
                };
                match w {
                    "TERMINATE" => StatementKind::Terminate(target),
                    "PAUSE" => StatementKind::Pause(target),
                    _ => StatementKind::Resume(target),
                }
            }
            Some("PRINT") => self.parse_print()?,
            Some("SET") => {
                self.advance();
                let (name, _) = self.parse_string("a property name string")?;
                self.expect(&Tok::Eq)?;
                let (value, _) = self.parse_string("a property value string")?;
                StatementKind::SetProperty { name, value }
            }
            Some("UNSET") => {
                self.advance();
                let (name, _) = self.parse_string("a property name string")?;
                StatementKind::UnsetProperty { name }
            }
            Some("ALTER") => self.parse_alter()?,
            Some("DEFINE") => {
                self.advance();
                let name = self.parse_variable_name()?;
                self.expect(&Tok::Eq)?;
                let (value, _) = self.parse_string("a variable value string")?;
                StatementKind::Define { name, value }
            }
            Some("UNDEFINE") => {
                self.advance();
                let name = self.parse_variable_name()?;
                StatementKind::Undefine { name }
            }
            Some("RUN") => {
                self.advance();
                self.expect_kw("SCRIPT")?;
                let (path, _) = self.parse_string("a script path string")?;
                StatementKind::RunScript { path }
            }
            Some("ASSERT") => self.parse_assert()?,
            _ => {
                for &k in STATEMENT_START {
                    self.expect_note(Expect::Keyword(k));
                }
                let mut e = self.unexpected();
                if !matches!(self.peek(), Tok::Variable(_)) {
                    e.message = format!("expected a statement, found {}", self.peek().describe());
                    if let Some(s) = &e.suggestion {
                        e.message.push_str(&format!(". Did you mean '{s}'?"));
                    }
                    e.expected = vec!["a statement".to_string()];
                }
                return Err(e);
            }
        };
        Ok(Statement {
            kind,
            span: self.span_from(start),
        })
    }

    /// A variable name: an unquoted word.
    fn parse_variable_name(&mut self) -> Result<String> {
        match self.peek() {
            Tok::Word {
                text,
                quoted: false,
                ..
            } if text.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') => {
                self.advance();
                Ok(text.clone())
            }
            _ => Err(self.expected("a variable name")),
        }
    }

    fn parse_source_kind(&mut self) -> Result<SourceKind> {
        match self.expect_one_of(&["STREAM", "TABLE"])? {
            "STREAM" => Ok(SourceKind::Stream),
            _ => Ok(SourceKind::Table),
        }
    }

    fn parse_if_not_exists(&mut self) -> Result<bool> {
        if self.peek_word() == Some("IF") {
            self.advance();
            self.expect_kw("NOT")?;
            self.expect_kw("EXISTS")?;
            Ok(true)
        } else {
            self.expect_note(Expect::Keyword("IF"));
            Ok(false)
        }
    }

    fn parse_if_exists(&mut self) -> Result<bool> {
        if self.peek_word() == Some("IF") {
            self.advance();
            self.expect_kw("EXISTS")?;
            Ok(true)
        } else {
            self.expect_note(Expect::Keyword("IF"));
            Ok(false)
        }
    }

    fn parse_with(&mut self) -> Result<Properties> {
        if self.eat_kw("WITH") {
            self.parse_properties()
        } else {
            Ok(Properties::default())
        }
    }

    /// `CREATE [OR REPLACE] [SOURCE] STREAM|TABLE ...`, `CREATE TYPE ...`,
    /// `CREATE SOURCE|SINK CONNECTOR ...`
    fn parse_create(&mut self) -> Result<StatementKind> {
        self.expect_kw("CREATE")?;
        let or_replace = if self.eat_kw("OR") {
            self.expect_kw("REPLACE")?;
            true
        } else {
            false
        };
        if !or_replace && self.eat_kw("TYPE") {
            let if_not_exists = self.parse_if_not_exists()?;
            let name = self.parse_ident()?;
            self.expect_kw("AS")?;
            let ty = self.parse_type()?;
            return Ok(StatementKind::CreateType {
                name,
                if_not_exists,
                ty,
            });
        }
        let source_span = self.span();
        let mut is_source = false;
        if !or_replace && self.is_kw("SINK") {
            self.advance();
            return self.parse_create_connector(ConnectorKind::Sink);
        }
        if self.eat_kw("SOURCE") {
            if !or_replace && self.peek_word() == Some("CONNECTOR") {
                return self.parse_create_connector(ConnectorKind::Source);
            }
            is_source = true;
        }
        let kind = self.parse_source_kind()?;
        let if_not_exists = self.parse_if_not_exists()?;
        let name = self.parse_ident()?;
        let elements = if self.peek() == &Tok::LParen {
            self.parse_table_elements(Some(kind))?
        } else {
            Vec::new()
        };
        let properties = self.parse_with()?;
        if elements.is_empty() && self.is_kw("AS") {
            let as_span = self.advance().span;
            if is_source {
                return Err(self.error_at(
                    source_span,
                    ParseErrorKind::Invalid,
                    format!(
                        "CREATE SOURCE {kind} cannot be used with AS SELECT (at {})",
                        as_span.start
                    ),
                ));
            }
            let query = self.parse_query()?;
            return Ok(StatementKind::CreateAsSelect(CreateAsSelect {
                kind,
                name,
                or_replace,
                if_not_exists,
                properties,
                query,
            }));
        }
        Ok(StatementKind::CreateSource(CreateSource {
            kind,
            name,
            or_replace,
            is_source,
            if_not_exists,
            elements,
            properties,
        }))
    }

    fn parse_create_connector(&mut self, kind: ConnectorKind) -> Result<StatementKind> {
        self.expect_kw("CONNECTOR")?;
        let if_not_exists = self.parse_if_not_exists()?;
        let name = self.parse_ident()?;
        self.expect_kw("WITH")?;
        let properties = self.parse_connector_properties()?;
        Ok(StatementKind::CreateConnector {
            kind,
            name,
            if_not_exists,
            properties,
        })
    }

    /// A connector's `WITH (...)`: like [`Parser::parse_properties`], but the names keep their
    /// case, as Kafka Connect's configuration keys are case-sensitive (`connector.class`).
    fn parse_connector_properties(&mut self) -> Result<Properties> {
        self.parse_properties_cased(false)
    }

    /// `INSERT INTO name [WITH (...)] SELECT ...` or `INSERT INTO name [(cols)] VALUES (...)`
    fn parse_insert(&mut self) -> Result<StatementKind> {
        self.expect_kw("INSERT")?;
        self.expect_kw("INTO")?;
        let target = self.parse_ident()?;
        if self.peek() == &Tok::LParen || self.is_kw("VALUES") {
            let columns = if self.peek() == &Tok::LParen {
                Some(self.parse_column_list()?)
            } else {
                None
            };
            self.expect_kw("VALUES")?;
            let values = self.parse_paren_value_list()?;
            return Ok(StatementKind::InsertValues(InsertValues {
                target,
                columns,
                values,
            }));
        }
        let properties = self.parse_with()?;
        let query = self.parse_query()?;
        Ok(StatementKind::InsertInto(InsertInto {
            target,
            properties,
            query,
        }))
    }

    fn parse_show(&mut self) -> Result<StatementKind> {
        self.advance(); // SHOW | LIST
        let kind = if self.eat_kw("STREAMS") {
            ShowKind::Streams {
                extended: self.eat_kw("EXTENDED"),
            }
        } else if self.eat_kw("TABLES") {
            ShowKind::Tables {
                extended: self.eat_kw("EXTENDED"),
            }
        } else if self.eat_kw("ALL") {
            self.expect_kw("TOPICS")?;
            ShowKind::Topics {
                all: true,
                extended: self.eat_kw("EXTENDED"),
            }
        } else if self.eat_kw("TOPICS") {
            ShowKind::Topics {
                all: false,
                extended: self.eat_kw("EXTENDED"),
            }
        } else if self.eat_kw("QUERIES") {
            ShowKind::Queries {
                extended: self.eat_kw("EXTENDED"),
            }
        } else if self.eat_kw("PROPERTIES") {
            ShowKind::Properties
        } else if self.eat_kw("FUNCTIONS") {
            ShowKind::Functions
        } else if self.eat_kw("TYPES") {
            ShowKind::Types
        } else if self.eat_kw("VARIABLES") {
            ShowKind::Variables
        } else if self.eat_kw("CONNECTORS") {
            ShowKind::Connectors(None)
        } else if self.eat_kw("SOURCE") {
            self.expect_kw("CONNECTORS")?;
            ShowKind::Connectors(Some(ConnectorKind::Source))
        } else if self.eat_kw("SINK") {
            self.expect_kw("CONNECTORS")?;
            ShowKind::Connectors(Some(ConnectorKind::Sink))
        } else if self.eat_kw("CONNECTOR") {
            self.expect_kw("PLUGINS")?;
            ShowKind::ConnectorPlugins
        } else {
            return Err(self.unexpected());
        };
        Ok(StatementKind::Show(kind))
    }

    fn parse_describe(&mut self) -> Result<StatementKind> {
        self.expect_kw("DESCRIBE")?;
        let ends_here = |p: &Self, n: usize| {
            matches!(p.peek_nth(n), Tok::Semicolon | Tok::Eof)
                || p.peek_word_nth(n) == Some("EXTENDED")
        };
        if self.eat_kw("STREAMS") {
            return Ok(StatementKind::DescribeSources {
                kind: SourceKind::Stream,
                extended: self.eat_kw("EXTENDED"),
            });
        }
        if self.peek_word() == Some("TABLES") && ends_here(self, 1) {
            self.advance();
            return Ok(StatementKind::DescribeSources {
                kind: SourceKind::Table,
                extended: self.eat_kw("EXTENDED"),
            });
        }
        if self.peek_word() == Some("FUNCTION") && !ends_here(self, 1) {
            self.advance();
            let name = self.parse_ident()?;
            return Ok(StatementKind::DescribeFunction { name });
        }
        if self.eat_kw("CONNECTOR") {
            let name = self.parse_ident()?;
            return Ok(StatementKind::DescribeConnector { name });
        }
        let name = self.parse_ident()?;
        Ok(StatementKind::DescribeSource {
            name,
            extended: self.eat_kw("EXTENDED"),
        })
    }

    fn parse_explain(&mut self) -> Result<StatementKind> {
        self.expect_kw("EXPLAIN")?;
        let starts_statement = self
            .peek_word()
            .is_some_and(|w| STATEMENT_START.contains(&w))
            && !matches!(self.peek_nth(1), Tok::Semicolon | Tok::Eof);
        if self.peek_word() == Some("EXPLAIN") {
            return Err(self.error_at(
                self.span(),
                ParseErrorKind::Invalid,
                "EXPLAIN cannot explain an EXPLAIN".into(),
            ));
        }
        if starts_statement {
            let inner = self.parse_statement()?;
            return Ok(StatementKind::Explain(ExplainTarget::Statement(Box::new(
                inner,
            ))));
        }
        Ok(StatementKind::Explain(ExplainTarget::QueryId(
            self.parse_ident()?,
        )))
    }

    fn parse_drop(&mut self) -> Result<StatementKind> {
        self.expect_kw("DROP")?;
        if self.eat_kw("TYPE") {
            let if_exists = self.parse_if_exists()?;
            let name = self.parse_ident()?;
            return Ok(StatementKind::DropType { name, if_exists });
        }
        if self.eat_kw("CONNECTOR") {
            let if_exists = self.parse_if_exists()?;
            let name = self.parse_ident()?;
            return Ok(StatementKind::DropConnector { name, if_exists });
        }
        let kind = self.parse_source_kind()?;
        let if_exists = self.parse_if_exists()?;
        let name = self.parse_ident()?;
        let delete_topic = if self.eat_kw("DELETE") {
            self.expect_kw("TOPIC")?;
            true
        } else {
            false
        };
        Ok(StatementKind::DropSource {
            kind,
            name,
            if_exists,
            delete_topic,
        })
    }

    /// A topic or subject name: an identifier (kept as written) or a string.
    fn parse_resource_name(&mut self) -> Result<ResourceName> {
        match self.peek() {
            Tok::Str(s) => {
                let sp = self.advance().span;
                Ok(ResourceName {
                    name: s.clone(),
                    is_string: true,
                    span: sp,
                })
            }
            Tok::Word { text, .. } if self.at_ident() => {
                let sp = self.advance().span;
                Ok(ResourceName {
                    name: text.clone(),
                    is_string: false,
                    span: sp,
                })
            }
            _ => Err(self.expected("a topic name")),
        }
    }

    fn parse_print(&mut self) -> Result<StatementKind> {
        self.expect_kw("PRINT")?;
        let topic = self.parse_resource_name()?;
        let from_beginning = if self.eat_kw("FROM") {
            self.expect_kw("BEGINNING")?;
            true
        } else {
            false
        };
        let interval = if self.eat_kw("INTERVAL") || self.eat_kw("SAMPLE") {
            Some(self.parse_count("an interval")?.0)
        } else {
            None
        };
        let limit = if self.eat_kw("LIMIT") {
            Some(self.parse_limit()?)
        } else {
            None
        };
        Ok(StatementKind::Print(Print {
            topic,
            from_beginning,
            interval,
            limit,
        }))
    }

    /// `ALTER SYSTEM 'k' = 'v'` or `ALTER STREAM|TABLE name ADD [COLUMN] c T, ...`
    fn parse_alter(&mut self) -> Result<StatementKind> {
        self.expect_kw("ALTER")?;
        if self.eat_kw("SYSTEM") {
            let (name, _) = self.parse_string("a property name string")?;
            self.expect(&Tok::Eq)?;
            let (value, _) = self.parse_string("a property value string")?;
            return Ok(StatementKind::AlterSystem { name, value });
        }
        let kind = self.parse_source_kind()?;
        let name = self.parse_ident()?;
        let mut add_columns = Vec::new();
        loop {
            self.expect_kw("ADD")?;
            self.eat_kw("COLUMN");
            let start = self.span().start;
            let col = self.parse_ident()?;
            let ty = self.parse_type()?;
            add_columns.push(ColumnDef {
                name: col,
                ty,
                constraint: ColumnConstraint::None,
                span: self.span_from(start),
            });
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        Ok(StatementKind::AlterSource {
            kind,
            name,
            add_columns,
        })
    }

    fn parse_timeout(&mut self) -> Result<Option<crate::ast::Duration>> {
        if self.eat_kw("TIMEOUT") {
            Ok(Some(self.parse_duration()?))
        } else {
            Ok(None)
        }
    }

    fn parse_assert(&mut self) -> Result<StatementKind> {
        self.expect_kw("ASSERT")?;
        let not_exists = if self.eat_kw("NOT") {
            self.expect_kw("EXISTS")?;
            true
        } else {
            false
        };
        if self.eat_kw("TOPIC") {
            let topic = self.parse_resource_name()?;
            let properties = self.parse_with()?;
            let timeout = self.parse_timeout()?;
            return Ok(StatementKind::AssertTopic {
                not_exists,
                topic,
                properties,
                timeout,
            });
        }
        if self.eat_kw("SCHEMA") {
            let subject = if self.eat_kw("SUBJECT") {
                Some(self.parse_resource_name()?)
            } else {
                None
            };
            let id = if self.eat_kw("ID") {
                Some(self.parse_property_literal()?)
            } else {
                None
            };
            let timeout = self.parse_timeout()?;
            return Ok(StatementKind::AssertSchema {
                not_exists,
                subject,
                id,
                timeout,
            });
        }
        if not_exists {
            return Err(self.unexpected());
        }
        if self.eat_kw("VALUES") {
            let source = self.parse_ident()?;
            let columns = if self.peek() == &Tok::LParen {
                Some(self.parse_column_list()?)
            } else {
                None
            };
            self.expect_kw("VALUES")?;
            let values = self.parse_paren_value_list()?;
            return Ok(StatementKind::AssertValues {
                source,
                columns,
                values,
            });
        }
        if self.eat_kw("NULL") {
            self.expect_kw("VALUES")?;
            let source = self.parse_ident()?;
            let columns = if self.peek() == &Tok::LParen {
                Some(self.parse_column_list()?)
            } else {
                None
            };
            self.expect_kw("KEY")?;
            let key_values = self.parse_paren_value_list()?;
            return Ok(StatementKind::AssertTombstone {
                source,
                columns,
                key_values,
            });
        }
        let kind = self.parse_source_kind()?;
        let name = self.parse_ident()?;
        let elements = if self.peek() == &Tok::LParen {
            self.parse_table_elements(None)?
        } else {
            Vec::new()
        };
        let properties = self.parse_with()?;
        Ok(StatementKind::AssertSource {
            kind,
            name,
            elements,
            properties,
        })
    }
}
