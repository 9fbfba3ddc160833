//! The context a lesson runs in: where the binaries are, how to run one
//! program and read its JSON record, where the report goes.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use common::Record;

use crate::RunOptions;
use crate::lessons::Lesson;

/// The `cargo` to run (the one that runs us, when known).
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

/// The workspace root (where the top `Cargo.toml` is).
///
/// # Errors
/// When this crate's folder has no parent (cannot happen in the workspace).
pub fn workspace_root() -> Result<PathBuf> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = here.parent().context("xtask has no parent folder")?;
    Ok(root.to_path_buf())
}

/// A flag set when the user presses Ctrl-C. The handler is installed once
/// per process: xtask itself keeps going long enough to report, while the
/// running program (same process group) receives the signal and stops.
fn ctrl_c_flag() -> Arc<AtomicBool> {
    static FLAG: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let f = flag.clone();
        // Fails only if another handler exists (e.g. in tests): then the
        // default behaviour (exit) applies, which also leaves no child.
        let _ = ctrlc::set_handler(move || f.store(true, Ordering::Relaxed));
        flag
    })
    .clone()
}

/// One finished program run.
#[derive(Debug, Clone)]
pub struct Run {
    /// The program's JSON record (its last stdout line).
    pub record: Record,
    /// Everything it printed on stdout.
    pub stdout: String,
    /// Everything it printed on stderr.
    pub stderr: String,
    /// Its exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    /// Wall time measured from outside.
    pub wall: Duration,
}

/// How a program ended, for a person: `exit code 0`, or `killed by a
/// signal (no exit code)`.
pub fn exit_text(code: Option<i32>) -> String {
    match code {
        Some(c) => format!("exit code {c}"),
        None => "killed by a signal (no exit code)".to_string(),
    }
}

/// A value a record may lack, for a person: the value, or `missing`.
pub fn or_missing<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "missing".to_string(), |v| v.to_string())
}

/// A record's errors, for a person: `no errors`, or `errors: a; b`.
pub fn errors_text(errors: &[String]) -> String {
    if errors.is_empty() {
        "no errors".to_string()
    } else {
        format!("errors: {}", errors.join("; "))
    }
}

/// A finished program run whose output need not end with a record.
#[derive(Debug, Clone)]
pub struct RawRun {
    /// Everything it printed on stdout.
    pub stdout: String,
    /// Everything it printed on stderr.
    pub stderr: String,
    /// Its exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    /// Wall time measured from outside.
    pub wall: Duration,
}

/// How to install what the MPI lessons need (Debian, Ubuntu).
pub const MPI_INSTALL: &str = "apt-get install openmpi-bin libopenmpi-dev libclang-dev";

/// The `mpirun` found on `PATH`.
///
/// # Errors
/// A one-line message saying it is missing and how to install Open MPI.
pub fn mpirun() -> std::result::Result<PathBuf, String> {
    mpirun_in(std::env::var_os("PATH").as_deref())
}

/// The `mpirun` found in the folders of `path` (a `PATH` value).
///
/// # Errors
/// As [`mpirun`].
pub fn mpirun_in(path: Option<&std::ffi::OsStr>) -> std::result::Result<PathBuf, String> {
    path.into_iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join("mpirun"))
        .find(|f| f.is_file())
        .ok_or_else(|| format!("mpirun not found on PATH: install Open MPI ({MPI_INSTALL})"))
}

/// Where and how lessons run.
#[derive(Debug)]
pub struct Ctx {
    /// The workspace root.
    pub root: PathBuf,
    /// `target/release` or `target/debug`.
    pub bin_dir: PathBuf,
    /// True for `--full` (book-sized inputs).
    pub full: bool,
    /// True when using debug builds.
    pub debug: bool,
    /// The report folder (created).
    pub report_dir: PathBuf,
    /// The longest any one program may run before it is killed.
    pub timeout: Duration,
    interrupted: Arc<AtomicBool>,
}

impl Ctx {
    /// Prepares the context for `opts`.
    ///
    /// # Errors
    /// When the report folder cannot be created.
    pub fn new(opts: &RunOptions) -> Result<Ctx> {
        let root = workspace_root()?;
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        let bin_dir = target.join(if opts.debug { "debug" } else { "release" });
        let report_dir = opts
            .report_dir
            .clone()
            .unwrap_or_else(|| target.join("report"));
        std::fs::create_dir_all(&report_dir)
            .with_context(|| format!("creating {}", report_dir.display()))?;
        let interrupted = ctrl_c_flag();
        Ok(Ctx {
            root,
            bin_dir,
            full: opts.full,
            debug: opts.debug,
            report_dir,
            timeout: Duration::from_secs(if opts.full { 1800 } else { 600 }),
            interrupted,
        })
    }

