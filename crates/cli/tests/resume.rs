//! `palaudit collect --resume`: a run killed part-way continues from its journal and
//! ends with the snapshot an uninterrupted run writes, without asking the APIs again for
//! what they already answered; error answers are never journaled.

mod common;

use common::*;
use palaudit_replay::{Fault, FaultPlan, RecordedRequest, ThrottlePlan};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const TENANT: &str = "d8d86e5f-13e9-4bb5-bb94-0f99b507cd15";
const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.palaudit-resume-test-token";

/// The replay config, with `extra` appended (a `[collect]` table).
fn write_config(dir: &Path, file: &str, served: &Served, extra: &str) -> PathBuf {
    let path = dir.join(file);
    std::fs::write(&path, format!("{}\n{extra}", replay_config(TENANT, served))).unwrap();
    path
}

fn collect(dir: &Path, config: &Path, out: &str, flags: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "collect",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out,
    ];
    args.extend_from_slice(flags);
    run_in(dir, TOKEN, &args)
}

/// Every table of a snapshot as sorted rows: row order follows which answer came
/// first, which differs between runs; the contents may not.
/// The replay server's own address (each run's server has its own port) reads `[BASE]`.
fn tables(snapshot: &Path, served: &Served) -> BTreeMap<&'static str, Vec<String>> {
    let s = palaudit_snapshot::Snapshot::open(snapshot).unwrap_or_else(|e| panic!("{e}"));
    let inv = s.to_inventory().unwrap();
    let base = served.server.base_url();
    fn sorted<T: std::fmt::Debug>(rows: &[T], base: &str) -> Vec<String> {
        let mut v: Vec<String> = rows
            .iter()
            .map(|r| format!("{r:?}").replace(base, "[BASE]"))
            .collect();
        v.sort();
        v
    }
    BTreeMap::from([
        ("environments", sorted(&inv.environments, &base)),
        ("resources", sorted(&inv.resources, &base)),
        ("role_assignments", sorted(&inv.role_assignments, &base)),
        ("principals", sorted(&inv.principals, &base)),
        ("systemusers", sorted(&inv.systemusers, &base)),
    ])
}

/// What a request asked, as the server saw it: `$batch` sub-requests by their own URL.
fn asked(r: &RecordedRequest) -> Option<String> {
    if r.target.ends_with("/$batch") && !r.in_batch {
        // The batch itself is composed anew on resume; its look-ups are what counts.
        return None;
    }
    Some(format!("{} {}", r.method, r.target))
}

/// The requests of `log` that were answered `200`, each with how often.
fn served_ok(log: &[RecordedRequest]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in log.iter().filter(|r| r.status == 200) {
        if let Some(a) = asked(r) {
            *m.entry(a).or_insert(0) += 1;
        }
    }
    m
}

fn contains_bytes(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn journal_bytes(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        all.extend(std::fs::read(e.unwrap().path()).unwrap());
    }
    all
}

