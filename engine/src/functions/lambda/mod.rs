//! Lambda functions (TRANSFORM, FILTER, REDUCE): not built yet.
