//! Shared, light pieces every lesson program stands on.
//!
//! - [`stage`]: a stage logger that stamps every line with the wall-clock time
//!   and the time since start (what the book gets by piping a program to `ts`),
//!   and keeps the stages as records.
//! - [`record`]: the one-line JSON result every program can print with `--json`,
//!   so `cargo xtask run-all` compares programs without scraping prose.
//! - [`data`]: finds the workspace's `data/` folder from any working directory.
//! - [`mem`]: the process's peak resident memory.
//! - [`cli`]: the flags every program shares (`--json`, `--quiet`).
//! - [`testing`]: a raw loopback server announcing huge bodies, for tests.
//! - [`download`]: what every downloader returns ([`download::Summary`]) and
//!   its error type, naming the URL and what went wrong.
//!
//! Behind features, so lessons that do not need them never compile them:
//! - `server`: [`server`], the embedded HTTP/1.1 file server with latency,
//!   seeded jitter, bandwidth limit and fault injection (and the `book-server`
//!   program);
//! - `http-client`: [`http`], a blocking client with timeouts and one error type
//!   that names the URL and what went wrong (`https` adds TLS);
//! - `font`: [`plot`], registers the embedded DejaVu Sans font with plotters
//!   (needed whenever plotters' `ab_glyph` feature is on, SVG included);
//!   `plot` adds plotters' bitmap (PNG) backend.

#![forbid(unsafe_code)]

pub mod cli;
pub mod data;
pub mod download;
pub mod mem;
pub mod record;
pub mod stage;
pub mod testing;

#[cfg(feature = "http-client")]
pub mod http;
#[cfg(feature = "font")]
pub mod plot;
#[cfg(feature = "server")]
pub mod server;

pub use record::Record;
pub use stage::StageLog;
