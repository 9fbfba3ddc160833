//! The embedded server against a real client: files, faults, errors, scale.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::download::FetchErrorKind;
use common::http::client;
use common::server::{Fault, Server, ServerConfig, ServerError};

/// `common::http::fetch` with the default body limit.
fn fetch(
    c: &common::http::BlockingClient,
    url: &str,
    t: Duration,
) -> Result<common::http::Fetched, common::download::FetchError> {
    common::http::fetch(c, url, t, common::download::DEFAULT_MAX_BODY)
}

fn downloads() -> std::path::PathBuf {
    common::data::downloads_dir().expect("data/downloads")
}

fn quick_server() -> Server {
    Server::start(ServerConfig::new(downloads()).latency(Duration::from_millis(2), Duration::ZERO))
        .expect("server starts")
}

#[test]
fn serves_the_files_byte_for_byte() {
    let server = quick_server();
    let c = client(Duration::from_secs(5)).unwrap();
    for name in common::data::DOWNLOAD_NAMES {
        let got = fetch(&c, &server.url(name), Duration::from_secs(5)).unwrap();
        let on_disk = std::fs::read(downloads().join(name)).unwrap();
        assert_eq!(got.body, on_disk, "{name}");
    }
    let listing = fetch(&c, &server.base_url(), Duration::from_secs(5)).unwrap();
    let listing = String::from_utf8(listing.body).unwrap();
    for name in common::data::DOWNLOAD_NAMES {
        assert!(listing.contains(name), "listing names {name}: {listing}");
    }
}

#[test]
fn status_faults_name_the_url() {
    let server = quick_server();
    let c = client(Duration::from_secs(5)).unwrap();
    let t = Duration::from_secs(5);
    let missing = server.url("nope.txt");
    let e = fetch(&c, &missing, t).unwrap_err();
    assert_eq!(e.kind, FetchErrorKind::Status(404));
    assert!(e.to_string().contains(&missing), "{e}");
    assert!(e.to_string().contains("404"), "{e}");
    let e = fetch(&c, &(server.url("intro.txt") + "?fault=500"), t).unwrap_err();
    assert_eq!(e.kind, FetchErrorKind::Status(500));
    let e = fetch(&c, &(server.url("intro.txt") + "?fault=404"), t).unwrap_err();
    assert_eq!(e.kind, FetchErrorKind::Status(404));
    let e = fetch(&c, &(server.url("intro.txt") + "?fault=bogus"), t).unwrap_err();
    assert_eq!(e.kind, FetchErrorKind::Status(400));
}

#[test]
fn reset_mid_body_is_an_error_not_a_short_count() {
    let mut cfg = ServerConfig::new(downloads()).latency(Duration::from_millis(2), Duration::ZERO);
    cfg.faults = vec![("parciales.txt".into(), Fault::Reset)];
    let server = Server::start(cfg).unwrap();
    let c = client(Duration::from_secs(5)).unwrap();
    let url = server.url("parciales.txt");
    let e = fetch(&c, &url, Duration::from_secs(5)).unwrap_err();
    assert!(matches!(e.kind, FetchErrorKind::Body(_)), "{e:?}");
    assert!(e.to_string().starts_with(&url), "{e}");
    // The other files are unaffected.
    assert!(fetch(&c, &server.url("intro.txt"), Duration::from_secs(5)).is_ok());
}

#[test]
fn slow_body_completes_or_times_out() {
    let mut cfg = ServerConfig::new(downloads()).latency(Duration::from_millis(2), Duration::ZERO);
    cfg.slow_pause = Duration::from_millis(600);
    let server = Server::start(cfg).unwrap();
    let url = server.url("intro.txt") + "?fault=slow";
    let patient = client(Duration::from_secs(5)).unwrap();
    let got = fetch(&patient, &url, Duration::from_secs(5)).unwrap();
    assert_eq!(
        got.body.len() as u64,
        std::fs::metadata(downloads().join("intro.txt"))
            .unwrap()
            .len()
    );
    assert!(
        got.elapsed >= Duration::from_millis(600),
        "the pause happened: {:?}",
        got.elapsed
    );
    let hasty = client(Duration::from_millis(200)).unwrap();
    let e = fetch(&hasty, &url, Duration::from_millis(200)).unwrap_err();
    assert!(matches!(e.kind, FetchErrorKind::Timeout(_)), "{e:?}");
}

