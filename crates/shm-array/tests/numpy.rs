//! Rust and Python (numpy) sharing segments across processes, both ways:
//! Rust writes / Python reads, Python writes / Rust reads, writes seen
//! zero-copy on the other side, wrong dtypes and shapes as clear errors on
//! either side, the sweeper leaving Python-held segments alone, and the
//! Python module's own tests (python/test_shm_array.py).
//!
//! Own harness (libtest-mimic): without python3 + numpy every test here is
//! reported `ignored` (the reason is printed); under `CI=true` they run and
//! fail naming what is missing, because CI installs numpy (.ci/run).

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;
use shm_array::{Error, Layout, Segment, ShmArray};
use support::ShmGuard;

/// How long any Python step may take before the test fails naming it.
const STEP: Duration = Duration::from_secs(60);

fn python_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python")
}

fn peer_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/numpy/peer.py")
}

/// `None` when python3 with numpy runs, else what is missing. Bounded like
/// every other wait on a peer: a python3 that hangs is "missing".
fn missing_numpy() -> Option<String> {
    let mut cmd = Command::new("python3");
    cmd.args(["-c", "import numpy"]);
    match run_to_end(cmd, "python3 -c 'import numpy'") {
        Err(e) => Some(format!(
            "python3 with numpy did not run: {}",
            e.message().unwrap_or("no message")
        )),
        Ok((0, _)) => None,
        Ok((code, seen)) => Some(format!(
            "python3 cannot import numpy (exit {code}: {})",
            seen.trim().lines().last().unwrap_or("")
        )),
    }
}

fn python() -> Command {
    let mut c = Command::new("python3");
    c.env("PYTHONPATH", python_dir())
        .env("PYTHONDONTWRITEBYTECODE", "1");
    c
}

/// A Python peer process: its stdout lines arrive through a channel so that
/// every wait has a bound; dropped, it is killed and reaped.
struct Peer {
    what: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    seen: String,
}

impl Peer {
    fn spawn(args: &[&str]) -> Result<Peer, Failed> {
        let mut cmd = python();
        cmd.arg(peer_script()).args(args);
        Self::start(cmd, format!("python3 peer.py {}", args.join(" ")))
    }