    /// True once the user pressed Ctrl-C (the running program got it too).
    pub fn interrupted(&self) -> bool {
        self.interrupted.load(Ordering::Relaxed)
    }

    /// Builds the binaries of `lessons` in one `cargo build`.
    ///
    /// # Errors
    /// When cargo fails.
    pub fn build(&self, lessons: &[&Lesson]) -> Result<()> {
        let mut cmd = Command::new(cargo());
        cmd.current_dir(&self.root).arg("build");
        if !self.debug {
            cmd.arg("--release");
        }
        // Merge the lessons' arguments: each package, feature and target
        // flag once (cargo refuses a repeated `--bins`).
        let mut packages: Vec<&str> = Vec::new();
        let mut features: Vec<&str> = Vec::new();
        let mut flags: Vec<&str> = Vec::new();
        for l in lessons {
            let mut args = l.build_args.iter();
            while let Some(a) = args.next() {
                let (list, value) = match *a {
                    "-p" | "--package" => (&mut packages, args.next().copied()),
                    "--features" | "-F" => (&mut features, args.next().copied()),
                    other => (&mut flags, Some(other)),
                };
                if let Some(v) = value {
                    if !list.contains(&v) {
                        list.push(v);
                    }
                }
            }
        }
        if packages.is_empty() {
            return Ok(());
        }
        for p in &packages {
            cmd.args(["-p", p]);
        }
        if !features.is_empty() {
            cmd.args(["--features", &features.join(",")]);
        }
        cmd.args(&flags);
        println!(
            "building: cargo {}",
            cmd.get_args()
                .map(|a| a.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" ")
        );
        let status = cmd.status().context("running cargo build")?;
        if !status.success() {
            bail!("cargo build failed ({status})");
        }
        Ok(())
    }

    /// The path of a program (a `[[bin]]` or an example).
    ///
    /// # Errors
    /// When it was not built, naming the command that builds it.
    pub fn bin(&self, name: &str) -> Result<PathBuf> {
        for cand in [
            self.bin_dir.join(name),
            self.bin_dir.join("examples").join(name),
        ] {
            if cand.is_file() {
                return Ok(cand);
            }
        }
        bail!(
            "program {name} is not built in {} (run without --no-build)",
            self.bin_dir.display()
        )
    }

    /// Runs `program args… --json`, waits (killing it after the timeout),
    /// and parses its record. A non-zero exit is not an error here: the
    /// record says what failed, and lessons check it.
    ///
    /// # Errors
    /// When the program cannot start, times out, or prints no record.
    pub fn run(&self, program: &str, args: &[&str]) -> Result<Run> {
        self.run_with(program, args, &[])
    }

