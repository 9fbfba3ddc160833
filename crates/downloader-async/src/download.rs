//! Book 1.3.1, the aiohttp downloader with `gather`: every file requested at
//! once, their lengths added by an [`Adder`], `Done: <total>`.
//!
//! - **One shared client.** A `reqwest::Client` holds a pool of open
//!   connections; sharing it lets a later request reuse the connection of
//!   an earlier one. The book opens a new session per call and admits it is
//!   wasteful: [`ClientMode::PerRequest`] does the same so you can measure it (a new
//!   pool, a new TCP connection, and a new client to build for every URL).
//! - **No lock around the adder.** [`download_all`] drives all the request
//!   futures with `join_all` inside **one task**: they take turns on one
//!   thread and none is interrupted between reading and writing the total,
//!   which is the book's argument for a plain `Adder`. A `RefCell` is enough,
//!   and the compiler checks the claim: the future is not `Send`, so it
//!   cannot be moved to another thread by mistake. (The connections
//!   themselves are driven by tasks reqwest spawns on the runtime.)
//!
//!   This will **not** compile: `tokio::spawn` may move a task to another
//!   worker thread, so its future must be `Send`, and one that shares a
//!   `RefCell` across `.await`s is not.
//!
//!   ```compile_fail,E0277
//!   let urls = vec!["http://127.0.0.1:8000/intro.txt".to_string()];
//!   let opts = downloader_async::Options::default();
//!   tokio::spawn(async move { downloader_async::download_all(&urls, &opts).await });
//!   ```
//!
//!   Run it where it is (`block_on`, `.await` it, or a `LocalSet`) instead.
//! - **A limit of requests in flight.** Each request is a socket, a file
//!   descriptor and some buffers; a [`tokio::sync::Semaphore`] lets at most
//!   [`Options::max_in_flight`] run at once, the others wait their turn
//!   without holding anything.
//! - **Bodies are counted, not kept.** Each body is read chunk by chunk and
//!   only its length is kept: memory is bounded by the connections in flight
//!   (each keeps a read buffer that grows with the bodies it carries, up to
//!   about 400 KB), not by the number of requests; keeping 10,000 bodies
//!   would take 550 MB.
//! - **Memory follows the connection buffers.** reqwest does not let you cap
//!   that read buffer; [`ClientMode::BoundedBuffers`] (`--small-buffers`)
//!   uses the crates reqwest is built on, hyper's client from `hyper-util`,
//!   directly, with a fixed read buffer of [`BOUNDED_READ_BUF`] bytes per
//!   connection: the same requests, the same errors, a fraction of the
//!   memory at 1,000 connections. reqwest stays the default: it does TLS,
//!   redirects, proxies and more, which that lean client does not
//!   (`http://` only).
//!
//! Results come back in input order; a failed URL (404, reset, timeout…) is
//! reported in its [`FileResult`] and the others complete.
//!
//! **DNS.** aiohttp resolves host names with a blocking call unless `aiodns`
//! is installed. reqwest's default resolver runs the blocking
//! `getaddrinfo` on tokio's blocking thread pool (`spawn_blocking`), so a
//! slow DNS server never stalls the runtime's threads; the `hickory-dns`
//! feature of this crate switches to reqwest's fully async resolver instead.
//! The lesson fetches from `127.0.0.1`, which needs no resolving at all.

use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant};

use common::StageLog;
use common::download::{FetchError, FetchErrorKind, FileResult, Summary};
use common::http::{check_announced, check_length, check_received, check_url, classify};
use futures_util::future::join_all;
use tokio::sync::Semaphore;

/// Requests in flight at most, by default.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 1000;

/// Accumulates the lengths of the downloaded files (the book's `Adder`).
///
/// Plain `&mut self`, no lock: see the module docs for why that is enough.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Adder {
    total: u64,
}

impl Adder {
    /// A new adder at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `value` to the total.
    pub fn add(&mut self, value: u64) {
        self.total += value;
    }

