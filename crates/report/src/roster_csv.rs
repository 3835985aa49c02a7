//! The roster CSV: one row per PAL identity of the audited tenant (`--roster-csv`).

use crate::text::csv_cell;
use crate::{Format, ReportError};
use palaudit_model::{RosterEntry, RosterFindings};
use std::io::Write;

/// The roster CSV's columns, in order. New ones are only ever appended.
pub const ROSTER_CSV_COLUMNS: [&str; 13] = [
    "tenant_id",
    "line",
    "partner_id",
    "principal_type",
    "account_kind",
    "display_name",
    "upn",
    "object_id",
    "app_id",
    "health",
    "link_state",
    "rbac_assignments",
    "credited_resources",
];

pub(crate) fn render(
    tenant_id: &str,
    roster: &RosterFindings,
    out: &mut dyn Write,
    header: bool,
) -> Result<(), ReportError> {
    let mut w = csv::Writer::from_writer(out);
    if header {
        w.write_record(ROSTER_CSV_COLUMNS)
            .map_err(|source| ReportError::Csv {
                format: Format::RosterCsv,
                part: "roster header".to_owned(),
                source,
            })?;
    }
    for (i, e) in roster.identities.iter().enumerate() {
        w.write_record(row(tenant_id, e))
            .map_err(|source| ReportError::Csv {
                format: Format::RosterCsv,
                part: format!("roster row {}, identities file line {}", i + 1, e.line),
                source,
            })?;
    }
    w.flush().map_err(|source| ReportError::Io {
        format: Format::RosterCsv,
        part: "final flush".to_owned(),
        source,
    })
}

fn row(tenant_id: &str, e: &RosterEntry) -> [String; 13] {
    let opt = |s: &Option<String>| s.as_deref().map(csv_cell).unwrap_or_default();
    [
        csv_cell(tenant_id),
        e.line.to_string(),
        csv_cell(&e.partner_id),
        e.principal_type.as_str().to_owned(),
        e.account_kind.as_str().to_owned(),
        opt(&e.display_name),
        opt(&e.upn),
        opt(&e.object_id),
        opt(&e.app_id),
        e.health.as_str().to_owned(),
        e.link_state.as_str().to_owned(),
        // Empty until checked, like every absent value in palaudit's CSVs.
        e.rbac_assignments
            .map(|n| n.to_string())
            .unwrap_or_default(),
        e.credited_resources.to_string(),
    ]
}
