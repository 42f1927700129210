//! Load benchmark of the clinical store (issue 4): many concurrent clients
//! uploading 5 MB signed envelopes to a real `sealcam-store` on loopback.
//!
//! Run it through `scripts/bench-store-load.sh` (release builds of the
//! store and of this binary). What it does:
//!
//! 1. starts the store (`SEALCAM_STORE_BIN`, which the script sets)
//!    on a fresh data dir under `--work-dir` (default: the temp dir),
//!    bootstraps it, publishes a directory, enrols one device per client;
//! 2. pre-generates every envelope in memory (distinct ids, each sealed and
//!    signed by its client's device) and its content digest BEFORE the
//!    clock starts: sealing and hashing 5 MB is the device's work, on the
//!    device's CPU; done here during the run it would take CPU from the
//!    store on a 2-core machine (only the request signature, which carries
//!    the time and a nonce, is made during the run);
//! 3. measures the raw sequential write throughput of the same disk, in the
//!    same directory, with the store's pattern (write 5 MB to a temp file
//!    with the store's own staging writer — `O_DIRECT` where the store uses
//!    it —, fsync, rename, fsync the directory), the same through the page
//!    cache, and `dd` both ways;
//! 4. starts all clients at once, each on its own TLS connection, uploading
//!    its share; records per-request latency, errors, and polls the store's
//!    RSS (`/proc/<pid>/status`) every 20 ms;
//! 5. measures the raw disk again (side by side: before and after);
//! 6. prints envelopes/s, MB/s, latency p50/p99/max, errors, peak RSS, and
//!    MET/MISSED per target. Exits 1 on any error or RSS > 512 MB.
//!
//! Targets (issue 4): throughput ≥ 80 % of the raw sequential write
//! throughput of the same disk; p99 ≤ 2 s; zero errors; store RSS ≤ 512 MB
//! whatever the concurrency.

use sealcam_core::envelope::Sealed;
use sealcam_store::staging::{BufferPool, StagingFile};
use sealcam_test_support::store::{
    auth_headers, blake3, jpeg_of_len, rss_kib, Device, SignOpts, StoreProcess, World,
};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const MB: f64 = 1_000_000.0;
const RSS_LIMIT_KIB: u64 = 512 * 1024;

struct Args {
    clients: usize,
    envelopes: usize,
    size: usize,
    raw_files: usize,
    dd_mb: usize,
    work_dir: PathBuf,
    mode: &'static str,
    http1: bool,
    /// Run the store with `limits.direct_io = false` (page-cache writes).
    buffered: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: store-load [--smoke] [--clients N] [--envelopes N] [--size BYTES] [--raw-files N] [--dd-mb N] [--work-dir DIR] [--http1] [--buffered-io]\n\
         default: 200 clients, 600 envelopes of 5 000 000 bytes; --smoke: 20 clients x 40 envelopes;\n\
         --http1: clients offer HTTP/1.1 only (default: HTTP/2 when the store offers it);\n\
         --buffered-io: the store writes through the page cache (default: O_DIRECT)"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut a = Args {
        clients: 200,
        envelopes: 600,
        size: 5_000_000,
        raw_files: 200,
        dd_mb: 1000,
        work_dir: std::env::temp_dir(),
        mode: "full",
        http1: false,
        buffered: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let num = |it: &mut dyn Iterator<Item = String>| -> usize {
            it.next()
                .and_then(|v| v.replace('_', "").parse().ok())
                .unwrap_or_else(|| usage())
        };
        match arg.as_str() {
            "--smoke" => {
                a.clients = 20;
                a.envelopes = 40;
                a.raw_files = 40;
                a.dd_mb = 200;
                a.mode = "smoke";
            }
            "--http1" => a.http1 = true,
            "--buffered-io" => a.buffered = true,
            "--clients" => a.clients = num(&mut it),
            "--envelopes" => a.envelopes = num(&mut it),
            "--size" => a.size = num(&mut it),
            "--raw-files" => a.raw_files = num(&mut it),
            "--dd-mb" => a.dd_mb = num(&mut it),
            "--work-dir" => a.work_dir = it.next().map(PathBuf::from).unwrap_or_else(|| usage()),
            _ => usage(),
        }
    }
    if a.clients == 0 || a.envelopes < a.clients || a.size < 1000 {
        usage();
    }
    a
}

fn main() {
    let args = parse_args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let code = rt.block_on(run(args));
    std::process::exit(code);
}

