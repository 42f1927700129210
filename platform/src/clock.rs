//! The wall clock. The core never reads it: every function there that
//! needs the time takes it as a parameter, and the edges (CLI, relay,
//! store, the bridges) pass this.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch (0 if the clock is set before 1970).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_clock_is_after_this_code_was_written() {
        // 2026-01-01T00:00:00Z
        assert!(super::unix_now() > 1_767_225_600);
    }
}
