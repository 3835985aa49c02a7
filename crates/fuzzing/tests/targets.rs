//! The fuzz targets on stable Rust: seeded mutations of every target's seeds must never
//! panic, the inputs that once did (`regressions/`) must not again, and every target has
//! its cargo-fuzz binary in `fuzz/`.
//!
//! `PALAUDIT_FUZZ_ITERS` sets the mutations per target (default 400), `PALAUDIT_FUZZ_SEED`
//! the first seed; a failure names the target and the file the input was saved to.

use palaudit_fuzzing::seeds::seeds;
use palaudit_fuzzing::{Target, mutate, repo_root};
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::panic::{AssertUnwindSafe, catch_unwind};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn every_target_has_seeds() {
    let scratch = tempfile::tempdir().unwrap();
    for target in Target::ALL {
        let s = seeds(target, scratch.path());
        assert!(!s.is_empty(), "{} has no seeds", target.name());
    }
}

/// The seeds are real inputs: the examples of the documentation and the files palaudit
/// ships are accepted by the parsers they seed, so a mutation starts from a valid file.
#[test]
fn the_documented_and_shipped_inputs_parse() {
    let scratch = tempfile::tempdir().unwrap();
    for (name, bytes) in seeds(Target::Config, scratch.path()) {
        let text = String::from_utf8(bytes).unwrap();
        palaudit_collect::config::Config::parse(&text, std::path::Path::new("palaudit.toml"))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    for (name, bytes) in seeds(Target::Suppressions, scratch.path()) {
        palaudit_suppressions::Suppressions::parse(&bytes, std::path::Path::new("s.toml"))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    for (name, bytes) in seeds(Target::Identities, scratch.path()) {
        palaudit_model::Roster::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    }
    for (name, bytes) in seeds(Target::Manifest, scratch.path()) {
        palaudit_snapshot::Manifest::from_json(&bytes, std::path::Path::new("manifest.json"))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    for (name, bytes) in seeds(Target::SnapshotTable, scratch.path()) {
        let table = palaudit_snapshot::TABLES[usize::from(bytes[0])];
        palaudit_snapshot::read_table_bytes(table, bytes[1..].to_vec())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    for (name, bytes) in seeds(Target::RosterCheck, scratch.path()) {
        palaudit_model::RosterCheck::parse(
            &bytes,
            std::path::Path::new("check.json"),
            palaudit_fuzzing::seeds::TENANT,
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn seeded_mutations_never_panic() {
    let iters = env_u64("PALAUDIT_FUZZ_ITERS", 400);
    let first_seed = env_u64("PALAUDIT_FUZZ_SEED", 1);
    let scratch = tempfile::tempdir().unwrap();
    let crashes = std::env::temp_dir().join("palaudit-fuzz-crashes");
    let mut failures = Vec::new();
    for target in Target::ALL {
        let pool = seeds(target, scratch.path());
        assert!(!pool.is_empty(), "{} has no seeds", target.name());
        let mut rng = StdRng::seed_from_u64(first_seed);
        for i in 0..iters {
            let (_, base) = &pool[i as usize % pool.len()];
            let (_, other) = &pool[(i as usize * 7 + 3) % pool.len()];
            let input = mutate(base, other, &mut rng);
            if catch_unwind(AssertUnwindSafe(|| target.run(&input))).is_err() {
                std::fs::create_dir_all(&crashes).unwrap();
                let file = crashes.join(format!("{}-{first_seed}-{i}", target.name()));
                std::fs::write(&file, &input).unwrap();
                failures.push(format!("{} panicked on {}", target.name(), file.display()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} input(s) panicked; move each into crates/fuzzing/regressions/<target>/ once fixed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn inputs_that_once_crashed_a_target_do_not_again() {
    let dir = repo_root().join("crates/fuzzing/regressions");
    for entry in std::fs::read_dir(&dir).unwrap().filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !entry.path().is_dir() {
            continue;
        }
        let target = Target::by_name(&name)
            .unwrap_or_else(|| panic!("regressions/{name} is not a target's name"));
        for input in std::fs::read_dir(entry.path())
            .unwrap()
            .filter_map(Result::ok)
        {
            let bytes = std::fs::read(input.path()).unwrap();
            let ok = catch_unwind(AssertUnwindSafe(|| target.run(&bytes))).is_ok();
            assert!(ok, "{} panics again", input.path().display());
        }
    }
}

#[test]
fn every_target_has_a_cargo_fuzz_binary() {
    let manifest = std::fs::read_to_string(repo_root().join("fuzz/Cargo.toml")).unwrap();
    for target in Target::ALL {
        let file = repo_root().join(format!("fuzz/fuzz_targets/{}.rs", target.name()));
        assert!(file.exists(), "{} is missing", file.display());
        assert!(
            manifest.contains(&format!("name = \"{}\"", target.name())),
            "fuzz/Cargo.toml has no [[bin]] {}",
            target.name()
        );
    }
}