    /// The total so far.
    pub fn total(&self) -> u64 {
        self.total
    }
}

/// Which client each request uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientMode {
    /// One client (one connection pool) for all requests.
    #[default]
    Shared,
    /// A new client for every request, like the book's per-call session.
    PerRequest,
    /// One lean hyper client (no reqwest) whose connections each read
    /// through a fixed buffer of [`BOUNDED_READ_BUF`] bytes; `http://` only.
    BoundedBuffers,
}

/// The read buffer of each connection with [`ClientMode::BoundedBuffers`].
/// hyper's default grows it up to about 400 KB while it carries large
/// bodies; a fixed 16 KB still reads a body in a few chunks per round trip.
pub const BOUNDED_READ_BUF: usize = 16 * 1024;

/// The lean client of [`ClientMode::BoundedBuffers`]: hyper's pooled client
/// over plain TCP, sending empty-bodied GETs.
pub type BoundedClient = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    http_body_util::Empty<hyper::body::Bytes>,
>;

/// How to download.
#[derive(Debug, Clone)]
pub struct Options {
    /// Total timeout of each request (connect, headers and body).
    pub timeout: Duration,
    /// Shared client or one per request.
    pub client: ClientMode,
    /// Requests in flight at most; 0 for no limit.
    pub max_in_flight: usize,
    /// Logs one stage line per file when set (leave unset for thousands).
    pub log: Option<StageLog>,
    /// Advanced by one for every finished request when set.
    pub progress: Option<indicatif::ProgressBar>,
    /// The longest body accepted, bytes: an announced length over it is
    /// refused before the body is read, and reading stops past it.
    pub max_body: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: common::http::DEFAULT_TIMEOUT,
            client: ClientMode::Shared,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            log: None,
            progress: None,
            max_body: common::download::DEFAULT_MAX_BODY,
        }
    }
}

impl Options {
    /// The number of requests that can be in flight at once for `n` URLs.
    pub fn concurrency(&self, n: usize) -> usize {
        if self.max_in_flight == 0 {
            n
        } else {
            self.max_in_flight.min(n)
        }
    }
}

/// What the download did besides the [`Summary`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// The most requests in flight at once (as the client saw them).
    pub peak_in_flight: usize,
    /// Clients built: 1 when shared (reqwest or bounded), one per URL
    /// otherwise.
    pub clients_built: usize,
}

/// The five files of the lesson under `base` (a URL without trailing slash).
pub fn book_urls(base: &str) -> Vec<String> {
    repeat_urls(base, 1)
}

/// The five files `repeat` times over (`5 × repeat` URLs), for the scale
/// runs.
///
/// ```
/// let urls = downloader_async::repeat_urls("http://h:1", 3);
/// assert_eq!(urls.len(), 15);
/// assert_eq!(urls[5], urls[0]);
/// ```
pub fn repeat_urls(base: &str, repeat: usize) -> Vec<String> {
    let one: Vec<String> = common::data::DOWNLOAD_NAMES
        .iter()
        .map(|name| common::http::join_url(base, name))
        .collect();
    let mut urls = Vec::with_capacity(one.len() * repeat);
    for _ in 0..repeat {
        urls.extend(one.iter().cloned());
    }
    urls
}

/// An async client with connect and total timeouts.
///
/// # Errors
/// When reqwest cannot build a client (e.g. no TLS provider).
pub fn client(timeout: Duration) -> Result<reqwest::Client, FetchError> {
    common::http::init_tls();
    let builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)));
    #[cfg(feature = "hickory-dns")]
    let builder = builder.hickory_dns(true);
    builder
        .build()
        .map_err(|e| classify("(client)", &e, timeout))
}

