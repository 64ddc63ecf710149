//! Shared by the tests that start `brook server` processes: a free loopback port, and the
//! process guard that kills a server the test started when the test ends, failed or not.

use std::net::TcpListener;
use std::process::Child;

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `brook server`, killed when dropped (a failing test leaves no server behind).
pub struct ServerProcess(pub Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}
