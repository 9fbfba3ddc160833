//! Book 1.2 (threading): threads that share a list, one thread per download,
//! the lost-update race, the lock that fixes it, and a pool of workers.
//!
//! The modules follow the book's programs in order:
//!
//! | module | book program | what to see |
//! |---|---|---|
//! | [`waiters`] | `ej_hilos_simple.py`, the `Waiter` class | threads sharing a list need `Arc<Mutex<_>>` (or a scope); without the joins the list comes back empty |
//! | [`per_thread`] | `concur_hilos.py` | one thread per file: same total as the sequential lesson, wall time ≈ the slowest request |
//! | [`v1_racy`] | `concur_hilos_explicito_2.py` | read / pause / add / pause / write: updates are lost, the total is too small |
//! | [`v2_locked`] | `concur_hilos_explicito_3.py` | the same steps under one `Mutex`: never loses |
//! | [`v3_atomic`] | (Rust's answer to `dis`) | `fetch_add`: one indivisible instruction, no lock |
//! | [`pool`] | the `ThreadPoolExecutor` exercise | N workers share a queue of many files; results in input order |
//! | [`cost`] | — | what a `Mutex` add costs next to a `fetch_add` |
//! | [`rust_refuses`] | the `dis` listing | the Python program's shared `total += value` does not compile in Rust |
//!
//! Every downloader here has the sequential lesson's signature,
//! `download_all(urls, &Options) -> Result<Summary, FetchError>`, and returns
//! a [`Summary`], so tests and `cargo xtask run-all` compare them directly.
//!
//! # `+=` is three steps; `fetch_add` is one
//!
//! `total += value` on a number in memory is a **load** (read the total into a
//! register), an **add**, and a **store** (write the register back). Python's
//! `dis` shows the same three steps as bytecodes. If another thread stores
//! between our load and our store, our store overwrites its update: an update
//! is lost. Rust does not let safe code write that on plain shared data (see
//! [`rust_refuses`]); it makes you choose:
//!
//! - a [`Mutex`](std::sync::Mutex) around the whole load–add–store
//!   ([`v2_locked`]): while one thread holds the lock, the others wait;
//! - an atomic read-modify-write, [`AtomicU64::fetch_add`](std::sync::atomic::AtomicU64::fetch_add)
//!   ([`v3_atomic`]): the processor performs load, add and store as one
//!   indivisible instruction (`lock xadd` on x86-64, `ldadd` on ARMv8.1);
//! - or, deliberately, an atomic `load` followed later by an atomic `store`
//!   ([`v1_racy`]): each step alone is safe (no undefined behaviour), yet the
//!   pair is not one step, and the race the book shows comes back. Rust
//!   prevents *data races*, not *race conditions*.
//!
//! ```
//! # let dir = common::data::downloads_dir().unwrap();
//! # let server = common::server::Server::start(common::server::ServerConfig::new(&dir)
//! #     .latency(std::time::Duration::from_millis(5), std::time::Duration::from_millis(2))).unwrap();
//! use downloader_threads::{AdderKind, Options, book_urls, per_thread};
//! let urls = book_urls(&server.base_url());
//! let opts = Options { adder: AdderKind::Atomic, ..Options::default() };
//! let summary = per_thread::download_all(&urls, &opts).unwrap();
//! assert_eq!(summary.total, 288_998);
//! ```

#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

use common::StageLog;
use common::http::BlockingClient;

pub use common::download::{FetchError, FetchErrorKind, FileResult, Summary};

pub mod cost;
pub mod per_thread;
pub mod pool;
pub mod rust_refuses;
pub mod v1_racy;
pub mod v2_locked;
pub mod v3_atomic;
pub mod waiters;

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// What every adder of the lesson offers: add from any thread (`&self`, and
/// `Sync`), read the total.
pub trait SharedAdder: Sync {
    /// Adds `value` to the total.
    fn add(&self, value: u64);
    /// The total so far.
    fn total(&self) -> u64;
}

/// Which adder the downloaders share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdderKind {
    /// [`v1_racy::Adder`]: read, pause, add, pause, write, with no lock.
    Racy {
        /// The pause between the steps (the book's `time.sleep(.01)`).
        pause: Duration,
    },
    /// [`v2_locked::Adder`]: the same steps under one `Mutex`.
    Locked {
        /// The pause between the steps, inside the lock.
        pause: Duration,
    },
    /// [`v3_atomic::Adder`]: one `fetch_add`.
    Atomic,
}

