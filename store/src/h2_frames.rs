//! A limit on the HTTP/2 control frames a client may send.
//!
//! Every PING and every SETTINGS frame obliges the server to answer (an
//! ACK). h2 (0.4) answers one at a time — it reads the next frame only
//! once the previous answer is queued, so memory stays bounded — but
//! without any limit on their rate, so one connection can keep a core busy
//! decrypting, parsing and answering. hyper and h2 have no setting for it
//! (their flood limits cover reset streams and CONTINUATION frames only).
//!
//! [`ControlFrameLimit`] wraps the decrypted byte stream of a connection.
//! When the connection opens with the HTTP/2 preface, it follows the frame
//! headers (9 bytes: 24-bit length, type, flags, stream id) and skips each
//! payload by its length, so it sees exactly the frames h2 will see, and
//! takes a token per PING or SETTINGS frame that is not an ACK from a
//! bucket of `per_sec` tokens a second holding up to [`BURST_SECS`] seconds'
//! worth. An empty bucket fails the read: the connection is closed. A
//! connection without the preface (HTTP/1) is passed through untouched.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The HTTP/2 client connection preface (RFC 9113 §3.4).
const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Frame types (RFC 9113 §6).
const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
/// The ACK flag of SETTINGS and PING.
const ACK: u8 = 0x1;
/// The bucket holds this many seconds' worth of tokens.
pub const BURST_SECS: u32 = 10;

/// Where the parser is in the byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Matching the preface; this many bytes matched so far.
    Preface(usize),
    /// Reading a frame header; `have` of its 9 bytes read.
    Header { buf: [u8; 9], have: usize },
    /// Skipping this many payload bytes.
    Payload(u32),
    /// Not HTTP/2: nothing to follow.
    Off,
}

/// A client sent more control frames than allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many HTTP/2 PING or SETTINGS frames")]
pub struct Flood;

/// Follows the frames of one connection and counts its control frames.
#[derive(Debug)]
pub struct FrameCounter {
    state: State,
    per_sec: f64,
    burst: f64,
    tokens: f64,
    last: Option<Instant>,
}

impl FrameCounter {
    /// A counter allowing `per_sec` control frames a second on average.
    pub fn new(per_sec: u32) -> Self {
        let per_sec = f64::from(per_sec.max(1));
        let burst = per_sec * f64::from(BURST_SECS);
        FrameCounter {
            state: State::Preface(0),
            per_sec,
            burst,
            tokens: burst,
            last: None,
        }
    }

    /// Whether the stream opened with the HTTP/2 preface (so far).
    pub fn is_http2(&self) -> bool {
        !matches!(self.state, State::Off | State::Preface(_))
    }

    /// Takes the next bytes the client sent, as they are read.
    pub fn scan(&mut self, bytes: &[u8]) -> Result<(), Flood> {
        self.scan_at(bytes, Instant::now)
    }

    fn scan_at(&mut self, mut bytes: &[u8], now: impl Fn() -> Instant) -> Result<(), Flood> {
        while !bytes.is_empty() {
            match &mut self.state {
                State::Off => return Ok(()),
                State::Preface(matched) => {
                    let take = (PREFACE.len() - *matched).min(bytes.len());
                    if bytes[..take] != PREFACE[*matched..*matched + take] {
                        self.state = State::Off;
                        return Ok(());
                    }
                    *matched += take;
                    bytes = &bytes[take..];
                    if *matched == PREFACE.len() {
                        self.state = State::Header {
                            buf: [0; 9],
                            have: 0,
                        };
                    }
                }
                State::Header { buf, have } => {
                    let take = (9 - *have).min(bytes.len());
                    buf[*have..*have + take].copy_from_slice(&bytes[..take]);
                    *have += take;
                    bytes = &bytes[take..];
                    if *have == 9 {
                        let len = u32::from_be_bytes([0, buf[0], buf[1], buf[2]]);
                        let (kind, flags) = (buf[3], buf[4]);
                        self.state = if len == 0 {
                            State::Header {
                                buf: [0; 9],
                                have: 0,
                            }
                        } else {
                            State::Payload(len)
                        };
                        if (kind == PING || kind == SETTINGS) && flags & ACK == 0 {
                            self.take(now())?;
                        }
                    }
                }
                State::Payload(left) => {
                    // `left` < 2^24, so the cast is exact either way.
                    let take = (*left as usize).min(bytes.len());
                    *left -= take as u32;
                    bytes = &bytes[take..];
                    if *left == 0 {
                        self.state = State::Header {
                            buf: [0; 9],
                            have: 0,
                        };
                    }
                }
            }
        }
        Ok(())
    }

    fn take(&mut self, now: Instant) -> Result<(), Flood> {
        if let Some(last) = self.last {
            let elapsed = now.saturating_duration_since(last).as_secs_f64();
            self.tokens = (self.tokens + elapsed * self.per_sec).min(self.burst);
        }
        self.last = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Flood)
        }
    }
}

/// A byte stream whose reads go through a [`FrameCounter`]: a read that
/// brings one control frame too many fails (`InvalidData`), which closes
/// the connection.
pub struct ControlFrameLimit<S> {
    inner: S,
    counter: FrameCounter,
    flooded: bool,
    on_flood: Option<Box<dyn FnOnce() + Send>>,
}

