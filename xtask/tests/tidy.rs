//! Tidy checks that reviews forget: file headers, unique program names,
//! lessons listed in the docs, `unsafe` only where allowed and justified.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn all_sources() -> Vec<PathBuf> {
    let mut files = Vec::new();
    rust_files(&root().join("crates"), &mut files);
    rust_files(&root().join("xtask"), &mut files);
    files.sort();
    files
}

#[test]
fn every_rust_file_starts_with_a_doc_header() {
    let missing: Vec<_> = all_sources()
        .into_iter()
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            !text.trim_start().starts_with("//!")
        })
        .collect();
    assert!(
        missing.is_empty(),
        "files without a `//!` header: {missing:#?}"
    );
}

#[test]
fn program_names_are_unique_and_prefixed_by_their_lesson() {
    let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
    for krate in std::fs::read_dir(root().join("crates")).unwrap() {
        let krate = krate.unwrap().path();
        for sub in ["src/bin", "examples"] {
            let Ok(entries) = std::fs::read_dir(krate.join(sub)) else {
                continue;
            };
            for e in entries {
                let p = e.unwrap().path();
                let name = p.file_stem().unwrap().to_string_lossy().to_string();
                if let Some(prev) = seen.insert(name.clone(), p.clone()) {
                    panic!(
                        "program {name} is defined twice: {} and {}",
                        prev.display(),
                        p.display()
                    );
                }
            }
        }
    }
    let ids: Vec<&str> = xtask::lessons::ALL.iter().map(|l| l.id).collect();
    for lesson in xtask::lessons::ALL {
        for program in lesson.programs {
            assert!(
                seen.contains_key(*program),
                "{}: program {program} has no source",
                lesson.id
            );
            assert!(
                program.starts_with(&format!("{}-", lesson.id))
                    || ids.iter().any(|id| program.starts_with(&format!("{id}-"))),
                "{program} is not named after a lesson"
            );
        }
    }
}

#[test]
fn every_lesson_is_listed_in_readme_and_architecture() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let arch = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    assert!(readme.contains("cargo xtask run-all"));
    assert!(readme.contains("cargo test --workspace"));
    for l in xtask::lessons::ALL {
        assert!(
            readme.contains(&format!("| `{}` |", l.id)),
            "README lesson index lacks {}",
            l.id
        );
        for c in l.crates {
            assert!(arch.contains(c), "ARCHITECTURE.md does not name crate {c}");
        }
    }
}

/// `unsafe` appears only in the two libraries that need it — shm-array (mmap,
/// fork) and wav-fft (mmap of the WAV, disjoint writes from several threads
/// into one buffer) — and every block says why it is sound.
#[test]
fn unsafe_only_where_allowed_and_justified() {
    const ALLOWED: [&str; 3] = [
        "crates/shm-array/",
        "crates/wav-fft/",
        "crates/factorizer-pool/",
    ];
    let root = root();
    for path in all_sources() {
        let rel = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if !code.contains(concat!("unsafe", " {")) {
                continue;
            }
            assert!(
                ALLOWED.iter().any(|a| rel.starts_with(a)) || rel.contains("/tests/"),
                "{rel}:{}: unsafe outside the crates allowed to use it",
                i + 1
            );
            let justified = lines[i.saturating_sub(6)..=i]
                .iter()
                .any(|l| l.contains("SAFETY:"));
            assert!(
                justified,
                "{rel}:{}: unsafe block without a `// SAFETY:` comment",
                i + 1
            );
        }
    }
}
