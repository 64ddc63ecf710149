//! The REST conformance ratchet for ksqlDB's REST files
//! (`../shared/qtt/rest-query-validation-tests`: pull and push queries, INSERT VALUES, whose
//! responses are checked): fails when a case listed in `tests/qtt-rest-passing.txt` no
//! longer passes (see `ratchet/mod.rs`).

mod ratchet;

#[test]
fn listed_rest_conformance_cases_still_pass() {
    ratchet::Ratchet {
        label: "REST conformance",
        folder: "rest-query-validation-tests",
        list: "tests/qtt-rest-passing.txt",
        target: "qtt_rest_ratchet",
        over_http: false,
    }
    .check();
}