/// An uninterrupted run's snapshot of Contoso and how many requests it took.
fn reference(dir: &Path) -> (BTreeMap<&'static str, Vec<String>>, usize) {
    let served = serve("contoso");
    let config = write_config(dir, "reference.toml", &served, "");
    let (code, _, stderr) = collect(dir, &config, "reference", &["--quiet"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        !dir.join("reference.journal").exists(),
        "a complete run removes its journal"
    );
    (
        tables(&dir.join("reference"), &served),
        served.server.requests().len(),
    )
}

#[test]
fn a_killed_collection_resumes_without_asking_again() {
    let dir = tempfile::tempdir().unwrap();
    let (expected, total) = reference(dir.path());
    assert!(total > 20, "Contoso takes {total} requests");

    // Slow answers, one request at a time: the run takes seconds, and at most one
    // answer is in flight when it is killed.
    let served = serve_throttled(
        "contoso",
        ThrottlePlan::per_second(1_000_000.0, Duration::from_millis(40)),
    );
    let config = write_config(
        dir.path(),
        "tenant.toml",
        &served,
        "[collect]\nconcurrency = 1\n",
    );
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_palaudit"))
        .current_dir(dir.path())
        .env("CI", "true")
        .env("NO_COLOR", "1")
        .env_remove("PALAUDIT_LOG")
        .env("PALAUDIT_ACCESS_TOKEN", TOKEN)
        .args(["collect", "--quiet", "--config"])
        .arg(&config)
        .args(["--out", "customers/contoso"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let kill_at = total / 2;
    let started = Instant::now();
    while served.server.requests().len() < kill_at {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "the run ended ({status}) after {} of {total} requests, before it could be killed",
                served.server.requests().len()
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the run hangs"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    // SIGKILL: no handler runs, whatever was flushed is all there is.
    child.kill().unwrap();
    child.wait().unwrap();
    let killed = served.server.requests();
    served.server.clear_requests();
    assert!(
        killed.len() < total,
        "killed after {} requests",
        killed.len()
    );
    let journal = dir.path().join("customers/contoso.journal");
    assert!(journal.is_dir(), "the killed run left its journal");
    assert!(
        !dir.path().join("customers/contoso").exists(),
        "no snapshot from the killed run"
    );
    assert!(
        !contains_bytes(&journal_bytes(&journal), TOKEN),
        "the bearer token is in the journal"
    );

    // A config that changes requests does not resume this journal.
    let creator = write_config(
        dir.path(),
        "creator.toml",
        &served,
        "[collect]\nconcurrency = 1\nflow_owners = \"creator\"\n",
    );
    let (code, _, stderr) = collect(
        dir.path(),
        &creator,
        "customers/contoso",
        &["--quiet", "--resume"],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("collection journal [DIR]/customers/contoso.journal")
            || stderr.contains("collection journal customers/contoso.journal"),
        "{stderr}"
    );
    assert!(stderr.contains("other settings"), "{stderr}");
    assert!(
        served.server.requests().is_empty(),
        "a refused resume sends nothing"
    );
    assert!(journal.is_dir(), "a refused resume keeps the journal");

    let (code, stdout, stderr) = collect(dir.path(), &config, "customers/contoso", &["--resume"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("complete: no collection errors"),
        "{stdout}"
    );
    let replayed: usize = stderr
        .lines()
        .find_map(|l| {
            l.strip_prefix("Resumed: ")
                .and_then(|r| r.split(' ').next())
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or_else(|| panic!("no `Resumed:` line: {stderr}"));
    // Every page answered before the kill came from the journal, but the one in flight.
    let pages_before = killed
        .iter()
        .filter(|r| r.status == 200 && !r.in_batch && !r.target.ends_with("/$batch"))
        .count();
    assert!(
        replayed + 1 >= pages_before && pages_before > 0,
        "{replayed} answer(s) from the journal, {pages_before} page(s) read before the kill"
    );
    assert!(!journal.exists(), "the finished run removes its journal");

    // The same snapshot as the uninterrupted run's, table by table.
    let got = tables(&dir.path().join("customers/contoso"), &served);
    for (table, rows) in &expected {
        assert_eq!(&got[table], rows, "table {table}");
    }

    // Nothing answered before the kill was asked again, but the one answer in flight
    // when it came (served, never read) and the batch it belonged to.
    let before = served_ok(&killed);
    let resumed = served.server.requests();
    let again: Vec<String> = resumed
        .iter()
        .filter_map(asked)
        .filter(|a| before.contains_key(a))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let batch_size = 20;
    assert!(
        again.len() <= batch_size,
        "{} request(s) answered before the kill were asked again: {again:#?}",
        again.len()
    );
    let top_level_again = again.iter().filter(|a| !a.contains("/graph/")).count();
    assert!(
        top_level_again <= 1,
        "asked again after the kill: {again:#?}"
    );
    // Together the two runs asked about as much as one: at most one `$batch` (its
    // envelope and its look-ups, each recorded) and one page were in flight at the kill,
    // one per host, and are asked again.
    let in_flight_at_kill = 1 + batch_size + 1;
    assert!(
        resumed.len() + killed.len() <= total + in_flight_at_kill,
        "{} + {} requests against {total} for one run",
        killed.len(),
        resumed.len()
    );
}

#[test]
fn error_answers_are_not_journaled_and_are_asked_again_on_resume() {
    let dir = tempfile::tempdir().unwrap();
    let (expected, _) = reference(dir.path());

    let served = serve_faulty(
        "contoso",
        FaultPlan {
            seed: 7,
            rate: 0.15,
            kinds: vec![Fault::Unavailable],
            hang: Duration::from_secs(1),
        },
    );
    // No retries: every 503 is a collection error.
    let config = write_config(
        dir.path(),
        "tenant.toml",
        &served,
        "[collect]\nmax_retries = 0\n",
    );
    let (code, stdout, stderr) = collect(dir.path(), &config, "snap", &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("HTTP 503") || stderr.contains("503"),
        "{stderr}"
    );
    assert!(
        stdout.contains("Collection journal kept in snap.journal"),
        "{stdout}"
    );
    let first = served.server.requests();
    let failed: BTreeSet<String> = first
        .iter()
        .filter(|r| r.status == 503 && r.fault.is_some())
        .filter_map(asked)
        .collect();
    assert!(!failed.is_empty());
    let answered = served_ok(&first);
    served.server.clear_requests();
    served.server.heal();

    let (code, stdout, stderr) = collect(dir.path(), &config, "snap", &["--resume"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("complete: no collection errors"),
        "{stdout}"
    );
    assert!(!dir.path().join("snap.journal").exists());
    let got = tables(&dir.path().join("snap"), &served);
    for (table, rows) in &expected {
        assert_eq!(&got[table], rows, "table {table}");
    }
    let second: BTreeSet<String> = served.server.requests().iter().filter_map(asked).collect();
    // What failed was asked again: the 503s were not journaled.
    let missing: Vec<&String> = failed
        .iter()
        .filter(|f| !second.contains(*f) && !answered.contains_key(*f))
        .collect();
    assert!(missing.is_empty(), "not asked again: {missing:#?}");
    // What was answered was not (Graph look-ups Graph answered 503 are the exception:
    // their batch was answered 200).
    let repeated: Vec<&String> = second
        .iter()
        .filter(|a| answered.contains_key(*a) && !failed.contains(*a))
        .collect();
    assert!(repeated.is_empty(), "asked again: {repeated:#?}");
}

#[test]
fn resume_without_a_journal_collects_from_the_start_and_says_so() {
    let served = serve("contoso");
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "tenant.toml", &served, "");
    let (code, stdout, stderr) = collect(dir.path(), &config, "new/snap", &["--resume"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("warning: --resume: no collection journal at new/snap.journal; collecting from the start"),
        "{stderr}"
    );
    assert!(stderr.contains("Resumed: 0 answer(s)"), "{stderr}");
    assert!(stdout.contains("Snapshot written to new/snap"), "{stdout}");
    assert!(!dir.path().join("new/snap.journal").exists());
    let manifest = std::fs::read_to_string(dir.path().join("new/snap/manifest.json")).unwrap();
    assert!(!manifest.contains("flow_owners"), "{manifest}");
}

#[test]
fn a_creator_only_collection_says_so_in_its_manifest() {
    let served = serve("contoso");
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "tenant.toml",
        &served,
        "[collect]\nflow_owners = \"creator\"\n",
    );
    let (code, _, stderr) = collect(dir.path(), &config, "snap", &["--quiet"]);
    assert_eq!(code, 0, "{stderr}");
    let s = palaudit_snapshot::Snapshot::open(&dir.path().join("snap")).unwrap();
    assert_eq!(s.manifest.flow_owners.as_deref(), Some("creator"));
}
