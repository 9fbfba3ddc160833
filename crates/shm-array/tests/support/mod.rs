//! Shared test helpers: unique name prefixes, a guard that fails the test if
//! any segment with its prefix is left in /dev/shm, and re-running this
//! test binary as a child process.

#![allow(dead_code)]

use std::process::{Command, Stdio};

/// Names this test creates start with this prefix; on drop, the guard
/// removes anything left (so a failing test does not litter) and then
/// fails if something was left.
pub struct ShmGuard {
    pub prefix: String,
}

impl ShmGuard {
    pub fn new(test: &str) -> Self {
        ShmGuard {
            prefix: format!("shmtest-{}-{test}-", std::process::id()),
        }
    }

    pub fn name(&self) -> String {
        shm_array::unique_name(&self.prefix)
    }

    pub fn left(&self) -> Vec<String> {
        std::fs::read_dir(shm_array::SHM_DIR)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with(&self.prefix))
            .collect()
    }
}

impl Drop for ShmGuard {
    fn drop(&mut self) {
        let left = self.left();
        for n in &left {
            let _ = std::fs::remove_file(std::path::Path::new(shm_array::SHM_DIR).join(n));
        }
        if !std::thread::panicking() {
            assert!(left.is_empty(), "segments left in /dev/shm: {left:?}");
        }
    }
}

/// Runs the test `test` of this same test binary in a child process, with
/// the environment `env`; returns (exit status, stdout).
pub fn run_child(test: &str, env: &[(&str, &str)]) -> (std::process::ExitStatus, String) {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(exe);
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}
