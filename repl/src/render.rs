//! render.rs owns showing statement results as text: query rows and SHOW/DESCRIBE output as
//! aligned tables (comfy-table), confirmations as lines.

use std::io::Write;

use arrow::array::{Array, RecordBatch};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use brook_engine::runtime::{QueryRows, StatementResult};
use comfy_table::{presets::ASCII_FULL_CONDENSED, ContentArrangement, Table};

/// The text of every cell of the rows; NULL for nulls.
fn cells(rows: &QueryRows) -> Vec<Vec<String>> {
    rows.batches.iter().flat_map(batch_cells).collect()
}

/// The text of every cell of one batch, row by row; NULL for nulls.
pub fn batch_cells(batch: &RecordBatch) -> Vec<Vec<String>> {
    let options = FormatOptions::default().with_null("NULL");
    let formatters: Vec<Option<ArrayFormatter>> = batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).ok())
        .collect();
    (0..batch.num_rows())
        .map(|r| {
            formatters
                .iter()
                .zip(batch.columns())
                .map(|(f, c)| match f {
                    Some(f) if !c.is_null(r) => f.value(r).to_string(),
                    _ => "NULL".to_string(),
                })
                .collect()
        })
        .collect()
}

/// The names of the columns a query shows (pseudo-columns are not shown).
pub fn column_names(schema: &brook_engine::sql::plan::Schema) -> Vec<String> {
    schema
        .columns
        .iter()
        .filter(|c| c.role != brook_engine::sql::plan::ColumnRole::Pseudo)
        .map(|c| c.name.clone())
        .collect()
}

/// An aligned table of `headers` over `rows`.
pub fn table(headers: Vec<String>, rows: Vec<Vec<String>>) -> Table {
    let mut t = Table::new();
    t.load_preset(ASCII_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(headers);
    for r in rows {
        t.add_row(r);
    }
    t
}

/// Writes a statement's result.
pub fn write_result(out: &mut impl Write, result: &StatementResult) -> std::io::Result<()> {
    match result {
        StatementResult::Message(m) => writeln!(out, "{m}"),
        StatementResult::QueryStarted { message, .. } => writeln!(out, "{message}"),
        StatementResult::Inserted { .. } | StatementResult::Nothing => Ok(()),
        StatementResult::Rows(rows) => {
            let headers = column_names(&rows.schema);
            let body = cells(rows);
            let n = body.len();
            writeln!(out, "{}", table(headers, body))?;
            writeln!(out, "({n} row{})", if n == 1 { "" } else { "s" })
        }
        StatementResult::Table {
            title,
            headers,
            rows,
        } => {
            if let Some(t) = title {
                writeln!(out, "{t}")?;
            }
            writeln!(out, "{}", table(headers.clone(), rows.clone()))
        }
        StatementResult::Text(t) => write!(out, "{t}"),
        StatementResult::Push(_) | StatementResult::Print(_) => {
            writeln!(out, "(a live query: run it in the shell, `brook`)")
        }
    }
}
