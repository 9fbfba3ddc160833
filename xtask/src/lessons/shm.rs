//! Lesson `shm` (book 1.4.1–1.4.2): not built yet — the registry lists it so
//! `cargo xtask lessons` shows the whole course; run-all reports it as
//! pending without failing.

use anyhow::Result;

use super::Lesson;
use crate::Ctx;
use crate::report::LessonReport;

/// The registry entry.
pub const LESSON: Lesson = Lesson {
    id: "shm",
    section: "1.4.1–1.4.2",
    title: "arrays in shared memory between processes",
    crates: &["shm-array"],
    build_args: &[],
    programs: &[],
    run,
};

fn run(_ctx: &Ctx) -> Result<LessonReport> {
    let mut rep = LessonReport::new(&LESSON);
    rep.notes
        .push("not built yet: this lesson has no programs".into());
    Ok(rep)
}
