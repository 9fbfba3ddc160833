//! Sharing beyond one user, and read-only peers: the mode a named segment
//! is created with, read-only handles mapped `PROT_READ`, and segments of
//! another user refused unless trusted.
//!
//! Own harness (libtest-mimic): the test that hands a segment to another
//! user needs root; without it, it is reported `ignored`, and under
//! `CI=true` it fails saying so (CI runs as root).

mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use libtest_mimic::{Arguments, Failed, Trial};
use shm_array::{CreateOptions, Error, Layout, OpenOptions, Segment, ShmArray};
use support::ShmGuard;

fn check(ok: bool, msg: impl Into<String>) -> Result<(), Failed> {
    if ok { Ok(()) } else { Err(msg.into().into()) }
}

fn path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(shm_array::SHM_DIR).join(name)
}

/// The permissions column of this process's mappings of `name`.
fn mapping_perms(name: &str) -> Vec<String> {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    let wanted = format!("/dev/shm/{name}");
    maps.lines()
        .filter(|l| l.split_whitespace().nth(5) == Some(wanted.as_str()))
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .collect()
}

fn read_only_handles_map_prot_read() -> Result<(), Failed> {
    let g = ShmGuard::new("ro");
    let name = g.name();
    let layout = Layout::new().array::<f64>("a", 4)?.array::<u8>("u", 3)?;
    let mut seg = Segment::create(&name, &layout)?;
    let mut a = seg.take::<f64>("a")?;
    a.copy_from_slice(&[1.0, 2.0, 3.0, 4.0]);
    check(
        mapping_perms(&name) == ["rw-s"],
        format!("{:?}", mapping_perms(&name)),
    )?;
    // SAFETY: this process writes `a` only while `ro_a` is not borrowed.
    let mut ro = unsafe { Segment::open_read_only(&name) }?;
    let perms = mapping_perms(&name);
    check(
        perms.len() == 2 && perms.contains(&"r--s".to_string()),
        format!("a read-only handle maps PROT_READ: {perms:?}"),
    )?;
    let ro_a = ro.take::<f64>("a")?;
    check(ro_a.as_slice() == [1.0, 2.0, 3.0, 4.0], format!("{ro_a:?}"))?;
    a[0] = 10.0;
    check(ro_a[0] == 10.0, "the creator's write is seen")?;
    // Typed checks apply as for read-write handles.
    check(
        matches!(ro.take::<f32>("u"), Err(Error::TypeMismatch { .. })),
        "u8 array taken as f32",
    )?;
    // A read-only handle never unlinks on drop (it is not the creator).
    drop((ro_a, ro));
    check(
        g.left() == [name.clone()],
        "dropping a reader removed the name",
    )?;
    // Single-array segments too.
    let one = g.name();
    let _w = ShmArray::<i32>::create(&one, 5)?;
    // SAFETY: nobody writes it.
    let r = unsafe { ShmArray::<i32>::open_read_only(&one) }?;
    check(r.len() == 5 && r.iter().all(|&x| x == 0), format!("{r:?}"))?;
    Ok(())
}

