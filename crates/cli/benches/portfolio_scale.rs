//! Portfolio at scale: `palaudit audit` over many synthetic tenants (by default 100 of
//! 10,000 resources each, a million resources in all) with every report it writes, run
//! once for the first tenth of the tenants and once for all of them, to show whether the
//! audit's peak memory grows with the number of tenants. Tenants are meant to be audited
//! one at a time, so the peak should be that of one tenant: the ratio of the two peaks,
//! printed last, near 1.
//!
//! `cargo bench -p palaudit --bench portfolio_scale` (set `PALAUDIT_BENCH_TENANTS` and
//! `PALAUDIT_BENCH_RESOURCES`, resources per tenant, for another size). Without `--bench`
//! (`cargo test --benches`) it runs 3 tenants of 200 resources and checks the reports.
//!
//! The snapshots are written by a child process of this benchmark; the audit is the real
//! binary, `palaudit audit --snapshots DIR` (all tenants) or one `--snapshot` per tenant
//! (the first tenth, at least two), with the identities file and `--csv`, `--json`, `--markdown`,
//! `--verdicts-parquet`, `--roster-csv`, `--xlsx` and `--html`; the terminal report goes
//! to a file. (`--fix-plan` is refused for a portfolio: a plan is written per tenant.)
//! Peak RSS is the audit process's own maximum resident set, as `/usr/bin/time -f %M`
//! reports it, or, without GNU time, its `VmHWM` polled from `/proc`.

#[path = "../../rules/benches/support/synthetic.rs"]
mod synthetic;

use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

const PALAUDIT: &str = env!("CARGO_BIN_EXE_palaudit");
const GENERATE_INTO: &str = "PALAUDIT_BENCH_GENERATE_INTO";
const TENANTS: &str = "PALAUDIT_BENCH_TENANTS";
const RESOURCES: &str = "PALAUDIT_BENCH_RESOURCES";
const GNU_TIME: &str = "/usr/bin/time";

/// Every report file one audit writes, beside the terminal report (`terminal.txt`).
const REPORTS: &[(&str, &str)] = &[
    ("--csv", "audit.csv"),
    ("--json", "audit.json"),
    ("--markdown", "audit.md"),
    ("--verdicts-parquet", "verdicts.parquet"),
    ("--roster-csv", "roster.csv"),
    ("--xlsx", "evidence.xlsx"),
    ("--html", "report.html"),
];

fn env_count(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .unwrap_or_else(|| panic!("{name}={v} is not a positive whole number")),
        Err(_) => default,
    }
}

/// The snapshot directory of the `index`-th tenant; names sort in tenant order.
fn snapshot_dir(root: &Path, index: usize) -> PathBuf {
    root.join(format!("tenant-{index:04}"))
}

/// One `palaudit audit` run, measured.
struct Run {
    tenants: usize,
    resources: usize,
    wall: Duration,
    peak_kib: u64,
    exit: i32,
    report_bytes: u64,
}

