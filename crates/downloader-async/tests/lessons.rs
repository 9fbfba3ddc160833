//! The phenomena of the lesson, checked on the library: counts and orders,
//! never timing ratios. Hermetic: a loopback server with small latencies.

use std::time::Duration;

use common::StageLog;
use common::download::FetchErrorKind;
use common::server::{Server, ServerConfig};
use downloader_async::download::{self, ClientMode, Options};
use downloader_async::sleepers::{self, Mode};
use downloader_async::spinner::{self, Work};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn messages(log: &StageLog) -> Vec<String> {
    log.stages().into_iter().map(|s| s.message).collect()
}

fn position(lines: &[String], text: &str) -> usize {
    lines
        .iter()
        .position(|l| l == text)
        .unwrap_or_else(|| panic!("no line {text:?} in {lines:#?}"))
}

/// Started outside any runtime: the server runs its own on a thread.
fn server(delay_ms: u64) -> Server {
    let dir = common::data::downloads_dir().unwrap();
    Server::start(ServerConfig::new(dir).latency(ms(delay_ms), Duration::ZERO)).unwrap()
}

/// Runs a download to the end on a multi-thread runtime and unwraps it.
trait Block<T> {
    fn block(self) -> T;
}

impl<T, E: std::fmt::Debug, F: std::future::Future<Output = Result<T, E>>> Block<T> for F {
    fn block(self) -> T {
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(self)
            .unwrap()
    }
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn blocking_the_runtime_freezes_the_spinner_and_spawn_blocking_does_not() {
    let rt = current_thread();
    let (work, interval) = (ms(200), ms(10));
    let frozen = rt.block_on(spinner::run(Work::Blocking, work, interval, false));
    assert_eq!(
        frozen.ticks_during_work, 0,
        "mode 2 must freeze: {frozen:?}"
    );
    assert_eq!(frozen.result, 7);
    let moved = rt.block_on(spinner::run(Work::SpawnBlocking, work, interval, false));
    assert!(moved.ticks_during_work >= 3, "mode 3 must turn: {moved:?}");
    assert_eq!(moved.result, 7);
    let asleep = rt.block_on(spinner::run(Work::Async, work, interval, false));
    assert!(
        asleep.ticks_during_work >= 3,
        "mode 1 must turn: {asleep:?}"
    );
    assert_eq!(asleep.result, 5);
}

#[test]
fn futures_are_lazy_and_awaited_one_by_one_run_in_sequence() {
    let log = StageLog::quiet();
    let delays = [ms(30), ms(5)];
    let slept = current_thread()
        .block_on(sleepers::run(Mode::Lazy, &delays, &log))
        .unwrap();
    assert_eq!(slept, delays);
    let lines = messages(&log);
    assert_eq!(lines[0], "futures created", "{lines:#?}");
    // Sleeper 2 is shorter, yet starts only after sleeper 1 has ended.
    assert!(position(&lines, "sleeper 1 ends") < position(&lines, "sleeper 2 starts"));
}

#[test]
fn spawned_tasks_run_concurrently_but_print_in_await_order() {
    let log = StageLog::quiet();
    let delays = [ms(60), ms(5)];
    let slept = current_thread()
        .block_on(sleepers::run(Mode::Tasks, &delays, &log))
        .unwrap();
    assert_eq!(slept, delays);
    let lines = messages(&log);
    assert_eq!(lines[0], "tasks created", "{lines:#?}");
    // Both start before either ends, and the short one ends first...
    let first_end = position(&lines, "sleeper 2 ends");
    assert!(position(&lines, "sleeper 1 starts") < first_end);
    assert!(position(&lines, "sleeper 2 starts") < first_end);
    assert!(first_end < position(&lines, "sleeper 1 ends"));
    // ...but the results are reported in the order they are awaited.
    let s1 = lines.iter().position(|l| l.starts_with("slept 1")).unwrap();
    let s2 = lines.iter().position(|l| l.starts_with("slept 2")).unwrap();
    assert!(s1 < s2);
}

#[test]
fn join_all_returns_results_in_input_order() {
    let log = StageLog::quiet();
    let delays = [ms(40), ms(5), ms(20)];
    let slept = current_thread()
        .block_on(sleepers::run(Mode::JoinAll, &delays, &log))
        .unwrap();
    assert_eq!(slept, delays, "input order, not completion order");
    let lines = messages(&log);
    let ends: Vec<&String> = lines.iter().filter(|l| l.ends_with(" ends")).collect();
    assert_eq!(
        ends,
        ["sleeper 1 ends", "sleeper 2 ends", "sleeper 0 ends"],
        "they end by delay"
    );
}

#[test]
fn seeded_delays_repeat() {
    let max = Duration::from_secs(5);
    assert_eq!(sleepers::delays(4, 5, max), sleepers::delays(4, 5, max));
    assert_ne!(sleepers::delays(4, 5, max), sleepers::delays(5, 5, max));
}

#[test]
fn shared_and_per_request_clients_give_the_same_total() {
    let server = server(5);
    let dir = common::data::downloads_dir().unwrap();
    let on_disk = common::data::downloads_total_bytes(&dir).unwrap();
    let urls = download::book_urls(&server.base_url());
    let shared = Options::default();
    let per_request = Options {
        client: ClientMode::PerRequest,
        ..Options::default()
    };
    let (a, sa) = download::download_all_with_stats(&urls, &shared).block();
    let (b, sb) = download::download_all_with_stats(&urls, &per_request).block();
    assert!(a.is_complete() && b.is_complete());
    assert_eq!(a.total, on_disk);
    assert_eq!(b.total, on_disk);
    assert_eq!((sa.clients_built, sb.clients_built), (1, 6));
    // Results in input order.
    let order: Vec<&str> = a.files.iter().map(|f| f.url.as_str()).collect();
    assert_eq!(order, urls.iter().map(String::as_str).collect::<Vec<_>>());
}

#[test]
fn bounded_buffers_give_the_same_total_as_the_shared_client() {
    let server = server(5);
    let dir = common::data::downloads_dir().unwrap();
    let on_disk = common::data::downloads_total_bytes(&dir).unwrap();
    let urls = download::repeat_urls(&server.base_url(), 3);
    let bounded = Options {
        client: ClientMode::BoundedBuffers,
        max_in_flight: 4,
        ..Options::default()
    };
    let (a, _) = download::download_all_with_stats(&urls, &Options::default()).block();
    let (b, sb) = download::download_all_with_stats(&urls, &bounded).block();
    assert!(a.is_complete() && b.is_complete(), "{:?}", b.files);
    assert_eq!(b.total, a.total);
    assert_eq!(b.total, 3 * on_disk);
    assert_eq!(sb.clients_built, 1);
    assert!(sb.peak_in_flight <= 4, "{sb:?}");
    // Results in input order, each file its own length.
    for (fa, fb) in a.files.iter().zip(&b.files) {
        assert_eq!(fa.url, fb.url);
        assert_eq!(fa.outcome, fb.outcome);
    }
    let order: Vec<&str> = b.files.iter().map(|f| f.url.as_str()).collect();
    assert_eq!(order, urls.iter().map(String::as_str).collect::<Vec<_>>());
}

#[test]
fn the_limit_of_requests_in_flight_holds() {
    let server = server(10);
    let urls = download::repeat_urls(&server.base_url(), 8);
    let opts = Options {
        max_in_flight: 7,
        ..Options::default()
    };
    let (summary, stats) = download::download_all_with_stats(&urls, &opts).block();
    assert!(summary.is_complete());
    assert_eq!(summary.total, 8 * 288_998);
    assert!(stats.peak_in_flight <= 7, "{stats:?}");
    let server_peak = server
        .stats()
        .peak_in_flight
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(server_peak <= 7, "the server saw {server_peak} at once");
}

#[test]
fn each_failure_is_reported_with_its_url_and_the_others_complete() {
    failures_are_named_per_url(ClientMode::Shared);
}

#[test]
fn with_bounded_buffers_each_failure_is_reported_with_its_url_too() {
    failures_are_named_per_url(ClientMode::BoundedBuffers);
}

fn failures_are_named_per_url(client: ClientMode) {
    let server = server(5);
    let good = server.url("intro.txt");
    let urls = vec![
        server.url("numpy.txt?fault=404"),
        good.clone(),
        server.url("parciales.txt?fault=reset"),
        server.url("integracion.txt?fault=hang"),
    ];
    let opts = Options {
        timeout: ms(500),
        client,
        ..Options::default()
    };
    let summary = download::download_all(&urls, &opts).block();
    assert!(!summary.is_complete());
    assert_eq!(summary.succeeded(), 1);
    assert_eq!(summary.files[1].outcome, Ok(38_055));
    assert_eq!(summary.total, 38_055, "only what arrived is added");
    let kinds: Vec<_> = summary.files.iter().map(|f| &f.outcome).collect();
    match kinds[0] {
        Err(e) => assert_eq!(e.kind, FetchErrorKind::Status(404)),
        other => panic!("{other:?}"),
    }
    match kinds[2] {
        Err(e) => assert!(
            matches!(
                e.kind,
                FetchErrorKind::Body(_) | FetchErrorKind::Truncated { .. }
            ),
            "{e}"
        ),
        other => panic!("{other:?}"),
    }
    match kinds[3] {
        Err(e) => assert_eq!(e.kind, FetchErrorKind::Timeout(ms(500))),
        other => panic!("{other:?}"),
    }
    for (f, url) in summary.files.iter().zip(&urls) {
        assert_eq!(&f.url, url);
        if let Err(e) = &f.outcome {
            assert!(e.to_string().starts_with(url.as_str()), "{e}");
        }
    }
}

#[test]
fn an_unreachable_server_is_a_connect_error() {
    // Bind a port, then free it: nothing listens there any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let urls = vec![format!("http://127.0.0.1:{port}/intro.txt")];
    for client in [ClientMode::Shared, ClientMode::BoundedBuffers] {
        let opts = Options {
            client,
            ..Options::default()
        };
        let summary = download::download_all(&urls, &opts).block();
        match &summary.files[0].outcome {
            Err(e) => assert!(
                matches!(e.kind, FetchErrorKind::Connect(_)) && e.url == urls[0],
                "{client:?}: {e}"
            ),
            other => panic!("{client:?}: {other:?}"),
        }
    }
}

#[test]
fn every_client_refuses_a_body_over_the_limit() {
    let announced = common::testing::ZeroServer::start(Some(3_000_000_000), 3_000_000_000).unwrap();
    let endless = common::testing::ZeroServer::start(None, 3_000_000_000).unwrap();
    for client in [
        ClientMode::Shared,
        ClientMode::PerRequest,
        ClientMode::BoundedBuffers,
    ] {
        let opts = Options {
            timeout: ms(20_000),
            client,
            max_body: 4 << 20,
            ..Options::default()
        };
        let urls = vec![
            announced.base_url() + "/big.bin",
            endless.base_url() + "/endless.bin",
        ];
        let summary = download::download_all(&urls, &opts).block();
        assert_eq!(summary.succeeded(), 0, "{client:?}");
        match &summary.files[0].outcome {
            Err(e) => assert_eq!(
                e.kind,
                FetchErrorKind::TooLarge {
                    limit: 4 << 20,
                    announced: Some(3_000_000_000)
                },
                "{client:?}"
            ),
            other => panic!("{client:?}: {other:?}"),
        }
        match &summary.files[1].outcome {
            Err(e) => assert_eq!(
                e.kind,
                FetchErrorKind::TooLarge {
                    limit: 4 << 20,
                    announced: None
                },
                "{client:?}"
            ),
            other => panic!("{client:?}: {other:?}"),
        }
    }
    drop(announced);
    assert!(
        endless.bytes_sent() < 3 * (64 << 20),
        "{}",
        endless.bytes_sent()
    );
}
