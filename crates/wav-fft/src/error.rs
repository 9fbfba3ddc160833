//! The crate's error type: every message names the file (or the step) and the problem.

use std::fmt;
use std::path::PathBuf;

/// What can go wrong reading a WAV file or computing a spectrum.
///
/// New variants may be added (`#[non_exhaustive]`): match with a `_` arm.
/// Without one, a match does not compile:
///
/// ```compile_fail,E0004
/// fn describe(e: &wav_fft::Error) -> &'static str {
///     match e {
///         wav_fft::Error::Io { .. } => "io",
///         wav_fft::Error::Format { .. } => "format",
///     }
/// }
/// ```
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
        /// What is wrong.
        problem: FormatProblem,
    },
    /// A WAV file in a sample format this crate does not read (or write).
    Unsupported {
        /// The file.
        path: PathBuf,
        /// The format found.
        what: Unsupported,
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
    /// One or more parallel parts failed; every failure is listed.
    Workers(Vec<WorkerFailure>),
    /// The memory for a computation could not be obtained.
    Memory {
        /// Bytes asked for.
        bytes: usize,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A one-thread realfft of the whole signal whose plan would take more
    /// memory than the machine has available (see
    /// [`realfft_peak_bytes`](crate::spectrum::realfft_peak_bytes)): rustfft
    /// plans a length with a large prime factor with buffers of several
    /// times the signal.
    RealfftMemory {
        /// Samples in the signal.
        samples: usize,
        /// Bytes the FFT would need at its peak (an estimate, signal included).
        needs: u64,
        /// Bytes the operating system reports available.
        available: u64,
    },
    /// A distributed computation (feature `mpi`) cannot be laid out over
    /// the job's ranks, e.g. a transfer larger than MPI's 32-bit counts.
    Cluster {
        /// What is wrong.
        problem: ClusterProblem,
    },
}

/// What is wrong with a WAV header ([`Error::Format`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FormatProblem {
    /// Fewer bytes than a RIFF header.
    TooShort {
        /// Bytes in the file.
        bytes: usize,
    },
    /// The first four bytes are not a known container.
    NotRiff {
        /// The four bytes found.
        magic: [u8; 4],
    },
    /// A RIFF file of another form than WAVE.
    NotWave {
        /// The container's four letters.
        container: &'static str,
        /// The form found.
        form: [u8; 4],
    },
    /// The file ends inside a part of the header.
    EndsInside {
        /// The part ("chunk header", "fmt chunk", "ds64 chunk").
        part: &'static str,
        /// Where the file ends.
        at: u64,
    },
    /// Too many chunks before both `fmt ` and `data`.
    TooManyChunks {
        /// The limit.
        max: usize,
    },
    /// No `fmt ` chunk.
    NoFmt,
    /// No `data` chunk.
    NoData,
    /// A `fmt ` chunk shorter than 16 bytes.
    FmtTooShort {
        /// Its size.
        size: u64,
    },
    /// An EXTENSIBLE `fmt ` chunk too short for its sub-format.
    ExtensibleTooShort,
    /// An RF64/BW64 file whose data size should be in a `ds64` chunk it lacks.
    NoDs64 {
        /// The container's four letters.
        container: &'static str,
    },
    /// Zero channels.
    NoChannels,
    /// A sample rate of 0.
    ZeroSampleRate,
    /// A block alignment that is not channels × bytes per sample.
    BlockAlign {
        /// The header's nBlockAlign.
        block_align: u16,
        /// Channels.
        channels: u16,
        /// Bytes per sample.
        bytes: usize,
    },
    /// More than this machine's address space can hold.
    TooLarge,
}

impl fmt::Display for FormatProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        match self {
            FormatProblem::TooShort { bytes } => write!(
                f,
                "{bytes} bytes: too short for a WAV header (12 bytes at least)"
            ),
            FormatProblem::NotRiff { magic } => write!(
                f,
                "starts with {:?}, not RIFF, RIFX, RF64 or BW64",
                text(magic)
            ),
            FormatProblem::NotWave { container, form } => {
                write!(f, "a {container} file of form {:?}, not WAVE", text(form))
            }
            FormatProblem::EndsInside { part, at } => {
                write!(f, "the file ends inside the {part} (at byte {at})")
            }
            FormatProblem::TooManyChunks { max } => {
                write!(f, "more than {max} chunks without both fmt and data")
            }
            FormatProblem::NoFmt => write!(f, "no fmt chunk"),
            FormatProblem::NoData => write!(f, "no data chunk"),
            FormatProblem::FmtTooShort { size } => {
                write!(f, "fmt chunk of {size} bytes (16 at least)")
            }
            FormatProblem::ExtensibleTooShort => write!(
                f,
                "EXTENSIBLE fmt chunk too short for its sub-format (40 bytes with cbSize 22 needed)"
            ),
            FormatProblem::NoDs64 { container } => write!(
                f,
                "{container} file whose data size is in a ds64 chunk, but it has none"
            ),
            FormatProblem::NoChannels => write!(f, "0 channels"),
            FormatProblem::ZeroSampleRate => write!(f, "sample rate is 0"),
            FormatProblem::BlockAlign {
                block_align,
                channels,
                bytes,
            } => write!(
                f,
                "block align {block_align} but {channels} channels of {bytes} bytes make {}",
                usize::from(*channels) * bytes
            ),
            FormatProblem::TooLarge => write!(f, "larger than the address space"),
        }
    }
}

