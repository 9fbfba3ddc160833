//! Beyond book 1.4.3 and beyond one machine: fft-05's exact FFT over the
//! ranks of an MPI job — the same bins, the same peaks.
//!
//! `cargo build --release -p wav-fft --features mpi --example cluster-02-fft &&
//!  mpirun -n 2 --bind-to none target/release/examples/cluster-02-fft data/generated/tones-60s.wav --plot ranks.png`

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use common::Record;
use mpi::Threading;
use mpi::collective::SystemOperation;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use support::cli::{self, SpectrumArgs, s};
use support::plot::{PlotOptions, envelope_columns, plot_envelope};
use wav_fft::parallel::distributed::{self, DistributedPlan};
use wav_fft::spectrum::{FREQ_MAX, FREQ_MIN};
use wav_fft::wav::{MappedWav, MonoSource};

#[path = "fft-support/mod.rs"]
mod support;

/// The exact spectrum of a WAV file on the ranks of an MPI job (start it
/// with `mpirun -n N`): every rank maps the file (a shared filesystem is
/// assumed; nobody may write to the file meanwhile), computes the first
/// pass for its columns, one all-to-all transposes, and the second pass
/// runs on each rank's rows. Rank 0 prints the peaks and draws the plot
/// from what the ranks send it (their chunks' best peaks, their min/max
/// per pixel column), never the whole spectrum: the same bins and peaks as
/// fft-05. A rank that dies ends the job; MPI waits for a silent rank
/// without a limit, so run it under `mpirun --timeout SECONDS`.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    args: SpectrumArgs,
    /// Threads per rank (default: the machine's cores divided by the ranks
    /// on it).
    #[arg(long, value_name = "N", value_parser = common::cli::at_least_one)]
    threads: Option<usize>,
    /// For tests: every rank writes its bins into this file (f32, little
    /// endian, bin k at byte 4k), the whole spectrum for comparison.
    #[arg(long, value_name = "PATH", hide = true)]
    dump_mags: Option<PathBuf>,
    /// For tests: rank R dies (`R=crash`, SIGKILL) or stops answering
    /// (`R=stall`) just before its part of the FFT, to show that the job
    /// then ends (mpirun ends every rank; run with `mpirun --timeout` for
    /// the stall) instead of hanging.
    #[arg(long, value_name = "R=crash|stall", hide = true, value_parser = parse_fault)]
    fault: Option<(i32, Fault)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Crash,
    Stall,
}

fn parse_fault(s: &str) -> Result<(i32, Fault), String> {
    let (r, kind) = s
        .split_once('=')
        .ok_or_else(|| format!("{s}: expected RANK=crash or RANK=stall"))?;
    let rank = r.parse().map_err(|_| format!("{r}: not a rank number"))?;
    let kind = match kind {
        "crash" => Fault::Crash,
        "stall" => Fault::Stall,
        other => return Err(format!("{other}: expected crash or stall")),
    };
    Ok((rank, kind))
}

/// Maps the input, or the error message for it.
fn open(cli: &Cli) -> Result<(PathBuf, MappedWav), String> {
    let path = cli.args.input().map_err(|e| e.to_string())?;
    // SAFETY: the program's documented contract (its --help and the crate
    // README): the input file is not written to or truncated while the job
    // runs, on any node — the same promise `MappedWav::open` asks for.
    let wav = unsafe { MappedWav::open_with(&path, &cli.args.read_options()) }
        .map_err(|e| e.to_string())?;
    Ok((path, wav))
}

/// Peak resident memory of this process, MB.
fn peak_rss_mb() -> f64 {
    common::mem::peak_rss_bytes().map_or(f64::NAN, |b| b as f64 / 1e6)
}