#[test]
fn a_hung_request_times_out_and_does_not_block_shutdown() {
    let server = quick_server();
    let c = client(Duration::from_millis(300)).unwrap();
    let url = server.url("intro.txt") + "?fault=hang";
    let e = fetch(&c, &url, Duration::from_millis(300)).unwrap_err();
    assert!(matches!(e.kind, FetchErrorKind::Timeout(_)), "{e:?}");
    // Leave one request hanging on a raw socket, then stop the server.
    let mut s = TcpStream::connect(server.addr()).unwrap();
    s.write_all(b"GET /intro.txt?fault=hang HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let addr = server.addr();
    server.shutdown();
    // The hung connection was closed by the shutdown: reading ends.
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = Vec::new();
    let r = s.read_to_end(&mut buf);
    assert!(r.is_ok() || buf.is_empty(), "closed: {r:?}");
    assert!(
        TcpStream::connect(addr).is_err(),
        "the port is closed after shutdown"
    );
}

#[test]
fn port_in_use_and_missing_folder_are_clear_errors() {
    let server = quick_server();
    let mut cfg = ServerConfig::new(downloads());
    cfg.port = server.addr().port();
    let e = Server::start(cfg).unwrap_err();
    assert!(matches!(e, ServerError::PortInUse(_)), "{e:?}");
    assert!(e.to_string().contains("already in use"), "{e}");
    let e = Server::start(ServerConfig::new("/no/such/folder")).unwrap_err();
    assert!(e.to_string().contains("/no/such/folder"), "{e}");
}

#[test]
fn bandwidth_limit_paces_the_body() {
    let mut cfg = ServerConfig::new(downloads()).latency(Duration::ZERO, Duration::ZERO);
    cfg.bandwidth = Some(400_000); // parciales.txt is ~160 kB: at least 0.4 s
    let server = Server::start(cfg).unwrap();
    let c = client(Duration::from_secs(10)).unwrap();
    let got = fetch(&c, &server.url("parciales.txt"), Duration::from_secs(10)).unwrap();
    let min = Duration::from_secs_f64(got.body.len() as f64 / 400_000.0 * 0.9);
    assert!(got.elapsed >= min, "{:?} < {min:?}", got.elapsed);
}

/// 10,000 connections open at once against the server running as its own
/// process (one process cannot hold both ends: ulimit -n is 20,000 here).
#[test]
fn ten_thousand_concurrent_connections() {
    const N: usize = 10_000;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_book-server"))
        .args(["--port", "0", "--delay-ms", "1500", "--jitter-ms", "0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let _guard = Kill(child);
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    let base = line
        .split(" at ")
        .nth(1)
        .unwrap()
        .split('/')
        .nth(2)
        .unwrap()
        .to_string();
    let addr: std::net::SocketAddr = base.parse().unwrap();
    let expected = std::fs::metadata(downloads().join("intro.txt"))
        .unwrap()
        .len();
    let start = Instant::now();
    let mut socks = Vec::with_capacity(N);
    for _ in 0..N {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.write_all(b"GET /intro.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            .unwrap();
        socks.push(s);
    }
    let sent_by = start.elapsed();
    let mut ok = 0;
    for mut s in socks {
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).unwrap();
        let text = String::from_utf8_lossy(&buf);
        if text.starts_with("HTTP/1.1 200") && buf.len() as u64 > expected {
            ok += 1;
        }
    }
    assert_eq!(ok, N, "every connection got its file");
    // The server's own gauge: how many requests it was answering at once.
    // A server that served the connections one by one would show 1.
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /-/stats HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut stats = String::new();
    s.read_to_string(&mut stats).unwrap();
    let peak: usize = stats
        .split("peak_in_flight ")
        .nth(1)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak in {stats}"));
    assert!(
        peak >= N * 9 / 10,
        "peak of requests answered at once: {peak} of {N} ({sent_by:?} to send them all)"
    );
    // All were open together: every request was sent before the first
    // 1.5 s delay could have ended, unless sending alone took that long.
    eprintln!(
        "{N} requests sent in {sent_by:?}, all answered in {:?}",
        start.elapsed()
    );
}

#[test]
fn delay_ms_is_capped_with_a_clear_400() {
    let server = quick_server();
    let c = client(Duration::from_secs(5)).unwrap();
    let t = Duration::from_secs(5);
    for (q, want) in [
        (
            "delay_ms=999999999999",
            "delay_ms=999999999999 is too long: at most 60000 ms",
        ),
        ("delay_ms=60001", "at most 60000 ms"),
        ("delay_ms=soon", "delay_ms='soon' is not a whole number"),
    ] {
        let url = server.url("intro.txt") + "?" + q;
        // Uncapped, the request would wait for ever: the client's 5 s
        // timeout would fail the test.
        let resp = c.get(&url).send().unwrap();
        assert_eq!(resp.status().as_u16(), 400, "{q}");
        assert!(resp.text().unwrap().contains(want), "{q}");
    }
    let ok = fetch(&c, &(server.url("intro.txt") + "?delay_ms=5"), t).unwrap();
    assert!(ok.elapsed >= Duration::from_millis(5));
}

#[test]
fn a_huge_announced_body_is_refused_before_it_is_read() {
    let liar = common::testing::ZeroServer::start(Some(3_000_000_000), 3_000_000_000).unwrap();
    let c = client(Duration::from_secs(10)).unwrap();
    let url = liar.base_url() + "/big.bin";
    let t = Duration::from_secs(10);
    let e = common::http::fetch_length(&c, &url, t, 1 << 20).unwrap_err();
    assert_eq!(
        e.kind,
        FetchErrorKind::TooLarge {
            limit: 1 << 20,
            announced: Some(3_000_000_000)
        }
    );
    assert!(e.to_string().starts_with(&url), "{e}");
    let e = common::http::fetch(&c, &url, t, 1 << 20).unwrap_err();
    assert!(
        e.to_string().contains("over the limit of 1048576 bytes"),
        "{e}"
    );
}

#[test]
fn an_unannounced_endless_body_stops_at_the_limit() {
    let liar = common::testing::ZeroServer::start(None, 3_000_000_000).unwrap();
    let c = client(Duration::from_secs(10)).unwrap();
    let url = liar.base_url() + "/endless.bin";
    let t = Duration::from_secs(10);
    let limit = 4 << 20;
    let e = common::http::fetch(&c, &url, t, limit).unwrap_err();
    assert_eq!(
        e.kind,
        FetchErrorKind::TooLarge {
            limit,
            announced: None
        },
        "{e}"
    );
    let e = common::http::fetch_length(&c, &url, t, limit).unwrap_err();
    assert!(e.to_string().contains("stopped reading"), "{e}");
    drop(c);
    // Socket buffers hold a few MB at most: the client stopped reading.
    assert!(liar.bytes_sent() < 64 << 20, "{}", liar.bytes_sent());
}

#[test]
fn a_large_body_within_the_limit_is_counted_in_full() {
    let n = 20 << 20;
    let liar = common::testing::ZeroServer::start(Some(n), n).unwrap();
    let c = client(Duration::from_secs(20)).unwrap();
    let url = liar.base_url() + "/twenty.bin";
    let got = common::http::fetch_length(&c, &url, Duration::from_secs(20), n).unwrap();
    assert_eq!(got.length, n);
}
