//! The NONE format: a side of the record that carries no columns. Payloads are ignored when
//! read (every row decodes to zero columns) and nothing is written (`None`).

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;

use super::{check_width, make_batch, sql_type_name, Decoded, Format, FormatError, FormatOptions};

/// ksqlDB's `NONE` format.
#[derive(Debug)]
pub struct NoneFormat {
    schema: SchemaRef,
}

impl NoneFormat {
    pub(crate) fn new(options: &FormatOptions, schema: SchemaRef) -> Result<Self, FormatError> {
        if !schema.fields().is_empty() {
            let suffix = if options.is_key { " KEY" } else { "" };
            let cols: Vec<String> = schema
                .fields()
                .iter()
                .map(|f| format!("`{}` {}{suffix}", f.name(), sql_type_name(f.data_type())))
                .collect();
            return Err(FormatError::UnsupportedSchema(format!(
                "The 'NONE' format can only be used when no columns are defined. Got: [{}]",
                cols.join(", ")
            )));
        }
        Ok(NoneFormat { schema })
    }
}

impl Format for NoneFormat {
    fn name(&self) -> &'static str {
        "NONE"
    }

    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn decode(&self, payloads: &[Option<&[u8]>]) -> Decoded {
        Decoded {
            batch: make_batch(&self.schema, vec![], payloads.len()),
            null_rows: payloads.iter().map(Option::is_none).collect(),
            errors: vec![],
        }
    }

    fn encode(&self, batch: &RecordBatch) -> Result<Vec<Option<Vec<u8>>>, FormatError> {
        check_width(&self.schema, batch)?;
        Ok(vec![None; batch.num_rows()])
    }

    fn json_to_payload(&self, _value: &serde_json::Value) -> Result<Option<Vec<u8>>, FormatError> {
        Ok(None)
    }

    fn payload_to_json(&self, _payload: Option<&[u8]>) -> Result<serde_json::Value, FormatError> {
        Ok(serde_json::Value::Null)
    }
}
