//! limit.rs owns LIMIT of transient queries: passes the first `limit` rows, then nothing.

use super::Operator;
use crate::runtime::error::Result;
use crate::runtime::processing_log::ProcessingError;
use crate::runtime::rows::Rows;

#[derive(Debug)]
pub struct Limit {
    remaining: u64,
}

impl Limit {
    pub fn new(limit: u64) -> Self {
        Limit { remaining: limit }
    }

    /// Whether every row the limit allows has passed.
    pub fn done(&self) -> bool {
        self.remaining == 0
    }
}

impl Operator for Limit {
    fn process(&mut self, input: Rows, _: &mut Vec<ProcessingError>) -> Result<Rows> {
        let n = (input.len() as u64).min(self.remaining);
        self.remaining -= n;
        if n as usize == input.len() {
            return Ok(input);
        }
        let idx: Vec<u32> = (0..n as u32).collect();
        input.take(&idx)
    }
}
