//! The embedded HTTP/1.1 file server every download lesson fetches from.
//!
//! It serves a folder (read into memory at start) on 127.0.0.1 with an
//! OS-chosen port, and behaves like a far-away server on demand:
//!
//! - **latency**: each response waits `delay ± jitter` before its headers.
//!   The jitter is drawn from a seeded generator, so a class sees the same
//!   run. With a fixed delay all five responses of the threads lesson arrive
//!   together and the race hides; jitter spreads them out as a real network
//!   does;
//! - **bandwidth**: an optional byte-rate limit per response;
//! - **faults**, per file (`ServerConfig::faults`) or per request with a
//!   query string: `?fault=404`, `?fault=500`, `?fault=slow` (half the body,
//!   a pause, the rest), `?fault=reset` (half the body, then the connection
//!   is dropped), `?fault=hang` (never answers); and `?delay_ms=N` (at most
//!   [`MAX_QUERY_DELAY_MS`]) overrides the latency of one request;
//! - **counters**: `GET /-/stats` answers `requests N in_flight M
//!   peak_in_flight P` (the gauge of requests being answered at once, and
//!   its peak), so a test can see that requests were served concurrently.
//!
//! It runs on its own tokio runtime in a background thread, so blocking
//! programs can use it too, and it stops (closing its port and every
//! connection, hung ones included) when the [`Server`] is dropped.
//!
//! # Examples
//!
//! ```no_run
//! use common::server::{Server, ServerConfig};
//! let server = Server::start(ServerConfig::new("data/downloads")).unwrap();
//! println!("fetch {}", server.url("intro.txt"));
//! // dropped here: the port is closed
//! ```

use std::collections::HashMap;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

/// Files larger than this in total are refused (the server keeps them in memory).
pub const MAX_TOTAL_BYTES: u64 = 512 << 20;

/// A fault the server can inject into a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer 404 Not Found.
    NotFound,
    /// Answer 500 Internal Server Error.
    ServerError,
    /// Send half the body, pause [`ServerConfig::slow_pause`], send the rest.
    Slow,
    /// Send half the body, then drop the connection.
    Reset,
    /// Never answer (until the server stops).
    Hang,
}

impl std::str::FromStr for Fault {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "404" | "not-found" => Ok(Fault::NotFound),
            "500" | "error" => Ok(Fault::ServerError),
            "slow" => Ok(Fault::Slow),
            "reset" => Ok(Fault::Reset),
            "hang" => Ok(Fault::Hang),
            other => Err(format!(
                "unknown fault '{other}' (expected 404, 500, slow, reset or hang)"
            )),
        }
    }
}

/// How the server behaves.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The folder served (read into memory at start).
    pub dir: PathBuf,
    /// Port on 127.0.0.1; 0 lets the OS choose a free one.
    pub port: u16,
    /// Latency added before every response's headers.
    pub delay: Duration,
    /// Each response's latency is `delay ± jitter`, uniformly.
    pub jitter: Duration,
    /// Seed of the jitter generator.
    pub seed: u64,
    /// Bytes per second per response; `None` for no limit.
    pub bandwidth: Option<u64>,
    /// Faults injected for given file names (e.g. `("intro.txt", Fault::Reset)`).
    pub faults: Vec<(String, Fault)>,
    /// The pause of [`Fault::Slow`].
    pub slow_pause: Duration,
    /// Worker threads of the server's runtime.
    pub worker_threads: usize,
}

impl ServerConfig {
    /// Serves `dir` with the defaults: 150 ± 50 ms latency, seed 1, no
    /// bandwidth limit, no faults, any free port.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ServerConfig {
            dir: dir.into(),
            port: 0,
            delay: Duration::from_millis(150),
            jitter: Duration::from_millis(50),
            seed: 1,
            bandwidth: None,
            faults: Vec::new(),
            slow_pause: Duration::from_secs(2),
            worker_threads: 2,
        }
    }

    /// Sets the latency and jitter.
    pub fn latency(mut self, delay: Duration, jitter: Duration) -> Self {
        self.delay = delay;
        self.jitter = jitter;
        self
    }
}

