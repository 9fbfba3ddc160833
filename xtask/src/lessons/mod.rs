//! The lesson registry: one entry per lesson, in book order. Adding a lesson
//! means one entry here and one module with its `run` function.

use anyhow::Result;

use crate::report::LessonReport;
use crate::{Ctx, GenDataOptions};

mod async_;
mod cluster;
mod fft;
pub use fft::bench_ratios;
mod pool;
mod seq;
mod shm;
mod threads;

/// One lesson: what it is, what to build, how to run and check it.
#[derive(Debug)]
pub struct Lesson {
    /// The id for `--lesson`.
    pub id: &'static str,
    /// Book section.
    pub section: &'static str,
    /// One-line title.
    pub title: &'static str,
    /// Crates the lesson lives in.
    pub crates: &'static [&'static str],
    /// Arguments added to `cargo build` (packages, targets, features).
    pub build_args: &'static [&'static str],
    /// Programs run by `run-all`, in lesson order.
    pub programs: &'static [&'static str],
    /// Runs the programs, checks the phenomenon, fills the report.
    pub run: fn(&Ctx) -> Result<LessonReport>,
}

/// Every lesson, in book order.
pub static ALL: &[Lesson] = &[
    seq::LESSON,
    threads::LESSON,
    async_::LESSON,
    pool::LESSON,
    shm::LESSON,
    fft::LESSON,
    cluster::LESSON,
];

/// Why `lesson` cannot run on this machine (a tool it needs is missing,
/// and how to install it), in one line; `None` when it can. `path` is a
/// `PATH` value to search.
pub fn missing_tool(lesson: &Lesson, path: Option<&std::ffi::OsStr>) -> Option<String> {
    if lesson.id == cluster::LESSON.id {
        return cluster::missing_tool(path);
    }
    None
}

/// Generates the data lessons need (`cargo xtask gen-data`).
///
/// # Errors
/// When a generator fails.
pub fn gen_data(opts: &GenDataOptions) -> Result<()> {
    fft::gen_data(opts)
}
