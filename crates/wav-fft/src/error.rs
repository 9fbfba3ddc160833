//! The crate's error type: every message names the file (or the step) and the problem.

use std::fmt;
use std::path::PathBuf;

/// What can go wrong reading a WAV file or computing a spectrum.
///
/// New variants may be added (`#[non_exhaustive]`): match with a `_` arm.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened or read.
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file is not a WAV file, or its header is malformed or truncated.
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong, in words.
        problem: String,
    },
    /// A WAV file in a sample format this crate does not read.
    Unsupported {
        /// The file.
        path: PathBuf,
        /// The format found.
        what: String,
    },
    /// A WAV file whose format tag (µ-law, A-law, ADPCM, MP3, …) this crate
    /// does not decode.
    FormatTag {
        /// The file.
        path: PathBuf,
        /// The format tag (for EXTENSIBLE, its sub-format's).
        tag: u16,
        /// The format's name, when it is a known one.
        name: Option<&'static str>,
    },
    /// The data chunk claims more bytes than the file holds.
    Truncated {
        /// The file.
        path: PathBuf,
        /// Bytes of audio the header announces.
        claimed: u64,
        /// Bytes actually present after the header.
        present: u64,
    },
    /// The file holds no audio frames.
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// A signal too short for the requested split (e.g. fewer samples than workers).
    TooShort {
        /// Samples in the signal.
        samples: usize,
        /// Samples needed at least.
        needed: usize,
    },
    /// A segment length of zero, or longer than the signal (Welch, spectrogram).
    SegmentLength {
        /// The segment length asked for (nperseg).
        nperseg: usize,
        /// Samples in the signal.
        samples: usize,
    },
    /// Segments that overlap by their whole length or more (noverlap ≥ nperseg).
    Overlap {
        /// The overlap asked for.
        noverlap: usize,
        /// The segment length.
        nperseg: usize,
    },
    /// A spectrogram grid with no cell, or a frequency range that is not
    /// 0 < f_lo < f_hi.
    Grid {
        /// Time columns asked for.
        columns: usize,
        /// Frequency rows asked for.
        rows: usize,
        /// Lowest frequency, Hz.
        f_lo: f64,
        /// Highest frequency, Hz.
        f_hi: f64,
    },
    /// A channel the file does not have.
    Channel {
        /// The file.
        path: PathBuf,
        /// The channel asked for (0-based).
        channel: usize,
        /// Channels in the file.
        channels: u16,
    },
    /// One or more parallel workers failed; every failure is listed.
    Workers(Vec<String>),
    /// The memory for a computation could not be obtained.
    Memory {
        /// Bytes asked for.
        bytes: usize,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A distributed computation (feature `mpi`) cannot be laid out over
    /// the job's ranks, e.g. a transfer larger than MPI's 32-bit counts.
    Cluster {
        /// What is wrong, in words.
        problem: String,
    },
    /// A plot could not be drawn or written.
    Plot {
        /// The picture's file.
        path: PathBuf,
        /// What went wrong.
        problem: String,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn format(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        Error::Format {
            path: path.into(),
            problem: problem.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Format { path, problem } => {
                write!(f, "{}: not a readable WAV file: {problem}", path.display())
            }
            Error::Unsupported { path, what } => {
                write!(f, "{}: unsupported WAV format: {what}", path.display())
            }
            Error::FormatTag { path, tag, name } => write!(
                f,
                "{}: unsupported WAV format tag 0x{tag:04X} ({}): only PCM and IEEE float are read",
                path.display(),
                name.unwrap_or("unknown")
            ),
            Error::Truncated {
                path,
                claimed,
                present,
            } => write!(
                f,
                "{}: truncated WAV file: the header announces {claimed} bytes of audio but only {present} follow it (allowing truncated input, e.g. --allow-truncated, reads the whole frames present)",
                path.display()
            ),
            Error::Empty { path } => {
                write!(f, "{}: the WAV file holds no audio frames", path.display())
            }
            Error::TooShort { samples, needed } => write!(
                f,
                "the signal has {samples} samples; this needs at least {needed}"
            ),
            Error::SegmentLength { nperseg, samples } => {
                if *nperseg == 0 {
                    write!(f, "nperseg must be at least 1 (got 0)")
                } else {
                    write!(
                        f,
                        "nperseg {nperseg} is longer than the signal ({samples} samples): use at most {samples}"
                    )
                }
            }
            Error::Overlap { noverlap, nperseg } => {
                write!(f, "noverlap {noverlap} must be less than nperseg {nperseg}")
            }
            Error::Grid {
                columns,
                rows,
                f_lo,
                f_hi,
            } => write!(
                f,
                "a spectrogram grid of {columns} × {rows} cells from {f_lo} to {f_hi} Hz is empty (need columns, rows ≥ 1 and 0 < f_lo < f_hi)"
            ),
            Error::Channel {
                path,
                channel,
                channels,
            } => write!(
                f,
                "{}: no channel {channel}: the file has {channels} (0 to {})",
                path.display(),
                channels.saturating_sub(1)
            ),
            Error::Memory { bytes, source } => {
                write!(f, "cannot get {bytes} bytes of memory: {source}")
            }
            Error::Plot { path, problem } => {
                write!(f, "{}: cannot draw the plot: {problem}", path.display())
            }
            Error::Cluster { problem } => write!(f, "MPI job: {problem}"),
            Error::Workers(errors) => {
                write!(
                    f,
                    "{} worker(s) failed: {}",
                    errors.len(),
                    errors.join("; ")
                )
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } | Error::Memory { source, .. } => Some(source),
            _ => None,
        }
    }
}