/// Why the server could not start.
#[derive(Debug)]
pub enum ServerError {
    /// The folder is missing or unreadable.
    Dir(PathBuf, std::io::Error),
    /// The folder holds more than [`MAX_TOTAL_BYTES`].
    TooBig(PathBuf, u64),
    /// The port is already taken.
    PortInUse(u16),
    /// Any other socket or runtime failure.
    Io(String, std::io::Error),
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::Dir(p, e) => write!(f, "cannot serve folder {}: {e}", p.display()),
            ServerError::TooBig(p, n) => write!(
                f,
                "cannot serve folder {}: it holds {n} bytes, more than the {MAX_TOTAL_BYTES} the server keeps in memory",
                p.display()
            ),
            ServerError::PortInUse(port) => write!(
                f,
                "port {port} on 127.0.0.1 is already in use: choose another --port, or 0 for any free port"
            ),
            ServerError::Io(what, e) => write!(f, "{what}: {e}"),
        }
    }
}

impl std::error::Error for ServerError {}

/// Counters the server keeps.
#[derive(Debug, Default)]
pub struct Stats {
    /// Requests received.
    pub requests: AtomicU64,
    /// Requests being answered right now.
    pub in_flight: AtomicU64,
    /// The most requests answered at once.
    pub peak_in_flight: AtomicU64,
}

struct Shared {
    files: HashMap<String, Bytes>,
    cfg: ServerConfig,
    faults: HashMap<String, Fault>,
    stats: Arc<Stats>,
}

/// A running server; dropping it stops it.
pub struct Server {
    addr: SocketAddr,
    stats: Arc<Stats>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    handle: tokio::runtime::Handle,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server").field("addr", &self.addr).finish()
    }
}

impl Server {
    /// Reads the folder and starts serving it; returns once the port is open.
    ///
    /// # Errors
    /// [`ServerError`] naming the folder or port and what to do.
    pub fn start(cfg: ServerConfig) -> Result<Server, ServerError> {
        let files = load_dir(&cfg.dir)?;
        let stats = Arc::new(Stats::default());
        let shared = Arc::new(Shared {
            faults: cfg.faults.iter().cloned().collect(),
            files,
            stats: stats.clone(),
            cfg: cfg.clone(),
        });
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cfg.worker_threads.max(1))
            .thread_name("book-server")
            .enable_all()
            .build()
            .map_err(|e| ServerError::Io("cannot start the server's runtime".into(), e))?;
        let listener = rt.block_on(bind(cfg.port))?;
        let addr = listener
            .local_addr()
            .map_err(|e| ServerError::Io("cannot read the server's address".into(), e))?;
        let handle = rt.handle().clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let app = Router::new().fallback(handle_request).with_state(shared);
        let thread = std::thread::Builder::new()
            .name("book-server".into())
            .spawn(move || {
                rt.block_on(async move {
                    let serve = axum::serve(listener, app);
                    tokio::select! {
                        r = serve => {
                            if let Err(e) = r {
                                eprintln!("book-server: {e}");
                            }
                        }
                        _ = rx => {}
                    }
                });
                // Drops every connection still open (hung ones included).
                rt.shutdown_timeout(Duration::from_millis(200));
            })
            .map_err(|e| ServerError::Io("cannot start the server thread".into(), e))?;
        Ok(Server {
            addr,
            stats,
            shutdown: Some(tx),
            thread: Some(thread),
            handle,
        })
    }

    /// The socket address listened on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The URL of a served file.
    pub fn url(&self, name: &str) -> String {
        format!("{}/{}", self.base_url(), name.trim_start_matches('/'))
    }

    /// The server's counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Blocks until Ctrl-C, then stops the server.
    pub fn run_until_ctrl_c(self) {
        let _ = self.handle.block_on(tokio::signal::ctrl_c());
        drop(self);
    }

    /// Stops the server and waits for its thread to end.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn bind(port: u16) -> Result<tokio::net::TcpListener, ServerError> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let socket = tokio::net::TcpSocket::new_v4()
        .map_err(|e| ServerError::Io("cannot create a socket".into(), e))?;
    socket
        .set_reuseaddr(true)
        .map_err(|e| ServerError::Io("cannot set SO_REUSEADDR".into(), e))?;
    socket.bind(addr).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            ServerError::PortInUse(port)
        } else {
            ServerError::Io(format!("cannot bind {addr}"), e)
        }
    })?;
    // A deep backlog: thousands of clients connect at once in the async lesson.
    socket
        .listen(4096)
        .map_err(|e| ServerError::Io(format!("cannot listen on {addr}"), e))
}