/// Runs the job on this rank; returns the exit code (the same on every
/// rank for bad input, reported once by rank 0).
fn run(world: &SimpleCommunicator) -> i32 {
    let start = Instant::now();
    let rank = world.rank();
    let root = world.process_at_rank(0);
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // Every rank parses the same arguments: one prints.
            if rank == 0 {
                let _ = e.print();
            }
            return e.exit_code();
        }
    };
    let threads = cli.threads.unwrap_or_else(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let here = world.split_shared(0).size() as usize;
        (cores / here.max(1)).max(1)
    });
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global();
    let log = cli.args.out.stage_log();
    let log = if rank == 0 {
        log
    } else {
        common::StageLog::quiet()
    };

    // Rank 0 opens the file first and says whether it could; then the
    // others (a rank on a node without the file says so itself).
    let mut status = 0i32;
    let mut opened = None;
    if rank == 0 {
        match open(&cli) {
            Ok(o) => opened = Some(o),
            Err(e) => {
                eprintln!("error: {e}");
                status = 1;
            }
        }
    }
    root.broadcast_into(&mut status);
    if status != 0 {
        return 2;
    }
    let mut failed = 0i32;
    if rank != 0 {
        match open(&cli) {
            Ok(o) => opened = Some(o),
            Err(e) => {
                eprintln!("error: rank {rank}: {e}");
                failed = 1;
            }
        }
    }
    let mut any = 0i32;
    world.all_reduce_into(&failed, &mut any, SystemOperation::max());
    let Some((path, wav)) = opened.filter(|_| any == 0) else {
        return 2;
    };
    let info = wav.info.clone();
    let (fs, n) = (info.sample_rate, wav.len());
    let ranks = world.size() as usize;
    log.stage(format!("mapped {} on {ranks} rank(s)", path.display()));
    cli::log_info(&log, &info);
    let t = Instant::now();
    let plan = match DistributedPlan::new(n, ranks) {
        Ok(p) => p,
        Err(e) => {
            if rank == 0 {
                eprintln!("error: {}: {e}", path.display());
            }
            return 2;
        }
    };
    let plan_s = s(t.elapsed());
    log.stage(format!("planned {} in {plan_s:.3} s", plan.describe()));

    world.barrier();
    match cli.fault {
        Some((r, Fault::Crash)) if r == rank => {
            eprintln!(
                "error: rank {rank} crashed on purpose (--fault {rank}=crash): an MPI job cannot \
                 lose a rank, so mpirun ends every rank"
            );
            // SIGKILL, as a real crash would (Open MPI's own SIGABRT
            // handler would print a backtrace per rank).
            let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
        }
        Some((r, Fault::Stall)) if r == rank => {
            // Never answers: only `mpirun --timeout` ends the job.
            loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            }
        }
        _ => {}
    }
    let t = Instant::now();
    let (mut local, times) = match distributed::spectrum(world, &wav, fs, &plan) {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "error: rank {rank}: {}: {e}; calling MPI_Abort, which ends every rank",
                path.display()
            );
            world.abort(3)
        }
    };
    let fft_s = s(t.elapsed());
    let peaks = match local.peaks(world, cli.args.peaks, FREQ_MIN, FREQ_MAX) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: rank {rank}: {e}; calling MPI_Abort, which ends every rank");
            world.abort(3)
        }
    };
    let peaks_s = s(t.elapsed()) - fft_s;
    let plot = cli.args.plot.as_ref().map(|p| {
        let (lo, hi, columns) = envelope_columns(PlotOptions::new("").size.0);
        let env = local.column_envelope(world, lo, hi, columns);
        let top = local.band_max(world, FREQ_MIN, FREQ_MAX);
        (p, env, top)
    });
    if let Some(p) = &cli.dump_mags {
        if let Err(e) = local.write_bins(world, p) {
            eprintln!("error: rank {rank}: {e}; calling MPI_Abort, which ends every rank");
            world.abort(3)
        }
    }
    let spectrum_s = s(t.elapsed());
    // Per rank: the FFT's wall time, the all-to-alls, the wait for the
    // slowest rank before them, peak memory.
    let mine = [fft_s, s(times.all_to_all), s(times.waiting), peak_rss_mb()];
    let figures = if rank == 0 {
        let mut all = vec![0f64; 4 * ranks];
        root.gather_into_root(&mine[..], &mut all[..]);
        all
    } else {
        root.gather_into(&mine[..]);
        return 0;
    };

    // Rank 0 from here on.
    for (name, d) in &times.steps {
        println!("  rank 0: {name}: {:.3} s", s(*d));
    }
    let col = |i: usize| -> Vec<f64> { figures.chunks_exact(4).map(|f| f[i]).collect() };
    let (ffts, a2a, waits, rss) = (col(0), col(1), col(2), col(3));
    let slowest = ffts.iter().copied().fold(0.0, f64::max);
    let a2a_max = a2a.iter().copied().fold(0.0, f64::max);
    let wait_max = waits.iter().copied().fold(0.0, f64::max);
    log.stage(format!(
        "exact FFT over {ranks} rank(s) × {threads} thread(s) done: {slowest:.3} s on the \
         slowest rank, all-to-all {a2a_max:.3} s ({:.0} %), waiting for the slowest rank \
         {wait_max:.3} s; peak memory per rank {} MB",
        100.0 * a2a_max / slowest,
        rss.iter()
            .map(|r| format!("{r:.0}"))
            .collect::<Vec<_>>()
            .join(" / ")
    ));
    let audible = local.band(FREQ_MIN, FREQ_MAX).len();
    log.stage(format!(
        "audible points selected: {audible} (bins of {:.6} Hz)",
        local.bin_hz
    ));
    log.stage(format!("{} strongest peaks found", peaks.len()));
    for (i, p) in peaks.iter().enumerate() {
        println!(
            "peak {:>2}: {:>10.3} Hz  magnitude {:.4e}",
            i + 1,
            p.freq_hz,
            p.magnitude
        );
    }
    let mut rec = Record::new("cluster-02-fft");
    cli::record_info(&mut rec, &path, &info);
    rec.set("fft_len", n);
    rec.set("bluestein", plan.is_bluestein());
    rec.set("ranks", ranks);
    rec.set("threads", threads);
    rec.set("exact_plan_s", plan_s);
    rec.set("exact_fft_s", slowest);
    rec.set("alltoall_s", a2a_max);
    rec.set("alltoall_share", a2a_max / slowest);
    rec.set("waiting_s", wait_max);
    rec.set("peaks_s", peaks_s);
    rec.set("fft_s_per_rank", ffts);
    rec.set("rss_mb_per_rank", rss.clone());
    rec.set("peak_rss_mb", rss.iter().copied().fold(0.0, f64::max));
    rec.set("audible_points", audible);
    rec.set("bin_hz", local.bin_hz);
    rec.set(
        "max_freq_hz",
        local.bins().saturating_sub(1) as f64 * local.bin_hz,
    );
    rec.set(
        "peaks",
        peaks
            .iter()
            .map(|p| vec![p.freq_hz, f64::from(p.magnitude)])
            .collect::<Vec<_>>(),
    );
    if let Some((p, Some(env), Some(top))) = plot {
        let title = format!("Exact FFT over {ranks} MPI rank(s): full band");
        if let Err(e) = plot_envelope(p, &env, top, &PlotOptions::new(title)) {
            eprintln!("error: {e}");
            return 1;
        }
        log.stage(format!("plot written: {}", p.display()));
        rec.set("plot", p.display().to_string());
    }
    rec.set("spectrum_s", spectrum_s);
    rec.set("job_wall_s", s(start.elapsed()));
    log.stage("done");
    rec.with_stages(&log).emit(cli.args.out.json);
    0
}

fn main() {
    let Some((universe, _threading)) = mpi::initialize_with_threading(Threading::Funneled) else {
        eprintln!("error: MPI could not be initialised");
        std::process::exit(2);
    };
    let world = universe.world();
    let code = run(&world);
    drop(universe);
    std::process::exit(code);
}
