//! The REST conformance ratchet over real HTTP: ksqlDB's REST files
//! (`../shared/qtt/rest-query-validation-tests`) run by `brook test --http`, each case's
//! statements sent to a fresh server over HTTP, so that the server's wire format (entities,
//! query streams, errors) is what is checked; fails when a case listed in
//! `tests/qtt-rest-http-passing.txt` no longer passes (see `ratchet/mod.rs`).

mod ratchet;

#[test]
fn listed_rest_conformance_cases_still_pass_over_http() {
    ratchet::Ratchet {
        label: "REST conformance over HTTP",
        folder: "rest-query-validation-tests",
        list: "tests/qtt-rest-http-passing.txt",
        target: "qtt_rest_http_ratchet",
        over_http: true,
    }
    .check();
}
