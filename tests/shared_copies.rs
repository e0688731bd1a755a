//! The repository's copies of the project's shared checks (`tests/fixtures/*.json`,
//! `tools/check-fixtures.py`) are byte-identical to `../shared`, where that folder is
//! present (CI always has it), so they cannot drift from the contract.

use std::path::{Path, PathBuf};

/// Each in-repository copy, relative to the workspace root, with its original
/// relative to `../shared`.
fn copies() -> Vec<(String, String)> {
    let mut copies: Vec<(String, String)> = workspace_tests::FIXTURE_FILES
        .iter()
        .map(|file| (format!("tests/fixtures/{file}"), format!("fixtures/{file}")))
        .collect();
    copies.push((
        "tools/check-fixtures.py".to_owned(),
        "tools/check-fixtures.py".to_owned(),
    ));
    copies
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `$CCP_SHARED_DIR`, else `../shared` beside the workspace.
fn shared_dir() -> PathBuf {
    std::env::var_os("CCP_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("../shared"))
}

#[test]
fn in_repository_copies_match_the_shared_originals() {
    let shared = shared_dir();
    if !shared.is_dir() {
        // CI lays ../shared beside the clone: there its absence is a broken setup.
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is absent on CI, so the in-repository copies cannot be compared",
            shared.display()
        );
        eprintln!(
            "NOT CHECKED: {} is absent, so the in-repository fixtures were not compared with it \
             (set CCP_SHARED_DIR to compare)",
            shared.display()
        );
        return;
    }
    let root = workspace_root();
    let mut drifted = Vec::new();
    for (copy, original) in copies() {
        let copy_bytes = std::fs::read(root.join(&copy)).expect("the copy is in the repository");
        let original_path = shared.join(&original);
        let original_bytes = std::fs::read(&original_path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", original_path.display()));
        if copy_bytes != original_bytes {
            drifted.push(format!(
                "{copy} differs from {} ({} vs {} bytes): copy it again",
                original_path.display(),
                copy_bytes.len(),
                original_bytes.len()
            ));
        }
    }
    assert!(drifted.is_empty(), "{}", drifted.join("\n"));
}
