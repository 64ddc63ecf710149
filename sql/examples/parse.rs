//! Parses SQL and prints each statement back, or the error with a caret.
//!
//! `cargo run -p brook-sql --example parse -- FILE.sql` (or SQL on standard input);
//! `--lines` treats every input line as a separate script.

use std::io::Read;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let lines = args.iter().any(|a| a == "--lines");
    let file = args.iter().find(|a| !a.starts_with("--"));
    let (name, text) = match file {
        Some(f) => (
            f.clone(),
            std::fs::read_to_string(f).expect("readable file"),
        ),
        None => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s).expect("stdin");
            ("<stdin>".to_string(), s)
        }
    };
    let scripts: Vec<&str> = if lines {
        text.lines().collect()
    } else {
        vec![&text]
    };
    let mut failed = false;
    for script in scripts {
        match brook_sql::parse_statements(script) {
            Ok(sts) => {
                for st in sts {
                    println!("OK  {st};");
                }
            }
            Err(e) => {
                failed = true;
                println!("ERR {}", e.render(script, &name));
            }
        }
    }
    std::process::exit(i32::from(failed));
}