fn load_dir(dir: &Path) -> Result<HashMap<String, Bytes>, ServerError> {
    let mut files = HashMap::new();
    let mut total = 0u64;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| ServerError::Dir(d.clone(), e))?;
        for entry in entries {
            let entry = entry.map_err(|e| ServerError::Dir(d.clone(), e))?;
            let path = entry.path();
            let ft = entry
                .file_type()
                .map_err(|e| ServerError::Dir(path.clone(), e))?;
            if ft.is_dir() {
                stack.push(path);
            } else if ft.is_file() {
                let data = std::fs::read(&path).map_err(|e| ServerError::Dir(path.clone(), e))?;
                total += data.len() as u64;
                if total > MAX_TOTAL_BYTES {
                    return Err(ServerError::TooBig(dir.to_path_buf(), total));
                }
                let rel = path
                    .strip_prefix(dir)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .replace('\\', "/");
                files.insert(rel, Bytes::from(data));
            }
        }
    }
    Ok(files)
}

/// A 64-bit mix (splitmix64) of the seed: where the sequence starts.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The latency of request number `n`: `delay ± jitter`.
///
/// The offsets follow a golden-ratio sequence from a seeded start: any few
/// consecutive requests get latencies spread evenly over the whole range
/// (five requests never all land together, which would hide the threads
/// lesson's race), and the same seed gives the same run.
pub fn latency_for(cfg: &ServerConfig, n: u64) -> Duration {
    const GOLDEN: f64 = 0.618_033_988_749_894_9;
    let start = (mix(cfg.seed) >> 11) as f64 / (1u64 << 53) as f64;
    let u = (start + n as f64 * GOLDEN).fract(); // [0, 1)
    let offset = (2.0 * u - 1.0) * cfg.jitter.as_secs_f64();
    Duration::from_secs_f64((cfg.delay.as_secs_f64() + offset).max(0.0))
}

/// The longest `?delay_ms=` a request may ask for (one minute): a longer
/// one is a 400, so no URL can hold a connection for ever.
pub const MAX_QUERY_DELAY_MS: u64 = 60_000;

struct Query {
    fault: Option<Result<Fault, String>>,
    delay: Option<Result<Duration, String>>,
}

/// `?delay_ms=N`: a whole number of milliseconds up to
/// [`MAX_QUERY_DELAY_MS`].
fn parse_delay(v: &str) -> Result<Duration, String> {
    match v.parse::<u64>() {
        Ok(ms) if ms <= MAX_QUERY_DELAY_MS => Ok(Duration::from_millis(ms)),
        Ok(ms) => Err(format!(
            "delay_ms={ms} is too long: at most {MAX_QUERY_DELAY_MS} ms"
        )),
        Err(_) => Err(format!(
            "delay_ms='{v}' is not a whole number of milliseconds (0 to {MAX_QUERY_DELAY_MS})"
        )),
    }
}

fn parse_query(q: Option<&str>) -> Query {
    let mut out = Query {
        fault: None,
        delay: None,
    };
    for pair in q.unwrap_or("").split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "fault" => out.fault = Some(v.parse()),
            "delay_ms" => out.delay = Some(parse_delay(v)),
            _ => {}
        }
    }
    out
}

struct InFlight(Arc<Stats>);

