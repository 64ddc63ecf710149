//! Tests of expression compilation.
