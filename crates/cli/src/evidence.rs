//! `--xlsx` and `--html`: the evidence a partner hands over. This module only gathers
//! the run's facts ([`RunInfo`]) and opens the report crate's sinks; the workbook and the
//! HTML page are written by `palaudit-report` as verdicts stream into them.

use crate::ReportArgs;
use anyhow::{Context, Result};
use palaudit_model::RunInfo;
use palaudit_report::{EvidenceWorkbook, HtmlReport, WorkbookOptions};
use palaudit_rules::RuleSet;
use palaudit_snapshot::{MANIFEST_FILE, Snapshot};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

/// `palaudit <version>` of this build.
pub fn version() -> String {
    format!("palaudit {}", env!("CARGO_PKG_VERSION"))
}

/// What the evidence says about how `snapshot` was audited.
pub fn run_info(snapshot: &Snapshot, rules: &RuleSet, identities: &str) -> RunInfo {
    RunInfo {
        palaudit_version: version(),
        label: None,
        snapshot: Some(snapshot.dir.display().to_string()),
        snapshot_checksum: sha256_file(&snapshot.dir.join(MANIFEST_FILE)),
        collected_by: Some(snapshot.manifest.tool_version.clone()),
        rules: rules_label(rules),
        identities: identities.to_owned(),
    }
}

/// The manifest holds every table's sha256, so its own digest stands for the snapshot.
/// `None` if it cannot be read again (it was read a moment ago to open the snapshot).
fn sha256_file(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    Some(hex::encode(Sha256::digest(bytes)))
}

/// The bundled rules are named by the build; a rules directory by a digest of its
/// `*.toml` files (names and contents, in name order), so two runs with different rules
/// cannot show the same line.
fn rules_label(rules: &RuleSet) -> String {
    if rules.origin == "bundled" {
        return format!("bundled ({})", version());
    }
    let dir = Path::new(&rules.origin);
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut hash = Sha256::new();
    for f in &files {
        hash.update(f.file_name().unwrap_or_default().as_encoded_bytes());
        hash.update([0]);
        hash.update(std::fs::read(f).unwrap_or_default());
        hash.update([0]);
    }
    format!("{} (sha256 {})", rules.origin, hex::encode(hash.finalize()))
}

/// The workbook `--xlsx` asks for, if it does; nothing is written until `finish`.
pub fn workbook(report: &ReportArgs) -> Result<Option<EvidenceWorkbook>> {
    let Some(path) = &report.xlsx else {
        return Ok(None);
    };
    let shell = match &report.fix_plan {
        Some(plan) => Some(crate::fix_plan::shell_for(
            plan,
            report.fix_plan_shell,
            "--fix-plan-shell",
        )?),
        None => None,
    };
    let options = WorkbookOptions {
        fix_plan_to: report.fix_plan_to.clone(),
        shell,
    };
    Ok(Some(EvidenceWorkbook::create(path, options).with_context(
        || format!("cannot create the evidence workbook {}", path.display()),
    )?))
}

/// The HTML report `--html` asks for, if it does, written as verdicts stream in.
pub fn html(report: &ReportArgs) -> Result<Option<HtmlReport<BufWriter<File>>>> {
    let Some(path) = &report.html else {
        return Ok(None);
    };
    let file = File::create(path)
        .with_context(|| format!("cannot create the HTML report {}", path.display()))?;
    Ok(Some(HtmlReport::new(BufWriter::new(file))))
}
