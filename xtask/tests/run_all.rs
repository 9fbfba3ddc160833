//! `cargo xtask run-all --lesson seq` end to end (debug build, so the test
//! stays quick): the program runs, its record is read, the phenomenon is
//! checked, the report and its chart are written.

use xtask::RunOptions;

#[test]
fn run_all_seq_writes_a_report_naming_the_lesson() {
    let dir = std::env::temp_dir().join(format!("xtask-report-{}", std::process::id()));
    let opts = RunOptions {
        lessons: vec!["seq".into()],
        debug: true,
        report_dir: Some(dir.clone()),
        ..Default::default()
    };
    let outcome = xtask::run_all(&opts).expect("run-all runs");
    assert_eq!(outcome.lessons.len(), 1);
    let seq = &outcome.lessons[0];
    assert_eq!(seq.id, "seq");
    let total = seq
        .checks
        .iter()
        .find(|c| c.what.contains("equals the bytes on disk"))
        .expect("the total is checked");
    assert!(total.ok, "{total:?}");
    let md = std::fs::read_to_string(&outcome.report_path).unwrap();
    assert!(md.contains("## seq"), "{md}");
    assert!(md.contains("288998"), "the table shows the total: {md}");
    let svg = std::fs::read_to_string(dir.join("seq-timeline.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("intro.txt"),
        "chart names the files"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unknown_lesson_is_a_clear_error() {
    let e = xtask::select(&["thredas".into()]).unwrap_err().to_string();
    assert!(e.contains("unknown lesson 'thredas'"), "{e}");
    assert!(e.contains("seq, threads, async, pool, shm, fft"), "{e}");
}