impl<S> ControlFrameLimit<S> {
    /// Wraps `inner`; `on_flood` runs once when the limit is hit.
    pub fn new(inner: S, per_sec: u32, on_flood: impl FnOnce() + Send + 'static) -> Self {
        ControlFrameLimit {
            inner,
            counter: FrameCounter::new(per_sec),
            flooded: false,
            on_flood: Some(Box::new(on_flood)),
        }
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

fn flood_error() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, Flood)
}

impl<S: AsyncRead + Unpin> AsyncRead for ControlFrameLimit<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.flooded {
            return Poll::Ready(Err(flood_error()));
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            if this.counter.scan(&buf.filled()[before..]).is_err() {
                this.flooded = true;
                if let Some(f) = this.on_flood.take() {
                    f();
                }
                return Poll::Ready(Err(flood_error()));
            }
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ControlFrameLimit<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn frame(kind: u8, flags: u8, payload: &[u8]) -> Vec<u8> {
        let len = u32::try_from(payload.len()).expect("small");
        let mut f = len.to_be_bytes()[1..].to_vec();
        f.extend_from_slice(&[kind, flags, 0, 0, 0, 0]);
        f.extend_from_slice(payload);
        f
    }

    fn ping() -> Vec<u8> {
        frame(PING, 0, &[7; 8])
    }

    /// Feeds `bytes` in pieces of `piece` bytes, all at time `t`.
    fn feed(c: &mut FrameCounter, bytes: &[u8], piece: usize, t: Instant) -> Result<(), Flood> {
        for p in bytes.chunks(piece) {
            c.scan_at(p, || t)?;
        }
        Ok(())
    }

    #[test]
    fn counts_pings_and_settings_across_any_split() {
        let mut stream = PREFACE.to_vec();
        stream.extend(frame(SETTINGS, 0, &[0, 3, 0, 0, 0, 100]));
        // DATA and HEADERS with payloads that look like frame headers:
        // skipped by length, never counted.
        stream.extend(frame(0x0, 0, &ping().repeat(50)));
        stream.extend(frame(0x1, 0x4, &frame(SETTINGS, 0, &[])));
        // ACKs are not counted.
        for _ in 0..50 {
            stream.extend(frame(PING, ACK, &[1; 8]));
            stream.extend(frame(SETTINGS, ACK, &[]));
        }
        for _ in 0..8 {
            stream.extend(ping());
        }
        let t = Instant::now();
        for piece in [1, 2, 5, 9, 10, 24, 1000, stream.len()] {
            // Burst of exactly 10 (1/s): 1 SETTINGS + 8 PINGs = 9 pass…
            let mut c = FrameCounter::new(1);
            feed(&mut c, &stream, piece, t).expect("within the burst");
            assert!(c.is_http2());
            // …the 10th passes, the 11th does not.
            feed(&mut c, &ping(), piece, t).expect("10th");
            assert_eq!(feed(&mut c, &ping(), piece, t), Err(Flood), "piece {piece}");
        }
    }

    #[test]
    fn tokens_come_back_with_time() {
        let t = Instant::now();
        let mut c = FrameCounter::new(2);
        let mut s = PREFACE.to_vec();
        s.extend(ping().repeat(20));
        feed(&mut c, &s, 100, t).expect("burst of 20");
        let mut d = FrameCounter::new(2);
        feed(&mut d, &s, 100, t).expect("burst of 20");
        assert_eq!(feed(&mut d, &ping(), 9, t), Err(Flood), "the 21st at once");
        let later = t + Duration::from_secs(1);
        // Two a second.
        feed(&mut c, &ping().repeat(2), 9, later).expect("refilled");
        assert_eq!(feed(&mut c, &ping(), 9, later), Err(Flood));
    }

    #[test]
    fn http1_is_not_parsed() {
        let t = Instant::now();
        let mut c = FrameCounter::new(1);
        let mut s = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
        // Bytes that would be PINGs under HTTP/2.
        s.extend(ping().repeat(100));
        feed(&mut c, &s, 3, t).expect("not HTTP/2");
        assert!(!c.is_http2());
        // A prefix of the preface then something else.
        let mut c = FrameCounter::new(1);
        let mut s = PREFACE[..10].to_vec();
        s.extend(ping().repeat(100));
        feed(&mut c, &s, 1, t).expect("not HTTP/2");
        assert!(!c.is_http2());
    }

    #[tokio::test]
    async fn the_stream_fails_once_and_stays_failed() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let hit = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let h = std::sync::Arc::clone(&hit);
        let mut limited = ControlFrameLimit::new(server, 1, move || {
            h.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        });
        let mut s = PREFACE.to_vec();
        s.extend(ping().repeat(11));
        client.write_all(&s).await.expect("write");
        let mut sink = vec![0u8; 1 << 16];
        let mut err = None;
        for _ in 0..100 {
            match limited.read(&mut sink).await {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        assert_eq!(
            err.map(|e| e.kind()),
            Some(io::ErrorKind::InvalidData),
            "the 11th PING fails the read"
        );
        assert!(
            limited.read(&mut sink).await.is_err(),
            "and it stays failed"
        );
        assert_eq!(hit.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
