//! Finds the workspace's `data/` folder from any working directory.
//!
//! Order: the `PARALLEL_BOOK_DATA` environment variable; then the first
//! ancestor of the current directory that holds `data/downloads`; then the
//! folder this crate was built from (`crates/common/../../data`).
//!
//! Small inputs are committed under `data/`; big generated ones go to
//! `data/generated/` (git-ignored), see [`generated_dir`].

use std::fmt;
use std::path::{Path, PathBuf};

/// The environment variable that overrides the data folder.
pub const DATA_ENV: &str = "PARALLEL_BOOK_DATA";

/// The data folder could not be found.
#[derive(Debug, Clone, PartialEq)]
pub struct DataDirError {
    /// Every place that was tried.
    pub tried: Vec<PathBuf>,
}

impl fmt::Display for DataDirError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot find the data folder (tried ")?;
        for (i, p) in self.tried.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{}", p.display())?;
        }
        write!(
            f,
            "); run from inside the workspace or set {DATA_ENV}=/path/to/data"
        )
    }
}

impl std::error::Error for DataDirError {}

/// The data folder (it contains `downloads/`).
///
/// # Errors
/// [`DataDirError`] lists every place tried, and says how to fix it.
///
/// # Examples
///
/// ```
/// let data = common::data::data_dir().unwrap();
/// assert!(data.join("downloads").is_dir());
/// ```
pub fn data_dir() -> Result<PathBuf, DataDirError> {
    let mut tried = Vec::new();
    if let Some(dir) = std::env::var_os(DATA_ENV) {
        let dir = PathBuf::from(dir);
        if dir.is_dir() {
            return Ok(dir);
        }
        tried.push(dir);
        return Err(DataDirError { tried });
    }
    if let Ok(cwd) = std::env::current_dir() {
        for anc in cwd.ancestors() {
            let cand = anc.join("data");
            if cand.join("downloads").is_dir() {
                return Ok(cand);
            }
        }
        tried.push(cwd.join("data"));
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data");
    if built.join("downloads").is_dir() {
        return Ok(built.canonicalize().unwrap_or(built));
    }
    tried.push(built);
    Err(DataDirError { tried })
}

/// `data/downloads`: the five files the downloaders fetch.
///
/// # Errors
/// As [`data_dir`].
pub fn downloads_dir() -> Result<PathBuf, DataDirError> {
    data_dir().map(|d| d.join("downloads"))
}

/// `data/generated`: big generated inputs (git-ignored), created if missing.
///
/// # Errors
/// As [`data_dir`], or when the folder cannot be created.
pub fn generated_dir() -> Result<PathBuf, Box<dyn std::error::Error + Send + Sync>> {
    let dir = data_dir()?.join("generated");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

/// The names of the five files in `data/downloads`, in the book's order.
pub const DOWNLOAD_NAMES: [&str; 5] = [
    "integracion.txt",
    "intro.txt",
    "numpy.txt",
    "ordinarias.txt",
    "parciales.txt",
];

/// Sum of the sizes of the download files on disk: the total every
/// downloader must print.
///
/// # Errors
/// Names the file that cannot be read.
pub fn downloads_total_bytes(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for name in DOWNLOAD_NAMES {
        let path = dir.join(name);
        let meta = std::fs::metadata(&path)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        total += meta.len();
    }
    Ok(total)
}
