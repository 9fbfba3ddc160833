//! `concur_hilos.py`: one thread per URL, all sharing one client and one
//! adder. Same total as the sequential lesson; the wall time is about the
//! slowest request instead of the sum of them.
//!
//! The threads are *scoped* ([`std::thread::scope`]): they may borrow the
//! client, the adder and the URL list from this function, and the scope does
//! not return before every one of them has ended. So no thread is left
//! running, whatever happened — a failed request just ends its thread early
//! with an error in its [`FileResult`].
//!
//! ```
//! # let dir = common::data::downloads_dir().unwrap();
//! # let server = common::server::Server::start(common::server::ServerConfig::new(&dir)
//! #     .latency(std::time::Duration::from_millis(5), std::time::Duration::from_millis(2))).unwrap();
//! let urls = downloader_threads::file_urls(&server.base_url(), &[], 4); // 20 URLs, 20 threads
//! let summary = downloader_threads::per_thread::download_all(&urls, &Default::default()).unwrap();
//! assert!(summary.is_complete());
//! assert_eq!(summary.total, 4 * 288_998);
//! ```

use std::time::Instant;

use crate::{FetchError, Options, Summary, downloader, not_run};

/// Downloads every URL in its own thread and waits for all of them.
///
/// A URL that fails (or a thread the OS refuses to start, e.g. past the
/// machine's thread limit) is recorded in its [`FileResult`](crate::FileResult);
/// the other threads carry on. Results are in input order.
///
/// # Errors
/// Only when no HTTP client can be built; per-URL failures are in the summary.
pub fn download_all(urls: &[String], opts: &Options) -> Result<Summary, FetchError> {
    let client = common::http::client(opts.timeout)?;
    let adder = opts.adder.build(opts.log.clone());
    let start = Instant::now();
    let files = std::thread::scope(|s| {
        // Start them all first...
        let handles: Vec<_> = urls
            .iter()
            .enumerate()
            .map(|(i, url)| {
                let (client, adder, log) = (&client, &*adder, opts.log.as_ref());
                std::thread::Builder::new()
                    .name(format!("download-{i}"))
                    .spawn_scoped(s, move || {
                        downloader(client, url, adder, opts.timeout, opts.max_body, log)
                    })
            })
            .collect();
        // ...then join them all (the book's second loop).
        handles
            .into_iter()
            .zip(urls)
            .map(|(handle, url)| match handle {
                Ok(h) => h
                    .join()
                    .unwrap_or_else(|_| not_run(url, "its thread panicked".into())),
                Err(e) => not_run(url, format!("cannot start a thread: {e}")),
            })
            .collect()
    });
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

    fn server(faults: Vec<(String, Fault)>) -> Server {
        let dir = common::data::downloads_dir().unwrap();
        let mut cfg =
            ServerConfig::new(dir).latency(Duration::from_millis(10), Duration::from_millis(5));
        cfg.faults = faults;
        Server::start(cfg).unwrap()
    }

    fn on_disk() -> u64 {
        common::data::downloads_total_bytes(&common::data::downloads_dir().unwrap()).unwrap()
    }

    #[test]
    fn every_adder_but_the_racy_one_gives_the_true_total() {
        let server = server(vec![]);
        for adder in [AdderKind::default(), AdderKind::Atomic] {
            let opts = Options {
                adder,
                ..Options::default()
            };
            let s = download_all(&file_urls(&server.base_url(), &[], 2), &opts).unwrap();
            assert!(s.is_complete(), "{:?}", s.failures().collect::<Vec<_>>());
            assert_eq!(s.total, 2 * on_disk(), "{}", adder.name());
            assert_eq!(s.bytes_received(), s.total);
        }
    }

    #[test]
    fn the_racy_adder_never_adds_more_than_arrived() {
        let server = server(vec![]);
        let opts = Options {
            adder: AdderKind::Racy {
                pause: Duration::from_millis(10),
            },
            ..Options::default()
        };
        let s = download_all(&file_urls(&server.base_url(), &[], 1), &opts).unwrap();
        assert!(s.is_complete());
        assert_eq!(s.bytes_received(), on_disk());
        assert!(s.total <= on_disk());
        assert_eq!(crate::lost_bytes(&s), on_disk() - s.total);
    }

    #[test]
    fn a_failing_url_neither_hangs_nor_loses_the_others() {
        let server = server(vec![
            ("intro.txt".into(), Fault::Hang),
            ("numpy.txt".into(), Fault::Reset),
            ("parciales.txt".into(), Fault::NotFound),
        ]);
        let opts = Options {
            timeout: Duration::from_millis(800),
            ..Options::default()
        };
        let urls = file_urls(&server.base_url(), &[], 1);
        let s = download_all(&urls, &opts).unwrap();
        assert_eq!(s.succeeded(), 2);
        let dir = common::data::downloads_dir().unwrap();
        let size = |n: &str| std::fs::metadata(dir.join(n)).unwrap().len();
        assert_eq!(s.total, size("integracion.txt") + size("ordinarias.txt"));
        let failed: Vec<String> = s.failures().map(|e| e.to_string()).collect();
        assert_eq!(failed.len(), 3);
        assert!(failed[0].contains("intro.txt") && failed[0].contains("timeout"));
        assert!(failed[1].contains("numpy.txt"));
        assert!(failed[2].contains("parciales.txt") && failed[2].contains("404"));
        for (f, url) in s.files.iter().zip(&urls) {
            assert_eq!(&f.url, url, "input order");
        }
    }
}
