//! Beyond the book: Rust and Python (numpy) share arrays zero-copy, across
//! processes, through one named segment (format: SPEC.md).
//!
//! `--hold` creates a segment with `a` (f64, `a[i] = i / 2`), `b` (i32,
//! `b[i] = i`) and `m` (f32, 3 × 4, 0..12 in C order), prints `ready`, and
//! keeps it until its standard input closes (or SIGINT/SIGTERM), then
//! unlinks it; whatever a peer wrote meanwhile is shown. `--read NAME`
//! opens a segment made by anyone (Python's `shm_array.create` included),
//! read-only, and prints each array's name, dtype, shape and first values.
//!
//! ```text
//! cargo run -p shm-array --example shm-06-numpy -- --name demo --hold
//! python3 crates/shm-array/python/shm_06_numpy.py --read demo
//! ```

use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::{ArgGroup, Parser};
use common::Record;
use common::cli::OutputArgs;
use serde_json::{Value, json};
use shm_array::{ArrayInfo, Layout, ReadOnly, Segment};

#[path = "shm-support/mod.rs"]
mod support;

/// Share arrays with numpy: create and hold a segment, or read anyone's.
#[derive(Parser)]
#[command(version, group(ArgGroup::new("mode").required(true).args(["hold", "read"])))]
struct Cli {
    /// Name of the segment to create (default: a unique `shm-06-…` name).
    #[arg(long, requires = "hold")]
    name: Option<String>,
    /// Elements of `a` and `b`.
    #[arg(long, default_value_t = 12, requires = "hold")]
    len: usize,
    /// Create the segment and keep it until standard input closes or
    /// SIGINT/SIGTERM arrives; then unlink it.
    #[arg(long)]
    hold: bool,
    /// Longest hold in seconds (then unlink and fail).
    #[arg(long, default_value = "3600", value_parser = common::cli::parse_timeout)]
    max_hold: Duration,
    /// Open the segment NAME read-only (made by Rust, Python or anyone
    /// following SPEC.md) and print its arrays. Assumes nobody writes it
    /// while it is read.
    #[arg(long, value_name = "NAME")]
    read: Option<String>,
    #[command(flatten)]
    out: OutputArgs,
}

/// How many values of each array are shown.
const FIRST: usize = 6;

/// The first values of an array of a primitive type, as JSON numbers, or
/// `None` for a type only its writer knows.
fn first_values(seg: &mut Segment<ReadOnly>, info: &ArrayInfo) -> shm_array::Result<Option<Value>> {
    macro_rules! by_dtype {
        ($($t:ty),*) => {
            $(
                if info.dtype == <$t as shm_array::Element>::DTYPE {
                    return match seg.take::<$t>(&info.name) {
                        Ok(a) => Ok(Some(Value::Array(
                            a.iter().take(FIRST).map(|&x| json!(x)).collect(),
                        ))),
                        // Same type string, another layout: raw bytes.
                        Err(shm_array::Error::TypeMismatch { .. }) => Ok(None),
                        Err(e) => Err(e),
                    };
                }
            )*
        };
    }
    by_dtype!(f64, f32, i64, i32, i16, i8, u64, u32, u16, u8);
    Ok(None)
}

fn show(v: &Value) -> String {
    match v {
        Value::Array(items) => {
            let s: Vec<String> = items.iter().map(Value::to_string).collect();
            format!("[{}]", s.join(", "))
        }
        _ => "(a type no Rust primitive matches: raw bytes)".to_string(),
    }
}

fn read(name: &str) -> anyhow::Result<Record> {
    // SAFETY: this program only reads, and its user promises (see --help)
    // that nobody writes the segment meanwhile; nobody shrinks it.
    let mut seg = unsafe { Segment::open_read_only(name) }?;
    println!(
        "segment {name}: {} bytes, {} arrays (read-only)",
        seg.bytes(),
        seg.arrays().len()
    );
    let mut arrays = serde_json::Map::new();
    for info in seg.arrays().to_vec() {
        let first = first_values(&mut seg, &info)?.unwrap_or(Value::Null);
        println!(
            "  {:<8} {:<5} ({:<5}) shape {:<14} first: {}",
            info.name,
            info.dtype,
            info.type_name,
            format!("{:?}", info.shape),
            show(&first)
        );
        arrays.insert(
            info.name.clone(),
            json!({"dtype": info.dtype, "shape": info.shape, "first": first}),
        );
    }
    Ok(Record::new("shm-06-numpy")
        .metric("mode", "read")
        .metric("segment", name)
        .metric("arrays", Value::Object(arrays)))
}

fn hold(cli: &Cli) -> anyhow::Result<Record> {
    let log = cli.out.stage_log();
    support::sweep_at_start("shm-06-")?;
    let name = cli
        .name
        .clone()
        .unwrap_or_else(|| shm_array::unique_name("shm-06-"));
    let layout = Layout::new()
        .array::<f64>("a", cli.len)?
        .array::<i32>("b", cli.len)?
        .array_nd::<f32>("m", &[3, 4])?;
    let mut seg = Segment::create(&name, &layout)?;
    support::unlink_on_signal(std::slice::from_ref(&name));
    let mut a = seg.take::<f64>("a")?;
    let mut b = seg.take::<i32>("b")?;
    let mut m = seg.take::<f32>("m")?;
    for (i, (x, y)) in a.iter_mut().zip(b.iter_mut()).enumerate() {
        *x = i as f64 / 2.0;
        *y = i32::try_from(i).unwrap_or(i32::MAX);
    }
    for (i, x) in m.iter_mut().enumerate() {
        *x = i as f32;
    }
    for info in seg.arrays() {
        println!(
            "array {:<2} {} ({}) shape {:?} at offset {}",
            info.name, info.dtype, info.type_name, info.shape, info.offset
        );
    }
    log.stage(format!("segment {name} of {} bytes", seg.bytes()));
    println!("ready: segment {name}; close standard input (Ctrl-D) or press Ctrl-C to unlink it");
    // Wait for the end of standard input, with a bound.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
        let _ = tx.send(());
    });
    let t0 = Instant::now();
    let timed_out = rx.recv_timeout(cli.max_hold) == Err(mpsc::RecvTimeoutError::Timeout);
    let held_s = t0.elapsed().as_secs_f64();
    // What peers may have written while we held it (they are done now).
    let m_after: Vec<f32> = m.to_vec();
    let a_changed = a
        .iter()
        .enumerate()
        .filter(|&(i, &x)| x != i as f64 / 2.0)
        .count();
    println!(
        "after {held_s:.1} s: m = {:?}; {a_changed} elements of a changed",
        m_after
    );
    seg.unlink()?;
    drop((a, b, m, seg));
    let left = support::still_in_dev_shm(&name);
    println!("unlinked {name}; left in /dev/shm: {left}");
    log.stage("unlinked");
    if timed_out {
        anyhow::bail!(
            "standard input was not closed within {:?}; segment {name} unlinked",
            cli.max_hold
        );
    }
    Ok(Record::new("shm-06-numpy")
        .metric("mode", "hold")
        .metric("segment", name)
        .metric("len", cli.len)
        .metric("held_s", held_s)
        .metric("m_after", json!(m_after))
        .metric("a_changed", a_changed)
        .metric("segments_left", usize::from(left))
        .with_stages(&log))
}

fn try_main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let rec = match &cli.read {
        Some(name) => read(name)?,
        None => hold(&cli)?,
    };
    rec.emit(cli.out.json);
    Ok(())
}

fn main() {
    common::cli::run(try_main);
}