impl Default for AdderKind {
    /// A `Mutex<u64>` without pauses: the plain shared `Adder` of `concur_hilos.py`.
    fn default() -> Self {
        AdderKind::Locked {
            pause: Duration::ZERO,
        }
    }
}

impl AdderKind {
    /// A new adder of this kind at zero. With `log` and a pause, the racy
    /// and locked adders log each read and write, so the interleaving shows.
    pub fn build(self, log: Option<StageLog>) -> Box<dyn SharedAdder + Send> {
        let log = log.filter(|_| match self {
            AdderKind::Racy { pause } | AdderKind::Locked { pause } => !pause.is_zero(),
            AdderKind::Atomic => false,
        });
        match self {
            AdderKind::Racy { pause } => Box::new(v1_racy::Adder::new(pause).with_log(log)),
            AdderKind::Locked { pause } => Box::new(v2_locked::Adder::new(pause).with_log(log)),
            AdderKind::Atomic => Box::new(v3_atomic::Adder::new()),
        }
    }

    /// A short name for tables and records: `racy`, `mutex`, `atomic`.
    pub fn name(self) -> &'static str {
        match self {
            AdderKind::Racy { .. } => "racy",
            AdderKind::Locked { .. } => "mutex",
            AdderKind::Atomic => "atomic",
        }
    }
}

/// How to download.
#[derive(Debug, Clone)]
pub struct Options {
    /// Total timeout of each request.
    pub timeout: Duration,
    /// Logs one stage line per file when set.
    pub log: Option<StageLog>,
    /// The adder the threads share.
    pub adder: AdderKind,
    /// Worker threads of the [`pool`]; 0 means one per core. Ignored by
    /// [`per_thread`].
    pub workers: usize,
    /// The longest body accepted, bytes (bodies are counted, never kept).
    pub max_body: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: common::http::DEFAULT_TIMEOUT,
            log: None,
            adder: AdderKind::default(),
            workers: 0,
            max_body: common::download::DEFAULT_MAX_BODY,
        }
    }
}

impl Options {
    /// The number of pool workers: `workers`, or the number of cores when 0.
    pub fn worker_count(&self) -> usize {
        if self.workers > 0 {
            self.workers
        } else {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        }
    }
}

/// The five files of the lesson under `base` (a URL without trailing slash).
pub fn book_urls(base: &str) -> Vec<String> {
    file_urls(base, &[], 1)
}

/// The URLs of `files` under `base` (the five lesson files when empty), the
/// whole list `repeat` times: `repeat` 200 gives 1,000 URLs.
///
/// ```
/// let urls = downloader_threads::file_urls("http://h:1", &[], 2);
/// assert_eq!(urls.len(), 10);
/// assert_eq!(urls[0], "http://h:1/integracion.txt");
/// assert_eq!(urls[5], urls[0]);
/// ```
pub fn file_urls(base: &str, files: &[String], repeat: usize) -> Vec<String> {
    let one: Vec<String> = if files.is_empty() {
        common::data::DOWNLOAD_NAMES
            .iter()
            .map(|name| common::http::join_url(base, name))
            .collect()
    } else {
        files
            .iter()
            .map(|name| common::http::join_url(base, name))
            .collect()
    };
    let mut urls = Vec::with_capacity(one.len() * repeat);
    for _ in 0..repeat {
        urls.extend(one.iter().cloned());
    }
    urls
}

/// Downloads one URL and adds its length to the shared `adder` (the book's
/// `downloader`). Never panics: a failure is in the returned result, and
/// nothing is added then.
pub fn downloader(
    client: &BlockingClient,
    url: &str,
    adder: &dyn SharedAdder,
    timeout: Duration,
    max_body: u64,
    log: Option<&StageLog>,
) -> FileResult {
    let t0 = Instant::now();
    let outcome = common::http::fetch_length(client, url, timeout, max_body).map(|counted| {
        let length = counted.length;
        if let Some(log) = log {
            log.stage(format!("downloaded {url} ({length} bytes)"));
        }
        adder.add(length);
        length
    });
    if let (Some(log), Err(e)) = (log, &outcome) {
        log.stage(format!("FAILED {e}"));
    }
    FileResult {
        url: url.to_string(),
        outcome,
        elapsed: t0.elapsed(),
    }
}

