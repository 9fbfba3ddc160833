//! Criterion benchmark: the exact parallel FFT against one thread of realfft
//! (plan made beforehand, and with planning), and the fused mapped path.
//!
//! Sizes: 2,646,000 samples (60 s, smooth), 2 × 1,323,001 and the prime
//! 2,646,001 (both Bluestein; the odd prime is the worst case: its
//! convolution is 1.5 N long) by default; with `WAV_FFT_BENCH_BOOK=1` also
//! the book's 267,193,080, 2 × 133,596,563 = 267,193,126 and the prime
//! 267,193,079 (minutes, ≈ 10 GB; the fused case reads
//! data/generated/tones-book.wav, `cargo xtask gen-data --book-size`). One
//! thread of realfft is not run on the book-size prime: its plan (rustfft's
//! own Bluestein over ≥ 2N points) did not fit in 24 GiB.
//! `cargo xtask bench --lesson fft` prints the ratios.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, Criterion, criterion_group, criterion_main};
use realfft::RealFftPlanner;
use wav_fft::parallel::{self, ExactPlan};
use wav_fft::spectrum::{self, FREQ_MAX, FREQ_MIN};
use wav_fft::{book::generate, wav};

fn signal(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (i as f32 * 0.0123).sin() + 0.3 * (i as f32 * 1.7).cos())
        .collect()
}

/// The fused path of fft-06 without its plot: map, plan, FFT, peaks.
fn fused(path: &Path) -> usize {
    // SAFETY: the benchmark's own generated file under data/generated, which
    // nothing writes while the benchmark runs.
    let mapped = unsafe { wav::MappedWav::open(path) }.expect("the benchmark's WAV");
    let fs = mapped.info.sample_rate;
    let plan = ExactPlan::new(wav::MonoSource::len(&mapped)).expect("plan");
    let spec = parallel::exact(mapped, fs, &plan).expect("exact");
    spec.peaks(7, FREQ_MIN, FREQ_MAX).len()
}

/// One thread of realfft: with its plan made once (FFT + magnitudes, its
/// buffers reused), and `realfft_spectrum` planning on every call.
fn one_thread(g: &mut BenchmarkGroup<'_, WallTime>, x: &[f32]) {
    {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(x.len());
        let mut out = fft.make_output_vec();
        let mut scratch = fft.make_scratch_vec();
        g.bench_function("realfft-planned", |b| {
            b.iter_batched(
                || x.to_vec(),
                |mut input| {
                    fft.process_with_scratch(&mut input, &mut out, &mut scratch)
                        .expect("sized by the plan");
                    input.truncate(out.len());
                    input.iter_mut().zip(&out).for_each(|(m, c)| *m = c.norm());
                    input
                },
                BatchSize::LargeInput,
            )
        });
    } // The plan and its buffers are freed before the next one is made:
    // for 2 × prime at the book's size each takes ≈ 13 GB.
    if let Err(e) = spectrum::check_realfft_memory(x.len()) {
        eprintln!("realfft-unplanned not measured: {e}");
        return;
    }
    g.bench_function("realfft-unplanned", |b| {
        b.iter_batched(
            || x.to_vec(),
            |input| spectrum::realfft_spectrum(input, 44_100),
            BatchSize::LargeInput,
        )
    });
}

fn group(c: &mut Criterion, n: usize, wav: Option<PathBuf>, samples: usize, realfft: bool) {
    let mut g = c.benchmark_group(format!("fft-{n}"));
    g.sample_size(samples);
    if samples <= 10 {
        g.warm_up_time(Duration::from_millis(1));
        g.measurement_time(Duration::from_secs(1));
    }
    let x = signal(n);
    if realfft {
        one_thread(&mut g, &x);
    }
    let plan = ExactPlan::new(n).expect("plan");
    g.bench_function("exact", |b| {
        b.iter_batched(
            || x.clone(),
            |input| parallel::exact(input, 44_100, &plan).expect("exact"),
            BatchSize::LargeInput,
        )
    });
    if plan.is_bluestein() {
        g.bench_function("exact-fresh-plan", |b| {
            b.iter_batched(
                || x.clone(),
                |input| {
                    let plan = ExactPlan::new(n).expect("plan");
                    parallel::exact(input, 44_100, &plan).expect("exact")
                },
                BatchSize::LargeInput,
            )
        });
    }
    drop(x);
    if let Some(path) = wav {
        g.bench_function("fused-mapped", |b| b.iter(|| black_box(fused(&path))));
    }
    g.finish();
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    for frames in [2_646_000u64, 2 * 1_323_001, 2_646_001] {
        let path = dir.path().join(format!("{frames}.wav"));
        generate::write_recording(&path, frames, 44_100, 16, &mut |_, _| {}).expect("write");
        group(c, frames as usize, Some(path), 20, true);
    }
    if std::env::var_os("WAV_FFT_BENCH_BOOK").is_some_and(|v| v == "1") {
        let book = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../data/generated")
            .join("tones-book.wav");
        let n = 267_193_080;
        group(c, n, book.is_file().then_some(book), 10, true);
        group(c, 2 * 133_596_563, None, 10, true);
        group(c, 267_193_079, None, 10, false);
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
