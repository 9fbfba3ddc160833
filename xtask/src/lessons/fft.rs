//! Lesson `fft` (book 1.4.3): not built yet — the registry lists it so
//! `cargo xtask lessons` shows the whole course; run-all reports it as
//! pending without failing.

use anyhow::Result;

use super::Lesson;
use crate::Ctx;
use crate::report::LessonReport;

/// The registry entry.
pub const LESSON: Lesson = Lesson {
    id: "fft",
    section: "1.4.3",
    title: "the spectrum of a long WAV, serial and parallel",
    crates: &["wav-fft"],
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

/// `cargo xtask gen-data`: nothing yet (the fft lesson will generate WAVs).
///
/// # Errors
/// Never, for now.
pub fn gen_data(_opts: &crate::GenDataOptions) -> Result<()> {
    println!("nothing to generate yet: the fft lesson is not built");
    Ok(())
}