impl InFlight {
    fn new(stats: &Arc<Stats>) -> Self {
        stats.requests.fetch_add(1, Ordering::Relaxed);
        let now = stats.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        stats.peak_in_flight.fetch_max(now, Ordering::Relaxed);
        InFlight(stats.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn handle_request(State(st): State<Arc<Shared>>, uri: Uri) -> Response {
    if uri.path() == "/-/stats" {
        let s = &st.stats;
        return format!(
            "requests {} in_flight {} peak_in_flight {}\n",
            s.requests.load(Ordering::Relaxed),
            s.in_flight.load(Ordering::Relaxed),
            s.peak_in_flight.load(Ordering::Relaxed)
        )
        .into_response();
    }
    let guard = InFlight::new(&st.stats);
    let n = st.stats.requests.load(Ordering::Relaxed);
    let path = uri.path().trim_start_matches('/').to_string();
    let query = parse_query(uri.query());
    let fault = match query.fault {
        Some(Ok(f)) => Some(f),
        Some(Err(msg)) => return (StatusCode::BAD_REQUEST, msg + "\n").into_response(),
        None => st.faults.get(&path).copied(),
    };
    if fault == Some(Fault::Hang) {
        std::future::pending::<()>().await;
    }
    let delay = match query.delay {
        Some(Ok(d)) => d,
        Some(Err(msg)) => return (StatusCode::BAD_REQUEST, msg + "\n").into_response(),
        None => latency_for(&st.cfg, n),
    };
    tokio::time::sleep(delay).await;
    match fault {
        Some(Fault::NotFound) => {
            return (
                StatusCode::NOT_FOUND,
                format!("not found: /{path} (injected)\n"),
            )
                .into_response();
        }
        Some(Fault::ServerError) => {
            return (StatusCode::INTERNAL_SERVER_ERROR, "injected server error\n").into_response();
        }
        _ => {}
    }
    if path.is_empty() {
        let mut names: Vec<_> = st.files.keys().cloned().collect();
        names.sort();
        return (StatusCode::OK, names.join("\n") + "\n").into_response();
    }
    let Some(body) = st.files.get(&path).cloned() else {
        return (StatusCode::NOT_FOUND, format!("not found: /{path}\n")).into_response();
    };
    let len = body.len();
    let stream_body = match fault {
        Some(Fault::Slow) | Some(Fault::Reset) => true,
        _ => st.cfg.bandwidth.is_some(),
    };
    let body = if stream_body {
        Body::from_stream(body_stream(
            body,
            fault,
            st.cfg.bandwidth,
            st.cfg.slow_pause,
            guard,
        ))
    } else {
        drop(guard);
        Body::from(body)
    };
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .header(header::CONTENT_LENGTH, len)
        .body(body)
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// The body in chunks, paced by the bandwidth limit, with the slow or reset
/// fault applied at the half-way point.
fn body_stream(
    body: Bytes,
    fault: Option<Fault>,
    bandwidth: Option<u64>,
    slow_pause: Duration,
    guard: InFlight,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    let half = body.len() / 2;
    let chunk = bandwidth.map_or(64 * 1024, |bw| (bw / 20).clamp(256, 64 * 1024) as usize);
    futures_util::stream::unfold((0usize, false, guard), move |(pos, paused, guard)| {
        let body = body.clone();
        async move {
            if pos >= body.len() {
                return None;
            }
            if pos >= half && pos > 0 {
                match fault {
                    Some(Fault::Reset) => {
                        // Let the first half reach the client before the
                        // connection drops, as a real mid-body reset would.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        let err = std::io::Error::new(
                            std::io::ErrorKind::ConnectionReset,
                            "injected reset mid-body",
                        );
                        // After an error the stream ends: hyper drops the connection.
                        return Some((Err(err), (usize::MAX, true, guard)));
                    }
                    Some(Fault::Slow) if !paused => tokio::time::sleep(slow_pause).await,
                    _ => {}
                }
            }
            let mut end = (pos + chunk).min(body.len());
            if pos < half && end > half && matches!(fault, Some(Fault::Slow) | Some(Fault::Reset)) {
                end = half;
            }
            if let Some(bw) = bandwidth {
                tokio::time::sleep(Duration::from_secs_f64((end - pos) as f64 / bw as f64)).await;
            }
            let paused = paused || pos >= half;
            Some((Ok(body.slice(pos..end)), (end, paused, guard)))
        }
    })
}

/// The server flags every download program shares.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// Fetch from this server instead of starting the embedded one
    /// (e.g. http://127.0.0.1:8000 from `book-server`).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Embedded server: latency added to every response, milliseconds.
    #[arg(long, default_value_t = 150, value_name = "MS")]
    pub delay_ms: u64,
    /// Embedded server: each latency is delay ± jitter, milliseconds.
    #[arg(long, default_value_t = 50, value_name = "MS")]
    pub jitter_ms: u64,
    /// Embedded server: seed of the jitter.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Embedded server: bytes per second per response (no limit if absent).
    #[arg(long, value_name = "BYTES_PER_S")]
    pub bandwidth: Option<u64>,
    /// Embedded server: inject a fault for one file, NAME=KIND with KIND one
    /// of 404, 500, slow, reset, hang (repeatable).
    #[arg(long, value_name = "NAME=KIND", value_parser = parse_fault)]
    pub fault: Vec<(String, Fault)>,
}

/// Parses `NAME=KIND`.
pub fn parse_fault(s: &str) -> Result<(String, Fault), String> {
    let (name, kind) = s
        .split_once('=')
        .ok_or_else(|| format!("'{s}': expected NAME=KIND, e.g. intro.txt=reset"))?;
    Ok((name.to_string(), kind.parse()?))
}

impl ServerArgs {
    /// The server configuration these flags describe, serving `dir`.
    pub fn config(&self, dir: impl Into<PathBuf>) -> ServerConfig {
        let mut cfg = ServerConfig::new(dir).latency(
            Duration::from_millis(self.delay_ms),
            Duration::from_millis(self.jitter_ms),
        );
        cfg.seed = self.seed;
        cfg.bandwidth = self.bandwidth;
        cfg.faults = self.fault.clone();
        cfg
    }

    /// The base URL to fetch from: `--base-url`, or a freshly started
    /// embedded server on `dir` (returned too: keep it alive while fetching).
    ///
    /// # Errors
    /// When the embedded server cannot start.
    pub fn base_url_or_start(
        &self,
        dir: impl Into<PathBuf>,
    ) -> Result<(String, Option<Server>), ServerError> {
        match &self.base_url {
            Some(url) => Ok((url.trim_end_matches('/').to_string(), None)),
            None => {
                let server = Server::start(self.config(dir))?;
                Ok((server.base_url(), Some(server)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_is_seeded_and_bounded() {
        let cfg =
            ServerConfig::new(".").latency(Duration::from_millis(100), Duration::from_millis(50));
        let a: Vec<_> = (0..200).map(|n| latency_for(&cfg, n)).collect();
        let b: Vec<_> = (0..200).map(|n| latency_for(&cfg, n)).collect();
        assert_eq!(a, b, "same seed, same latencies");
        assert!(
            a.iter()
                .all(|d| *d >= Duration::from_millis(50) && *d <= Duration::from_millis(150))
        );
        let min = a.iter().min().unwrap();
        let max = a.iter().max().unwrap();
        assert!(
            *max - *min > Duration::from_millis(90),
            "jitter spreads: {min:?}..{max:?}"
        );
        // Any five consecutive requests are spread out, none closer than 10 ms.
        for w in a.windows(5) {
            let mut v = w.to_vec();
            v.sort();
            let min_gap = v.windows(2).map(|p| p[1] - p[0]).min().unwrap();
            assert!(min_gap >= Duration::from_millis(10), "{v:?}");
        }
        let mut other = cfg.clone();
        other.seed = 2;
        assert_ne!(
            a[0..10],
            (0..10).map(|n| latency_for(&other, n)).collect::<Vec<_>>()[..]
        );
    }

    #[test]
    fn faults_parse() {
        assert_eq!(
            parse_fault("a.txt=reset").unwrap(),
            ("a.txt".into(), Fault::Reset)
        );
        assert!(parse_fault("a.txt").unwrap_err().contains("NAME=KIND"));
        assert!(
            parse_fault("a.txt=boom")
                .unwrap_err()
                .contains("unknown fault")
        );
    }
}
