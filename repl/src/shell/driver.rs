//! driver.rs owns the background thread that keeps persistent queries running while the
//! shell waits at its prompt: it steps every query in a loop, sleeping briefly when none had
//! anything to read, and keeps the last error for the shell to show.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use brook_engine::runtime::Engine;

/// How long the driver sleeps when no query had anything to read.
const IDLE_SLEEP: Duration = Duration::from_millis(50);

/// The running background thread.
pub struct Driver {
    stop: Arc<AtomicBool>,
    errors: Arc<Mutex<Vec<String>>>,
    handle: Option<JoinHandle<()>>,
}

impl Driver {
    /// Starts stepping `engine`'s queries.
    pub fn start(engine: Arc<Mutex<Engine>>) -> Driver {
        let stop = Arc::new(AtomicBool::new(false));
        let errors = Arc::new(Mutex::new(Vec::new()));
        let (s, e) = (stop.clone(), errors.clone());
        let handle = std::thread::Builder::new()
            .name("brook-queries".into())
            .spawn(move || drive(engine, s, e))
            .expect("spawn the query thread");
        Driver {
            stop,
            errors,
            handle: Some(handle),
        }
    }

    /// Errors the queries hit since the last call (each distinct message once).
    pub fn take_errors(&self) -> Vec<String> {
        std::mem::take(&mut *self.errors.lock().expect("errors lock"))
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

fn drive(engine: Arc<Mutex<Engine>>, stop: Arc<AtomicBool>, errors: Arc<Mutex<Vec<String>>>) {
    let mut last_error: Option<String> = None;
    while !stop.load(Ordering::SeqCst) {
        let result = match engine.lock() {
            Ok(mut e) => e.step_queries(),
            Err(_) => return,
        };
        match result {
            Ok(0) => std::thread::sleep(IDLE_SLEEP),
            // Let the shell's thread take the lock between micro-batches.
            Ok(_) => std::thread::yield_now(),
            Err(e) => {
                let msg = e.to_string();
                if last_error.as_ref() != Some(&msg) {
                    errors.lock().expect("errors lock").push(msg.clone());
                    last_error = Some(msg);
                }
                std::thread::sleep(IDLE_SLEEP * 10);
            }
        }
    }
}
