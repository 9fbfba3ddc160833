//! What every downloader returns: per-URL results in input order, the total,
//! and errors that name the URL and what went wrong.
//!
//! The sequential, threaded and async downloaders all return a [`Summary`],
//! so `cargo xtask run-all` and the tests can compare them directly. Plain
//! types only (no HTTP client here): the client lives behind the
//! `http-client` feature in [`crate::http`].

use std::fmt;
use std::time::Duration;

use crate::Record;

/// What went wrong with one URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchErrorKind {
    /// Nothing listens there, or the name does not resolve.
    Connect(String),
    /// The server did not answer (or finish) in time.
    Timeout(Duration),
    /// The server answered with an error status.
    Status(u16),
    /// The body is longer than the caller's limit (announced so, or found
    /// so while reading it: nothing past the limit is read).
    TooLarge {
        /// The limit, bytes.
        limit: u64,
        /// What `Content-Length` announced, when it did.
        announced: Option<u64>,
    },
    /// The body stopped before the announced length.
    Truncated {
        /// Bytes received.
        got: u64,
        /// Bytes announced by `Content-Length`.
        expected: u64,
    },
    /// The connection broke while reading the body.
    Body(String),
    /// `https://` in a build without TLS, or a malformed URL.
    Unsupported(String),
    /// Anything else the client reported.
    Other(String),
}

/// One failed request: the URL and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchError {
    /// The URL that failed.
    pub url: String,
    /// Why.
    pub kind: FetchErrorKind,
}

impl fmt::Display for FetchErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchErrorKind::Connect(why) => write!(f, "cannot connect ({why})"),
            FetchErrorKind::Timeout(t) => {
                write!(f, "no answer within {:.1} s (timeout)", t.as_secs_f64())
            }
            FetchErrorKind::Status(code) => write!(f, "server answered HTTP {code}"),
            FetchErrorKind::Truncated { got, expected } => {
                write!(f, "body cut short: got {got} of {expected} bytes")
            }
            FetchErrorKind::TooLarge {
                limit,
                announced: Some(n),
            } => write!(
                f,
                "the server announced a body of {n} bytes, over the limit of {limit} bytes (raise it with --max-body-bytes)"
            ),
            FetchErrorKind::TooLarge {
                limit,
                announced: None,
            } => write!(
                f,
                "body longer than the limit of {limit} bytes; stopped reading there (raise it with --max-body-bytes)"
            ),
            FetchErrorKind::Body(why) => {
                write!(f, "connection broken while reading the body ({why})")
            }
            FetchErrorKind::Unsupported(why) => write!(f, "{why}"),
            FetchErrorKind::Other(why) => write!(f, "{why}"),
        }
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.url, self.kind)
    }
}

impl std::error::Error for FetchError {}

/// Checks that `url` is one this build can fetch.
///
/// # Errors
/// `Unsupported` for a scheme other than `http` (or `https` with the `https`
/// feature), naming the fix.
pub fn check_url(url: &str) -> Result<(), FetchError> {
    let unsupported = |why: String| FetchError {
        url: url.to_string(),
        kind: FetchErrorKind::Unsupported(why),
    };
    if url.starts_with("http://") {
        Ok(())
    } else if url.starts_with("https://") {
        if cfg!(feature = "https") {
            Ok(())
        } else {
            Err(unsupported(
                "https:// needs TLS: rebuild with `--features https`".into(),
            ))
        }
    } else {
        Err(unsupported("not an http:// or https:// URL".into()))
    }
}

/// The default limit of one body's length (256 MiB): far above the lesson's
/// files, far below what would hurt if a downloader kept a body. The
/// downloaders only count bytes, so the limit bounds time, not memory.
pub const DEFAULT_MAX_BODY: u64 = 256 * 1024 * 1024;

/// Refuses a body whose announced length is over `limit`, before any of it
/// is read.
///
/// ```
/// use common::download::{check_announced, FetchErrorKind};
/// assert!(check_announced("u", Some(10), 10).is_ok());
/// assert!(check_announced("u", None, 10).is_ok());
/// let e = check_announced("http://h/big", Some(3_000_000_000), 1024).unwrap_err();
/// assert_eq!(e.kind, FetchErrorKind::TooLarge { limit: 1024, announced: Some(3_000_000_000) });
/// assert!(e.to_string().starts_with("http://h/big: the server announced a body of 3000000000 bytes"));
/// ```
///
/// # Errors
/// `TooLarge` naming `url`, the announced length and the limit.
pub fn check_announced(url: &str, announced: Option<u64>, limit: u64) -> Result<(), FetchError> {
    match announced {
        Some(n) if n > limit => Err(FetchError {
            url: url.to_string(),
            kind: FetchErrorKind::TooLarge {
                limit,
                announced: Some(n),
            },
        }),
        _ => Ok(()),
    }
}

