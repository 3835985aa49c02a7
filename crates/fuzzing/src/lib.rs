//! The fuzz targets of palaudit, as plain functions: each takes arbitrary bytes and hands
//! them to one parser of what palaudit reads — an API answer, an input file, a snapshot
//! manifest or table — exactly as palaudit would. None may panic, whatever the bytes.
//!
//! Two drivers call them: the coverage-guided targets in `fuzz/` (cargo-fuzz, libFuzzer)
//! and, on stable Rust in every test run, [`mutate`]-driven runs over seeds taken from the
//! repository's own fixtures, rule files and documentation (`tests/targets.rs`). Inputs
//! that once crashed a target live in `regressions/<target>/` and are replayed by the same
//! test.

use palaudit_collect::fuzz::{Api, read_answer};
use rand::Rng;
use rand::rngs::StdRng;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub mod seeds;

/// One fuzz target: a name (the `fuzz/` binary and the `regressions/` folder) and what
/// it feeds the bytes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The PAL identities CSV (`--identities`).
    Identities,
    /// The collection config (`palaudit.toml`).
    Config,
    /// A rule file, among the bundled others (`--rules DIR`).
    Rules,
    /// The suppressions file (`--suppressions`).
    Suppressions,
    /// The `identities verify --out` file read by `audit --roster-check`.
    RosterCheck,
    /// A snapshot's `manifest.json`.
    Manifest,
    /// A snapshot table (the first byte picks which of the five).
    SnapshotTable,
    /// An answer of one admin API.
    Api(Api),
}

impl Target {
    pub const ALL: [Target; 15] = [
        Target::Identities,
        Target::Config,
        Target::Rules,
        Target::Suppressions,
        Target::RosterCheck,
        Target::Manifest,
        Target::SnapshotTable,
        Target::Api(Api::Environments),
        Target::Api(Api::CanvasApps),
        Target::Api(Api::Permissions),
        Target::Api(Api::Flows),
        Target::Api(Api::Dataverse),
        Target::Api(Api::PowerBi),
        Target::Api(Api::GraphBatch),
        Target::Api(Api::RetryAfter),
    ];

    pub fn name(self) -> &'static str {
        match self {
            Target::Identities => "identities",
            Target::Config => "config",
            Target::Rules => "rules",
            Target::Suppressions => "suppressions",
            Target::RosterCheck => "roster_check",
            Target::Manifest => "manifest",
            Target::SnapshotTable => "snapshot_table",
            Target::Api(Api::Environments) => "api_environments",
            Target::Api(Api::CanvasApps) => "api_canvas_apps",
            Target::Api(Api::Permissions) => "api_permissions",
            Target::Api(Api::Flows) => "api_flows",
            Target::Api(Api::Dataverse) => "api_dataverse",
            Target::Api(Api::PowerBi) => "api_powerbi",
            Target::Api(Api::GraphBatch) => "api_graph_batch",
            Target::Api(Api::RetryAfter) => "api_retry_after",
        }
    }

    pub fn by_name(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Feeds `data` to the target's parser; an error is an answer, only a panic is a bug.
    pub fn run(self, data: &[u8]) {
        match self {
            Target::Identities => {
                let _ = palaudit_model::Roster::parse(data);
            }
            Target::Config => {
                let text = String::from_utf8_lossy(data);
                let _ = palaudit_collect::config::Config::parse(&text, Path::new("palaudit.toml"));
            }
            Target::Rules => {
                let text = String::from_utf8_lossy(data).into_owned();
                let mut files = bundled_rules().clone();
                // The bytes take the place of the first file, so every other rule stays
                // valid and the checks that span files run too.
                if let Some(first) = files.first_mut() {
                    first.1 = text;
                }
                if let Ok(set) = palaudit_rules::RuleSet::from_texts(files, "rules".into()) {
                    for rule in set.rules() {
                        let _ = rule.explain();
                    }
                }
            }
            Target::Suppressions => {
                let _ = palaudit_suppressions::Suppressions::parse(
                    data,
                    Path::new("suppressions.toml"),
                );
            }
            Target::RosterCheck => {
                let _ = palaudit_model::RosterCheck::parse(
                    data,
                    Path::new("roster-check.json"),
                    seeds::TENANT,
                );
            }
            Target::Manifest => {
                let _ = palaudit_snapshot::Manifest::from_json(data, Path::new("manifest.json"));
            }
            Target::SnapshotTable => {
                let (table, bytes) = match data.split_first() {
                    Some((&pick, rest)) => {
                        let tables = palaudit_snapshot::TABLES;
                        (tables[usize::from(pick) % tables.len()], rest)
                    }
                    None => ("resources", data),
                };
                let _ = palaudit_snapshot::read_table_bytes(table, bytes.to_vec());
            }
            Target::Api(api) => {
                let _ = read_answer(api, data);
            }
        }
    }
}