/// GETs `url` and returns the length of its body, read chunk by chunk (the
/// body itself is dropped as it arrives).
///
/// # Errors
/// [`FetchError`] naming `url`: connection failure, timeout, an error
/// status, a body shorter than announced or longer than `max_body`, a
/// connection broken mid-body.
pub async fn fetch_length(
    client: &reqwest::Client,
    url: &str,
    timeout: Duration,
    max_body: u64,
) -> Result<u64, FetchError> {
    check_url(url)?;
    let mut resp = client
        .get(url)
        .send()
        .await
        .map_err(|e| classify(url, &e, timeout))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(FetchError {
            url: url.to_string(),
            kind: FetchErrorKind::Status(status.as_u16()),
        });
    }
    let expected = resp.content_length();
    check_announced(url, expected, max_body)?;
    let mut got = 0u64;
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                got += chunk.len() as u64;
                check_received(url, got, max_body)?;
            }
            Ok(None) => break,
            Err(e) => return Err(body_error(url, &e, timeout, got)),
        }
    }
    check_length(url, got, expected)?;
    Ok(got)
}

/// An error while reading the body: a timeout, or a broken connection.
fn body_error(url: &str, err: &reqwest::Error, timeout: Duration, got: u64) -> FetchError {
    let kind = if err.is_timeout() {
        FetchErrorKind::Timeout(timeout)
    } else {
        let mut cause: &dyn std::error::Error = err;
        while let Some(next) = cause.source() {
            cause = next;
        }
        FetchErrorKind::Body(format!("{cause} after {got} bytes"))
    };
    FetchError {
        url: url.to_string(),
        kind,
    }
}

/// The lean client of [`ClientMode::BoundedBuffers`]: one pool of
/// connections, each with a fixed read buffer of [`BOUNDED_READ_BUF`]
/// bytes, a connect timeout as [`client`]'s. The total timeout is applied
/// per request by [`fetch_length_bounded`].
pub fn bounded_client(timeout: Duration) -> BoundedClient {
    use hyper_util::client::legacy::{Client, connect::HttpConnector};
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(timeout.min(Duration::from_secs(5))));
    http.set_nodelay(true);
    Client::builder(hyper_util::rt::TokioExecutor::new())
        .http1_read_buf_exact_size(BOUNDED_READ_BUF)
        .build(http)
}

/// As [`fetch_length`], with the lean client: GETs `url` and counts its
/// body frame by frame, within `timeout` in total (connect, headers and
/// body).
///
/// # Errors
/// As [`fetch_length`]; an `https://` URL is [`FetchErrorKind::Unsupported`]
/// (this client speaks plain HTTP only).
pub async fn fetch_length_bounded(
    client: &BoundedClient,
    url: &str,
    timeout: Duration,
    max_body: u64,
) -> Result<u64, FetchError> {
    check_url(url)?;
    let error = |kind| FetchError {
        url: url.to_string(),
        kind,
    };
    if !url.starts_with("http://") {
        return Err(error(FetchErrorKind::Unsupported(
            "the bounded-buffer client speaks http:// only; use the default client".into(),
        )));
    }
    let uri: hyper::Uri = url
        .parse()
        .map_err(|e| error(FetchErrorKind::Unsupported(format!("bad URL: {e}"))))?;
    match tokio::time::timeout(timeout, get_length_bounded(client, uri, url, max_body)).await {
        Ok(outcome) => outcome,
        Err(_elapsed) => Err(error(FetchErrorKind::Timeout(timeout))),
    }
}

