//! Audit at scale: a synthetic tenant of N resources (default 1,000,000) is streamed to a
//! snapshot by a child process, then opened, evaluated and written as CSV, each phase
//! timed, with the auditing process's peak resident memory.
//!
//! `cargo bench -p palaudit-rules --bench audit_scale` (set `PALAUDIT_BENCH_RESOURCES` for
//! another size). Numbers are recorded in BENCHMARKS.md. By default verdicts stream to
//! the CSV writer as they are reached; `PALAUDIT_BENCH_HELD=1` holds every verdict first
//! (as `evaluate` does). `PALAUDIT_BENCH_REPORTS=all` streams them into every report
//! `palaudit audit` writes (CSV, JSON, markdown checklist, verdicts Parquet, evidence
//! workbook, HTML, through one fan-out) and renders the terminal table and the fix plan
//! from the summary: a million resources with all reports. `PALAUDIT_BENCH_DUCKDB=1` also runs
//! `scripts/duckdb-yardstick.py` over the same snapshot and prints palaudit ÷ DuckDB.

#[path = "support/synthetic.rs"]
mod synthetic;

use palaudit_model::{AuditHeader, Roster};
use palaudit_rules::RuleSet;
use palaudit_snapshot::Snapshot;
use std::io::Write;
use std::time::Instant;
use synthetic::{ENVIRONMENTS, TENANT, USERS};

/// Prints a phase's wall time, the CPU time the process used since the last phase
/// printed (every core together: above the wall time when several worked), and the
/// peak resident memory so far.
#[allow(clippy::print_stdout)]
fn report(phase: &str, started: Instant) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST_CPU_TICKS: AtomicU64 = AtomicU64::new(0);
    let now = cpu_ticks();
    let used = now.saturating_sub(LAST_CPU_TICKS.swap(now, Ordering::Relaxed));
    println!(
        "{phase:<28} {:>9.3} s   cpu {:>7.2} s   peak RSS {:>7.1} MiB",
        started.elapsed().as_secs_f64(),
        used as f64 / 100.0,
        peak_rss_mib()
    );
}

/// User and system time of this process (not the generator child) in clock ticks,
/// which Linux reports in hundredths of a second.
fn cpu_ticks() -> u64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the command name, which is in parentheses and may hold spaces.
            let rest = s.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
        })
        .unwrap_or(0)
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// The audit streamed into every report at once, as `palaudit audit --csv --json
/// --markdown --verdicts-parquet --xlsx --html --fix-plan` drives it; the terminal table
/// goes to a file.
#[allow(clippy::print_stdout)]
fn all_reports_audit(
    snapshot: &Snapshot,
    roster: &Roster,
    rules: &RuleSet,
    dir: &std::path::Path,
) -> palaudit_model::Counts {
    use palaudit_model::{Fanout, VerdictSink};
    use palaudit_report::fix_plan::{self, Shell, TargetChoice};
    let file = |name: &str| std::io::BufWriter::new(std::fs::File::create(dir.join(name)).unwrap());
    let t = Instant::now();
    let mut csv = palaudit_report::CsvSink::new(file("audit.csv"));
    let mut json = palaudit_report::JsonSink::spooled(file("audit.json")).unwrap();
    let mut markdown = palaudit_report::ChecklistSink::new(file("audit.md"));
    let mut parquet =
        palaudit_snapshot::VerdictsParquet::create(&dir.join("verdicts.parquet")).unwrap();
    let mut workbook = palaudit_report::EvidenceWorkbook::create(
        &dir.join("evidence.xlsx"),
        palaudit_report::WorkbookOptions {
            fix_plan_to: None,
            shell: None,
        },
    )
    .unwrap();
    let mut html = palaudit_report::HtmlReport::new(file("report.html"));
    let header = AuditHeader {
        tenant_id: TENANT.into(),
        guidance: rules.guidance(),
        ..AuditHeader::default()
    };
    let mut sinks = Fanout::default();
    sinks.push(&mut csv);
    sinks.push(&mut json);
    sinks.push(&mut markdown);
    sinks.push(&mut parquet);
    sinks.push(&mut workbook);
    sinks.push(&mut html);
    let summary = palaudit_rules::evaluate_into(
        &snapshot.frames(),
        TENANT,
        roster,
        rules,
        &header,
        &mut sinks,
    )
    .unwrap();
    drop(sinks);
    csv.into_inner().unwrap().flush().unwrap();
    json.into_inner().flush().unwrap();
    markdown.into_inner().flush().unwrap();
    parquet.finish().unwrap();
    workbook.finish().unwrap();
    html.finish().unwrap();
    report("evaluate + stream reports", t);

    let t = Instant::now();
    let mut out = file("terminal.txt");
    palaudit_report::terminal_summary(&header, &summary, &mut out, &Default::default()).unwrap();
    out.flush().unwrap();
    report("terminal table", t);
    let t = Instant::now();
    // The bench roster has no service account or service principal: name a target.
    let target = roster.identities.first().and_then(|i| i.object_id.clone());
    let choice = match &target {
        Some(id) => TargetChoice::Named(id),
        None => TargetChoice::Default,
    };
    match fix_plan::streamed(&header, &summary, choice) {
        Ok(plan) => {
            let mut out = file("fix-plan.ps1");
            fix_plan::render(&plan, Shell::PowerShell, &mut out).unwrap();
            out.flush().unwrap();
        }
        Err(e) => println!("fix plan skipped: {e}"),
    }
    report("fix plan", t);
    let mut sizes: Vec<(String, u64)> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            let name = e.file_name().to_string_lossy().into_owned();
            let bytes = e.metadata().ok()?.len();
            (name != "snapshot").then_some((name, bytes))
        })
        .collect();
    sizes.sort();
    let sizes: Vec<String> = sizes
        .iter()
        .map(|(name, bytes)| format!("{name} {:.0} MB", *bytes as f64 / 1e6))
        .collect();
    println!("reports written: {}", sizes.join(", "));
    summary.counts()
}

