//! `spectrum::realfft_peak_bytes` is an upper bound of what realfft really
//! takes, and not a loose one: for each kind of length the estimate
//! distinguishes, a child process (this binary again, with
//! `REALFFT_MEMORY_CHILD=N`) runs `realfft_spectrum` on N samples and
//! reports its peak resident memory (VmHWM, Linux), so that no other
//! test's or length's memory is counted.
//!
//! Own harness (libtest-mimic): one trial per length, each child waited
//! for at most two minutes.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Failed, Trial};
use wav_fft::spectrum::{realfft_peak_bytes, realfft_spectrum};

const CHILD: &str = "REALFFT_MEMORY_CHILD";

/// This process's peak resident memory so far, bytes (VmHWM).
fn high_water_mark() -> Result<u64, String> {
    common::mem::peak_rss_bytes().ok_or_else(|| "no VmHWM in /proc/self/status".to_string())
}

/// In the child: the FFT of n samples, then "base peak" on stdout.
fn child(n: usize) -> Result<(), String> {
    let base = high_water_mark()?;
    let x: Vec<f32> = (0..n).map(|i| ((i * 7919) % 1013) as f32).collect();
    let spec = realfft_spectrum(x, 44_100);
    if spec.mags.len() != n / 2 + 1 {
        return Err(format!("{} bins for {n} samples", spec.mags.len()));
    }
    drop(spec);
    println!("{base} {}", high_water_mark()?);
    Ok(())
}

/// Runs the child for n samples; its peak over its starting footprint.
fn measure(n: usize) -> Result<u64, Failed> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let mut proc = Command::new(exe)
        .env(CHILD, n.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start the child for {n} samples: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        match proc
            .try_wait()
            .map_err(|e| format!("waiting for the child: {e}"))?
        {
            Some(status) => break status,
            None if Instant::now() > deadline => {
                let _ = proc.kill();
                let _ = proc.wait();
                return Err(format!("the child for {n} samples did not finish in 120 s").into());
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    let out = proc.wait_with_output().map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("the child for {n} samples failed: {status}").into());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Vec<u64> = text
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    match v[..] {
        [base, peak] => Ok(peak.saturating_sub(base)),
        _ => Err(format!("the child for {n} samples printed {text:?}").into()),
    }
}

fn main() {
    if let Ok(n) = std::env::var(CHILD) {
        let n: usize = n.parse().expect("a length");
        if let Err(e) = child(n) {
            eprintln!("{e}");
            std::process::exit(1);
        }
        return;
    }
    let args = Arguments::from_args();
    // (length, what it is, the least share of its bound it must reach):
    // the largest kinds are close to their bound, so that the estimate does
    // not refuse files that fit.
    let lengths: [(usize, &str, f64); 8] = [
        (1 << 20, "a power of two", 0.7),
        (
            2 * 2 * 3 * 5 * 7 * 11 * 13 * 17,
            "even, factors 11, 13, 17",
            0.7,
        ),
        (
            3_999_999,
            "3 × 23 × 29 × 1999: odd, one factor above 31",
            0.5,
        ),
        (999_958, "2 × the prime 499,979", 0.85),
        (3_999_986, "2 × the prime 1,999,993", 0.85),
        (1_594_323, "3^13, odd and smooth", 0.85),
        (999_959, "a prime, p − 1 = 2 × prime (Bluestein)", 0.85),
        (1_000_003, "a prime, p − 1 = 6 × prime", 0.85),
    ];
    let trials = lengths
        .into_iter()
        .map(|(n, what, least)| {
            Trial::test(format!("realfft_peak_bytes_bounds_{n}"), move || {
                let used = measure(n)?;
                let bound = realfft_peak_bytes(n);
                let per = |b: u64| b as f64 / n as f64;
                if used > bound {
                    return Err(format!(
                        "{n} ({what}): realfft took {used} bytes ({:.1} per sample) at its \
                         peak, more than the estimate {bound} ({:.1})",
                        per(used),
                        per(bound)
                    )
                    .into());
                }
                if (used as f64) < least * bound as f64 {
                    return Err(format!(
                        "{n} ({what}): realfft took {used} bytes ({:.1} per sample), under \
                         {least} of the estimate {bound} ({:.1}): the estimate is too loose",
                        per(used),
                        per(bound)
                    )
                    .into());
                }
                Ok(())
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
