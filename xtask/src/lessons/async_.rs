//! Lesson `async` (book 1.3): not built yet — the registry lists it so
//! `cargo xtask lessons` shows the whole course; run-all reports it as
//! pending without failing.

use anyhow::Result;

use super::Lesson;
use crate::Ctx;
use crate::report::LessonReport;

/// The registry entry.
pub const LESSON: Lesson = Lesson {
    id: "async",
    section: "1.3",
    title: "futures, tasks, the blocked spinner, async downloads at scale",
    crates: &["downloader-async"],
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
