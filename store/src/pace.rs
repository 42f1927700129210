//! A minimum rate for request bodies.
//!
//! A body that trickles in (one byte every 20 s evades any "nothing for
//! N seconds" timeout) holds what it was given — an upload buffer, a
//! connection slot — until the whole-request timeout. [`PacedBody`] wraps
//! every request body and fails it with [`TooSlow`] when, over a window of
//! `limits.body_rate_window_secs` spent waiting for the client, fewer than
//! `limits.body_min_bytes_per_sec` × that time arrived. The first window
//! is the grace period; each window is judged on its own (no credit is
//! carried over from one window to the next).
//!
//! Only time the handler spends waiting for the client counts: from a
//! read that found nothing to the read that gets something. While the
//! handler is busy elsewhere (waiting for an upload buffer, writing to
//! disk) it does not read, and the client, held back by flow control, is
//! not to blame.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// The body arrived slower than the configured floor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the request body arrived slower than {floor} bytes per second")]
pub struct TooSlow {
    /// The floor (bytes per second).
    pub floor: u64,
}

/// Whether a body error (or one of its causes) is [`TooSlow`].
pub fn too_slow(e: &(dyn std::error::Error + 'static)) -> Option<TooSlow> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(t) = err.downcast_ref::<TooSlow>() {
            return Some(*t);
        }
        cur = err.source();
    }
    None
}

/// The floor and its window.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// Bytes per second; 0: no floor.
    pub floor: u64,
    /// The window.
    pub window: Duration,
}

impl Pace {
    /// `body` with this floor ([`PacedBody`]; `on_fail` runs when it is
    /// cut); as is when the floor is 0 or the body is known to be empty.
    pub fn wrap(self, body: Body, on_fail: impl FnOnce() + Send + 'static) -> Body {
        if self.floor == 0 || self.window.is_zero() || body.size_hint().exact() == Some(0) {
            body
        } else {
            Body::new(PacedBody::new(body, self, on_fail))
        }
    }
}

/// A body that fails with [`TooSlow`] when it falls below its pace.
pub struct PacedBody {
    inner: Body,
    pace: Pace,
    /// Time spent waiting for the client in the current window.
    waited: Duration,
    /// Bytes received in the current window.
    bytes: u64,
    /// Since when the handler has been waiting (a read found nothing).
    waiting_since: Option<Instant>,
    /// Wakes the handler at the end of the window while it waits.
    timer: Pin<Box<Sleep>>,
    failed: bool,
    on_fail: Option<Box<dyn FnOnce() + Send>>,
}

impl PacedBody {
    /// Wraps `inner`; `on_fail` runs once if it is cut.
    pub fn new(inner: Body, pace: Pace, on_fail: impl FnOnce() + Send + 'static) -> Self {
        PacedBody {
            inner,
            pace,
            waited: Duration::ZERO,
            bytes: 0,
            waiting_since: None,
            timer: Box::pin(tokio::time::sleep(pace.window)),
            failed: false,
            on_fail: Some(Box::new(on_fail)),
        }
    }

    /// Adds the wait up to `now` to the window.
    fn count_wait(&mut self, now: Instant) {
        if let Some(since) = self.waiting_since {
            self.waited += now.saturating_duration_since(since);
            self.waiting_since = Some(now);
        }
    }

    /// At the end of a window: enough bytes, or [`TooSlow`].
    fn judge(&mut self) -> Result<(), TooSlow> {
        if self.waited < self.pace.window {
            return Ok(());
        }
        let needed = self.pace.floor as f64 * self.waited.as_secs_f64();
        if (self.bytes as f64) < needed {
            return Err(TooSlow {
                floor: self.pace.floor,
            });
        }
        self.waited = Duration::ZERO;
        self.bytes = 0;
        Ok(())
    }

    fn fail(&mut self, e: TooSlow) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        self.failed = true;
        if let Some(f) = self.on_fail.take() {
            f();
        }
        Poll::Ready(Some(Err(axum::Error::new(e))))
    }
}

