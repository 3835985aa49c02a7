//! The JSON report: the full findings plus a summary, under a schema version.

use crate::coverage::{coverage_rows, coverage_tenths};
use crate::{Format, ReportError};
use palaudit_model::{Counts, Findings, ResourceType, RosterFindings, TypeGuidance, Verdict};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;

/// The version of the JSON report's layout. Bumped when a key is renamed, removed or
/// changes meaning; adding keys does not bump it.
pub const SCHEMA_VERSION: u32 = 1;

// Field order here is the key order in the output (serde writes struct fields in
// declaration order), which keeps the output stable whatever serde_json features other
// crates enable.

#[derive(Serialize)]
struct Report<'a> {
    schema_version: u32,
    tenant_id: &'a str,
    collected_at: &'a Option<chrono::DateTime<chrono::Utc>>,
    /// True when the snapshot recorded collection errors.
    partial: bool,
    collection_errors: &'a [String],
    summary: Summary<'a>,
    guidance: &'a BTreeMap<ResourceType, TypeGuidance>,
    /// The PAL identities of this tenant, their health and credit.
    roster: &'a RosterFindings,
    verdicts: &'a [Verdict],
}

#[derive(Serialize)]
struct Summary<'a> {
    #[serde(flatten)]
    overall: Tally,
    /// Attributed resources whose credit rests on a personal user account.
    leaver_risk: u64,
    /// Verdicts an entry of the suppressions file accepts (each keeps its status).
    suppressed: u64,
    /// Coverage over the verdicts that are not suppressed: what `--fail-under` compares.
    gate_coverage_pct: f64,
    by_environment_and_type: Vec<EnvironmentTypeTally<'a>>,
}

#[derive(Serialize)]
pub(crate) struct Tally {
    total: u64,
    attributed: u64,
    unattributed: u64,
    unknown: u64,
    /// One decimal place, as every report shows it.
    coverage_pct: f64,
}

impl From<&Counts> for Tally {
    fn from(c: &Counts) -> Self {
        Tally {
            total: c.total(),
            attributed: c.attributed,
            unattributed: c.unattributed,
            unknown: c.unknown,
            coverage_pct: coverage_tenths(c) as f64 / 10.0,
        }
    }
}

#[derive(Serialize)]
struct EnvironmentTypeTally<'a> {
    environment_id: &'a str,
    environment_name: &'a str,
    environment_type: &'a str,
    resource_type: ResourceType,
    #[serde(flatten)]
    tally: Tally,
}

pub(crate) fn render(findings: &Findings, out: &mut dyn Write) -> Result<(), ReportError> {
    let report = Report {
        schema_version: SCHEMA_VERSION,
        tenant_id: &findings.tenant_id,
        collected_at: &findings.collected_at,
        partial: !findings.collection_errors.is_empty(),
        collection_errors: &findings.collection_errors,
        summary: Summary {
            overall: Tally::from(&findings.counts()),
            leaver_risk: findings.leaver_risk_count(),
            suppressed: findings.suppressed_counts().total(),
            gate_coverage_pct: coverage_tenths(&findings.gated_counts()) as f64 / 10.0,
            by_environment_and_type: coverage_rows(findings)
                .into_iter()
                .map(|r| EnvironmentTypeTally {
                    environment_id: r.environment_id,
                    environment_name: r.environment_name,
                    environment_type: r.environment_type,
                    resource_type: r.resource_type,
                    tally: Tally::from(&r.counts),
                })
                .collect(),
        },
        guidance: &findings.guidance,
        roster: &findings.roster,
        verdicts: &findings.verdicts,
    };
    let mut out = out;
    serde_json::to_writer_pretty(&mut out, &report)
        .map_err(|source| ReportError::Json { source })?;
    out.write_all(b"\n").map_err(|source| ReportError::Io {
        format: Format::Json,
        part: "final newline".to_owned(),
        source,
    })
}
