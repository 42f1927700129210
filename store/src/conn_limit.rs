//! Connection admission: how many sockets the store holds, per client
//! address and in all, and which connection gives way when it is full.
//!
//! - At most `limits.max_connections` connections are served at once, and
//!   at most `limits.max_connections_per_ip` of them (counting those
//!   waiting) come from one client address (IPv4 address, or IPv6 /64: one
//!   subscriber's prefix). A connection over its address's share is closed
//!   at once, before the TLS handshake.
//! - When every slot is taken, a new connection may wait for one — at most
//!   [`MAX_WAITING`] (or `max_connections`, if smaller) wait, each for at
//!   most the handshake timeout — and, as it starts waiting, asks the
//!   connection that has been idle longest (no request in flight: idle
//!   keep-alive, or still in its TLS handshake, or trickling request
//!   headers) to close. Beyond that, new connections are closed at once.
//!   So the sockets the store holds are bounded, and connections doing
//!   nothing cannot keep out one that has a request to make.
//! - Each served connection is registered with its idle state: the
//!   requests in flight on it and since when it has had none
//!   ([`Conn::begin_request`]); `accept.rs` closes connections idle for
//!   `limits.idle_timeout_secs`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// The most connections that wait for a slot at once.
pub const MAX_WAITING: usize = 64;

/// Why a new connection was closed at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Its client address already holds its share of connections.
    #[error("the client address holds its share of connections")]
    PerIp,
    /// Every slot is taken and enough connections already wait for one.
    #[error("the store holds as many connections as it may")]
    Full,
}

/// The address a connection counts against: the IPv4 address (also when
/// it arrives IPv4-mapped on an IPv6 socket), or the IPv6 /64.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// The admission state shared by the accept loop and every connection.
pub struct ConnLimits {
    active: Arc<Semaphore>,
    max_active: u32,
    waiting: Arc<Semaphore>,
    max_waiting: u32,
    per_ip_max: usize,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    live: Mutex<HashMap<u64, Arc<Conn>>>,
    next_id: AtomicU64,
    epoch: Instant,
}

impl ConnLimits {
    /// `max` connections in all, `per_ip` per client address.
    pub fn new(max: usize, per_ip: usize) -> Arc<Self> {
        let max_active = u32::try_from(max.max(1)).unwrap_or(u32::MAX);
        let max_waiting = u32::try_from(MAX_WAITING.min(max.max(1))).unwrap_or(1);
        Arc::new(ConnLimits {
            active: Arc::new(Semaphore::new(max_active as usize)),
            max_active,
            waiting: Arc::new(Semaphore::new(max_waiting as usize)),
            max_waiting,
            per_ip_max: per_ip.max(1),
            per_ip: Mutex::new(HashMap::new()),
            live: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            epoch: Instant::now(),
        })
    }

    /// Admits a new connection from `ip`: a slot now, or a place in the
    /// wait (after asking the longest-idle connection to close), or a
    /// refusal.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Admission, Refused> {
        let ip = IpShare::take(self, client_key(ip))?;
        if let Ok(permit) = Arc::clone(&self.active).try_acquire_owned() {
            return Ok(Admission::Now(self.register(permit, ip)));
        }
        let Ok(waiting) = Arc::clone(&self.waiting).try_acquire_owned() else {
            return Err(Refused::Full);
        };
        self.evict_one();
        Ok(Admission::Wait(Waiting {
            limits: Arc::clone(self),
            _waiting: waiting,
            ip,
        }))
    }

    fn register(self: &Arc<Self>, permit: OwnedSemaphorePermit, ip: IpShare) -> Ticket {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            in_flight: AtomicUsize::new(0),
            idle_since_ms: AtomicU64::new(0),
            evicting: AtomicBool::new(false),
            evict: Notify::new(),
            epoch: self.epoch,
        });
        conn.mark_idle();
        lock(&self.live).insert(id, Arc::clone(&conn));
        Ticket {
            limits: Arc::clone(self),
            id,
            conn,
            _permit: permit,
            _ip: ip,
        }
    }

    /// Asks the connection idle longest (none in flight) to close; false
    /// when every connection is busy.
    pub fn evict_one(&self) -> bool {
        let live = lock(&self.live);
        let victim = live
            .values()
            .filter(|c| c.in_flight.load(Ordering::Acquire) == 0)
            .filter(|c| !c.evicting.load(Ordering::Acquire))
            .min_by_key(|c| c.idle_since_ms.load(Ordering::Acquire));
        match victim {
            Some(c) => {
                c.evicting.store(true, Ordering::Release);
                c.evict.notify_one();
                true
            }
            None => false,
        }
    }

    /// Connections being served.
    pub fn live(&self) -> usize {
        lock(&self.live).len()
    }

    /// Resolves once every connection, served or waiting, has closed.
    pub async fn closed(&self) {
        let _ = self.waiting.acquire_many(self.max_waiting).await;
        let _ = self.active.acquire_many(self.max_active).await;
    }
}

