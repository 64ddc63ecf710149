//! Feeds arbitrary UTF-8 to the script parser and the helpers around it. Any panic, stack
//! overflow, or hang is a bug; so is an accepted statement that does not print back to SQL
//! that parses to the same tree.
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(sql) = std::str::from_utf8(data) else {
        return;
    };
    match brook_sql::parse_statements(sql) {
        Ok(statements) => {
            for st in statements {
                let printed = st.to_string();
                let again = brook_sql::parse_statement(&printed)
                    .unwrap_or_else(|e| panic!("print of {sql:?} does not parse: {e}"));
                assert_eq!(again, st, "round trip of {sql:?} via {printed:?}");
            }
        }
        Err(e) => {
            let _ = e.render(sql, "fuzz.sql");
        }
    }
    let _ = brook_sql::split_statements(sql);
    let mut vars = HashMap::from([("v".to_string(), "1".to_string())]);
    let _ = brook_sql::substitute_variables(sql, &vars);
    let _ = brook_sql::parse_script(sql, &mut vars);
});
