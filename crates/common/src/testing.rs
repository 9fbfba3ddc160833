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