#[allow(clippy::print_stdout)]
fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: keep that run tiny.
    let benching = std::env::args().any(|a| a == "--bench");
    let tenants = env_count(TENANTS, if benching { 100 } else { 3 });
    let resources = env_count(RESOURCES, if benching { 10_000 } else { 200 });

    if let Some(root) = std::env::var_os(GENERATE_INTO) {
        let root = Path::new(&root);
        for i in 0..tenants {
            synthetic::generate(&snapshot_dir(root, i), &synthetic::tenant_id(i), resources);
        }
        return;
    }

    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("snapshots");
    println!(
        "portfolio_scale: {tenants} tenants × {resources} resources ({} environments, {} users each)",
        synthetic::ENVIRONMENTS,
        synthetic::USERS
    );
    // The snapshots are written by a child process, so nothing of the generator is in
    // memory while the audits run.
    let t = Instant::now();
    let status = Command::new(std::env::current_exe().unwrap())
        .args(std::env::args_os().skip(1))
        .env(GENERATE_INTO, &root)
        .env(TENANTS, tenants.to_string())
        .env(RESOURCES, resources.to_string())
        .status()
        .unwrap();
    assert!(status.success(), "generating the synthetic tenants failed");
    println!(
        "generate + write {tenants} snapshots: {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // One identities file for the whole portfolio, each tenant's partner users listed
    // under its tenant id.
    let ids: Vec<String> = (0..tenants).map(synthetic::tenant_id).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let identities = work.path().join("pal-identities.csv");
    std::fs::write(&identities, synthetic::roster_csv_text(&ids)).unwrap();

    let meter = Meter::probe(work.path());
    // The first tenth of the tenants, at least two: one `--snapshot` alone is a
    // single-tenant audit, not a portfolio.
    let first = (tenants / 10).max(2);
    let mut runs = Vec::new();
    if first < tenants {
        let given: Vec<PathBuf> = (0..first).map(|i| snapshot_dir(&root, i)).collect();
        runs.push(audit(
            work.path(),
            Selection::Each(&given),
            &identities,
            resources,
            !benching,
            meter,
        ));
    }
    runs.push(audit(
        work.path(),
        Selection::Below(&root, tenants),
        &identities,
        resources,
        !benching,
        meter,
    ));

    println!();
    println!(
        "{:>8} {:>16} {:>9} {:>13} {:>12} {:>5}",
        "tenants", "resources total", "wall s", "peak RSS MiB", "reports MiB", "exit"
    );
    for r in &runs {
        println!(
            "{:>8} {:>16} {:>9.1} {:>13.1} {:>12.1} {:>5}",
            r.tenants,
            thousands(r.resources),
            r.wall.as_secs_f64(),
            r.peak_kib as f64 / 1024.0,
            r.report_bytes as f64 / 1_048_576.0,
            r.exit
        );
    }
    if let [few, all] = runs.as_slice() {
        println!(
            "peak RSS ratio, {} ÷ {} tenants: {:.2} (peak RSS measured by {})",
            all.tenants,
            few.tenants,
            all.peak_kib as f64 / few.peak_kib as f64,
            meter.name()
        );
        let per_tenant = (all.peak_kib as f64 - few.peak_kib as f64)
            / 1024.0
            / (all.tenants - few.tenants) as f64;
        if all.peak_kib as f64 > 1.5 * few.peak_kib as f64 {
            println!(
                "peak RSS grows with the number of tenants: about {per_tenant:.1} MiB per tenant"
            );
        }
    }
}

