//! Test support: a raw loopback server that announces a huge body and
//! streams zeros, to check that clients never size memory from a header.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// A loopback HTTP/1.1 server answering every GET with `200 OK`, an optional
/// `Content-Length` of its choice, and up to `send` zero bytes (then it
/// closes). Dropping it stops accepting and joins its threads (each ends
/// within its 5 s write timeout once the client goes away).
#[derive(Debug)]
pub struct ZeroServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    acceptor: Option<JoinHandle<Vec<JoinHandle<()>>>>,
}

impl ZeroServer {
    /// Starts the server on 127.0.0.1 (a free port).
    ///
    /// # Errors
    /// When no loopback port can be bound.
    pub fn start(announce: Option<u64>, send: u64) -> std::io::Result<ZeroServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let (stop2, sent2) = (stop.clone(), sent.clone());
        let acceptor = std::thread::Builder::new()
            .name("zero-server".into())
            .spawn(move || {
                let mut conns = Vec::new();
                while !stop2.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((s, _)) => {
                            let (stop, sent) = (stop2.clone(), sent2.clone());
                            conns.push(std::thread::spawn(move || {
                                let _ = serve(s, announce, send, &stop, &sent);
                            }));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
                conns
            })?;
        Ok(ZeroServer {
            addr,
            stop,
            sent,
            acceptor: Some(acceptor),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Body bytes written to all clients so far.
    pub fn bytes_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
}

impl Drop for ZeroServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(a) = self.acceptor.take()
            && let Ok(conns) = a.join()
        {
            for c in conns {
                let _ = c.join();
            }
        }
    }
}

fn serve(
    mut s: TcpStream,
    announce: Option<u64>,
    send: u64,
    stop: &AtomicBool,
    sent: &AtomicU64,
) -> std::io::Result<()> {
    s.set_nonblocking(false)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        if s.read(&mut byte)? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let length = announce.map_or(String::new(), |n| format!("Content-Length: {n}\r\n"));
    write!(
        s,
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n{length}Connection: close\r\n\r\n"
    )?;
    let zeros = vec![0u8; 64 * 1024];
    let mut left = send;
    while left > 0 && !stop.load(Ordering::Relaxed) {
        let n = zeros.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        s.write_all(&zeros[..n])?;
        sent.fetch_add(n as u64, Ordering::Relaxed);
        left -= n as u64;
    }
    Ok(())
}

/// What a child run by [`run_in_group`] printed, and how it ended.
#[cfg(feature = "process-group")]
#[derive(Debug)]
pub struct GroupRun {
    /// Everything it wrote to standard output.
    pub stdout: String,
    /// Everything it wrote to standard error.
    pub stderr: String,
    /// Its exit code (`None` when a signal ended it).
    pub code: Option<i32>,
    /// From start to exit.
    pub took: Duration,
}

/// Runs `cmd` (stdin closed, stdout and stderr read to the end) in a process
/// group of its own, so that everything it starts — `mpirun`'s ranks, say —
/// can be ended together: past `deadline` the group gets SIGTERM, then
/// SIGKILL two seconds later, and the call panics naming `what`. For tests.
///
/// # Panics
/// When the child cannot start or outlives `deadline`.
#[cfg(feature = "process-group")]
pub fn run_in_group(mut cmd: std::process::Command, deadline: Duration, what: &str) -> GroupRun {
    use nix::sys::signal::{Signal, killpg};
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let start = std::time::Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("starting {what}: {e}"));
    let pgid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("a pid fits i32"));
    let read_all = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let t_out = read_all(Box::new(child.stdout.take().expect("piped")));
    let t_err = read_all(Box::new(child.stderr.take().expect("piped")));
    let status = loop {
        if let Some(s) = child.try_wait().expect("waiting for the child") {
            break s;
        }
        if start.elapsed() > deadline {
            let _ = killpg(pgid, Signal::SIGTERM);
            std::thread::sleep(Duration::from_secs(2));
            let _ = killpg(pgid, Signal::SIGKILL);
            let _ = child.wait();
            panic!("{what}: still running after {deadline:?}: killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    GroupRun {
        took: start.elapsed(),
        stdout: t_out.join().unwrap_or_default(),
        stderr: t_err.join().unwrap_or_default(),
        code: status.code(),
    }
}

#[cfg(all(test, feature = "process-group"))]
mod group_tests {
    use super::*;

    #[test]
    fn a_child_and_what_it_started_are_ended_at_the_deadline() {
        let dir = std::env::temp_dir().join(format!("run-in-group-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let flag = dir.join("grandchild-survived");
        let mut cmd = std::process::Command::new("sh");
        // A grandchild that would leave a file behind after 3 s if it lived.
        cmd.arg("-c")
            .arg(format!("(sleep 3; touch '{}') & sleep 30", flag.display()));
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_in_group(cmd, Duration::from_millis(300), "sh sleeping")
        }));
        let msg = *r.unwrap_err().downcast::<String>().unwrap();
        assert!(msg.contains("sh sleeping: still running after"), "{msg}");
        std::thread::sleep(Duration::from_secs(4));
        assert!(!flag.exists(), "the grandchild outlived the group kill");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn output_and_exit_code_of_a_child_that_ends() {
        let mut cmd = std::process::Command::new("sh");
        cmd.args(["-c", "echo out; echo err >&2; exit 3"]);
        let r = run_in_group(cmd, Duration::from_secs(20), "sh");
        assert_eq!(
            (r.stdout.as_str(), r.stderr.as_str(), r.code),
            ("out\n", "err\n", Some(3))
        );
    }
}
