//! Helpers shared by the lesson programs (included with `#[path]`).

#![allow(dead_code)]

use std::fmt::Debug;

/// Prints a list like Python does (`[4, 4, 4]`), shortened for long ones.
pub fn show<T: Debug>(v: &[T]) -> String {
    const MAX: usize = 16;
    let items = |s: &[T]| {
        s.iter()
            .map(|x| format!("{x:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if v.len() <= MAX {
        format!("[{}]", items(v))
    } else {
        format!(
            "[{}, …, {}] ({} elements)",
            items(&v[..6]),
            items(&v[v.len() - 2..]),
            v.len()
        )
    }
}

/// True when /dev/shm still has a segment called `name`.
pub fn still_in_dev_shm(name: &str) -> bool {
    std::path::Path::new(shm_array::SHM_DIR).join(name).exists()
}

/// Removes leaked segments (dead holders only, see `shm_array::sweep_leaked`)
/// named `prefix…` and says what it did, at the start of a lesson program.
pub fn sweep_at_start(prefix: &str) -> anyhow::Result<()> {
    let sweep = shm_array::sweep_leaked(prefix)?;
    for name in &sweep.removed {
        eprintln!("removed leaked segment {name:?} (its creator died)");
    }
    for (name, why) in &sweep.skipped {
        eprintln!("could not inspect segment {name:?}: {why}");
    }
    Ok(())
}

static UNLINK_ON_SIGNAL: std::sync::atomic::AtomicPtr<Vec<std::ffi::CString>> =
    std::sync::atomic::AtomicPtr::new(std::ptr::null_mut());

extern "C" fn unlink_and_exit(sig: libc::c_int) {
    let p = UNLINK_ON_SIGNAL.load(std::sync::atomic::Ordering::Acquire);
    if !p.is_null() {
        // SAFETY: `p` came from `Box::leak` and is never freed; reading the
        // CStrings and calling unlink(2) and _exit(2) are async-signal-safe.
        for path in unsafe { &*p } {
            // SAFETY: `path` is a NUL-terminated string that outlives us.
            unsafe { libc::unlink(path.as_ptr()) };
        }
    }
    // SAFETY: ends the process at once, as the default action would.
    unsafe { libc::_exit(128 + sig) }
}

/// On SIGINT or SIGTERM, unlinks the named segments `names` (in /dev/shm)
/// and exits with 128 + the signal: Ctrl-C does not leak them. The handler
/// does only async-signal-safe work (unlink, _exit) and starts no thread,
/// so the fork pool still works.
pub fn unlink_on_signal(names: &[String]) {
    let paths: Vec<std::ffi::CString> = names
        .iter()
        .filter_map(|n| std::ffi::CString::new(format!("{}/{n}", shm_array::SHM_DIR)).ok())
        .collect();
    UNLINK_ON_SIGNAL.store(
        Box::into_raw(Box::new(paths)),
        std::sync::atomic::Ordering::Release,
    );
    let action = nix::sys::signal::SigAction::new(
        nix::sys::signal::SigHandler::Handler(unlink_and_exit),
        nix::sys::signal::SaFlags::empty(),
        nix::sys::signal::SigSet::empty(),
    );
    for sig in [
        nix::sys::signal::Signal::SIGINT,
        nix::sys::signal::Signal::SIGTERM,
    ] {
        // SAFETY: the handler is async-signal-safe (see `unlink_and_exit`).
        let _ = unsafe { nix::sys::signal::sigaction(sig, &action) };
    }
}
