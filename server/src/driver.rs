//! driver.rs: TEMPORARY until the engine runs its own queries. A background thread that
//! keeps persistent queries running (as the shell's driver does): it steps every query in
//! a loop under the engine's lock, sleeping briefly when none had anything to read, and
//! logs the errors they hit.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use brook_engine::runtime::Engine;

/// How long the driver sleeps when no query had anything to read.
const IDLE_SLEEP: Duration = Duration::from_millis(20);

/// The running background thread; stops when dropped.
pub struct Driver {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Driver {
    /// Starts stepping `engine`'s queries.
    pub fn start(engine: Arc<Mutex<Engine>>) -> std::io::Result<Driver> {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let handle = std::thread::Builder::new()
            .name("brook-queries".into())
            .spawn(move || drive(engine, s))?;
        Ok(Driver {
            stop,
            handle: Some(handle),
        })
    }

    /// Stops the thread and waits for its current step to end.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.stop();
    }
}

fn drive(engine: Arc<Mutex<Engine>>, stop: Arc<AtomicBool>) {
    let mut last_error: Option<String> = None;
    while !stop.load(Ordering::SeqCst) {
        let result = {
            let mut e = engine.lock().unwrap_or_else(|p| p.into_inner());
            e.step_queries()
        };
        match result {
            Ok(0) => std::thread::sleep(IDLE_SLEEP),
            // Let request handlers take the lock between micro-batches.
            Ok(_) => std::thread::yield_now(),
            Err(e) => {
                let msg = e.to_string();
                if last_error.as_ref() != Some(&msg) {
                    tracing::error!("a persistent query failed: {msg}");
                    last_error = Some(msg);
                }
                std::thread::sleep(IDLE_SLEEP * 25);
            }
        }
    }
}