/// A sample format this crate does not read or write ([`Error::Unsupported`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unsupported {
    /// A sample size that does not fit its block.
    SampleSize {
        /// wBitsPerSample.
        bits: u16,
        /// nBlockAlign.
        block_align: u16,
        /// Channels.
        channels: u16,
    },
    /// More valid bits than the container holds (or none).
    ValidBits {
        /// wValidBitsPerSample.
        valid: u16,
        /// Bytes per sample.
        container: usize,
    },
    /// IEEE float samples of a size other than 4 or 8 bytes.
    FloatSize {
        /// Bytes per sample.
        bytes: usize,
    },
    /// Writing samples of this depth (the generator writes 16 or 24 bits).
    WriteBits {
        /// The depth asked for.
        bits: u16,
    },
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unsupported::SampleSize {
                bits,
                block_align,
                channels,
            } => write!(
                f,
                "{bits} bits per sample in blocks of {block_align} bytes for {channels} channels"
            ),
            Unsupported::ValidBits { valid, container } => {
                write!(f, "{valid} valid bits in a {container}-byte container")
            }
            Unsupported::FloatSize { bytes } => write!(f, "IEEE float samples of {bytes} bytes"),
            Unsupported::WriteBits { bits } => {
                write!(f, "writing {bits}-bit samples (16 or 24 only)")
            }
        }
    }
}

/// Why a distributed computation cannot be laid out ([`Error::Cluster`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClusterProblem {
    /// A job of zero ranks.
    NoRanks,
    /// One rank would exchange more complex numbers than MPI's 32-bit counts allow.
    RankExchange {
        /// The rank.
        rank: usize,
        /// Complex numbers it would exchange.
        complex: usize,
    },
    /// A plan made for another number of ranks than the job has.
    Ranks {
        /// Ranks the plan is for.
        planned: usize,
        /// Ranks in the job.
        job: usize,
    },
    /// One transfer of more values than MPI's 32-bit counts allow.
    Transfer {
        /// Values in the transfer.
        values: usize,
    },
}

impl fmt::Display for ClusterProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClusterProblem::NoRanks => write!(f, "a job needs at least one rank"),
            ClusterProblem::RankExchange { rank, complex } => write!(
                f,
                "rank {rank} would exchange {complex} complex numbers, more than MPI's 32-bit counts allow: use more ranks"
            ),
            ClusterProblem::Ranks { planned, job } => {
                write!(f, "the plan is for {planned} ranks, the job has {job}")
            }
            ClusterProblem::Transfer { values } => write!(
                f,
                "a transfer of {values} values exceeds MPI's 32-bit counts: use more ranks"
            ),
        }
    }
}

/// One failed part of a parallel computation ([`Error::Workers`]).
#[derive(Debug)]
#[non_exhaustive]
pub struct WorkerFailure {
    /// The part's index.
    pub part: usize,
    /// How it failed.
    pub failure: PartFailure,
}

/// How a part failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum PartFailure {
    /// It returned an error.
    Failed(Box<Error>),
    /// It panicked, with this message.
    Panicked(String),
}

impl fmt::Display for WorkerFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.failure {
            PartFailure::Failed(e) => write!(f, "part {}: {e}", self.part),
            PartFailure::Panicked(m) => write!(f, "part {} panicked: {m}", self.part),
        }
    }
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn format(path: impl Into<PathBuf>, problem: FormatProblem) -> Self {
        Error::Format {
            path: path.into(),
            problem,
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
            Error::RealfftMemory {
                samples,
                needs,
                available,
            } => write!(
                f,
                "a one-thread realfft of {samples} samples would need about {:.1} GB \
                 (rustfft's plan for this length; {} bytes per sample), but only {:.1} GB \
                 of memory are available; the exact parallel FFT (fft-05, \
                 wav_fft::parallel::exact) computes the same spectrum in far less",
                *needs as f64 / 1e9,
                needs / (*samples).max(1) as u64,
                *available as f64 / 1e9
            ),
            Error::Cluster { problem } => write!(f, "MPI job: {problem}"),
            Error::Workers(failures) => {
                write!(f, "{} worker(s) failed: ", failures.len())?;
                for (i, w) in failures.iter().enumerate() {
                    if i > 0 {
                        write!(f, "; ")?;
                    }
                    write!(f, "{w}")?;
                }
                Ok(())
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
