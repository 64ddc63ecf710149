//! The interactive shell driven through pseudo-terminals, as a user types into it, with
//! assertions on the screen (output fed through a VT100 emulator, so what is checked is what
//! a user would see, after cursor moves and colours).
//!
//! One shell opens the data directory for writing and runs a push query; a second one,
//! opened on the same directory as a second terminal would be, inserts rows (sent to the
//! first, which writes the directory) and the first shows them live.

use std::process::Command;
use std::time::{Duration, Instant};

use rexpect::session::{spawn_command, PtySession};

const ROWS: u16 = 60;
const COLS: u16 = 160;

/// A shell in a pseudo-terminal and the screen it has drawn.
struct Terminal {
    session: PtySession,
    screen: vt100::Parser,
    name: &'static str,
}

impl Terminal {
    fn open(name: &'static str, data_dir: &std::path::Path, history: &std::path::Path) -> Self {
        let brook = env!("CARGO_BIN_EXE_brook");
        // A pty starts with no size; give it one as a terminal window would.
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!(
                "stty rows {ROWS} cols {COLS}; exec '{brook}' --data-dir '{}'",
                data_dir.display()
            ))
            .env("BROOK_HISTORY", history)
            .env("TERM", "xterm")
            .env_remove("NO_COLOR");
        let session = spawn_command(cmd, Some(30_000)).expect("spawn brook in a pty");
        Terminal {
            session,
            screen: vt100::Parser::new(
                std::num::NonZeroU16::new(ROWS).unwrap(),
                std::num::NonZeroU16::new(COLS).unwrap(),
                0,
            ),
            name,
        }
    }

    fn pump(&mut self) {
        // rexpect hands over each byte read as one char.
        let mut bytes = Vec::new();
        while let Some(c) = self.session.try_read() {
            bytes.push(c as u32 as u8);
        }
        self.screen.process(&bytes);
    }

    /// Waits until the shell shows a prompt (or a continuation prompt) on its last line:
    /// it reads input again (what is typed before is dropped by the line editor).
    fn wait_prompt(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.contents();
            let last = screen
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or_default()
                .trim_end()
                .to_string();
            if last.ends_with("brook>") || last.ends_with("...>") {
                // The prompt is drawn just before the line editor reads the terminal.
                std::thread::sleep(Duration::from_millis(200));
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "{}: no prompt came back; the screen shows:\n{screen}",
                    self.name
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn contents(&mut self) -> String {
        self.pump();
        self.screen.screen().contents()
    }

    /// Waits until the screen shows `text` (at most 30 s).
    fn wait_for(&mut self, text: &str) {
        self.wait_for_count(text, 1)
    }

    /// Waits until `text` appears `n` times on the screen (at most 30 s).
    fn wait_for_count(&mut self, text: &str, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.contents();
            if screen.matches(text).count() >= n {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "{}: the screen never showed {text:?} {n} time(s); it shows:\n{screen}",
                    self.name
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn type_text(&mut self, text: &str) {
        self.session.send(text).expect("type");
        self.session.flush().expect("flush");
    }

    /// Types a line at the prompt and presses Enter.
    fn type_line(&mut self, line: &str) {
        self.wait_prompt();
        self.type_text(line);
        self.type_text("\r");
    }

    /// The screen's last line that contains `text`.
    fn line_with(&mut self, text: &str) -> String {
        self.contents()
            .lines()
            .rev()
            .find(|l| l.contains(text))
            .unwrap_or_default()
            .to_string()
    }
}

#[test]
fn a_new_user_creates_inserts_watches_live_cancels_looks_up_and_completes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let history = dir.path().join("history");

    let mut a = Terminal::open("writer", &data, &history);
    a.wait_for("brook> ");

    // A statement typed over two lines: the second gets the continuation prompt.
    a.type_line("CREATE STREAM clicks (user_id STRING KEY, page_id STRING)");
    a.wait_for("...> ");
    a.type_line("  WITH (KAFKA_TOPIC='clicks', PARTITIONS=1, VALUE_FORMAT='JSON');");
    a.wait_for("Stream created");

    a.type_line(
        "CREATE TABLE page_counts AS SELECT user_id, COUNT(*) AS views FROM clicks \
         WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY user_id;",
    );
    a.wait_for("Created query with ID CTAS_PAGE_COUNTS_");
    a.type_line("INSERT INTO clicks (user_id, page_id) VALUES ('alice', 'home');");

    // A typo is shown with a caret under it, and nothing runs.
    a.type_line("SELEKT * FROM clicks;");
    a.wait_for("^");
    assert!(
        a.contents().contains("SELEKT"),
        "the error quotes the line: {}",
        a.contents()
    );

    // A push query: a windowed count that updates as rows arrive.
    a.type_line(
        "SELECT user_id, COUNT(*) AS views FROM clicks WINDOW TUMBLING (SIZE 1 MINUTE) \
         GROUP BY user_id EMIT CHANGES;",
    );
    a.wait_for("| USER_ID");

    // A second terminal on the same directory: it reads beside the first and sends it the
    // statements that change things.
    let mut b = Terminal::open("second", &data, &history);
    b.wait_for("sends it the statements that change it");
    b.type_line("INSERT INTO clicks (user_id, page_id) VALUES ('bob', 'cart');");
    a.wait_for("| bob");
    b.type_line("INSERT INTO clicks (user_id, page_id) VALUES ('bob', 'pay');");
    a.wait_for_count("| bob", 2);
    let screen = a.contents();
    let bob_rows: Vec<&str> = screen.lines().filter(|l| l.contains("| bob")).collect();
    assert!(
        bob_rows.last().unwrap().contains("| 2 "),
        "the count went up live: {bob_rows:?}"
    );

    // Ctrl-C ends the push query and gives the prompt back.
    a.session.send_control('c').unwrap();
    a.wait_for("Query terminated");
    a.wait_prompt();

    // A pull query looks a key up in the table the query maintains, in either terminal.
    a.type_line("SELECT user_id, views FROM page_counts WHERE user_id = 'bob';");
    a.wait_for("(1 row)");
    assert!(a.line_with("| bob").contains("| 2"), "{}", a.contents());
    b.type_line("SELECT user_id, views FROM page_counts WHERE user_id = 'bob';");
    b.wait_for("(1 row)");
    assert!(b.line_with("| bob").contains("| 2"), "{}", b.contents());

    // Tab completes a column name from the catalog.
    a.wait_prompt();
    a.type_text("SELECT * FROM page_counts WHERE USER_");
    a.type_text("\t");
    a.wait_for("WHERE USER_ID");
    a.type_text(" = 'alice';\r");
    a.wait_for_count("(1 row)", 2);
    assert!(a.line_with("| alice").contains("| 1"), "{}", a.contents());

    // Ctrl-D leaves.
    b.wait_prompt();
    b.session.send_control('d').unwrap();
    b.wait_for("Exiting Brook.");
    a.type_line("exit");
    a.wait_for("Exiting Brook.");

    // History was kept across runs.
    let kept = std::fs::read_to_string(&history).unwrap_or_default();
    assert!(
        kept.contains("CREATE TABLE page_counts AS SELECT"),
        "history: {kept}"
    );
}

#[test]
fn spool_copies_commands_and_their_output_to_a_file_until_spool_off() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let history = dir.path().join("history");
    let spool = dir.path().join("session.txt");
    let other = dir.path().join("other.txt");

    let mut a = Terminal::open("spooler", &data, &history);
    a.wait_for("brook> ");
    a.type_line("SPOOL OFF;");
    a.wait_for("No spool is active");
    a.type_line(&format!("SPOOL {};", spool.display()));
    a.wait_for("Spooling to");
    // Only one spool at a time.
    a.type_line(&format!("SPOOL {};", other.display()));
    a.wait_for("is already active");
    a.type_line(
        "CREATE STREAM clicks (user_id STRING KEY, page_id STRING) \
         WITH (KAFKA_TOPIC='clicks', PARTITIONS=1, VALUE_FORMAT='JSON');",
    );
    a.wait_for("Stream created");
    a.type_line("SHOW STREAMS;");
    a.wait_for("CLICKS");
    a.type_line("DESCRIBE nowhere;");
    a.wait_for("NOWHERE");
    a.type_line("SPOOL OFF;");
    a.wait_for("closed");
    a.type_line("SHOW TOPICS;");
    a.wait_for("clicks");
    a.type_line("exit");
    a.wait_for("Exiting Brook.");

    let text = std::fs::read_to_string(&spool).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("brook> CREATE STREAM clicks")),
        "commands are prefixed with the prompt: {text}"
    );
    assert!(text.contains("Stream created"), "output is kept: {text}");
    assert!(text.contains("brook> SHOW STREAMS;"), "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("CLICKS") && !l.starts_with("brook>")),
        "{text}"
    );
    assert!(text.contains("brook> DESCRIBE nowhere;"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("NOWHERE") && !l.starts_with("brook>")),
        "errors are kept: {text}"
    );
    assert!(text.contains("is already active"), "{text}");
    assert!(text.contains("brook> SPOOL OFF;"), "{text}");
    assert!(
        !text.contains("SHOW TOPICS"),
        "nothing after SPOOL OFF: {text}"
    );
    assert!(!other.exists(), "the second spool was refused");
}