fn roster() -> Roster {
    Roster::parse(synthetic::roster_csv_text(&[TENANT]).as_bytes()).unwrap()
}

#[allow(clippy::print_stdout)]
fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: keep that run tiny.
    let benching = std::env::args().any(|a| a == "--bench");
    let n: usize = std::env::var("PALAUDIT_BENCH_RESOURCES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if benching { 1_000_000 } else { 1_000 });
    // The snapshot is written by a child process, so the peak memory reported below is
    // the audit's own, as in `palaudit audit`.
    if let Some(dir) = std::env::var_os("PALAUDIT_BENCH_GENERATE_INTO") {
        let t = Instant::now();
        synthetic::generate(std::path::Path::new(&dir), TENANT, n);
        report("generate + write snapshot", t);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let snap_dir = dir.path().join("snapshot");
    println!("audit_scale: {n} resources, {ENVIRONMENTS} environments, {USERS} users");
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(std::env::args().skip(1))
        .env("PALAUDIT_BENCH_GENERATE_INTO", &snap_dir)
        .env("PALAUDIT_BENCH_RESOURCES", n.to_string())
        .status()
        .unwrap();
    assert!(status.success(), "generating the synthetic tenant failed");

    let started = Instant::now();
    let t = Instant::now();
    let snapshot = Snapshot::open(&snap_dir).unwrap();
    report("open + verify snapshot", t);
    {
        let f = snapshot.frames();
        println!("{} role assignments", f.role_assignments.height());
        let mib = |df: &polars::prelude::DataFrame| df.estimated_size() as f64 / 1_048_576.0;
        println!(
            "tables in memory: resources {:.0} MiB, role_assignments {:.0} MiB, principals {:.0} MiB, systemusers {:.0} MiB",
            mib(&f.resources),
            mib(&f.role_assignments),
            mib(&f.principals),
            mib(&f.systemusers)
        );
    }

    let rules = RuleSet::bundled();
    let roster = roster();
    let csv_path = dir.path().join("audit.csv");
    let all_reports = std::env::var("PALAUDIT_BENCH_REPORTS").is_ok_and(|v| v == "all");
    let counts = if all_reports {
        all_reports_audit(&snapshot, &roster, &rules, dir.path())
    } else if std::env::var_os("PALAUDIT_BENCH_HELD").is_some() {
        // Every verdict held, then the CSV written from them.
        let t = Instant::now();
        let findings =
            palaudit_rules::evaluate(&snapshot.frames(), TENANT, &roster, &rules).unwrap();
        report("evaluate (held)", t);
        assert_eq!(findings.verdicts.len(), n);
        let t = Instant::now();
        let out = std::io::BufWriter::new(std::fs::File::create(&csv_path).unwrap());
        let mut out = out;
        palaudit_report::csv(&findings, &mut out).unwrap();
        out.flush().unwrap();
        report("write CSV", t);
        findings.counts()
    } else {
        // As the engine is meant to be driven: verdicts streamed to the CSV writer, only
        // the summary held.
        let t = Instant::now();
        let out = std::io::BufWriter::new(std::fs::File::create(&csv_path).unwrap());
        let mut sink = palaudit_report::CsvSink::new(out);
        let header = AuditHeader {
            tenant_id: TENANT.into(),
            guidance: rules.guidance(),
            ..AuditHeader::default()
        };
        let summary = palaudit_rules::evaluate_into(
            &snapshot.frames(),
            TENANT,
            &roster,
            &rules,
            &header,
            &mut sink,
        )
        .unwrap();
        report("evaluate + write CSV", t);
        summary.counts()
    };
    let palaudit_s = started.elapsed().as_secs_f64();
    println!("{:<28} {palaudit_s:>9.3} s", "palaudit end to end");
    let c = counts;
    assert_eq!(c.total() as usize, n);
    println!(
        "coverage {:.1}% ({} attributed, {} unattributed, {} unknown)",
        c.coverage_pct(),
        c.attributed,
        c.unattributed,
        c.unknown
    );
    if std::env::var_os("PALAUDIT_BENCH_DUCKDB").is_some() {
        duckdb_yardstick(&snap_dir, dir.path(), palaudit_s);
    }
}

/// Runs `scripts/duckdb-yardstick.py` (the same join shape as one DuckDB query over the
/// snapshot's Parquet tables) and prints palaudit's time ÷ DuckDB's.
#[allow(clippy::print_stdout)]
fn duckdb_yardstick(snap_dir: &std::path::Path, work: &std::path::Path, palaudit_s: f64) {
    let roster_csv = work.join("roster.csv");
    std::fs::write(&roster_csv, synthetic::roster_csv_text(&[TENANT])).unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/duckdb-yardstick.py"
    );
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(snap_dir)
        .arg(&roster_csv)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the DuckDB yardstick failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    print!("{text}");
    let duckdb_s: f64 = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("the yardstick prints `duckdb SECONDS s …`");
    println!(
        "palaudit ÷ DuckDB            {:>9.2}",
        palaudit_s / duckdb_s
    );
}
