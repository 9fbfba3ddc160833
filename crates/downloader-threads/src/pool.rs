//! The exercise the book leaves to the reader (`ThreadPoolExecutor`): a fixed
//! number of worker threads download many files.
//!
//! Thread-per-file starts as many threads as URLs: fine for 5, heavy for
//! 10,000 (each thread has its own stack, and the machine has a thread limit).
//! A pool starts N workers (by default one per core) that take the next URL
//! from a shared queue until it is empty. The queue here is just an index
//! into the URL list, taken with one [`AtomicUsize::fetch_add`] — each URL
//! goes to exactly one worker. Each worker keeps `(index, result)` pairs and
//! the results are put back in input order at the end, errors included.
//!
//! ```
//! # let dir = common::data::downloads_dir().unwrap();
//! # let server = common::server::Server::start(common::server::ServerConfig::new(&dir)
//! #     .latency(std::time::Duration::from_millis(5), std::time::Duration::from_millis(2))).unwrap();
//! use downloader_threads::{Options, file_urls, pool};
//! let urls = file_urls(&server.base_url(), &[], 6); // 30 URLs
//! let opts = Options { workers: 3, ..Options::default() };
//! let summary = pool::download_all(&urls, &opts).unwrap();
//! assert_eq!(summary.total, 6 * 288_998);
//! assert!(summary.files.iter().zip(&urls).all(|(f, u)| &f.url == u)); // input order
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use crate::{FetchError, FileResult, Options, Summary, downloader, not_run};

/// Downloads `urls` with [`Options::worker_count`] worker threads.
///
/// Every URL gets a [`FileResult`], in input order: a failed request, and even
/// a worker that could not start or panicked, shows up as an error for the
/// URLs concerned, never as a silently missing file.
///
/// # Errors
/// Only when no HTTP client can be built; per-URL failures are in the summary.
pub fn download_all(urls: &[String], opts: &Options) -> Result<Summary, FetchError> {
    let client = common::http::client(opts.timeout)?;
    let adder = opts.adder.build(opts.log.clone());
    let workers = opts.worker_count().clamp(1, urls.len().max(1));
    let next = AtomicUsize::new(0);
    let start = Instant::now();
    let mut slots: Vec<Option<FileResult>> = vec![None; urls.len()];
    let mut trouble = None;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let (client, adder, next) = (&client, &*adder, &next);
                std::thread::Builder::new()
                    .name(format!("pool-{w}"))
                    .spawn_scoped(s, move || {
                        let mut done = Vec::new();
                        loop {
                            // Take the next URL off the queue.
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(url) = urls.get(i) else { break };
                            let r = downloader(
                                client,
                                url,
                                adder,
                                opts.timeout,
                                opts.max_body,
                                opts.log.as_ref(),
                            );
                            done.push((i, r));
                        }
                        done
                    })
            })
            .collect();
        for h in handles {
            match h {
                Ok(h) => match h.join() {
                    Ok(done) => {
                        for (i, r) in done {
                            slots[i] = Some(r);
                        }
                    }
                    Err(_) => trouble = Some("its worker thread panicked".to_string()),
                },
                Err(e) => {
                    trouble.get_or_insert(format!("no worker thread could take it ({e})"));
                }
            }
        }
    });
    let why = trouble.unwrap_or_else(|| "no worker took it".into());
    let files = slots
        .into_iter()
        .zip(urls)
        .map(|(slot, url)| slot.unwrap_or_else(|| not_run(url, why.clone())))
        .collect();
    Ok(Summary {
        files,
        total: adder.total(),
        elapsed: start.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use common::server::{Fault, Server, ServerConfig};

    use super::*;
    use crate::{AdderKind, file_urls};

    fn on_disk() -> u64 {
        common::data::downloads_total_bytes(&common::data::downloads_dir().unwrap()).unwrap()
    }

    #[test]
    fn pool_total_equals_the_files_and_results_keep_input_order() {
        let dir = common::data::downloads_dir().unwrap();
        let mut cfg =
            ServerConfig::new(&dir).latency(Duration::from_millis(5), Duration::from_millis(4));
        cfg.faults = vec![("numpy.txt".into(), Fault::NotFound)];
        let server = Server::start(cfg).unwrap();
        let base = server.base_url();
        // Mix good and failing files, so order mistakes would show.
        let urls = file_urls(&base, &[], 8);
        for workers in [1, 3, 8, 64] {
            let opts = Options {
                workers,
                adder: AdderKind::Atomic,
                ..Options::default()
            };
            let s = download_all(&urls, &opts).unwrap();
            assert_eq!(s.files.len(), urls.len());
            for (f, u) in s.files.iter().zip(&urls) {
                assert_eq!(&f.url, u);
                assert_eq!(f.outcome.is_err(), u.ends_with("numpy.txt"), "{f:?}");
            }
            let numpy = std::fs::metadata(dir.join("numpy.txt")).unwrap().len();
            assert_eq!(s.total, 8 * (on_disk() - numpy), "workers {workers}");
            assert_eq!(s.succeeded(), 32);
        }
    }

    #[test]
    fn no_urls_no_work() {
        let s = download_all(&[], &Options::default()).unwrap();
        assert_eq!(s.files.len(), 0);
        assert_eq!(s.total, 0);
    }
}
