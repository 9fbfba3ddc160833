//! Lesson `pool` (book 1.4.1): not built yet — the registry lists it so
//! `cargo xtask lessons` shows the whole course; run-all reports it as
//! pending without failing.

use anyhow::Result;

use super::Lesson;
use crate::Ctx;
use crate::report::LessonReport;

/// The registry entry.
pub const LESSON: Lesson = Lesson {
    id: "pool",
    section: "1.4.1",
    title: "the process pool factorizer, threads vs processes",
    crates: &["factorizer-pool"],
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