/// The rule files palaudit ships, as (path, text).
fn bundled_rules() -> &'static Vec<(PathBuf, String)> {
    static RULES: OnceLock<Vec<(PathBuf, String)>> = OnceLock::new();
    RULES.get_or_init(|| {
        let dir = repo_root().join("rules");
        let mut files: Vec<(PathBuf, String)> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                    .filter_map(|p| std::fs::read_to_string(&p).ok().map(|t| (p, t)))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
    })
}

/// The repository this crate was built from (seeds and regressions are read from it).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Words that parsers treat specially, spliced in by [`mutate`].
const TOKENS: &[&[u8]] = &[
    b"null",
    b"{}",
    b"[]",
    b"\"\"",
    b"true",
    b"-1",
    b"1e999",
    b"18446744073709551616",
    b"\"value\"",
    b"\"nextLink\"",
    b"\"@odata.nextLink\"",
    b"\"datasets\"",
    b"\"responses\"",
    b"\"id\"",
    b"\"name\"",
    b"\"properties\"",
    b"\"status\"",
    b"\"format_version\"",
    b"\xef\xbb\xbf",
    b"\r\n",
    b"\r",
    b"\n",
    b",",
    b"\"",
    b"=",
    b"[[",
    b"]]",
    b"#",
    b"\xff\xfe",
    b"\x00",
    b"\\u0000",
    b"\\ud800",
    b"https://evil.example.com:99999/x",
    b"http://[::1",
    b"9999-99-99T99:99:99Z",
    b"2026-02-30",
    b"\xe2\x80\xae",
    b"00000000-0000-0000-0000-000000000000",
];

/// One random change to `data`: a flipped, dropped, repeated or inserted byte range, a
/// special token, a truncation, another seed spliced in, or other line ends.
pub fn mutate(data: &[u8], other: &[u8], rng: &mut StdRng) -> Vec<u8> {
    let mut d = data.to_vec();
    let pos = |rng: &mut StdRng, len: usize| {
        if len == 0 {
            0
        } else {
            rng.random_range(0..=len)
        }
    };
    for _ in 0..rng.random_range(1..=4) {
        match rng.random_range(0..10) {
            0 if !d.is_empty() => {
                let i = rng.random_range(0..d.len());
                d[i] ^= 1 << rng.random_range(0..8);
            }
            1 if !d.is_empty() => {
                let i = rng.random_range(0..d.len());
                let n = rng.random_range(1..=16.min(d.len() - i));
                d.drain(i..i + n);
            }
            2 if !d.is_empty() => {
                let i = rng.random_range(0..d.len());
                let n = rng.random_range(1..=64.min(d.len() - i));
                let copy = d[i..i + n].to_vec();
                let at = pos(rng, d.len());
                d.splice(at..at, copy);
            }
            3 | 4 => {
                let t = TOKENS[rng.random_range(0..TOKENS.len())];
                let at = pos(rng, d.len());
                d.splice(at..at, t.iter().copied());
            }
            5 => {
                let at = pos(rng, d.len());
                d.truncate(at);
            }
            6 if !other.is_empty() => {
                let from = rng.random_range(0..other.len());
                let to = rng.random_range(from..=other.len());
                let at = pos(rng, d.len());
                d.truncate(at);
                d.extend_from_slice(&other[from..to]);
            }
            7 => {
                let crlf: Vec<u8> = d
                    .iter()
                    .flat_map(|&b| {
                        if b == b'\n' {
                            vec![b'\r', b'\n']
                        } else {
                            vec![b]
                        }
                    })
                    .collect();
                d = crlf;
            }
            8 if !d.is_empty() => {
                // A digit changed: sizes, ids, versions and dates.
                let start = rng.random_range(0..d.len());
                if let Some(i) = (start..d.len()).find(|&i| d[i].is_ascii_digit()) {
                    d[i] = b"0123456789"[rng.random_range(0..10)];
                }
            }
            _ => {
                let at = pos(rng, d.len());
                let n = rng.random_range(1..=8);
                let bytes: Vec<u8> = (0..n).map(|_| rng.random()).collect();
                d.splice(at..at, bytes);
            }
        }
    }
    d
}
