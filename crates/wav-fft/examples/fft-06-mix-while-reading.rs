//! Beyond book 1.4.3 (its last question): memory-map the WAV and mix while reading, fused into the exact parallel FFT.
//!
//! `cargo run --release -p wav-fft --example fft-06-mix-while-reading -- --plot fused.png`

use std::time::Instant;

use clap::Parser;
use common::Record;
use support::cli::{self, BoxError, HugePagesArg, SpectrumArgs, s};
use support::plot::PlotOptions;
use wav_fft::parallel::{self, ExactPlan};
use wav_fft::wav::{self, MonoSource};

#[path = "fft-support/mod.rs"]
mod support;

/// The book spends a quarter of its run mixing channels after loading. Here
/// the data chunk is memory-mapped and each sample pair is decoded, mixed
/// and written straight into the FFT's first matrix: reading, mixing and the
/// first transpose are one pass, on every core. The rest is fft-05.
///
/// The input must not be written to or truncated while the program runs: it
/// is read through a memory map (copy it first if it is still being
/// recorded; fft-05 reads with read(2) and has no such condition).
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    args: SpectrumArgs,
    /// 2 MiB pages for the FFT's work buffers (Linux advice): auto asks
    /// only when the kernel has them free, so that they cost no compaction
    /// (see the crate README for what each choice measured).
    #[arg(long, value_enum, default_value_t = HugePagesArg::Auto, value_name = "WHEN")]
    huge_pages: HugePagesArg,
}

fn try_main() -> Result<(), BoxError> {
    let cli = Cli::parse();
    let log = cli.args.out.stage_log();
    let path = cli.args.input()?;
    log.stage(format!("mapping {}", path.display()));
    // SAFETY: the program's contract (its --help): the input is a recording
    // nobody writes to or truncates while the program runs.
    let mapped = unsafe { wav::MappedWav::open_with(&path, &cli.args.read_options()) }?;
    let info = mapped.info.clone();
    cli::log_info(&log, &info);
    let t = Instant::now();
    let plan = ExactPlan::new(mapped.len())
        .map_err(cli::about(&path))?
        .huge_pages(cli.huge_pages.mode())
        // One run: nothing to keep the work matrix for (the plot is next).
        .reuse_buffers(false);
    let plan_s = s(t.elapsed());
    log.stage(format!("planned {}", plan.describe()));
    log.stage(cli.huge_pages.describe());
    let (spec, steps) =
        parallel::exact_timed(mapped, info.sample_rate, &plan).map_err(cli::about(&path))?;
    for (name, d) in &steps {
        println!("  {name}: {:.3} s", s(*d));
    }
    log.stage("read + mix + exact parallel FFT done");
    let mut rec = Record::new("fft-06-mix-while-reading");
    cli::record_info(&mut rec, &path, &info);
    rec.set("fft_len", plan.signal_len);
    rec.set("bluestein", plan.is_bluestein());
    rec.set("exact_plan_s", plan_s);
    let read_mix = steps
        .iter()
        .find(|x| x.0.starts_with("read"))
        .map_or(0.0, |x| s(x.1));
    rec.set("read_mix_s", read_mix);
    rec.set(
        "exact_fft_s",
        steps.iter().map(|x| s(x.1)).sum::<f64>() - read_mix,
    );
    let plot = PlotOptions::new("Memory-mapped, mixed while reading, exact parallel FFT");
    cli::finish(&log, &cli.args, &spec, plot, rec)
}

fn main() {
    common::cli::run(try_main);
}
