//! A blocking HTTP client with the project's defaults, and one error type that
//! names the URL and what went wrong.
//!
//! reqwest has no default timeout: a dead server would hang a download
//! forever. [`client`] always sets connect and total timeouts. [`fetch`]
//! checks the status and that the body is as long as the server announced,
//! so a cut-short body is an error, never a wrong byte count.

use std::time::{Duration, Instant};

pub use crate::download::{FetchError, FetchErrorKind, check_length, check_url, join_url};

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

/// A successful download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The body.
    pub body: Vec<u8>,
    /// How long the request took.
    pub elapsed: Duration,
}

/// GETs `url` and returns its whole body.
///
/// # Errors
/// [`FetchError`] naming `url` for: connection failure, timeout, an error
/// status, a body shorter than `Content-Length`, a broken connection.
pub fn fetch(
    client: &reqwest::blocking::Client,
    url: &str,
    timeout: Duration,
) -> Result<Fetched, FetchError> {
    check_url(url)?;
    let start = Instant::now();
    let resp = client
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
    let body = resp.bytes().map_err(|e| classify_body(url, &e, timeout))?;
    check_length(url, body.len() as u64, expected)?;
    Ok(Fetched {
        body: body.to_vec(),
        elapsed: start.elapsed(),
    })
}

/// The blocking client type the downloaders share.
pub type BlockingClient = reqwest::blocking::Client;
