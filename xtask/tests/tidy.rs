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

/// A token of Rust source, as far as the `unsafe` check needs: words,
/// punctuation and comments (with the lines they span); strings and
/// character literals are skipped.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Punct(char),
    Comment(String),
}

/// Tokens with their first and last line (1-based).
fn tokenize(src: &str) -> Vec<(Tok, usize, usize)> {
    let b: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    let count_lines =
        |from: usize, to: usize, b: &[char]| b[from..to].iter().filter(|&&c| c == '\n').count();
    while i < b.len() {
        let c = b[i];
        let start_line = line;
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && b.get(i + 1) == Some(&'/') {
            let end = b[i..]
                .iter()
                .position(|&c| c == '\n')
                .map_or(b.len(), |n| i + n);
            out.push((Tok::Comment(b[i..end].iter().collect()), line, line));
            i = end;
        } else if c == '/' && b.get(i + 1) == Some(&'*') {
            let (mut j, mut depth) = (i + 2, 1);
            while j < b.len() && depth > 0 {
                if b[j] == '/' && b.get(j + 1) == Some(&'*') {
                    depth += 1;
                    j += 2;
                } else if b[j] == '*' && b.get(j + 1) == Some(&'/') {
                    depth -= 1;
                    j += 2;
                } else {
                    j += 1;
                }
            }
            line += count_lines(i, j, &b);
            out.push((Tok::Comment(b[i..j].iter().collect()), start_line, line));
            i = j;
        } else if c == '"' || ((c == 'b' || c == 'c') && b.get(i + 1) == Some(&'"')) {
            let mut j = if c == '"' { i + 1 } else { i + 2 };
            while j < b.len() && b[j] != '"' {
                j += if b[j] == '\\' { 2 } else { 1 };
            }
            j = (j + 1).min(b.len());
            line += count_lines(i, j, &b);
            i = j;
        } else if (c == 'r' || ((c == 'b' || c == 'c') && b.get(i + 1) == Some(&'r'))) && {
            let k = if c == 'r' { i + 1 } else { i + 2 };
            let mut k2 = k;
            while b.get(k2) == Some(&'#') {
                k2 += 1;
            }
            b.get(k2) == Some(&'"') && (i == 0 || !(b[i - 1].is_alphanumeric() || b[i - 1] == '_'))
        } {
            // A raw string: r"…", r#"…"#, br"…".
            let mut k = if c == 'r' { i + 1 } else { i + 2 };
            let mut hashes = 0;
            while b[k] == '#' {
                hashes += 1;
                k += 1;
            }
            let close: Vec<char> = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            let mut j = k + 1;
            while j < b.len() && !b[j..].starts_with(&close) {
                j += 1;
            }
            j = (j + close.len()).min(b.len());
            line += count_lines(i, j, &b);
            i = j;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\'') or a lifetime ('a).
            if b.get(i + 1) == Some(&'\\') {
                let mut j = i + 2;
                while j < b.len() && b[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
            } else if b.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
            }
        } else if c.is_alphanumeric() || c == '_' {
            let mut j = i;
            while j < b.len() && (b[j].is_alphanumeric() || b[j] == '_') {
                j += 1;
            }
            out.push((Tok::Word(b[i..j].iter().collect()), line, line));
            i = j;
        } else {
            out.push((Tok::Punct(c), line, line));
            i += 1;
        }
    }
    out
}

/// Every `unsafe` in `src` without its justification directly attached:
/// `(line, what is wrong)`.
///
/// An `unsafe` block, impl or trait needs a `// SAFETY:` comment in the
/// comments directly above its statement or item (no blank line, no other
/// statement in between) or inside the statement before the `unsafe`; an
/// `unsafe fn` may instead have a `# Safety` section in its docs.
fn unjustified_unsafe(src: &str) -> Vec<(usize, String)> {
    let toks = tokenize(src);
    let lines: Vec<&str> = src.lines().collect();
    let blank = |l: usize| lines.get(l - 1).is_none_or(|s| s.trim().is_empty());
    let mut bad = Vec::new();
    for (i, (tok, line, _)) in toks.iter().enumerate() {
        if *tok != Tok::Word("unsafe".into()) {
            continue;
        }
        let next = toks[i + 1..]
            .iter()
            .find(|t| !matches!(t.0, Tok::Comment(_)))
            .map(|t| t.0.clone());
        let what = match next {
            Some(Tok::Punct('{')) => "block",
            Some(Tok::Word(w)) if w == "fn" => "fn",
            Some(Tok::Word(w)) if w == "impl" => "impl",
            Some(Tok::Word(w)) if w == "trait" => "trait",
            Some(Tok::Word(w)) if w == "extern" => "extern block",
            _ => "use",
        };
        // The start of the statement or item: just after the last `;`, `{`
        // or `}` before the `unsafe` (a `;` inside brackets, as in
        // `[T; 8]`, does not end a statement).
        let mut depth = 0i32;
        let boundary = toks[..i].iter().rposition(|t| match t.0 {
            Tok::Punct(']') => {
                depth += 1;
                false
            }
            Tok::Punct('[') => {
                depth -= 1;
                false
            }
            Tok::Punct(';') => depth <= 0,
            Tok::Punct('{' | '}') => true,
            _ => false,
        });
        let boundary_line = boundary.map_or(0, |b| toks[b].2);
        let first = boundary.map_or(0, |b| b + 1);
        let stmt_line = toks[first..=i]
            .iter()
            .find(|t| !matches!(t.0, Tok::Comment(_)))
            .map_or(*line, |t| t.1);
        let attached = toks[first..i].iter().any(|(t, from, to)| {
            let Tok::Comment(text) = t else { return false };
            let says = text.contains("SAFETY:") || (what == "fn" && text.contains("# Safety"));
            // Not a trailing comment of the previous statement, and no
            // blank line between it and the statement.
            says && *from > boundary_line && (*to >= stmt_line || !(*to + 1..stmt_line).any(blank))
        });
        if !attached {
            let want = if what == "fn" {
                "a `# Safety` doc section or a `// SAFETY:` comment"
            } else {
                "a `// SAFETY:` comment directly above it"
            };
            bad.push((*line, format!("unsafe {what} without {want}")));
        }
    }
    bad
}