/// A failed result for `url` that never reached the network (a thread that
/// could not start, or that panicked).
pub fn not_run(url: &str, why: String) -> FileResult {
    FileResult {
        url: url.to_string(),
        outcome: Err(FetchError {
            url: url.to_string(),
            kind: FetchErrorKind::Other(why),
        }),
        elapsed: Duration::ZERO,
    }
}

/// Bytes the adder lost: what arrived minus what it added up (0 when none).
///
/// ```
/// use downloader_threads::{Summary, FileResult, lost_bytes};
/// let s = Summary {
///     files: vec![FileResult { url: "u".into(), outcome: Ok(10), elapsed: Default::default() }],
///     total: 4,
///     elapsed: Default::default(),
/// };
/// assert_eq!(lost_bytes(&s), 6);
/// ```
pub fn lost_bytes(summary: &Summary) -> u64 {
    summary.bytes_received().saturating_sub(summary.total)
}

/// Prints the summary (`Done: N`, or the failures and a `PARTIAL` total),
/// and, when the adder lost updates, how many bytes.
pub fn print_summary(summary: &Summary) {
    summary.print();
    let lost = lost_bytes(summary);
    if lost > 0 {
        println!(
            "LOST {lost} bytes: the bodies received add up to {}, the adder says {}",
            summary.bytes_received(),
            summary.total
        );
    }
}

/// The program's JSON record for a download: stages, peak memory, the
/// summary's metrics (`total_bytes`, `bytes_received`, `requests`,
/// `succeeded`, `download_s`, …), its errors, and `lost_bytes`.
pub fn summary_record(program: &str, summary: &Summary, log: &StageLog) -> common::Record {
    let mut rec = common::Record::new(program).with_stages(log);
    summary.fill_record(&mut rec);
    rec.set("lost_bytes", lost_bytes(summary));
    rec
}

pub use common::cli::parse_timeout;

/// Runs a program's `try_main`: exit 0 when it returns `Ok(true)`, 1 when
/// `Ok(false)` (some download failed: the partial total was printed), 2 with
/// the error on stderr when it could not run at all.
pub fn exit_with(result: Result<bool, Box<dyn std::error::Error>>) {
    match result {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}

/// A tiny seeded generator (splitmix64) for the waiters' random pauses: the
/// same seed gives the same waits, so a class sees the same run.
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix(seed)
    }

    /// A generator seeded from the clock (a different run every time).
    pub fn from_clock() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        SplitMix(nanos)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..=max` (like Python's `random.randint(0, max)`).
    pub fn up_to(&mut self, max: u64) -> u64 {
        match max.checked_add(1) {
            Some(n) => self.next_u64() % n,
            None => self.next_u64(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_repeat_in_order() {
        let files = vec!["a.txt".to_string(), "b.txt".to_string()];
        let urls = file_urls("http://h:1/", &files, 3);
        assert_eq!(urls.len(), 6);
        assert_eq!(urls[0], "http://h:1/a.txt");
        assert_eq!(urls[3], "http://h:1/b.txt");
        assert_eq!(book_urls("http://h:1").len(), 5);
    }

    #[test]
    fn splitmix_is_seeded_and_bounded() {
        let a: Vec<u64> = {
            let mut r = SplitMix::new(7);
            (0..100).map(|_| r.up_to(100)).collect()
        };
        let mut r = SplitMix::new(7);
        let b: Vec<u64> = (0..100).map(|_| r.up_to(100)).collect();
        assert_eq!(a, b);
        assert!(a.iter().all(|&v| v <= 100));
        assert!(a.iter().any(|&v| v != a[0]));
        let _ = SplitMix::new(1).up_to(u64::MAX); // no overflow
        assert_eq!(SplitMix::new(1).up_to(0), 0);
    }

    #[test]
    fn worker_count_defaults_to_cores() {
        let o = Options::default();
        assert!(o.worker_count() >= 1);
        let o = Options {
            workers: 8,
            ..Options::default()
        };
        assert_eq!(o.worker_count(), 8);
    }
}