/// The request and the body of [`fetch_length_bounded`], without the timeout.
async fn get_length_bounded(
    client: &BoundedClient,
    uri: hyper::Uri,
    url: &str,
    max_body: u64,
) -> Result<u64, FetchError> {
    use http_body_util::BodyExt;
    use hyper::body::Body;
    let error = |kind| FetchError {
        url: url.to_string(),
        kind,
    };
    let request = hyper::Request::get(uri)
        .body(http_body_util::Empty::new())
        .map_err(|e| error(FetchErrorKind::Unsupported(format!("bad request: {e}"))))?;
    let resp = client.request(request).await.map_err(|e| {
        error(if e.is_connect() {
            FetchErrorKind::Connect(root_cause(&e))
        } else {
            FetchErrorKind::Other(root_cause(&e))
        })
    })?;
    let status = resp.status();
    if !status.is_success() {
        return Err(error(FetchErrorKind::Status(status.as_u16())));
    }
    let mut body = resp.into_body();
    // What reqwest's `content_length` reports: the announced length.
    let expected = body.size_hint().exact();
    check_announced(url, expected, max_body)?;
    let mut got = 0u64;
    while let Some(frame) = body.frame().await {
        match frame {
            // The chunk is dropped here: its bytes go back to the buffer.
            Ok(frame) => {
                got += frame.data_ref().map_or(0, |d| d.len() as u64);
                check_received(url, got, max_body)?;
            }
            Err(e) => {
                return Err(error(FetchErrorKind::Body(format!(
                    "{} after {got} bytes",
                    root_cause(&e)
                ))));
            }
        }
    }
    check_length(url, got, expected)?;
    Ok(got)
}

/// The innermost cause's message: the part a person can act on.
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// Downloads one URL and adds its length to `adder` (the book's
/// `downloader`). With no `shared` client it builds its own, as the book's
/// per-call session does.
///
/// # Errors
/// As [`fetch_length`]; nothing is added then.
pub async fn downloader(
    shared: Option<&reqwest::Client>,
    url: &str,
    adder: &RefCell<Adder>,
    timeout: Duration,
    max_body: u64,
) -> Result<u64, FetchError> {
    let length = match shared {
        Some(c) => fetch_length(c, url, timeout, max_body).await?,
        None => {
            let own = client(timeout)?;
            fetch_length(&own, url, timeout, max_body).await?
        }
    };
    // The borrow lasts for this line only: never across an `.await`.
    adder.borrow_mut().add(length);
    Ok(length)
}

/// Downloads all `urls` concurrently (at most `opts.max_in_flight` at once)
/// and returns one result per URL, in input order. A failed URL is recorded
/// in its [`FileResult`]; the others still run: check
/// [`Summary::is_complete`].
///
/// Dropping the returned future (e.g. on Ctrl-C) cancels every request in
/// flight.
///
/// # Errors
/// Only when no HTTP client can be built; per-URL failures are in the summary.
pub async fn download_all(urls: &[String], opts: &Options) -> Result<Summary, FetchError> {
    download_all_with_stats(urls, opts).await.map(|(s, _)| s)
}

/// As [`download_all`], also returning the peak in flight and the number of
/// clients built.
///
/// # Errors
/// As [`download_all`].
pub async fn download_all_with_stats(
    urls: &[String],
    opts: &Options,
) -> Result<(Summary, Stats), FetchError> {
    // Build one client up front in every mode: a broken setup fails here,
    // once, not once per URL.
    let (shared, bounded) = match opts.client {
        ClientMode::Shared => (Some(client(opts.timeout)?), None),
        ClientMode::PerRequest => {
            client(opts.timeout)?;
            (None, None)
        }
        ClientMode::BoundedBuffers => (None, Some(bounded_client(opts.timeout))),
    };
    let limit = Semaphore::new(
        opts.concurrency(urls.len())
            .clamp(1, Semaphore::MAX_PERMITS),
    );
    let adder = RefCell::new(Adder::new());
    let in_flight = Cell::new(0usize);
    let peak = Cell::new(0usize);
    let start = Instant::now();
    let requests = urls.iter().map(|url| {
        let (shared, bounded, limit) = (&shared, &bounded, &limit);
        let (adder, in_flight, peak) = (&adder, &in_flight, &peak);
        async move {
            // Wait for a free slot; the permit is given back when dropped.
            let _permit = limit.acquire().await.ok();
            in_flight.set(in_flight.get() + 1);
            peak.set(peak.get().max(in_flight.get()));
            let t0 = Instant::now();
            let outcome = match bounded {
                Some(b) => fetch_length_bounded(b, url, opts.timeout, opts.max_body)
                    .await
                    .inspect(|&n| {
                        // As in `downloader`: never borrowed across an `.await`.
                        adder.borrow_mut().add(n);
                    }),
                None => downloader(shared.as_ref(), url, adder, opts.timeout, opts.max_body).await,
            };
            in_flight.set(in_flight.get() - 1);
            if let Some(log) = &opts.log {
                match &outcome {
                    Ok(n) => log.stage(format!("downloaded {url} ({n} bytes)")),
                    Err(e) => log.stage(format!("FAILED {e}")),
                }
            }
            if let Some(bar) = &opts.progress {
                bar.inc(1);
            }
            FileResult {
                url: url.clone(),
                outcome,
                elapsed: t0.elapsed(),
            }
        }
    });
    // The book's `gather`: all of them at once, results in input order.
    let files = join_all(requests).await;
    let stats = Stats {
        peak_in_flight: peak.get(),
        clients_built: match opts.client {
            ClientMode::Shared | ClientMode::BoundedBuffers => 1,
            ClientMode::PerRequest => 1 + urls.len(),
        },
    };
    Ok((
        Summary {
            files,
            total: adder.into_inner().total(),
            elapsed: start.elapsed(),
        },
        stats,
    ))
}