/// Refuses a body once more than `limit` bytes of it arrived (`got` so far).
///
/// # Errors
/// `TooLarge` naming `url` and the limit.
pub fn check_received(url: &str, got: u64, limit: u64) -> Result<(), FetchError> {
    if got > limit {
        Err(FetchError {
            url: url.to_string(),
            kind: FetchErrorKind::TooLarge {
                limit,
                announced: None,
            },
        })
    } else {
        Ok(())
    }
}

/// Parses a body-size limit in bytes (`--max-body-bytes 1000000`): a whole
/// number of at least 1.
///
/// ```
/// assert_eq!(common::download::parse_max_body("1000"), Ok(1000));
/// assert!(common::download::parse_max_body("0").is_err());
/// assert!(common::download::parse_max_body("lots").is_err());
/// ```
///
/// # Errors
/// A message naming the value and what is expected.
pub fn parse_max_body(s: &str) -> Result<u64, String> {
    match s.parse::<u64>() {
        Ok(0) => Err("the body limit must be at least 1 byte".to_string()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("'{s}' is not a whole number of bytes")),
    }
}

/// Checks a body's length against the announced one.
///
/// # Errors
/// `Truncated` when fewer bytes arrived than announced.
pub fn check_length(url: &str, got: u64, expected: Option<u64>) -> Result<(), FetchError> {
    match expected {
        Some(expected) if got < expected => Err(FetchError {
            url: url.to_string(),
            kind: FetchErrorKind::Truncated { got, expected },
        }),
        _ => Ok(()),
    }
}

/// Joins a base URL and a file name with exactly one `/`.
///
/// ```
/// assert_eq!(common::http::join_url("http://h:1/", "a.txt"), "http://h:1/a.txt");
/// assert_eq!(common::http::join_url("http://h:1/src", "a.txt"), "http://h:1/src/a.txt");
/// ```
pub fn join_url(base: &str, name: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        name.trim_start_matches('/')
    )
}

/// One URL's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileResult {
    /// The URL fetched.
    pub url: String,
    /// Its length in bytes, or why it failed.
    pub outcome: Result<u64, FetchError>,
    /// How long the request took.
    pub elapsed: Duration,
}

/// Everything a downloader did, in input order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// One result per input URL, in input order.
    pub files: Vec<FileResult>,
    /// Sum of the lengths that were added (what the program prints).
    pub total: u64,
    /// Wall time of the whole download.
    pub elapsed: Duration,
}

impl Summary {
    /// The failures, in input order.
    pub fn failures(&self) -> impl Iterator<Item = &FetchError> {
        self.files.iter().filter_map(|f| f.outcome.as_ref().err())
    }

    /// Number of URLs that succeeded.
    pub fn succeeded(&self) -> usize {
        self.files.iter().filter(|f| f.outcome.is_ok()).count()
    }

    /// True when every URL succeeded.
    pub fn is_complete(&self) -> bool {
        self.succeeded() == self.files.len()
    }

    /// Sum of the lengths of the bodies that arrived (the true total, whatever
    /// the program's adder says).
    pub fn bytes_received(&self) -> u64 {
        self.files
            .iter()
            .filter_map(|f| f.outcome.as_ref().ok())
            .sum()
    }

    /// The slowest single request.
    pub fn slowest_request(&self) -> Duration {
        self.files
            .iter()
            .map(|f| f.elapsed)
            .max()
            .unwrap_or_default()
    }

    /// Prints `Done: <total>` when complete; otherwise one line per failure
    /// on stderr and the total clearly labelled partial.
    pub fn print(&self) {
        if self.is_complete() {
            println!("Done: {}", self.total);
        } else {
            for e in self.failures() {
                eprintln!("failed: {e}");
            }
            println!(
                "PARTIAL total: {} bytes from {} of {} files ({} failed)",
                self.total,
                self.succeeded(),
                self.files.len(),
                self.files.len() - self.succeeded()
            );
        }
    }

    /// Adds the summary's metrics and errors to a record.
    pub fn fill_record(&self, rec: &mut Record) {
        rec.set("total_bytes", self.total);
        rec.set("bytes_received", self.bytes_received());
        rec.set("requests", self.files.len() as u64);
        rec.set("succeeded", self.succeeded() as u64);
        rec.set("download_s", self.elapsed.as_secs_f64());
        rec.set("slowest_request_s", self.slowest_request().as_secs_f64());
        for e in self.failures() {
            rec.error(e.to_string());
        }
    }
}
