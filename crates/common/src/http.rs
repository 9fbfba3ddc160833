//! A blocking HTTP client with the project's defaults, and one error type that
//! names the URL and what went wrong.
//!
//! reqwest has no default timeout: a dead server would hang a download
//! forever. [`client`] always sets connect and total timeouts. [`fetch`]
//! checks the status and that the body is as long as the server announced,
//! so a cut-short body is an error, never a wrong byte count.
//!
//! Bodies are read through one fixed buffer of [`READ_BUF`] bytes, never
//! into an allocation sized from a header: [`fetch_length`] only counts the
//! bytes (what the downloaders need), [`fetch`] keeps them but never more
//! than the caller's limit. A server announcing 3 GB costs a caller the limit
//! at most, and by default is refused before its body is read.

use std::io::Read;
use std::time::{Duration, Instant};

pub use crate::download::{
    DEFAULT_MAX_BODY, FetchError, FetchErrorKind, check_announced, check_length, check_received,
    check_url, join_url,
};

/// The fixed buffer each body is read through.
pub const READ_BUF: usize = 64 * 1024;

/// Default total timeout of one request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Classifies a reqwest error (blocking or async) for `url`.
pub fn classify(url: &str, err: &reqwest::Error, timeout: Duration) -> FetchError {
    let kind = if err.is_timeout() {
        FetchErrorKind::Timeout(timeout)
    } else if err.is_connect() {
        FetchErrorKind::Connect(root_cause(err))
    } else if let Some(status) = err.status() {
        FetchErrorKind::Status(status.as_u16())
    } else if err.is_body() || err.is_decode() {
        FetchErrorKind::Body(root_cause(err))
    } else if err.is_builder() {
        FetchErrorKind::Unsupported(format!("bad request: {}", root_cause(err)))
    } else {
        FetchErrorKind::Other(root_cause(err))
    };
    FetchError {
        url: url.to_string(),
        kind,
    }
}

/// Classifies an error that happened while reading a response's body (after
/// the headers arrived): a timeout, or a broken connection.
pub fn classify_body(url: &str, err: &reqwest::Error, timeout: Duration) -> FetchError {
    let kind = if err.is_timeout() {
        FetchErrorKind::Timeout(timeout)
    } else {
        FetchErrorKind::Body(root_cause(err))
    };
    FetchError {
        url: url.to_string(),
        kind,
    }
}

/// The innermost cause's message: the part a person can act on.
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = err;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// Makes the process-wide TLS provider available (a no-op without `https`).
pub fn init_tls() {
    #[cfg(feature = "https")]
    {
        // Fails only if a provider is already installed, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// A blocking client with connect and total timeouts.
///
/// # Errors
/// When reqwest cannot build a client (e.g. no TLS provider).
pub fn client(timeout: Duration) -> Result<reqwest::blocking::Client, FetchError> {
    init_tls();
    reqwest::blocking::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .pool_max_idle_per_host(64)
        .build()
        .map_err(|e| classify("(client)", &e, timeout))
}

/// A successful download, kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The body.
    pub body: Vec<u8>,
    /// How long the request took.
    pub elapsed: Duration,
}

/// A successful download, counted and dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    /// The body's length in bytes.
    pub length: u64,
    /// How long the request took.
    pub elapsed: Duration,
}

/// GETs `url` and returns its whole body, at most `max_body` bytes of it.
///
/// # Errors
/// [`FetchError`] naming `url` for: connection failure, timeout, an error
/// status, a body shorter than `Content-Length` or longer than `max_body`,
/// a broken connection.
pub fn fetch(
    client: &reqwest::blocking::Client,
    url: &str,
    timeout: Duration,
    max_body: u64,
) -> Result<Fetched, FetchError> {
    let start = Instant::now();
    let mut body = Vec::new();
    stream(client, url, timeout, max_body, |chunk| {
        body.extend_from_slice(chunk)
    })?;
    Ok(Fetched {
        body,
        elapsed: start.elapsed(),
    })
}

/// GETs `url` and returns the length of its body, read through one buffer
/// of [`READ_BUF`] bytes and dropped as it arrives (what the downloaders
/// add up).
///
/// # Errors
/// As [`fetch`].
pub fn fetch_length(
    client: &reqwest::blocking::Client,
    url: &str,
    timeout: Duration,
    max_body: u64,
) -> Result<Counted, FetchError> {
    let start = Instant::now();
    let length = stream(client, url, timeout, max_body, |_| {})?;
    Ok(Counted {
        length,
        elapsed: start.elapsed(),
    })
}

/// The request of [`fetch`] and [`fetch_length`]: hands each piece of the
/// body to `sink` and returns its length.
fn stream(
    client: &reqwest::blocking::Client,
    url: &str,
    timeout: Duration,
    max_body: u64,
    mut sink: impl FnMut(&[u8]),
) -> Result<u64, FetchError> {
    check_url(url)?;
    let mut resp = client
        .get(url)
        .send()
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
    let mut buf = vec![0u8; READ_BUF];
    let mut got = 0u64;
    loop {
        // Never read past the limit (+1 to notice a body that is longer).
        let room = (max_body - got.min(max_body)).saturating_add(1);
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = match resp.read(&mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_error(url, &e, timeout, got)),
        };
        got += n as u64;
        check_received(url, got, max_body)?;
        sink(&buf[..n]);
    }
    check_length(url, got, expected)?;
    Ok(got)
}

/// An error while reading a body through [`Read`]: reqwest's own error when
/// it is one (a timeout, a broken connection), else the I/O error.
fn read_error(url: &str, err: &std::io::Error, timeout: Duration, got: u64) -> FetchError {
    if let Some(inner) = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<reqwest::Error>())
    {
        return classify_body(url, inner, timeout);
    }
    let kind = if err.kind() == std::io::ErrorKind::TimedOut {
        FetchErrorKind::Timeout(timeout)
    } else {
        FetchErrorKind::Body(format!("{} after {got} bytes", root_cause(err)))
    };
    FetchError {
        url: url.to_string(),
        kind,
    }
}

/// The blocking client type the downloaders share.
pub type BlockingClient = reqwest::blocking::Client;