/// Runs [`download_all_with_stats`] until it finishes (`Some`) or the user
/// presses Ctrl-C (`None`): the download future is dropped then, which
/// cancels every request in flight.
///
/// # Errors
/// As [`download_all`].
pub async fn download_all_or_ctrl_c(
    urls: &[String],
    opts: &Options,
) -> Option<Result<(Summary, Stats), FetchError>> {
    tokio::select! {
        r = download_all_with_stats(urls, opts) => Some(r),
        _ = tokio::signal::ctrl_c() => None,
    }
}

/// Adds the summary and the scale metrics to a record: requests per second,
/// concurrency, peak in flight, clients built.
pub fn fill_record(rec: &mut common::Record, summary: &Summary, stats: &Stats, opts: &Options) {
    summary.fill_record(rec);
    let secs = summary.elapsed.as_secs_f64().max(1e-9);
    rec.set("requests_per_s", summary.files.len() as f64 / secs);
    rec.set(
        "max_in_flight",
        opts.concurrency(summary.files.len()) as u64,
    );
    rec.set("peak_in_flight", stats.peak_in_flight as u64);
    rec.set("clients_built", stats.clients_built as u64);
    rec.set("client", format!("{:?}", opts.client));
}

/// A progress bar of `len` requests on stderr, or a hidden one when `show`
/// is false (e.g. with `--json`) or stderr is not a terminal.
pub fn progress_bar(len: u64, show: bool) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !show || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:40} {pos}/{len} requests  {per_sec}  {elapsed_precise}",
    ) {
        bar.set_style(style);
    }
    bar
}

/// One line on what a run did: requests, time, requests per second, bytes,
/// errors, peak memory.
pub fn scale_line(summary: &Summary, peak_rss: Option<u64>) -> String {
    let secs = summary.elapsed.as_secs_f64();
    format!(
        "{} requests in {secs:.3} s: {:.0} requests/s, {} received, {} errors, peak memory {}",
        summary.files.len(),
        summary.files.len() as f64 / secs.max(1e-9),
        common::mem::human_bytes(summary.bytes_received()),
        summary.files.len() - summary.succeeded(),
        peak_rss.map_or_else(|| "unknown".into(), common::mem::human_bytes),
    )
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
    fn concurrency_is_bounded_by_the_urls() {
        let mut o = Options::default();
        assert_eq!(o.concurrency(5), 5);
        assert_eq!(o.concurrency(10_000), DEFAULT_MAX_IN_FLIGHT);
        o.max_in_flight = 0;
        assert_eq!(o.concurrency(10_000), 10_000);
    }
}