fn modes_are_chosen_at_creation() -> Result<(), Failed> {
    let g = ShmGuard::new("mode");
    let layout = Layout::new().array::<u8>("x", 10)?;
    let mode_of = |n: &str| -> Result<(u32, u32), Failed> {
        let m = std::fs::metadata(path(n))?;
        Ok((m.permissions().mode() & 0o7777, m.gid()))
    };
    let default = g.name();
    let _d = Segment::create(&default, &layout)?;
    check(mode_of(&default)?.0 == 0o600, "the default stays 0600")?;
    let lab = g.name();
    let gid = nix::unistd::getgid().as_raw();
    let _l = Segment::create_with(&lab, &layout, &CreateOptions::new().mode(0o640).group(gid))?;
    check(
        mode_of(&lab)? == (0o640, gid),
        format!("0640 + group: {:o}", mode_of(&lab)?.0),
    )?;
    let everyone = g.name();
    let _e = Segment::create_with(&everyone, &layout, &CreateOptions::new().mode(0o644))?;
    check(mode_of(&everyone)?.0 == 0o644, "0644")?;
    // SAFETY: the test is the only process that can open it.
    let w = unsafe { CreateOptions::new().mode_writable_by_others(0o660) };
    let shared = g.name();
    let _s = Segment::create_with(&shared, &layout, &w)?;
    check(
        mode_of(&shared)?.0 == 0o660,
        "0660 through the unsafe option",
    )?;
    for bad in [
        0o666, 0o660, 0o602, 0o700, 0o400, 0o200, 0o1600, 0o4600, 0o100_000,
    ] {
        let n = g.name();
        match Segment::create_with(&n, &layout, &CreateOptions::new().mode(bad)) {
            Err(e @ Error::BadMode { .. }) => {
                let msg = e.to_string();
                check(
                    msg.contains(&n) && msg.contains(&format!("{bad:#o}")),
                    msg.clone(),
                )?;
            }
            other => return Err(format!("mode {bad:o}: {other:?}").into()),
        }
        check(!path(&n).exists(), format!("mode {bad:o} left {n}"))?;
    }
    Ok(())
}

fn another_users_segment_is_refused_unless_trusted() -> Result<(), Failed> {
    let g = ShmGuard::new("owner");
    let name = g.name();
    let layout = Layout::new().array::<f64>("a", 2)?;
    let mut seg = Segment::create_with(&name, &layout, &CreateOptions::new().mode(0o640))?;
    seg.take::<f64>("a")?.copy_from_slice(&[1.5, 2.5]);
    // As if a colleague (uid 4321) had made it.
    std::os::unix::fs::chown(path(&name), Some(4321), None)?;
    // SAFETY: nobody writes it during the test.
    let err = unsafe { Segment::open_read_only(&name) }.unwrap_err();
    let msg = err.to_string();
    check(
        matches!(err, Error::PermissionDenied { .. })
            && msg.contains(&name)
            && msg.contains("uid 4321")
            && msg.contains("OpenOptions::owner(4321)"),
        msg,
    )?;
    // SAFETY: as above.
    let err = unsafe { Segment::open(&name) }.unwrap_err();
    check(
        matches!(err, Error::PermissionDenied { .. }),
        format!("{err}"),
    )?;
    let trusted = OpenOptions::new().owner(4321);
    // SAFETY: as above.
    let mut ro = unsafe { trusted.open_read_only(&name) }?;
    check(ro.take::<f64>("a")?.as_slice() == [1.5, 2.5], "trusted")?;
    // Trusting someone else does not help.
    // SAFETY: as above.
    let err = unsafe { OpenOptions::new().owner(99).open_read_only(&name) }.unwrap_err();
    check(
        matches!(err, Error::PermissionDenied { .. }),
        format!("{err}"),
    )?;
    Ok(())
}

type Test = fn() -> Result<(), Failed>;

fn main() {
    let args = Arguments::from_args();
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let root = nix::unistd::geteuid().is_root();
    let tests: [(&str, Test, bool); 3] = [
        (
            "read_only_handles_map_prot_read",
            read_only_handles_map_prot_read,
            false,
        ),
        (
            "modes_are_chosen_at_creation",
            modes_are_chosen_at_creation,
            false,
        ),
        (
            "another_users_segment_is_refused_unless_trusted",
            another_users_segment_is_refused_unless_trusted,
            true,
        ),
    ];
    if !root && !ci {
        eprintln!("not root: the test that gives a segment to another user is reported ignored");
    }
    let trials = tests
        .into_iter()
        .map(|(name, f, needs_root)| {
            Trial::test(name, move || {
                if needs_root && !root {
                    return Err(
                        "needs root to give a segment to another user (CI=true: CI runs as root)"
                            .into(),
                    );
                }
                f()
            })
            .with_ignored_flag(needs_root && !root && !ci)
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