    /// As [`Ctx::run`], with extra environment variables.
    ///
    /// # Errors
    /// As [`Ctx::run`].
    pub fn run_with(&self, program: &str, args: &[&str], env: &[(&str, &str)]) -> Result<Run> {
        let path = self.bin(program)?;
        let mut cmd = Command::new(&path);
        cmd.args(args)
            .arg("--json")
            .current_dir(&self.root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let shown = format!("{program} {}", args.join(" "));
        Self::with_record(self.run_raw(cmd, &shown)?, &shown)
    }

    /// Parses the record of a finished run.
    fn with_record(raw: RawRun, shown: &str) -> Result<Run> {
        let record = Record::parse_last_line(&raw.stdout).map_err(|e| {
            anyhow::anyhow!(
                "{shown}: {e}; its stderr said: {}",
                raw.stderr.lines().last().unwrap_or("(nothing)")
            )
        })?;
        Ok(Run {
            record,
            stdout: raw.stdout,
            stderr: raw.stderr,
            code: raw.code,
            wall: raw.wall,
        })
    }

    /// Starts `cmd`, waits for it (killing it after the timeout) and
    /// returns what it printed, record or not.
    fn run_raw(&self, mut cmd: Command, shown: &str) -> Result<RawRun> {
        println!("  running {shown}");
        let start = Instant::now();
        let child = cmd.spawn().with_context(|| format!("starting {shown}"))?;
        let guard = KillOnDrop(Some(child));
        let output = self.wait(guard, shown)?;
        Ok(RawRun {
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            code: output.status.code(),
            wall: start.elapsed(),
        })
    }

    /// Runs `mpirun -n RANKS program args…` (an MPI program built with
    /// its crate's `mpi` feature): as [`Ctx::run`] when `json`, else
    /// without `--json` and without reading a record (for runs that are
    /// meant to fail). Ranks are not bound to cores (rank 0 of the
    /// lesson's programs runs two threads), more ranks than cores are
    /// allowed, and `mpirun`'s own `--timeout` ends every rank before ours
    /// would kill `mpirun` alone.
    ///
    /// # Errors
    /// No `mpirun` ([`mpirun`]), or as [`Ctx::run`].
    pub fn run_mpi(&self, ranks: usize, program: &str, args: &[&str]) -> Result<Run> {
        let (cmd, shown) = self.mpi_command(ranks, program, args, true)?;
        Self::with_record(self.run_raw(cmd, &shown)?, &shown)
    }

    /// As [`Ctx::run_mpi`], without `--json` and without a record.
    ///
    /// # Errors
    /// No `mpirun`, or the program cannot start or times out.
    pub fn run_mpi_raw(&self, ranks: usize, program: &str, args: &[&str]) -> Result<RawRun> {
        let (cmd, shown) = self.mpi_command(ranks, program, args, false)?;
        self.run_raw(cmd, &shown)
    }

    fn mpi_command(
        &self,
        ranks: usize,
        program: &str,
        args: &[&str],
        json: bool,
    ) -> Result<(Command, String)> {
        let launcher = mpirun().map_err(|e| anyhow::anyhow!("{e}"))?;
        let path = self.bin(program)?;
        let n = ranks.to_string();
        let limit = self
            .timeout
            .saturating_sub(Duration::from_secs(5))
            .as_secs()
            .max(1);
        let mut cmd = Command::new(launcher);
        cmd.args(["-n", &n, "--bind-to", "none", "--oversubscribe"])
            .args(["--timeout", &limit.to_string()])
            .arg(&path)
            .args(args);
        if json {
            cmd.arg("--json");
        }
        cmd.current_dir(&self.root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Open MPI refuses root without these (CI runs as root), and
            // some containers forbid its single-copy shared-memory path.
            .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
            .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
            .env("OMPI_MCA_btl_vader_single_copy_mechanism", "none");
        Ok((
            cmd,
            format!("mpirun -n {ranks} {program} {}", args.join(" ")),
        ))
    }

    fn wait(&self, mut guard: KillOnDrop, shown: &str) -> Result<std::process::Output> {
        // Read the pipes on threads so a chatty program never blocks.
        let child = guard.0.as_mut().expect("child present");
        let mut out = child.stdout.take().expect("piped");
        let mut err = child.stderr.take().expect("piped");
        let t_out = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = std::io::Read::read_to_end(&mut out, &mut v);
            v
        });
        let t_err = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = std::io::Read::read_to_end(&mut err, &mut v);
            v
        });
        let start = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait()? {
                break s;
            }
            if self.interrupted() {
                drop(guard);
                bail!("{shown}: interrupted (Ctrl-C)");
            }
            if start.elapsed() > self.timeout {
                drop(guard); // kills and reaps it
                bail!("{shown}: still running after {:?}; killed", self.timeout);
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        guard.0 = None;
        let stdout = t_out.join().unwrap_or_default();
        let stderr = t_err.join().unwrap_or_default();
        Ok(std::process::Output {
            status,
            stdout,
            stderr,
        })
    }

    /// A path in the report folder.
    pub fn report_path(&self, name: &str) -> PathBuf {
        self.report_dir.join(name)
    }
}

/// Kills and reaps a child if it is still running when dropped (on error,
/// timeout or panic), so run-all never leaves a program behind.
struct KillOnDrop(Option<Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_users_read_has_no_rust_internals() {
        assert_eq!(exit_text(Some(0)), "exit code 0");
        assert_eq!(exit_text(None), "killed by a signal (no exit code)");
        assert_eq!(or_missing(Some(288_998u64)), "288998");
        assert_eq!(or_missing(None::<u64>), "missing");
        assert_eq!(errors_text(&[]), "no errors");
        assert_eq!(
            errors_text(&["a: 404".into(), "b".into()]),
            "errors: a: 404; b"
        );
        for s in [
            exit_text(Some(1)),
            or_missing(Some(3)),
            errors_text(&["x".into()]),
        ] {
            assert!(!s.contains("Some(") && !s.contains("[\""), "{s}");
        }
    }
}