impl HttpBody for PacedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        if this.failed {
            return Poll::Ready(Some(Err(axum::Error::new(TooSlow {
                floor: this.pace.floor,
            }))));
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                this.count_wait(Instant::now());
                this.waiting_since = None;
                if let Some(d) = frame.data_ref() {
                    this.bytes += d.len() as u64;
                }
                if let Err(e) = this.judge() {
                    return this.fail(e);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(other) => {
                // The end, or the connection's own error: nothing to judge.
                this.waiting_since = None;
                Poll::Ready(other)
            }
            Poll::Pending => loop {
                let now = Instant::now();
                match this.waiting_since {
                    None => this.waiting_since = Some(now),
                    Some(_) => this.count_wait(now),
                }
                if let Err(e) = this.judge() {
                    return this.fail(e);
                }
                let left = this.pace.window.saturating_sub(this.waited);
                this.timer.as_mut().reset(now + left);
                if this.timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    /// A body fed by a channel: `(pause before, bytes)` pieces.
    fn trickle(pieces: Vec<(Duration, usize)>) -> Body {
        let s = futures_util::stream::iter(pieces).then(|(pause, n)| async move {
            tokio::time::sleep(pause).await;
            Ok::<_, std::io::Error>(Bytes::from(vec![7u8; n]))
        });
        Body::from_stream(s)
    }

    async fn read_all(body: Body) -> Result<usize, axum::Error> {
        let mut s = body.into_data_stream();
        let mut n = 0;
        while let Some(c) = s.next().await {
            n += c?.len();
        }
        Ok(n)
    }

    const PACE: Pace = Pace {
        floor: 1000,
        window: Duration::from_secs(10),
    };

    #[tokio::test(start_paused = true)]
    async fn a_trickle_is_cut_at_the_end_of_the_first_window() {
        // One byte every 2 s: far below 1000 B/s.
        let body = PACE.wrap(trickle(vec![(Duration::from_secs(2), 1); 100]), || {});
        let started = Instant::now();
        let err = read_all(body).await.expect_err("too slow");
        assert_eq!(too_slow(&err), Some(TooSlow { floor: 1000 }));
        let t = started.elapsed();
        assert!(
            t >= Duration::from_secs(10) && t < Duration::from_secs(11),
            "{t:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn silence_is_cut_too() {
        let body = PACE.wrap(
            trickle(vec![(Duration::ZERO, 5000), (Duration::from_secs(3600), 1)]),
            || {},
        );
        let started = Instant::now();
        let err = read_all(body).await.expect_err("too slow");
        assert!(too_slow(&err).is_some());
        assert!(started.elapsed() < Duration::from_secs(11));
    }

    #[tokio::test(start_paused = true)]
    async fn a_steady_body_passes_and_a_fast_start_earns_no_credit() {
        // 2000 B/s for 60 s.
        let body = PACE.wrap(
            trickle(vec![(Duration::from_millis(500), 1000); 120]),
            || {},
        );
        assert_eq!(read_all(body).await.expect("steady"), 120_000);
        // 1 MB at once, then a trickle: cut in the next window.
        let mut pieces = vec![(Duration::ZERO, 1_000_000)];
        pieces.extend(vec![(Duration::from_secs(2), 1); 100]);
        let err = read_all(PACE.wrap(trickle(pieces), || {}))
            .await
            .expect_err("credit is not carried over");
        assert!(too_slow(&err).is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn time_the_reader_is_away_does_not_count() {
        let mut s = PACE
            .wrap(trickle(vec![(Duration::ZERO, 10); 3]), || {})
            .into_data_stream();
        for _ in 0..3 {
            s.next().await.expect("piece").expect("ok");
            // The handler is busy for a minute between reads.
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
        assert!(s.next().await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_short_body_that_ends_in_time_passes() {
        let body = PACE.wrap(trickle(vec![(Duration::from_secs(9), 10)]), || {});
        assert_eq!(read_all(body).await.expect("ends within the grace"), 10);
        // No floor: no limit.
        let off = Pace {
            floor: 0,
            window: Duration::from_secs(1),
        };
        let body = off.wrap(trickle(vec![(Duration::from_secs(100), 1); 3]), || {});
        assert_eq!(read_all(body).await.expect("no floor"), 3);
    }
}
