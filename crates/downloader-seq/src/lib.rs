//! Book 1.1 (`concur_no.py`): download a list of files one after another and
//! add their lengths with an [`Adder`].
//!
//! This is the baseline every concurrent version is compared with: the total
//! must be the same, and the wall time here is about the **sum** of the
//! request latencies, because each download starts only when the previous one
//! has finished.
//!
//! ```
//! # let dir = common::data::downloads_dir().unwrap();
//! # let server = common::server::Server::start(common::server::ServerConfig::new(&dir)
//! #     .latency(std::time::Duration::from_millis(1), std::time::Duration::ZERO)).unwrap();
//! let urls = downloader_seq::book_urls(&server.base_url());
//! let summary = downloader_seq::download_all(&urls, &Default::default()).unwrap();
//! assert_eq!(summary.total, 288_998);
//! ```

#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

use common::StageLog;
pub use common::download::{FetchError, FileResult, Summary};

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// Accumulates the lengths of the downloaded files (the book's `Adder`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Adder {
    total: u64,
}

impl Adder {
    /// A new adder at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `value` to the total. Here, with one thread, `+=` is all it takes.
    pub fn add(&mut self, value: u64) {
        self.total += value;
    }

    /// The total so far.
    pub fn total(&self) -> u64 {
        self.total
    }
}

/// How to download.
#[derive(Debug, Clone)]
pub struct Options {
    /// Total timeout of each request.
    pub timeout: Duration,
    /// Logs one stage line per file when set.
    pub log: Option<StageLog>,
    /// The longest body accepted, bytes (bodies are counted, never kept).
    pub max_body: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: common::http::DEFAULT_TIMEOUT,
            log: None,
            max_body: common::download::DEFAULT_MAX_BODY,
        }
    }
}

/// The five files of the lesson under `base` (a URL without trailing slash).
pub fn book_urls(base: &str) -> Vec<String> {
    common::data::DOWNLOAD_NAMES
        .iter()
        .map(|name| common::http::join_url(base, name))
        .collect()
}

/// Downloads one URL and adds its length to `adder` (the book's `downloader`).
///
/// # Errors
/// [`FetchError`] naming the URL; nothing is added then.
pub fn downloader(
    client: &common::http::BlockingClient,
    url: &str,
    adder: &mut Adder,
    timeout: Duration,
    max_body: u64,
) -> Result<u64, FetchError> {
    let length = common::http::fetch_length(client, url, timeout, max_body)?.length;
    adder.add(length);
    Ok(length)
}

/// Downloads `urls` one after another. A failed URL is recorded in its
/// [`FileResult`] and the others still run; check [`Summary::is_complete`].
///
/// # Errors
/// Only when no HTTP client can be built; per-URL failures are in the summary.
pub fn download_all(urls: &[String], opts: &Options) -> Result<Summary, FetchError> {
    let client = common::http::client(opts.timeout)?;
    let start = Instant::now();
    let mut adder = Adder::new();
    let mut files = Vec::with_capacity(urls.len());
    for url in urls {
        let t0 = Instant::now();
        let outcome = downloader(&client, url, &mut adder, opts.timeout, opts.max_body);
        if let Some(log) = &opts.log {
            match &outcome {
                Ok(n) => log.stage(format!("downloaded {url} ({n} bytes)")),
                Err(e) => log.stage(format!("FAILED {e}")),
            }
        }
        files.push(FileResult {
            url: url.clone(),
            outcome,
            elapsed: t0.elapsed(),
        });
    }
    Ok(Summary {
        files,
        total: adder.total(),
        elapsed: start.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adder_adds() {
        let mut a = Adder::new();
        a.add(10);
        a.add(5);
        assert_eq!(a.total(), 15);
    }

    #[test]
    fn urls_join_cleanly() {
        let urls = book_urls("http://h:1/src/");
        assert_eq!(urls[0], "http://h:1/src/integracion.txt");
        assert_eq!(urls.len(), 5);
    }
}