/// Writes `count` files of `size` bytes one after another in `dir`, each as
/// the store writes a blob: temp file written by the store's staging writer
/// (`direct`: with `O_DIRECT`, as the store does by default), fsync,
/// rename, fsync dir. Returns MB/s.
async fn raw_sequential(dir: &Path, count: usize, size: usize, direct: bool) -> f64 {
    std::fs::create_dir_all(dir).expect("raw dir");
    let data: Vec<u8> = (0..size).map(|i| (i * 31 + 7) as u8).collect();
    let pool = Arc::new(BufferPool::new(1));
    let mut buf = pool.get().await;
    let d = std::fs::File::open(dir).expect("open dir");
    let t = Instant::now();
    for i in 0..count {
        let tmp = dir.join(format!("{i}.tmp"));
        let mut f = StagingFile::create(&tmp, direct).expect("create");
        if direct {
            assert!(f.is_direct(), "this filesystem refuses O_DIRECT");
        }
        f.write_through(&mut buf, &data).expect("write");
        f.finish(&mut buf).expect("write");
        buf.clear();
        let f = std::fs::File::open(&tmp).expect("reopen");
        f.sync_all().expect("fsync");
        drop(f);
        std::fs::rename(&tmp, dir.join(format!("{i}.blob"))).expect("rename");
        d.sync_all().expect("fsync dir");
    }
    let secs = t.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(dir);
    (count * size) as f64 / MB / secs
}

/// The raw disk, measured four ways in the same directory (MB/s).
struct RawDisk {
    /// The store's pattern with `O_DIRECT` (its default).
    direct: f64,
    /// The store's pattern through the page cache.
    buffered: f64,
    dd_direct: Option<(f64, String)>,
    dd_buffered: Option<(f64, String)>,
}

impl RawDisk {
    async fn measure(dir: &Path, files: usize, size: usize, dd_mb: usize) -> Self {
        RawDisk {
            direct: raw_sequential(dir, files, size, true).await,
            buffered: raw_sequential(dir, files, size, false).await,
            dd_direct: dd(dir, dd_mb, true),
            dd_buffered: dd(dir, dd_mb, false),
        }
    }

    fn print(&self, when: &str) {
        let dd = |d: &Option<(f64, String)>| {
            d.as_ref()
                .map_or("failed".to_string(), |(r, _)| format!("{r:.0} MB/s"))
        };
        println!(
            "raw disk {when}: write+fsync+rename O_DIRECT {:.0} MB/s, buffered {:.0} MB/s; dd oflag=direct {}, dd conv=fdatasync {}",
            self.direct,
            self.buffered,
            dd(&self.dd_direct),
            dd(&self.dd_buffered)
        );
    }
}

/// `dd if=/dev/zero of=DIR/dd.bin bs=1M count=N conv=fdatasync`, with
/// `oflag=direct` when `direct`: its MB/s.
fn dd(dir: &Path, mb: usize, direct: bool) -> Option<(f64, String)> {
    std::fs::create_dir_all(dir).ok()?;
    let target = dir.join("dd.bin");
    let t = Instant::now();
    let mut cmd = Command::new("dd");
    if direct {
        cmd.arg("oflag=direct");
    }
    let out = cmd
        .arg("if=/dev/zero")
        .arg(format!("of={}", target.display()))
        .args(["bs=1M", &format!("count={mb}"), "conv=fdatasync"])
        .output()
        .ok()?;
    let secs = t.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&target);
    if !out.status.success() {
        return None;
    }
    let line = String::from_utf8_lossy(&out.stderr)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    Some(((mb * 1024 * 1024) as f64 / MB / secs, line))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn verdict(met: bool) -> &'static str {
    if met {
        "MET"
    } else {
        "MISSED"
    }
}

