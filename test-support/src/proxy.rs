//! A TCP proxy on loopback that can go down, drop and stall connections:
//! the "hospital Wi-Fi" between a device and the store in the relay tests.
//!
//! It forwards bytes unchanged (TLS passes through end to end, so the
//! device's pin is checked against whatever store is behind it) to an
//! upstream address that can be changed while it runs (a restarted store
//! listens on a new port).

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the proxy treats new connections.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// Forward faithfully.
    Pass,
    /// Accept and close at once (the store is unreachable).
    Down,
    /// Forward, but for each chunk read (up to 16 KiB), stall
    /// `stall_per_mille`‰ of them for `stall` and cut the connection at
    /// `drop_per_mille`‰ of them, part-way through the chunk.
    Flaky {
        /// Chunks at which the connection is cut, per thousand.
        drop_per_mille: u32,
        /// Chunks stalled, per thousand.
        stall_per_mille: u32,
        /// How long a stall lasts.
        stall: Duration,
    },
}

/// Counters of what the proxy did.
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections accepted.
    pub connections: AtomicU64,
    /// Connections cut part-way.
    pub dropped: AtomicU64,
    /// Stalls.
    pub stalled: AtomicU64,
    /// Connections refused while down.
    pub refused: AtomicU64,
}

struct Shared {
    upstream: Mutex<SocketAddr>,
    mode: Mutex<Mode>,
    rng: Mutex<u64>,
    stats: Stats,
    stop: AtomicBool,
}

impl Shared {
    fn random(&self) -> u64 {
        // xorshift64*: plenty for fault injection.
        let mut s = self
            .rng
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *s ^= *s >> 12;
        *s ^= *s << 25;
        *s ^= *s >> 27;
        s.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// A running proxy; stops when dropped.
pub struct FlakyProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl FlakyProxy {
    /// Starts a proxy to `upstream` on a free loopback port.
    pub fn start(upstream: SocketAddr, seed: u64) -> FlakyProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let shared = Arc::new(Shared {
            upstream: Mutex::new(upstream),
            mode: Mutex::new(Mode::Pass),
            rng: Mutex::new(seed | 1),
            stats: Stats::default(),
            stop: AtomicBool::new(false),
        });
        let s = Arc::clone(&shared);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = conn else { continue };
                let s = Arc::clone(&s);
                std::thread::spawn(move || handle(client, &s));
            }
        });
        FlakyProxy { addr, shared }
    }

    /// `https://127.0.0.1:PORT`: the URL devices use.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Points the proxy at another upstream.
    pub fn set_upstream(&self, upstream: SocketAddr) {
        *self.shared.upstream.lock().expect("lock") = upstream;
    }

    /// Changes how new connections are treated.
    pub fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().expect("lock") = mode;
    }

    /// What the proxy has done so far.
    pub fn stats(&self) -> &Stats {
        &self.shared.stats
    }
}

impl Drop for FlakyProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

/// The socket address of a `https://host:port` URL.
pub fn addr_of(url: &str) -> SocketAddr {
    url.trim_start_matches("https://")
        .trim_end_matches('/')
        .parse()
        .unwrap_or_else(|e| panic!("{url} is not https://ip:port: {e}"))
}

fn handle(client: TcpStream, s: &Arc<Shared>) {
    s.stats.connections.fetch_add(1, Ordering::Relaxed);
    if s.mode() == Mode::Down {
        s.stats.refused.fetch_add(1, Ordering::Relaxed);
        let _ = client.shutdown(Shutdown::Both);
        return;
    }
    let upstream = *s
        .upstream
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Ok(server) = TcpStream::connect_timeout(&upstream, Duration::from_secs(5)) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let (c2, s2) = match (client.try_clone(), server.try_clone()) {
        (Ok(c), Ok(v)) => (c, v),
        _ => return,
    };
    let shared = Arc::clone(s);
    let up = std::thread::spawn(move || pump(client, server, &shared));
    pump(s2, c2, s);
    let _ = up.join();
}

impl Shared {
    fn mode(&self) -> Mode {
        *self
            .mode
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Copies `from` → `to` until EOF or an error. In flaky mode each chunk
/// may be stalled, or cut: part of it forwarded, then both sides hung up
/// (which also ends the other direction).
fn pump(mut from: TcpStream, mut to: TcpStream, s: &Shared) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        match s.mode() {
            Mode::Down => break,
            Mode::Pass => {}
            Mode::Flaky {
                drop_per_mille,
                stall_per_mille,
                stall,
            } => {
                if s.random() % 1000 < u64::from(stall_per_mille) {
                    s.stats.stalled.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(stall);
                }
                if s.random() % 1000 < u64::from(drop_per_mille) {
                    s.stats.dropped.fetch_add(1, Ordering::Relaxed);
                    let keep = usize::try_from(s.random() % (n as u64)).unwrap_or(0);
                    let _ = to.write_all(&buf[..keep]);
                    break;
                }
            }
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}