/// The snapshots an audit is given.
enum Selection<'a> {
    /// `--snapshot` for each.
    Each(&'a [PathBuf]),
    /// `--snapshots DIR`, holding this many.
    Below(&'a Path, usize),
}

/// Runs `palaudit audit` over `selection` with every report, checks what it wrote and
/// returns its wall time and peak memory.
fn audit(
    work: &Path,
    selection: Selection<'_>,
    identities: &Path,
    resources: usize,
    check_json: bool,
    meter: Meter,
) -> Run {
    let mut args: Vec<OsString> = vec!["audit".into()];
    let tenants = match selection {
        Selection::Each(paths) => {
            for p in paths {
                args.push("--snapshot".into());
                args.push(p.into());
            }
            paths.len()
        }
        Selection::Below(root, n) => {
            args.push("--snapshots".into());
            args.push(root.into());
            n
        }
    };
    let out = work.join(format!("reports-{tenants}"));
    std::fs::create_dir_all(&out).unwrap();
    args.push("--identities".into());
    args.push(identities.into());
    for (flag, file) in REPORTS {
        args.push(flag.into());
        args.push(out.join(file).into());
    }
    let stdout = out.join("terminal.txt");
    let stderr = out.join("stderr.txt");
    let (status, wall, peak_kib) = meter.run(
        &args,
        File::create(&stdout).unwrap(),
        File::create(&stderr).unwrap(),
        &out.join("rusage.txt"),
    );
    let exit = status.code().unwrap_or(-1);
    // 1 is a coverage bar not met; anything else is a failed audit.
    assert!(
        exit == 0 || exit == 1,
        "palaudit audit over {tenants} tenants failed ({status}):\n{}",
        std::fs::read_to_string(&stderr).unwrap_or_default()
    );

    let mut report_bytes = 0;
    for (_, file) in REPORTS.iter().chain(&[("", "terminal.txt")]) {
        let len = std::fs::metadata(out.join(file)).map_or(0, |m| m.len());
        assert!(len > 0, "palaudit audit wrote no {file}");
        report_bytes += len;
    }
    let total = tenants * resources;
    let rows = csv::Reader::from_path(out.join("audit.csv"))
        .unwrap()
        .into_byte_records()
        .count();
    assert_eq!(
        rows, total,
        "audit.csv has one row per resource of every tenant"
    );
    let terminal = std::fs::read_to_string(&stdout).unwrap();
    assert!(
        terminal.contains(&format!("Tenant {tenants} of {tenants}:")),
        "the terminal report shows every tenant's detail"
    );
    if check_json {
        let doc: serde_json::Value =
            serde_json::from_reader(File::open(out.join("audit.json")).unwrap()).unwrap();
        assert_eq!(doc["kind"], "portfolio");
        assert_eq!(doc["tenants"].as_array().map(Vec::len), Some(tenants));
        assert_eq!(
            doc["rollup"]["tenants"].as_array().map(Vec::len),
            Some(tenants)
        );
        assert_eq!(doc["rollup"]["overall"]["total"], total);
    }
    std::fs::remove_dir_all(&out).unwrap();
    Run {
        tenants,
        resources: total,
        wall,
        peak_kib,
        exit,
        report_bytes,
    }
}

/// How the audit's peak resident memory is measured.
#[derive(Clone, Copy)]
enum Meter {
    /// `/usr/bin/time -f %M -o FILE`: the maximum resident set in KiB (GNU time).
    GnuTime,
    /// `VmHWM` of `/proc/PID/status`, polled until the process ends (its last few
    /// milliseconds may be missed).
    Poll,
}

impl Meter {
    /// GNU time if it is there and answers as GNU time does.
    fn probe(work: &Path) -> Meter {
        let out = work.join("time-probe.txt");
        let works = Command::new(GNU_TIME)
            .args(["-f", "%M", "-o"])
            .arg(&out)
            .arg("true")
            .status()
            .is_ok_and(|s| s.success())
            && last_number(&out).is_some();
        if works { Meter::GnuTime } else { Meter::Poll }
    }

    fn name(self) -> &'static str {
        match self {
            Meter::GnuTime => "/usr/bin/time -f %M",
            Meter::Poll => "polling VmHWM in /proc/PID/status",
        }
    }

    /// Runs palaudit with `args`; its exit status, wall time and peak RSS in KiB.
    fn run(
        self,
        args: &[OsString],
        stdout: File,
        stderr: File,
        scratch: &Path,
    ) -> (ExitStatus, Duration, u64) {
        match self {
            Meter::GnuTime => {
                let started = Instant::now();
                let status = Command::new(GNU_TIME)
                    .args(["-f", "%M", "-o"])
                    .arg(scratch)
                    .arg(PALAUDIT)
                    .args(args)
                    .stdout(stdout)
                    .stderr(stderr)
                    .status()
                    .unwrap();
                let wall = started.elapsed();
                let peak = last_number(scratch).expect("/usr/bin/time wrote no %M");
                (status, wall, peak)
            }
            Meter::Poll => {
                let started = Instant::now();
                let mut child = Command::new(PALAUDIT)
                    .args(args)
                    .stdout(stdout)
                    .stderr(stderr)
                    .spawn()
                    .unwrap();
                let status_file = format!("/proc/{}/status", child.id());
                let mut peak = 0;
                let status = loop {
                    if let Some(hwm) = std::fs::read_to_string(&status_file)
                        .ok()
                        .and_then(|s| vm_hwm_kib(&s))
                    {
                        peak = peak.max(hwm);
                    }
                    if let Some(status) = child.try_wait().unwrap() {
                        break status;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                };
                (status, started.elapsed(), peak)
            }
        }
    }
}

/// The last line of `path` as a number (GNU time writes a note on a non-zero exit
/// before its format's line).
fn last_number(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path)
        .ok()?
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())?
        .trim()
        .parse()
        .ok()
}

fn vm_hwm_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// `1000000` as `1,000,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