    fn start(mut cmd: Command, what: String) -> Result<Peer, Failed> {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{what}: {e}"))?;
        let (tx, rx) = channel();
        let out = child.stdout.take().expect("piped");
        let err = child.stderr.take().expect("piped");
        let tx2 = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx2.send(format!("stderr: {line}"));
            }
        });
        Ok(Peer {
            what,
            stdin: child.stdin.take(),
            child,
            lines: rx,
            seen: String::new(),
        })
    }

    /// Reads stdout until a line contains `word`.
    fn until(&mut self, word: &str) -> Result<(), Failed> {
        let deadline = Instant::now() + STEP;
        while !self
            .seen
            .lines()
            .any(|l| !l.starts_with("stderr: ") && l.contains(word))
        {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push_str(&line);
                    self.seen.push('\n');
                }
                Err(e) => {
                    return Err(format!(
                        "{}: no line with {word:?} ({e:?}); it said: {}",
                        self.what, self.seen
                    )
                    .into());
                }
            }
        }
        Ok(())
    }

    /// The next JSON line on stdout (stderr lines are kept for messages).
    fn json(&mut self) -> Result<Value, Failed> {
        let deadline = Instant::now() + STEP;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push_str(&line);
                    self.seen.push('\n');
                    if line.starts_with("stderr: ") {
                        continue;
                    }
                    return serde_json::from_str(&line)
                        .map_err(|e| format!("{}: not JSON ({e}): {line}", self.what).into());
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!(
                        "{} did not answer within {STEP:?}; it said: {}",
                        self.what, self.seen
                    )
                    .into());
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(format!(
                        "{} ended without answering; it said: {}",
                        self.what, self.seen
                    )
                    .into());
                }
            }
        }
    }

    fn send(&mut self, line: &str) -> Result<(), Failed> {
        let stdin = self.stdin.as_mut().ok_or("stdin already closed")?;
        writeln!(stdin, "{line}").map_err(|e| format!("{}: write: {e}", self.what))?;
        Ok(())
    }

    /// Closes its stdin and waits (bounded) for its exit code.
    fn finish(&mut self) -> Result<i32, Failed> {
        self.stdin = None;
        let deadline = Instant::now() + STEP;
        loop {
            if let Some(st) = self.child.try_wait()? {
                // Let the reader threads hand over what is left.
                std::thread::sleep(Duration::from_millis(20));
                while let Ok(l) = self.lines.try_recv() {
                    self.seen.push_str(&l);
                    self.seen.push('\n');
                }
                return Ok(st.code().unwrap_or(-1));
            }
            if Instant::now() >= deadline {
                return Err(format!("{} did not exit within {STEP:?}", self.what).into());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `cmd` to its end (bounded): exit code and everything it printed.
fn run_to_end(cmd: Command, what: &str) -> Result<(i32, String), Failed> {
    let mut p = Peer::start(cmd, what.to_string())?;
    let code = p.finish()?;
    Ok((code, p.seen.clone()))
}

/// Runs a peer role to its end; its JSON line and exit code.
fn run_peer(args: &[&str]) -> Result<(Value, i32), Failed> {
    let mut p = Peer::spawn(args)?;
    let v = p.json()?;
    let code = p.finish()?;
    Ok((v, code))
}

fn check(ok: bool, msg: impl Into<String>) -> Result<(), Failed> {
    if ok { Ok(()) } else { Err(msg.into().into()) }
}

fn values(v: &Value, array: &str) -> Vec<f64> {
    v[array]["values"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default()
}

/// A type only Rust knows (its type name has spaces): numpy sees bytes.
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
struct Point {
    x: f64,
    y: f64,
}
impl shm_array::Element for Point {
    const TYPE_NAME: &'static str = "tests::Point (x, y)";
}

/// The same layout claiming numpy's complex128.
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
struct Complex {
    re: f64,
    im: f64,
}
impl shm_array::Element for Complex {
    const TYPE_NAME: &'static str = "tests::Complex";
    const DTYPE: &'static str = "<c16";
}

/// The lesson's arrays: `a[i] = i / 2` (f64), `b[i] = i` (i32), `m` 3 × 4
/// f32 0..12 in C order, plus a `u8` and a 4-D `i64`.
/// Returns the segment and its `a` (kept to see Python's writes).
fn rust_segment(name: &str, n: usize) -> Result<(Segment, ShmArray<f64>), Error> {
    let layout = Layout::new()
        .array::<f64>("a", n)?
        .array::<i32>("b", n)?
        .array_nd::<f32>("m", &[3, 4])?
        .array::<u8>("u", 300)?
        .array_nd::<i64>("t", &[2, 3, 4, 5])?
        .array::<Point>("p", 2)?
        .array::<Complex>("z", 2)?;
    let mut seg = Segment::create(name, &layout)?;
    let mut a = seg.take::<f64>("a")?;
    let mut b = seg.take::<i32>("b")?;
    let mut m = seg.take::<f32>("m")?;
    let mut u = seg.take::<u8>("u")?;
    let mut t = seg.take::<i64>("t")?;
    for i in 0..n {
        a[i] = i as f64 / 2.0;
        b[i] = i as i32;
    }
    for (i, x) in m.iter_mut().enumerate() {
        *x = i as f32;
    }
    for (i, x) in u.iter_mut().enumerate() {
        *x = i as u8;
    }
    for (i, x) in t.iter_mut().enumerate() {
        *x = -(i as i64);
    }
    let mut p = seg.take::<Point>("p")?;
    p[1] = Point { x: 1.0, y: -2.0 };
    let mut z = seg.take::<Complex>("z")?;
    z[1] = Complex { re: 3.0, im: 4.0 };
    // The arrays keep the mapping; the creator unlinks when the last goes.
    drop((b, m, u, t, p, z));
    Ok((seg, a))
}

fn rust_writes_python_reads() -> Result<(), Failed> {
    let g = ShmGuard::new("np-r2p");
    let name = g.name();
    let n = 1001;
    let (seg, a_view) = rust_segment(&name, n)?;
    let (v, code) = run_peer(&["read", &name])?;
    check(code == 0, format!("read exited {code}"))?;
    let want = [
        ("a", "<f8", vec![n]),
        ("b", "<i4", vec![n]),
        ("m", "<f4", vec![3, 4]),
        ("u", "|u1", vec![300]),
        ("t", "<i8", vec![2, 3, 4, 5]),
        ("p", "|V16", vec![2]),
        ("z", "<c16", vec![2]),
    ];
    for (array, dtype, shape) in want {
        check(
            v[array]["dtype"] == dtype,
            format!("{array}: numpy dtype {}, want {dtype}", v[array]["dtype"]),
        )?;
        let got: Vec<usize> = v[array]["shape"]
            .as_array()
            .map(|s| {
                s.iter()
                    .filter_map(|d| d.as_u64())
                    .map(|d| d as usize)
                    .collect()
            })
            .unwrap_or_default();
        check(
            got == shape,
            format!("{array}: shape {got:?}, want {shape:?}"),
        )?;
    }
    let a = values(&v, "a");
    check(
        a.len() == n && a.iter().enumerate().all(|(i, &x)| x == i as f64 / 2.0),
        format!("a as numpy sees it: {:?}…", &a[..a.len().min(5)]),
    )?;
    check(
        values(&v, "b")
            .iter()
            .enumerate()
            .all(|(i, &x)| x == i as f64),
        "b",
    )?;
    check(
        values(&v, "m") == (0..12).map(f64::from).collect::<Vec<_>>(),
        "m in C order",
    )?;
    check(
        values(&v, "u")
            .iter()
            .enumerate()
            .all(|(i, &x)| x == (i % 256) as f64),
        "u",
    )?;
    check(
        values(&v, "t")
            .iter()
            .enumerate()
            .all(|(i, &x)| x == -(i as f64)),
        "t in C order",
    )?;
    let point_1: Vec<u8> = [1.0f64.to_le_bytes(), (-2.0f64).to_le_bytes()].concat();
    let hex: String = point_1.iter().map(|b| format!("{b:02x}")).collect();
    check(
        v["p"]["values"][1] == hex.as_str(),
        format!("Point as raw bytes: {}", v["p"]["values"]),
    )?;
    check(
        v["z"]["values"][1] == serde_json::json!([3.0, 4.0]),
        format!("<c16 as numpy sees it: {}", v["z"]["values"]),
    )?;
    // Python writes through its view; Rust sees it in its own mapping.
    let (v, code) = run_peer(&["double", &name, "a"])?;
    check(
        code == 0 && v["doubled"] == "a",
        format!("double: {v} ({code})"),
    )?;
    let a = a_view;
    check(
        a.iter().enumerate().all(|(i, &x)| x == i as f64),
        format!("after Python doubled a: {:?}…", &a[..5]),
    )?;
    drop(seg);
    check(!g.left().is_empty(), "a live array keeps the name")?;
    drop(a);
    check(g.left().is_empty(), "the Rust creator unlinks on drop")?;
    Ok(())
}

fn python_writes_rust_reads() -> Result<(), Failed> {
    let g = ShmGuard::new("np-p2r");
    let name = g.name();
    let mut p = Peer::spawn(&["create", &name])?;
    let ready = p.json()?;
    check(ready["ready"] == name.as_str(), format!("{ready}"))?;
    // SAFETY: the Python creator does not write while we look (it waits
    // for our request on its stdin), and nobody shrinks the segment.
    let mut seg = unsafe { Segment::open(&name) }?;
    let infos = seg.arrays().to_vec();
    let dtypes: Vec<(&str, &str)> = infos
        .iter()
        .map(|a| (a.name.as_str(), a.dtype.as_str()))
        .collect();
    check(
        dtypes
            == [
                ("a", "<f8"),
                ("b", "<i4"),
                ("m", "<f4"),
                ("u", "|u1"),
                ("t", "<i8"),
            ],
        format!("{dtypes:?}"),
    )?;
    let a = seg.take::<f64>("a")?;
    check(
        a.len() == 1000 && a.iter().enumerate().all(|(i, &x)| x == i as f64 / 2.0),
        format!("a from numpy: {:?}…", &a[..5]),
    )?;
    let b = seg.take_shaped::<i32>("b", &[1000])?;
    check(b.iter().enumerate().all(|(i, &x)| x == i as i32), "b")?;
    let mut m = seg.take_shaped::<f32>("m", &[3, 4])?;
    check(
        m.get_nd(&[1, 2]) == Some(6.0),
        format!("m[1, 2] = {:?}", m.get_nd(&[1, 2])),
    )?;
    let u = seg.take::<u8>("u")?;
    check(u.iter().enumerate().all(|(i, &x)| x == i as u8), "u")?;
    // numpy got a Fortran-ordered array; the segment holds C order.
    let t = seg.take_shaped::<i64>("t", &[2, 3, 4, 5])?;
    check(
        t.iter().enumerate().all(|(i, &x)| x == i as i64) && t.get_nd(&[1, 2, 3, 4]) == Some(119),
        "t in C order",
    )?;
    // Rust writes; Python sees it in its own view (zero-copy).
    m[0] = -1.5;
    m[11] = 42.0;
    p.send("m")?;
    let after = p.json()?;
    let mv = values(&after, "m");
    check(
        mv.first() == Some(&-1.5) && mv.last() == Some(&42.0),
        format!("numpy's view after Rust wrote: {mv:?}"),
    )?;
    drop((a, b, m, u, t, seg));
    let code = p.finish()?;
    check(code == 0, format!("create exited {code}: {}", p.seen))?;
    check(
        p.seen.contains("\"closed\""),
        format!("no close line: {}", p.seen),
    )?;
    check(
        g.left().is_empty(),
        "the Python creator unlinks when it closes",
    )?;
    Ok(())
}

fn wrong_dtype_or_shape_is_a_clear_error_on_both_sides() -> Result<(), Failed> {
    let g = ShmGuard::new("np-wrong");
    // Rust opens a Python segment with the wrong type and shape.
    let name = g.name();
    let mut p = Peer::spawn(&["create", &name])?;
    p.json()?;
    // SAFETY: nobody writes during the test.
    let mut seg = unsafe { Segment::open(&name) }?;
    let err = seg.take::<f32>("a").unwrap_err();
    let msg = err.to_string();
    check(
        matches!(err, Error::TypeMismatch { .. })
            && msg.contains(&format!("{name}:a"))
            && msg.contains("<f8 (f64)")
            && msg.contains("<f4 (f32)"),
        format!("f32 for a <f8 array: {msg}"),
    )?;
    let err = seg.take::<u32>("b").unwrap_err();
    check(
        matches!(err, Error::TypeMismatch { .. }),
        format!("u32 for <i4: {err}"),
    )?;
    let err = seg.take_shaped::<f32>("m", &[4, 3]).unwrap_err();
    let msg = err.to_string();
    check(
        matches!(err, Error::ShapeMismatch { .. })
            && msg.contains(&format!("{name}:m"))
            && msg.contains("[3, 4]")
            && msg.contains("[4, 3]"),
        format!("shape [4, 3] for a 3 × 4 array: {msg}"),
    )?;
    // The failed takes took nothing: the right ones still work.
    seg.take_shaped::<f32>("m", &[3, 4])?;
    drop(seg);
    p.finish()?;
    // Python opens a Rust segment with the wrong dtype and shape.
    let name = g.name();
    let _seg = rust_segment(&name, 10)?;
    let (v, code) = run_peer(&["expect", &name, "a", "<f4", "-"])?;
    let msg = v["message"].as_str().unwrap_or("");
    check(
        code == 3 && v["error"] == "TypeMismatch" && msg.contains(&name) && msg.contains("<f8"),
        format!("numpy expecting <f4: {v}"),
    )?;
    let (v, code) = run_peer(&["expect", &name, "m", "-", "4,3"])?;
    let msg = v["message"].as_str().unwrap_or("");
    check(
        code == 3 && v["error"] == "ShapeMismatch" && msg.contains(&name) && msg.contains("(3, 4)"),
        format!("numpy expecting (4, 3): {v}"),
    )?;
    let (v, code) = run_peer(&["expect", &name, "m", "<f4", "3,4"])?;
    check(
        code == 0 && v["ok"] == true,
        format!("the right expectation: {v}"),
    )?;
    Ok(())
}

fn the_sweeper_leaves_python_held_segments_alone() -> Result<(), Failed> {
    let g = ShmGuard::new("np-sweep");
    let held = |prefix: &str| -> Result<bool, Failed> {
        let sweep = shm_array::sweep_leaked(prefix)?;
        check(
            sweep.skipped.is_empty(),
            format!("skipped: {:?}", sweep.skipped),
        )?;
        Ok(sweep.removed.is_empty())
    };
    // 1. A Python creator holds it, then is SIGKILLed: only then swept.
    let name = g.name();
    let mut p = Peer::spawn(&["create", &name])?;
    p.json()?;
    check(
        held(&g.prefix)?,
        "the sweeper removed a segment Python holds",
    )?;
    let st = shm_array::list_segments(&g.prefix)?;
    check(
        st.len() == 1 && st[0].alive && st[0].ours && st[0].name == name,
        format!("{st:?}"),
    )?;
    p.kill();
    let sweep = shm_array::sweep_leaked(&g.prefix)?;
    check(
        sweep.removed == [name.clone()],
        format!("after SIGKILL: {sweep:?}"),
    )?;
    // 2. Rust made it and let go (persisted); a Python opener holds it.
    let name = g.name();
    let mut seg = Segment::create(&name, &Layout::new().array::<f64>("a", 4)?)?;
    seg.persist();
    drop(seg);
    let mut p = Peer::spawn(&["hold-open", &name])?;
    p.json()?;
    check(
        held(&g.prefix)?,
        "the sweeper removed a segment a Python opener holds",
    )?;
    p.send("a")?;
    p.json()?;
    let code = p.finish()?;
    check(code == 0, format!("hold-open exited {code}: {}", p.seen))?;
    check(
        !g.left().is_empty(),
        "a Python opener must not unlink what it did not create",
    )?;
    let sweep = shm_array::sweep_leaked(&g.prefix)?;
    check(
        sweep.removed == [name.clone()],
        format!("once Python let go: {sweep:?}"),
    )?;
    Ok(())
}

fn python_modes_and_rust_read_only_peers() -> Result<(), Failed> {
    use std::os::unix::fs::PermissionsExt;
    let g = ShmGuard::new("np-mode");
    let name = g.name();
    let mut p = Peer::spawn(&["create", &name, "640"])?;
    p.json()?;
    let mode = std::fs::metadata(std::path::Path::new(shm_array::SHM_DIR).join(&name))?
        .permissions()
        .mode()
        & 0o7777;
    check(mode == 0o640, format!("numpy made it {mode:o}"))?;
    // SAFETY: the Python creator does not write while we read.
    let mut ro = unsafe { Segment::open_read_only(&name) }?;
    let m = ro.take_shaped::<f32>("m", &[3, 4])?;
    check(m.get_nd(&[2, 3]) == Some(11.0), format!("{m:?}"))?;
    drop((m, ro));
    check(p.finish()? == 0, format!("create 640: {}", p.seen))?;
    check(g.left().is_empty(), "unlinked by its Python creator")?;
    Ok(())
}

/// `target/<profile>/examples/<name>` (built by `cargo test`).
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent()
        .and_then(|d| d.parent())
        .map(|d| d.join("examples").join(name))
        .expect("target/<profile>/deps/")
}

/// The last stdout line as JSON (the programs' records).
fn last_json(text: &str) -> Result<Value, Failed> {
    let line = text
        .lines()
        .rev()
        .find(|l| !l.starts_with("stderr: ") && l.starts_with('{'))
        .ok_or_else(|| format!("no JSON record in: {text}"))?;
    Ok(serde_json::from_str(line)?)
}

fn lesson_programs_round_trip_with_python() -> Result<(), Failed> {
    let g = ShmGuard::new("np-lesson");
    let script = python_dir().join("shm_06_numpy.py");
    // Rust holds; Python reads it and negates m; Rust sees that.
    let name = g.name();
    let mut cmd = Command::new(example("shm-06-numpy"));
    cmd.args(["--name", &name, "--hold", "--json", "-q"]);
    let mut rust = Peer::start(cmd, format!("shm-06-numpy --name {name} --hold"))?;
    rust.until("ready")?;
    let mut cmd = python();
    cmd.arg(&script)
        .args(["--read", &name, "--negate", "m", "--json"]);
    let (code, text) = run_to_end(cmd, "shm_06_numpy.py --read --negate m")?;
    check(code == 0, format!("python --read: {text}"))?;
    let py = last_json(&text)?;
    let a = &py["metrics"]["arrays"]["a"];
    check(
        a["dtype"] == "<f8" && a["first"] == serde_json::json!([0.0, 0.5, 1.0, 1.5, 2.0, 2.5]),
        format!("numpy saw a = {a}"),
    )?;
    check(
        py["metrics"]["arrays"]["m"]["shape"] == serde_json::json!([3, 4]),
        format!("{py}"),
    )?;
    check(
        rust.finish()? == 0,
        format!("shm-06-numpy --hold: {}", rust.seen),
    )?;
    let rec = last_json(&rust.seen)?;
    let want: Vec<f64> = (0..12).map(|i| -f64::from(i)).collect();
    check(
        rec["metrics"]["m_after"] == serde_json::json!(want),
        format!(
            "Rust saw after Python negated m: {}",
            rec["metrics"]["m_after"]
        ),
    )?;
    // Python holds; the Rust program reads it.
    let name = g.name();
    let mut cmd = python();
    cmd.arg(&script)
        .args(["--name", &name, "--len", "9", "--hold"]);
    let mut py = Peer::start(cmd, format!("shm_06_numpy.py --name {name} --hold"))?;
    py.until("ready")?;
    let mut cmd = Command::new(example("shm-06-numpy"));
    cmd.args(["--read", &name, "--json"]);
    let (code, text) = run_to_end(cmd, "shm-06-numpy --read")?;
    check(code == 0, format!("shm-06-numpy --read: {text}"))?;
    let rec = last_json(&text)?;
    let arrays = &rec["metrics"]["arrays"];
    check(
        arrays["a"]["shape"] == serde_json::json!([9])
            && arrays["b"]["dtype"] == "<i4"
            && arrays["b"]["first"] == serde_json::json!([0, 1, 2, 3, 4, 5])
            && arrays["m"]["dtype"] == "<f4"
            && arrays["m"]["shape"] == serde_json::json!([3, 4]),
        format!("Rust read numpy's segment as {arrays}"),
    )?;
    check(py.finish()? == 0, format!("python --hold: {}", py.seen))?;
    check(g.left().is_empty(), "both holders unlinked")?;
    Ok(())
}

fn python_module_tests() -> Result<(), Failed> {
    let mut child = python()
        .args(["-m", "unittest", "-v", "test_shm_array"])
        .current_dir(python_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("python3 -m unittest: {e}"))?;
    let deadline = Instant::now() + STEP * 3;
    let st = loop {
        if let Some(st) = child.try_wait()? {
            break st;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err("python3 -m unittest test_shm_array did not finish in 180 s".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = child.wait_with_output()?;
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    check(
        st.success() && text.contains("\nOK"),
        format!("python3 -m unittest test_shm_array failed:\n{text}"),
    )?;
    // Say what ran (and anything skipped) in the test's output.
    for line in text
        .lines()
        .filter(|l| l.starts_with("Ran ") || l.contains("skipped"))
    {
        eprintln!("python: {line}");
    }
    Ok(())
}

type Test = fn() -> Result<(), Failed>;

fn main() {
    let args = Arguments::from_args();
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let missing = missing_numpy();
    let skip = missing.is_some() && !ci;
    if let (true, Some(why)) = (skip, &missing) {
        eprintln!("{why}: the numpy tests are reported ignored (python3 -m pip install numpy)");
    }
    let tests: [(&str, Test); 7] = [
        ("rust_writes_python_reads", rust_writes_python_reads),
        ("python_writes_rust_reads", python_writes_rust_reads),
        (
            "wrong_dtype_or_shape_is_a_clear_error_on_both_sides",
            wrong_dtype_or_shape_is_a_clear_error_on_both_sides,
        ),
        (
            "the_sweeper_leaves_python_held_segments_alone",
            the_sweeper_leaves_python_held_segments_alone,
        ),
        (
            "python_modes_and_rust_read_only_peers",
            python_modes_and_rust_read_only_peers,
        ),
        (
            "lesson_programs_round_trip_with_python",
            lesson_programs_round_trip_with_python,
        ),
        ("python_module_tests", python_module_tests),
    ];
    let trials = tests
        .into_iter()
        .map(|(name, f)| {
            let missing = missing.clone();
            Trial::test(name, move || {
                if let Some(why) = missing {
                    return Err(format!(
                        "{why} (CI=true: CI must install it, python3 -m pip install numpy)"
                    )
                    .into());
                }
                f()
            })
            .with_ignored_flag(skip)
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
