//! The conformance ratchet for ksqlDB's query-validation files
//! (`../shared/qtt/query-validation-tests`): fails when a case listed in
//! `tests/qtt-passing.txt` no longer passes (see `ratchet/mod.rs`).

mod ratchet;

#[test]
fn listed_conformance_cases_still_pass() {
    ratchet::Ratchet {
        label: "conformance",
        folder: "query-validation-tests",
        list: "tests/qtt-passing.txt",
        target: "qtt_ratchet",
        over_http: false,
    }
    .check();
}
