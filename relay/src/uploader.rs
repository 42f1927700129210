//! The background uploader: syncs the outbox whenever something is
//! captured, and retries with exponential backoff and jitter when the store
//! cannot be reached.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::{lock, Event, Relay};

/// Exponential backoff with "equal jitter": the n-th wait is uniformly
/// random in [d/2, d] with d = min(base · 2ⁿ, cap).
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    attempt: u32,
}

impl Backoff {
    /// Backoff from `base` doubling up to `cap` (`base` at least 10 ms,
    /// `cap` at least `base`, so a misconfiguration cannot busy-loop).
    pub fn new(base: Duration, cap: Duration) -> Self {
        let base = base.max(Duration::from_millis(10));
        Backoff {
            base,
            cap: cap.max(base),
            attempt: 0,
        }
    }

    /// The next wait.
    pub fn next_delay(&mut self) -> Duration {
        let factor = 1u32.checked_shl(self.attempt.min(20)).unwrap_or(u32::MAX);
        let d = self.base.saturating_mul(factor).min(self.cap);
        self.attempt = self.attempt.saturating_add(1);
        let mut r = [0u8; 8];
        // Jitter only: without randomness the wait is the full delay.
        if getrandom::fill(&mut r).is_err() {
            r = [0xff; 8];
        }
        let unit = (u64::from_le_bytes(r) >> 11) as f64 / (1u64 << 53) as f64;
        d.mul_f64(0.5 + 0.5 * unit)
    }

    /// Back to the first, short wait (after a success).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// A running uploader thread. [`UploaderHandle::stop`] stops it and waits;
/// dropping the handle stops it without waiting.
#[derive(Debug)]
pub struct UploaderHandle {
    stop: Arc<AtomicBool>,
    relay: Arc<Relay>,
    thread: Option<JoinHandle<()>>,
}

impl UploaderHandle {
    /// Stops the thread after its current upload and waits for it.
    pub fn stop(mut self) {
        self.signal_stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    fn signal_stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.relay.wake_uploader();
    }
}

impl Drop for UploaderHandle {
    fn drop(&mut self) {
        self.signal_stop();
    }
}

impl Relay {
    /// Starts the background uploader: a sync pass now, after every
    /// capture, every `idle` when the outbox is empty (to pick up envelopes
    /// another process queued), and after a backoff wait when a pass fails.
    pub fn spawn_uploader(
        self: &Arc<Self>,
        mut backoff: Backoff,
        idle: Duration,
    ) -> UploaderHandle {
        let stop = Arc::new(AtomicBool::new(false));
        let relay = Arc::clone(self);
        let stop_flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !stop_flag.load(Ordering::SeqCst) {
                let seen = *lock(&relay.wake.0);
                let wait = match relay.sync_until(&stop_flag) {
                    Ok(_) => {
                        backoff.reset();
                        idle
                    }
                    Err(e) => {
                        let d = backoff.next_delay();
                        relay.emit(Event::Retrying {
                            code: e.code(),
                            delay_ms: u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
                        });
                        d
                    }
                };
                // Sleep until woken by a capture/stop, or the wait is over.
                let (m, cv) = &relay.wake;
                let guard = lock(m);
                if *guard == seen && !stop_flag.load(Ordering::SeqCst) {
                    let _ = cv.wait_timeout_while(guard, wait, |n| {
                        *n == seen && !stop_flag.load(Ordering::SeqCst)
                    });
                }
            }
        });
        UploaderHandle {
            stop,
            relay: Arc::clone(self),
            thread: Some(thread),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_caps() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
        let waits: Vec<Duration> = (0..8).map(|_| b.next_delay()).collect();
        for (n, w) in waits.iter().enumerate() {
            let full = Duration::from_millis(100)
                .saturating_mul(1 << n)
                .min(Duration::from_secs(2));
            assert!(
                *w >= full / 2 && *w <= full,
                "wait {n}: {w:?} not in [{:?}, {full:?}]",
                full / 2
            );
        }
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(100));
        let mut zero = Backoff::new(Duration::ZERO, Duration::ZERO);
        assert!(
            zero.next_delay() >= Duration::from_millis(5),
            "no busy loop"
        );
    }
}
