//! `palaudit audit --snapshot A --snapshot B …` (or `--snapshots DIR`): one audit over
//! many customer tenants — a roll-up by tenant, then each tenant's detail, in every
//! format (docs/portfolio.md).
//!
//! Tenants are audited one at a time, each streamed into every report with only its
//! summary held, so a portfolio costs the memory of its largest tenant's summary. The
//! terminal and markdown detail go to temporary files while the roll-up is gathered,
//! because the roll-up comes first.

use crate::audit::{
    Finishing, Labelled, audit_header, below, evaluate_into, load_roster_check, terminal_options,
    warn, warn_if_no_identity,
};
use crate::{Outcome, ReportArgs};
use anyhow::{Context, Result, anyhow, bail};
use palaudit_model::{
    AuditHeader, AuditSummary, Fanout, LinkCheck, RollupSink, Roster, RunInfo, VerdictSink,
};
use palaudit_report::{ChecklistSink, CsvSink, PortfolioJson};
use palaudit_rules::RuleSet;
use palaudit_snapshot::{MANIFEST_FILE, Snapshot, VerdictsParquet};
use palaudit_suppressions::{Applier, SuppressingSink};
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Seek, Write};
use std::path::{Path, PathBuf};

/// The snapshots of a portfolio: every `--snapshot`, then every snapshot below
/// `--snapshots DIR` (a directory holding a manifest; hidden directories, such as a
/// collection still being written, are skipped), in path order.
pub fn snapshot_paths(given: &[PathBuf], below: Option<&Path>) -> Result<Vec<PathBuf>> {
    let mut paths = given.to_vec();
    if let Some(root) = below {
        let mut found = Vec::new();
        find_snapshots(root, &mut found)
            .with_context(|| format!("cannot list the snapshots below {}", root.display()))?;
        if found.is_empty() {
            bail!(
                "no snapshot below {} (a snapshot is a directory holding {MANIFEST_FILE}, written by `palaudit collect`)",
                root.display()
            );
        }
        found.sort();
        paths.extend(found);
    }
    Ok(paths)
}

fn find_snapshots(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if dir.join(MANIFEST_FILE).is_file() {
        found.push(dir.to_owned());
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if entry.file_type()?.is_dir() && !hidden {
            find_snapshots(&entry.path(), found)?;
        }
    }
    Ok(())
}

