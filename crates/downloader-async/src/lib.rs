//! Book 1.3 (Async): futures, tasks, the blocked spinner, and an async
//! downloader that scales to 10,000 requests.
//!
//! The lesson in four steps, one module (and one program) each:
//!
//! 1. [`timing`] (`async-01-timing`): two timestamps one second apart around
//!    an async sleep. The sleep hands control back to the runtime instead of
//!    blocking the thread.
//! 2. [`sleepers`] (`async-02-sleepers`): futures are **lazy** — creating one
//!    runs nothing, like a Python coroutine; awaiting them one by one runs
//!    them one after another; spawned tasks run concurrently; `join_all`
//!    returns the results in input order.
//! 3. [`spinner`] (`async-03-spinner`): a spinner task that turns while the
//!    main task sleeps asynchronously, **freezes** while it blocks the
//!    runtime's only thread, and turns again when the blocking work moves
//!    to `spawn_blocking`.
//! 4. [`download`] (`async-04-download`): the book's downloader with one
//!    shared `reqwest::Client` (or, to measure what it costs, one client per
//!    request, as the book does), a limit of requests in flight, and
//!    `--repeat` to scale to thousands of requests; `--small-buffers` sends
//!    them through hyper's client with a capped read buffer per connection,
//!    which is where the memory goes.
//!
//! [`limits`] raises the open-files limit: every request in flight is a
//! socket, and a socket is a file descriptor.
//!
//! ```
//! # let dir = common::data::downloads_dir().unwrap();
//! # let server = common::server::Server::start(common::server::ServerConfig::new(&dir)
//! #     .latency(std::time::Duration::from_millis(1), std::time::Duration::ZERO)).unwrap();
//! let urls = downloader_async::book_urls(&server.base_url());
//! let rt = tokio::runtime::Runtime::new().unwrap();
//! let summary = rt
//!     .block_on(downloader_async::download_all(&urls, &Default::default()))
//!     .unwrap();
//! assert_eq!(summary.total, 288_998);
//! ```

#![forbid(unsafe_code)]

pub mod download;
pub mod limits;
pub mod sleepers;
pub mod spinner;
pub mod timing;

pub use common::download::{FetchError, FileResult, Summary};
pub use download::{Adder, ClientMode, Options, book_urls, download_all, repeat_urls};

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