#[test]
fn the_unsafe_checker_catches_what_it_must() {
    let must_fail = [
        ("fn f() { unsafe { g() } }", "no comment at all"),
        ("fn f() { unsafe{ g() } }", "no space before the brace"),
        ("unsafe fn f() {}", "an unsafe fn without docs"),
        ("struct S; unsafe impl Send for S {}", "an unsafe impl"),
        ("unsafe trait T {}", "an unsafe trait"),
        (
            "fn f() {\n    // SAFETY: this is a's\n    let a = unsafe { g() };\n    let b = unsafe { g() };\n}",
            "a SAFETY comment that belongs to the block above",
        ),
        (
            "fn f() {\n    let a = unsafe { g() }; // SAFETY: trailing, a's\n    let b = unsafe { g() };\n}",
            "a trailing comment of the previous statement",
        ),
        (
            "// SAFETY: far away\n\nfn f() { unsafe { g() } }",
            "a comment above, not attached (another item's line)",
        ),
        (
            "fn f() {\n    // SAFETY: detached\n\n    unsafe { g() }\n}",
            "a blank line between the comment and the block",
        ),
        (
            "fn f() {\n    // no safety argument here\n    unsafe { g() }\n}",
            "a comment that does not say SAFETY:",
        ),
    ];
    for (src, why) in must_fail {
        assert!(
            !unjustified_unsafe(src).is_empty(),
            "not caught: {why}\n{src}"
        );
    }
    let must_pass = [
        "fn f() {\n    // SAFETY: g has no preconditions.\n    unsafe { g() }\n}",
        "fn f() {\n    // SAFETY: g has no preconditions,\n    // and the reason spans lines.\n    let x = unsafe { g() };\n}",
        "fn f() {\n    let x = /* SAFETY: inline */ unsafe { g() };\n}",
        "fn f() {\n    // SAFETY: each u is its own row.\n    let d: [&mut [u8]; 8] =\n        std::array::from_fn(|u| unsafe { g(u) });\n}",
        "/// Does it.\n///\n/// # Safety\n/// The caller keeps p valid.\npub unsafe fn f(p: *const u8) {}",
        "struct S;\n// SAFETY: S has no fields.\nunsafe impl Send for S {}",
        "// SAFETY: not code\nfn f() { let s = \"unsafe { }\"; let r = r#\"unsafe fn\"#; let c = '{'; }",
        "#![forbid(unsafe_code)]\n// unsafe { } in a comment\n/* unsafe fn */ fn f<'a>(x: &'a u8) {}",
    ];
    for src in must_pass {
        assert_eq!(unjustified_unsafe(src), vec![], "wrongly refused:\n{src}");
    }
}

/// The crates that may hold `unsafe` (ARCHITECTURE.md's invariant):
/// shm-array (shared mappings, fork) and wav-fft (the memory-mapped WAV,
/// disjoint writes from several threads into one buffer).
const UNSAFE_ALLOWED: [&str; 2] = ["crates/shm-array/", "crates/wav-fft/"];

/// `unsafe` appears only in the two libraries that need it, tests and
/// examples included, and every use says why it is sound, right where it is.
#[test]
fn unsafe_only_where_allowed_and_justified() {
    let root = root();
    let mut problems = Vec::new();
    for path in all_sources() {
        let rel = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let allowed = UNSAFE_ALLOWED.iter().any(|a| rel.starts_with(a));
        for (i, (tok, line, _)) in tokenize(&text).iter().enumerate() {
            let _ = i;
            if *tok == Tok::Word("unsafe".into()) && !allowed {
                problems.push(format!(
                    "{rel}:{line}: unsafe outside shm-array and wav-fft"
                ));
            }
        }
        for (line, why) in unjustified_unsafe(&text) {
            problems.push(format!("{rel}:{line}: {why}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every crate outside [`UNSAFE_ALLOWED`] forbids `unsafe` in its library
/// (or program) root, so the compiler refuses it there too.
#[test]
fn crates_without_unsafe_forbid_it() {
    let root = root();
    let mut roots: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !UNSAFE_ALLOWED.iter().any(|a| root.join(a) == p.join("")))
        .map(|p| p.join("src/lib.rs"))
        .collect();
    roots.push(root.join("xtask/src/lib.rs"));
    roots.push(root.join("xtask/src/main.rs"));
    for r in roots {
        let text = std::fs::read_to_string(&r).unwrap_or_else(|e| panic!("{}: {e}", r.display()));
        assert!(
            text.contains("#![forbid(unsafe_code)]"),
            "{} lacks #![forbid(unsafe_code)]",
            r.display()
        );
    }
}

/// What run-all prints must not show Rust internals: exit codes and error
/// lists go through `ctx::exit_text` / `ctx::errors_text`, never `{:?}`.
#[test]
fn lesson_checks_print_exit_codes_for_people() {
    let dir = root().join("xtask/src/lessons");
    let mut bad = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let src = std::fs::read_to_string(&path).unwrap();
        for (i, line) in src.lines().enumerate() {
            if ["exit {:?}", "errors {:?}", "exit code {:?}"]
                .iter()
                .any(|p| line.contains(p))
            {
                bad.push(format!("{}:{}: {}", path.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "Debug-formatted exit codes:\n{}",
        bad.join("\n")
    );
}