/// Maps stay consistent under every operation: a poisoned lock is usable.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One connection counted against its client address.
struct IpShare {
    limits: Arc<ConnLimits>,
    key: IpAddr,
}

impl IpShare {
    fn take(limits: &Arc<ConnLimits>, key: IpAddr) -> Result<Self, Refused> {
        let mut map = lock(&limits.per_ip);
        let n = map.entry(key).or_insert(0);
        if *n >= limits.per_ip_max {
            return Err(Refused::PerIp);
        }
        *n += 1;
        Ok(IpShare {
            limits: Arc::clone(limits),
            key,
        })
    }
}

impl Drop for IpShare {
    fn drop(&mut self) {
        let mut map = lock(&self.limits.per_ip);
        if let Some(n) = map.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.key);
            }
        }
    }
}

/// What [`ConnLimits::admit`] decided.
pub enum Admission {
    /// A slot: serve it.
    Now(Ticket),
    /// Wait for a slot ([`Waiting::ready`]), for a bounded time.
    Wait(Waiting),
}

/// A connection waiting for a slot.
pub struct Waiting {
    limits: Arc<ConnLimits>,
    _waiting: OwnedSemaphorePermit,
    ip: IpShare,
}

impl Waiting {
    /// Waits for a slot (the caller bounds how long).
    pub async fn ready(self) -> Ticket {
        let limits = Arc::clone(&self.limits);
        // The semaphore is never closed, so acquiring cannot fail; were it
        // ever, a permit-less ticket would be wrong, so the wait simply
        // never ends and the caller's time limit closes the connection.
        let Ok(permit) = Arc::clone(&limits.active).acquire_owned().await else {
            return std::future::pending().await;
        };
        limits.register(permit, self.ip)
    }
}

/// A served connection's slot; frees it (and its address's share) when
/// dropped.
pub struct Ticket {
    limits: Arc<ConnLimits>,
    id: u64,
    conn: Arc<Conn>,
    _permit: OwnedSemaphorePermit,
    _ip: IpShare,
}

impl Ticket {
    /// The connection's idle state.
    pub fn conn(&self) -> &Arc<Conn> {
        &self.conn
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        lock(&self.limits.live).remove(&self.id);
    }
}

/// The idle state of one served connection.
pub struct Conn {
    in_flight: AtomicUsize,
    idle_since_ms: AtomicU64,
    evicting: AtomicBool,
    evict: Notify,
    epoch: Instant,
}

impl Conn {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn mark_idle(&self) {
        self.idle_since_ms.store(self.now_ms(), Ordering::Release);
    }

    /// A request starts; it is in flight until the guard (held until its
    /// response body is sent or dropped) is dropped.
    pub fn begin_request(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(Arc::clone(self))
    }

