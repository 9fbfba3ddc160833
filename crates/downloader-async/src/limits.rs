//! The open-files limit: every request in flight holds a socket, and a
//! socket is a file descriptor.
//!
//! A process starts with a *soft* limit (often 1,024) that it may raise by
//! itself up to the *hard* limit; going past the hard limit needs root.
//! [`raise_nofile`] does the first and reports the second.

use nix::sys::resource::{Resource, getrlimit, setrlimit};

/// The open-files limit before and after [`raise_nofile`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NofileLimit {
    /// The soft limit found at start.
    pub before: u64,
    /// The soft limit now.
    pub soft: u64,
    /// The hard limit (the ceiling without root).
    pub hard: u64,
}

impl NofileLimit {
    /// True when at least `wanted` descriptors may be open.
    pub fn allows(&self, wanted: u64) -> bool {
        self.soft >= wanted
    }
}

/// Raises the soft open-files limit toward `wanted`, never past the hard
/// limit, and never lowers it.
///
/// # Errors
/// When the limit cannot be read or set.
///
/// # Examples
///
/// ```
/// let lim = downloader_async::limits::raise_nofile(64).unwrap();
/// assert!(lim.soft >= lim.before.min(64));
/// assert!(lim.soft <= lim.hard);
/// ```
pub fn raise_nofile(wanted: u64) -> nix::Result<NofileLimit> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    let target = wanted.min(hard);
    if target > soft {
        setrlimit(Resource::RLIMIT_NOFILE, target, hard)?;
    }
    let (now, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    Ok(NofileLimit {
        before: soft,
        soft: now,
        hard,
    })
}

/// Descriptors a download with `in_flight` requests at once needs: one
/// socket per request, plus the server's side when it runs in the same
/// process, plus some slack for the runtime, stdio and files.
///
/// ```
/// use downloader_async::limits::descriptors_needed;
/// assert_eq!(descriptors_needed(1000, false), 1_100);
/// assert_eq!(descriptors_needed(1000, true), 2_100);
/// ```
pub fn descriptors_needed(in_flight: usize, server_in_process: bool) -> u64 {
    let n = in_flight as u64;
    if server_in_process {
        2 * n + 100
    } else {
        n + 100
    }
}

/// Raises the limit for `in_flight` requests (see [`descriptors_needed`]).
/// When it cannot go high enough, returns how many requests in flight do
/// fit, with a message saying so and naming the fix.
///
/// ```
/// use downloader_async::limits::fit_in_flight;
/// let (fits, warning) = fit_in_flight(10, false);
/// assert_eq!((fits, warning), (10, None)); // 110 descriptors are always there
/// ```
pub fn fit_in_flight(in_flight: usize, server_in_process: bool) -> (usize, Option<String>) {
    let wanted = descriptors_needed(in_flight, server_in_process);
    match raise_nofile(wanted) {
        Ok(lim) if !lim.allows(wanted) => {
            let per_request = if server_in_process { 2 } else { 1 };
            let fits = (lim.soft.saturating_sub(100) / per_request).max(1) as usize;
            let msg = format!(
                "the open-files limit is {} (hard limit {}), but {in_flight} requests in flight \
                 need about {wanted} descriptors: running at most {fits} at once instead. \
                 Raise the hard limit (`ulimit -Hn`, needs root) to allow more",
                lim.soft, lim.hard
            );
            (fits, Some(msg))
        }
        Ok(_) => (in_flight, None),
        Err(e) => (
            in_flight,
            Some(format!("cannot read or raise the open-files limit: {e}")),
        ),
    }
}