/// The name shown beside a tenant: its snapshot directory's.
fn label(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// The files being written; the terminal and markdown detail wait in temporary files.
struct Outputs {
    csv: Option<(PathBuf, CsvSink<BufWriter<File>>)>,
    roster_csv: Option<(PathBuf, BufWriter<File>)>,
    json: Option<(PathBuf, BufWriter<File>, PortfolioJson)>,
    markdown: Option<(PathBuf, File)>,
    terminal: Option<File>,
}

fn create(path: &Path, what: &str) -> Result<BufWriter<File>> {
    Ok(BufWriter::new(File::create(path).with_context(|| {
        format!("cannot create {what} file {}", path.display())
    })?))
}

fn scratch() -> Result<File> {
    tempfile::tempfile().context("cannot create a temporary file")
}

impl Outputs {
    fn open(report: &ReportArgs) -> Result<Outputs> {
        let json = match &report.json {
            Some(p) => {
                let mut w = create(p, "JSON")?;
                let doc = PortfolioJson::begin(&mut w)
                    .with_context(|| format!("writing JSON to {}", p.display()))?;
                Some((p.clone(), w, doc))
            }
            None => None,
        };
        Ok(Outputs {
            csv: match &report.csv {
                Some(p) => Some((p.clone(), CsvSink::new(create(p, "CSV")?))),
                None => None,
            },
            roster_csv: match &report.roster_csv {
                Some(p) => Some((p.clone(), create(p, "roster CSV")?)),
                None => None,
            },
            json,
            markdown: match &report.markdown {
                Some(p) => Some((p.clone(), scratch()?)),
                None => None,
            },
            terminal: if report.quiet { None } else { Some(scratch()?) },
        })
    }

    /// Streams one tenant's audit into every format: `feed` runs the audit into the
    /// sink it is given (the streaming formats and `others`) and returns its summary,
    /// from which the roster CSV and the terminal detail are written.
    fn tenant(
        &mut self,
        others: &mut Fanout<'_>,
        index: usize,
        of: usize,
        name: &str,
        feed: impl FnOnce(&mut dyn VerdictSink) -> Result<(AuditHeader, AuditSummary)>,
    ) -> Result<(AuditHeader, AuditSummary)> {
        let first = index == 0;
        let mut labelled: Vec<Labelled<'_>> = Vec::new();
        if let Some((p, sink)) = &mut self.csv {
            labelled.push(Labelled::new(
                sink,
                format!("writing CSV to {}", p.display()),
            ));
        }
        let mut json = match &mut self.json {
            Some((p, w, doc)) => Some((
                p.clone(),
                doc.tenant_sink(w)
                    .with_context(|| format!("writing JSON to {}", p.display()))?,
            )),
            None => None,
        };
        if let Some((p, sink)) = &mut json {
            labelled.push(Labelled::new(
                sink,
                format!("writing JSON to {}", p.display()),
            ));
        }
        let mut markdown = match &mut self.markdown {
            Some((p, tmp)) => {
                let mut w = BufWriter::new(&*tmp);
                w.write_all(b"\n---\n\n")?;
                Some((p.clone(), ChecklistSink::new(w)))
            }
            None => None,
        };
        if let Some((p, sink)) = &mut markdown {
            labelled.push(Labelled::new(
                sink,
                format!("writing markdown to {}", p.display()),
            ));
        }
        let mut sinks = Fanout::default();
        sinks.push(others);
        for sink in &mut labelled {
            sinks.push(sink);
        }
        let (header, summary) = feed(&mut sinks)?;
        drop(sinks);
        drop(labelled);
        if let Some((_, sink)) = json {
            sink.done();
        }
        if let Some((_, sink)) = markdown {
            sink.into_inner().flush()?;
        }
        if let Some((p, w)) = &mut self.roster_csv {
            let rows = if first {
                palaudit_report::roster_csv_summary
            } else {
                palaudit_report::roster_csv_rows_summary
            };
            rows(&header, &summary, w)
                .with_context(|| format!("writing roster CSV to {}", p.display()))?;
        }
        if let Some(tmp) = &mut self.terminal {
            let mut w = BufWriter::new(&*tmp);
            writeln!(w, "\n═══ Tenant {} of {of}: {name} ═══\n", index + 1)?;
            palaudit_report::terminal_summary(&header, &summary, &mut w, &terminal_options())?;
            w.flush()?;
        }
        Ok((header, summary))
    }

    /// The roll-up, then the detail held back; every file closed.
    fn finish(self, rollup: &palaudit_model::Rollup) -> Result<()> {
        if let Some((p, sink)) = self.csv {
            let context = || format!("writing {}", p.display());
            sink.into_inner()
                .with_context(context)?
                .flush()
                .with_context(context)?;
        }
        if let Some((p, mut w)) = self.roster_csv {
            w.flush()
                .with_context(|| format!("writing {}", p.display()))?;
        }
        if let Some((p, mut w, doc)) = self.json {
            doc.end(rollup, &mut w)
                .map_err(anyhow::Error::from)
                .and_then(|()| Ok(w.flush()?))
                .with_context(|| format!("writing JSON to {}", p.display()))?;
        }
        if let Some((p, tmp)) = self.markdown {
            let context = || format!("writing markdown to {}", p.display());
            let mut w = create(&p, "markdown")?;
            palaudit_report::rollup_markdown(rollup, &mut w).with_context(context)?;
            append(tmp, &mut w).with_context(context)?;
            w.flush().with_context(context)?;
        }
        if let Some(tmp) = self.terminal {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            palaudit_report::rollup_terminal(rollup, &mut out, &terminal_options())?;
            append(tmp, &mut out)?;
            out.flush()?;
        }
        Ok(())
    }
}

fn append(mut tmp: File, out: &mut dyn Write) -> std::io::Result<()> {
    tmp.rewind()?;
    std::io::copy(&mut tmp, out)?;
    Ok(())
}

/// `identities verify` results per tenant (lower-cased id); each file must be of a tenant
/// of the portfolio.
fn roster_checks(paths: &[PathBuf], tenants: &[String]) -> Result<HashMap<String, Vec<LinkCheck>>> {
    let mut by_tenant: HashMap<String, Vec<LinkCheck>> = HashMap::new();
    for path in paths {
        let tenant = tenants
            .iter()
            .find(|t| load_roster_check(path, t).is_ok())
            .ok_or_else(|| {
                let err = load_roster_check(path, &tenants[0])
                    .err()
                    .map(|e| format!("{e:#}"))
                    .unwrap_or_default();
                anyhow!(
                    "{err}; the roster check must be of one of the portfolio's tenants ({})",
                    tenants.join(", ")
                )
            })?;
        by_tenant
            .entry(tenant.to_ascii_lowercase())
            .or_default()
            .extend(load_roster_check(path, tenant)?);
    }
    Ok(by_tenant)
}

pub fn run(
    paths: &[PathBuf],
    roster: &Roster,
    identities: &Path,
    rules: &RuleSet,
    roster_check_paths: &[PathBuf],
    report: &ReportArgs,
) -> Result<Outcome> {
    if report.fix_plan.is_some() {
        bail!(
            "--fix-plan writes the plan for one tenant; run `palaudit fix-plan --snapshot DIR` for each tenant of the portfolio"
        );
    }
    // Every snapshot is opened (and so verified) before anything is audited, and each
    // tenant may appear once: two collections of one tenant would count it twice. Only
    // its tenant id is kept: each is opened again at its turn, so a portfolio holds one
    // tenant's tables at a time, not every tenant's.
    let mut snapshots: Vec<(PathBuf, String)> = Vec::with_capacity(paths.len());
    for path in paths {
        let tenant = Snapshot::open(path)?.manifest.tenant_id;
        if let Some((other, _)) = snapshots
            .iter()
            .find(|(_, t)| t.eq_ignore_ascii_case(&tenant))
        {
            bail!(
                "{} and {} are both snapshots of tenant {tenant}; a portfolio audits each tenant once (`palaudit diff` compares two collections of one tenant)",
                other.display(),
                path.display()
            );
        }
        snapshots.push((path.clone(), tenant));
    }
    let tenants: Vec<String> = snapshots.iter().map(|(_, t)| t.clone()).collect();
    let checks = roster_checks(roster_check_paths, &tenants)?;
    let suppressions = crate::suppress::load(report)?;
    let mut applier = suppressions
        .as_ref()
        .map(|set| Applier::new(set, crate::suppress::today()));

    let mut outputs = Outputs::open(report)?;
    let mut rollup = RollupSink::new(snapshots.iter().map(|(p, t)| (t.clone(), label(p))));
    let mut parquet = match &report.verdicts_parquet {
        Some(p) => Some(VerdictsParquet::create(p).with_context(|| {
            format!("cannot create the verdicts Parquet table {}", p.display())
        })?),
        None => None,
    };
    let mut workbook = crate::evidence::workbook(report)?;
    let mut html = crate::evidence::html(report)?;
    let identities = identities.display().to_string();
    let mut partial = Vec::new();
    let n = snapshots.len();
    for (i, (path, tenant)) in snapshots.into_iter().enumerate() {
        let snapshot = Snapshot::open(&path)?;
        // Replaced since it was checked (a collection written into the same directory):
        // auditing it would defeat the once-per-tenant check above.
        if !snapshot.manifest.tenant_id.eq_ignore_ascii_case(&tenant) {
            bail!(
                "{} changed while the portfolio was being audited: it held tenant {tenant}, now {}; run the audit again",
                path.display(),
                snapshot.manifest.tenant_id
            );
        }
        let run = RunInfo {
            label: Some(label(&path)),
            ..crate::evidence::run_info(&snapshot, rules, &identities)
        };
        let header = audit_header(&snapshot, rules, Some(&run));
        warn_if_no_identity(roster, &header.tenant_id);
        if !header.collection_errors.is_empty() {
            partial.push(path.display().to_string());
        }
        let mut sinks = Fanout::default();
        sinks.push(&mut rollup);
        if let Some(p) = &mut parquet {
            sinks.push(p);
        }
        if let Some(w) = &mut workbook {
            sinks.push(w);
        }
        if let Some(h) = &mut html {
            sinks.push(h);
        }
        let tenant_checks = checks
            .get(&header.tenant_id.to_ascii_lowercase())
            .map(Vec::as_slice);
        let applier = &mut applier;
        outputs.tenant(&mut sinks, i, n, &label(&path), |reports| {
            let mut checked = Finishing::new(tenant_checks, applier.is_some(), reports);
            let frames = snapshot.frames();
            let evaluated = match applier {
                Some(a) => {
                    let mut suppressing = SuppressingSink::new(a, &mut checked);
                    evaluate_into(&frames, roster, rules, &header, &mut suppressing)
                }
                None => evaluate_into(&frames, roster, rules, &header, &mut checked),
            };
            let returned =
                evaluated.with_context(|| format!("auditing snapshot {}", path.display()))?;
            let summary = match checked.summary.take() {
                Some(kept) => kept,
                None => returned,
            };
            Ok((header, summary))
        })?;
    }
    if let (Some(sink), Some(p)) = (&mut parquet, &report.verdicts_parquet) {
        sink.finish()
            .map_err(|e| anyhow!(e))
            .with_context(|| format!("writing the verdicts Parquet table {}", p.display()))?;
    }
    if let (Some(book), Some(p)) = (&mut workbook, &report.xlsx) {
        book.finish()
            .map_err(|e| anyhow!(e))
            .with_context(|| format!("writing the evidence workbook {}", p.display()))?;
    }
    if let (Some(page), Some(p)) = (&mut html, &report.html) {
        page.finish()
            .map_err(|e| anyhow!(e))
            .with_context(|| format!("writing the HTML report {}", p.display()))?;
    }
    if let Some(a) = &applier {
        crate::suppress::warn_usage(&a.usage());
    }
    let rollup = rollup.into_rollup();
    outputs.finish(&rollup)?;

    if !partial.is_empty() && !report.allow_partial {
        bail!(
            "{} of {n} snapshots are incomplete ({}); their verdicts cover only what was collected. Use --allow-partial to accept a partial audit",
            partial.len(),
            partial.join(", ")
        );
    }
    Ok(match report.fail_under {
        Some(min) => fail_under(&rollup, min),
        None => Outcome::Done,
    })
}

/// `--fail-under` holds for every tenant and for the portfolio as a whole (suppressed
/// verdicts left out); the tenants below it are named, so a pipeline log says which
/// customer to look at.
fn fail_under(rollup: &palaudit_model::Rollup, min: f64) -> Outcome {
    let short: Vec<String> = rollup
        .tenants
        .iter()
        .filter(|t| below(&t.gated_counts(), min))
        .map(|t| {
            format!(
                "{} ({}) {}",
                t.label.as_deref().unwrap_or("tenant"),
                t.tenant_id,
                palaudit_report::format_coverage(&t.gated_counts())
            )
        })
        .collect();
    let overall = rollup.overall().gated_counts();
    if short.is_empty() && !below(&overall, min) {
        return Outcome::Done;
    }
    warn(&format!(
        "coverage below --fail-under {min}%: {}; all tenants {}",
        if short.is_empty() {
            "no single tenant".to_owned()
        } else {
            short.join(", ")
        },
        palaudit_report::format_coverage(&overall)
    ));
    Outcome::NotMet
}