    /// How long it has had no request in flight; `None` while it has one.
    pub fn idle_for(&self) -> Option<Duration> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let since = self.idle_since_ms.load(Ordering::Acquire);
        Some(Duration::from_millis(self.now_ms().saturating_sub(since)))
    }

    /// The connection is closing (idle): not to be asked to make room.
    pub fn closing(&self) {
        self.evicting.store(true, Ordering::Release);
    }

    /// Resolves when the connection is asked to make room.
    pub async fn evicted(&self) {
        self.evict.notified().await;
    }
}

/// A request in flight on a connection.
pub struct InFlight(Arc<Conn>);

impl Drop for InFlight {
    fn drop(&mut self) {
        // Idle from now on if this was the last one.
        self.0.mark_idle();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4(n: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, n))
    }

    fn now(a: Result<Admission, Refused>) -> Ticket {
        match a {
            Ok(Admission::Now(t)) => t,
            Ok(Admission::Wait(_)) => panic!("waits"),
            Err(e) => panic!("refused: {e}"),
        }
    }

    #[test]
    fn one_address_gets_its_share_and_no_more() {
        let l = ConnLimits::new(10, 2);
        let a = now(l.admit(v4(1)));
        let _b = now(l.admit(v4(1)));
        assert!(matches!(l.admit(v4(1)), Err(Refused::PerIp)));
        let _c = now(l.admit(v4(2)));
        drop(a);
        let _d = now(l.admit(v4(1)));
        assert_eq!(l.live(), 3);
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_v4_as_v4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().expect("ip");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
        let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 7).to_ipv6_mapped());
        assert_eq!(client_key(mapped), IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)));
        assert_eq!(
            client_key(IpAddr::V6(Ipv6Addr::LOCALHOST)),
            "::".parse::<IpAddr>().expect("ip")
        );
    }

    #[tokio::test]
    async fn when_full_the_longest_idle_connection_makes_room() {
        let l = ConnLimits::new(2, 10);
        let busy = now(l.admit(v4(1)));
        let _request = busy.conn().begin_request();
        std::thread::sleep(Duration::from_millis(5));
        let idle = now(l.admit(v4(2)));
        let waiting = match l.admit(v4(3)) {
            Ok(Admission::Wait(w)) => w,
            _ => panic!("a full store makes a new connection wait"),
        };
        // The idle one was asked to close, not the busy one.
        tokio::time::timeout(Duration::from_secs(1), idle.conn().evicted())
            .await
            .expect("the idle connection is asked to close");
        assert!(idle.conn().idle_for().is_some());
        assert!(busy.conn().idle_for().is_none());
        drop(idle);
        let t = tokio::time::timeout(Duration::from_secs(1), waiting.ready())
            .await
            .expect("the freed slot goes to the waiting connection");
        assert_eq!(l.live(), 2);
        drop(t);
    }

    #[test]
    fn waiting_is_bounded() {
        // One slot: one more may wait.
        let l = ConnLimits::new(1, 1000);
        let _t = now(l.admit(v4(1)));
        let w = match l.admit(v4(2)) {
            Ok(Admission::Wait(w)) => w,
            _ => panic!("a full store lets a newcomer wait"),
        };
        assert!(matches!(l.admit(v4(99)), Err(Refused::Full)));
        // A refused connection does not keep its address's share.
        assert!(!lock(&l.per_ip).contains_key(&v4(99)));
        drop(w);
        assert!(matches!(l.admit(v4(3)), Ok(Admission::Wait(_))));
    }

    #[tokio::test]
    async fn idle_time_counts_from_the_last_request() {
        let l = ConnLimits::new(1, 1);
        let t = now(l.admit(v4(1)));
        let c = Arc::clone(t.conn());
        let r = c.begin_request();
        assert_eq!(c.idle_for(), None);
        std::thread::sleep(Duration::from_millis(20));
        drop(r);
        assert!(c.idle_for().expect("idle") < Duration::from_millis(15));
    }
}