async fn run(a: Args) -> i32 {
    println!(
        "store-load ({}): {} clients, {} envelopes of ~{} bytes, {}",
        a.mode,
        a.clients,
        a.envelopes,
        a.size,
        if a.http1 {
            "HTTP/1.1 only"
        } else {
            "HTTP/2 offered"
        }
    );
    let uptime = Command::new("uptime")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    println!("machine: {} cores; uptime: {uptime}", num_cpus());

    // The store, on a data dir under the work dir.
    let root = tempfile::Builder::new()
        .prefix("sealcam-store-load-")
        .tempdir_in(&a.work_dir)
        .expect("work dir");
    let data = root.path().join("data");
    let config = root.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            // Enrolling one device per client is anonymous (per-IP rate
            // limited): lift the limit for the set-up. Every client comes
            // from 127.0.0.1: give that address every connection.
            "[limits]\nmax_envelope_bytes = {}\ndirect_io = {}\nmax_connections_per_ip = 512\n[rate_limit]\nip_per_minute = 100000\nip_burst = 100000\n",
            (a.size as u64 * 2).max(64 * 1024 * 1024),
            !a.buffered
        ),
    )
    .expect("config");
    let store = StoreProcess::start_in(&data, Some(&config));
    let pid = store.pid();
    let w = World::new(&store, 2, 0).await;
    let t = Instant::now();
    let mut devices: Vec<Device> = Vec::with_capacity(a.clients);
    for _ in 0..a.clients {
        devices.push(w.enrol_device().await);
    }
    println!(
        "setup: bootstrapped, {} devices enrolled in {:.1}s",
        a.clients,
        t.elapsed().as_secs_f64()
    );

    // Pre-generate every envelope (not timed).
    let t = Instant::now();
    let rcpt = w.recipients();
    // Image length so that the envelope is about `size` bytes.
    let probe = devices[0].seal_image(&jpeg_of_len(a.size), &rcpt);
    let overhead = probe.bytes.len() - a.size;
    let image = jpeg_of_len(a.size - overhead);
    let threads = num_cpus().max(1);
    let mut envelopes: Vec<Option<Sealed>> = (0..a.envelopes).map(|_| None).collect();
    std::thread::scope(|s| {
        for (t, chunk) in envelopes
            .chunks_mut(a.envelopes.div_ceil(threads))
            .enumerate()
        {
            let devices = &devices;
            let image = &image;
            let rcpt = &rcpt;
            let per = a.envelopes.div_ceil(threads);
            let clients = a.clients;
            s.spawn(move || {
                for (j, slot) in chunk.iter_mut().enumerate() {
                    let i = t * per + j;
                    *slot = Some(devices[i % clients].seal_image(image, rcpt));
                }
            });
        }
    });
    let envelopes: Vec<Sealed> = envelopes.into_iter().flatten().collect();
    let total_bytes: usize = envelopes.iter().map(|e| e.bytes.len()).sum();
    println!(
        "pre-generated {} envelopes ({:.0} MB, {} bytes each) in {:.1}s",
        envelopes.len(),
        total_bytes as f64 / MB,
        envelopes[0].bytes.len(),
        t.elapsed().as_secs_f64()
    );

    // Raw disk, before.
    let raw_dir = root.path().join("raw");
    let envelope_len = envelopes[0].bytes.len();
    let before = RawDisk::measure(&raw_dir, a.raw_files, envelope_len, a.dd_mb).await;
    before.print("before");

    // Share out: client c uploads envelopes c, c+clients, … (its device's).
    // Each with its content digest (the device's work, before the clock).
    let mut shares: Vec<Vec<(Sealed, [u8; 32])>> = (0..a.clients).map(|_| Vec::new()).collect();
    for (i, e) in envelopes.into_iter().enumerate() {
        let digest = blake3(&e.bytes);
        shares[i % a.clients].push((e, digest));
    }

    // RSS poller.
    let stop = Arc::new(AtomicBool::new(false));
    let peak_rss = Arc::new(AtomicU64::new(0));
    let poller = {
        let stop = Arc::clone(&stop);
        let peak = Arc::clone(&peak_rss);
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Some((_, rss)) = rss_kib(pid) {
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let (_, rss_idle) = rss_kib(pid).unwrap_or((0, 0));

    // The load.
    let cert = store.cert_pem();
    let start = Arc::new(tokio::sync::Barrier::new(a.clients + 1));
    let mut tasks = Vec::with_capacity(a.clients);
    for (c, share) in shares.into_iter().enumerate() {
        let client =
            sealcam_test_support::store::Client::with_http1_only(&store.url, &cert, a.http1)
                .for_store(&store.store_key);
        let auth = devices[c].auth();
        let start = Arc::clone(&start);
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            let mut lat = Vec::with_capacity(share.len());
            let mut version = String::new();
            let mut errors = Vec::new();
            for (e, digest) in share {
                let path = format!("/v1/envelopes/{}", e.id);
                let t = Instant::now();
                let opts = SignOpts {
                    digest: Some(digest),
                    ..SignOpts::default()
                };
                let headers = auth_headers(&auth, &client.store, "PUT", &path, &[], &opts);
                let r = client
                    .try_send_raw(
                        "PUT",
                        &path,
                        e.bytes,
                        &headers,
                        &[("content-type", "application/octet-stream")],
                    )
                    .await;
                lat.push(t.elapsed().as_secs_f64());
                match r {
                    Ok(r) if r.status == 201 => {
                        version = r.version;
                    }
                    Ok(r) => errors.push(format!("{} {}", r.status, r.error_code())),
                    Err(e) => errors.push(format!("transport: {e}")),
                }
            }
            (lat, errors, version)
        }));
    }
    start.wait().await;
    let t0 = Instant::now();
    let store_cpu0 = cpu_secs(&pid.to_string());
    let self_cpu0 = cpu_secs("self");
    let mut lat = Vec::new();
    let mut errors = Vec::new();
    let mut versions = std::collections::BTreeSet::new();
    for t in tasks {
        let (l, e, v) = t.await.expect("client task");
        lat.extend(l);
        errors.extend(e);
        versions.insert(v);
    }
    let wall = t0.elapsed().as_secs_f64();
    let store_cpu = cpu_secs(&pid.to_string()) - store_cpu0;
    let self_cpu = cpu_secs("self") - self_cpu0;
    stop.store(true, Ordering::Relaxed);
    let _ = poller.join();
    let (hwm, _) = rss_kib(pid).unwrap_or((0, 0));
    let peak = peak_rss.load(Ordering::Relaxed);

    // Raw disk, after.
    let after = RawDisk::measure(&raw_dir, a.raw_files, envelope_len, a.dd_mb).await;
    after.print("after ");
    // Judged against the store's own write pattern (direct or buffered, as
    // it ran), the mean of before and after.
    let (raw_before, raw_after) = if a.buffered {
        (before.buffered, after.buffered)
    } else {
        (before.direct, after.direct)
    };
    let raw = (raw_before + raw_after) / 2.0;

    lat.sort_by(f64::total_cmp);
    let n = lat.len();
    let ok = n - errors.len();
    let mbps = total_bytes as f64 / MB / wall;
    let eps = ok as f64 / wall;
    let p50 = percentile(&lat, 50.0);
    let p99 = percentile(&lat, 99.0);
    let max = lat.last().copied().unwrap_or(f64::NAN);
    println!("--- results ({}) ---", a.mode);
    println!(
        "uploads: {n} ({ok} ok, {} errors) in {wall:.2}s, answered over {}",
        errors.len(),
        versions
            .iter()
            .filter(|v| !v.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("throughput: {eps:.1} envelopes/s, {mbps:.1} MB/s");
    println!("latency: p50 {p50:.3}s, p99 {p99:.3}s, max {max:.3}s");
    // What the store alone costs: if it had the machine's cores to itself
    // (the load generator elsewhere), CPU would cap it at this rate.
    let cores = num_cpus() as f64;
    let store_ms = store_cpu * 1000.0 / ok.max(1) as f64;
    println!(
        "CPU during the load ({cores:.0} cores x {wall:.2}s = {:.2} core-s): store {store_cpu:.2} s ({store_ms:.1} ms per envelope, {:.2} ms per MB), load generator {self_cpu:.2} s; store-only CPU ceiling on {cores:.0} cores: {:.0} MB/s",
        cores * wall,
        store_cpu * 1000.0 / (total_bytes as f64 / MB),
        cores * (total_bytes as f64 / MB) / store_cpu.max(1e-9)
    );
    println!(
        "store RSS: idle {:.0} MB, peak during load {:.0} MB (polled), VmHWM {:.0} MB",
        rss_idle as f64 / 1024.0,
        peak as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
    println!(
        "raw sequential write (same disk, same dir, the store's pattern: {} write+fsync+rename of 5 MB files): {raw:.0} MB/s (before {raw_before:.0}, after {raw_after:.0})",
        if a.buffered { "buffered" } else { "O_DIRECT" }
    );
    for e in errors.iter().take(10) {
        println!("error: {e}");
    }
    let ratio = mbps / raw;
    let peak_mb = hwm.max(peak);
    println!("--- targets ---");
    println!(
        "{}: throughput >= 80% of raw sequential write ({:.0}% = {mbps:.0} / {raw:.0} MB/s)",
        verdict(ratio >= 0.8),
        ratio * 100.0
    );
    println!("{}: p99 <= 2 s (p99 {p99:.3}s)", verdict(p99 <= 2.0));
    println!(
        "{}: zero errors ({} errors)",
        verdict(errors.is_empty()),
        errors.len()
    );
    println!(
        "{}: store RSS <= 512 MB (peak {:.0} MB)",
        verdict(peak_mb <= RSS_LIMIT_KIB),
        peak_mb as f64 / 1024.0
    );
    drop(store);
    if !errors.is_empty() || peak_mb > RSS_LIMIT_KIB {
        1
    } else {
        0
    }
}

/// User + system CPU seconds of a process (`/proc/<pid>/stat`, fields 14
/// and 15, in clock ticks of 1/100 s — `USER_HZ` is 100 on Linux).
fn cpu_secs(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return f64::NAN;
    };
    // Fields after the command name, which is in parentheses and may
    // contain spaces: state is field 3, utime 14, stime 15.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let f: Vec<&str> = after.split_whitespace().collect();
    let tick = |i: usize| {
        f.get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    (tick(11) + tick(12)) / 100.0
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
