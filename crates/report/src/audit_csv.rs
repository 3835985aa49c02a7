//! The audit CSV (README "The audit CSV": the columns scripts depend on).

use crate::text::csv_cell;
use crate::{Format, ReportError};
use palaudit_model::{
    AuditHeader, AuditSummary, ChangePath, Findings, SinkError, Verdict, VerdictSink,
};
use std::io::Write;

/// The audit CSV's stable columns (README "The audit CSV"), in the order this writer
/// emits them. Scripts depend on these names; never rename or reorder them.
pub const CSV_COLUMNS: [&str; 14] = [
    "tenant_id",
    "environment_id",
    "environment_name",
    "environment_type",
    "resource_type",
    "resource_id",
    "resource_name",
    "status",
    "partner_id",
    "attributed_principal_id",
    "attributing_role",
    "reasons",
    "change_paths_user",
    "change_paths_service_principal",
];

/// Columns after [`CSV_COLUMNS`] (the stable columns come first; others may follow). New ones are only
/// ever appended.
pub const CSV_EXTRA_COLUMNS: [&str; 6] = [
    "attributed_principal_name",
    "leaver_risk",
    "suppressed",
    "suppression_reason",
    "suppression_approved_by",
    "suppression_expires",
];

pub(crate) fn render(
    findings: &Findings,
    out: &mut dyn Write,
    header: bool,
) -> Result<(), ReportError> {
    let mut w = csv::Writer::from_writer(out);
    if header {
        let names = CSV_COLUMNS.iter().chain(CSV_EXTRA_COLUMNS.iter());
        w.write_record(names).map_err(|source| ReportError::Csv {
            format: Format::Csv,
            part: "header".to_owned(),
            source,
        })?;
    }
    for (i, v) in findings.verdicts.iter().enumerate() {
        w.write_record(row(&findings.tenant_id, v))
            .map_err(|source| ReportError::Csv {
                format: Format::Csv,
                part: format!("row {}, resource {}", i + 1, v.resource_id),
                source,
            })?;
    }
    w.flush().map_err(|source| ReportError::Io {
        format: Format::Csv,
        part: "final flush".to_owned(),
        source,
    })
}

/// The audit CSV written verdict by verdict as an audit streams past, byte for byte what
/// [`crate::csv`] writes for the same findings: a tenant's verdicts never need to be held.
pub struct CsvSink<W: Write> {
    w: csv::Writer<W>,
    tenant_id: String,
    rows: usize,
    header_written: bool,
}

impl<W: Write> CsvSink<W> {
    pub fn new(out: W) -> CsvSink<W> {
        CsvSink {
            w: csv::Writer::from_writer(out),
            tenant_id: String::new(),
            rows: 0,
            header_written: false,
        }
    }

    /// The writer back, flushed.
    pub fn into_inner(self) -> Result<W, ReportError> {
        self.w.into_inner().map_err(|e| ReportError::Io {
            format: Format::Csv,
            part: "final flush".to_owned(),
            source: e.into_error(),
        })
    }
}

impl<W: Write> VerdictSink for CsvSink<W> {
    fn begin(&mut self, header: &AuditHeader) -> Result<(), SinkError> {
        self.tenant_id = header.tenant_id.clone();
        if !self.header_written {
            let names = CSV_COLUMNS.iter().chain(CSV_EXTRA_COLUMNS.iter());
            self.w
                .write_record(names)
                .map_err(|source| ReportError::Csv {
                    format: Format::Csv,
                    part: "header".to_owned(),
                    source,
                })?;
            self.header_written = true;
        }
        Ok(())
    }

    fn verdict(&mut self, v: &Verdict) -> Result<(), SinkError> {
        self.rows += 1;
        self.w
            .write_record(row(&self.tenant_id, v))
            .map_err(|source| ReportError::Csv {
                format: Format::Csv,
                part: format!("row {}, resource {}", self.rows, v.resource_id),
                source,
            })?;
        Ok(())
    }

    fn end(&mut self, _: &AuditSummary) -> Result<(), SinkError> {
        self.w.flush().map_err(|source| ReportError::Io {
            format: Format::Csv,
            part: "final flush".to_owned(),
            source,
        })?;
        Ok(())
    }
}

fn row(tenant_id: &str, v: &Verdict) -> [String; 20] {
    let opt = |s: &Option<String>| s.as_deref().map(csv_cell).unwrap_or_default();
    [
        csv_cell(tenant_id),
        csv_cell(&v.environment_id),
        csv_cell(&v.environment_name),
        csv_cell(&v.environment_type),
        v.resource_type.as_str().to_owned(),
        csv_cell(&v.resource_id),
        csv_cell(&v.resource_name),
        v.status.as_str().to_owned(),
        opt(&v.partner_id),
        opt(&v.attributed_principal_id),
        v.attributing_role
            .map(|r| r.as_str().to_owned())
            .unwrap_or_default(),
        v.reasons
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(";"),
        ChangePath::join(&v.change_paths_user),
        ChangePath::join(&v.change_paths_service_principal),
        opt(&v.attributed_principal_name),
        v.leaver_risk.to_string(),
        v.suppression.is_some().to_string(),
        v.suppression
            .as_ref()
            .map(|s| csv_cell(&s.reason))
            .unwrap_or_default(),
        v.suppression
            .as_ref()
            .map(|s| csv_cell(&s.approved_by))
            .unwrap_or_default(),
        v.suppression
            .as_ref()
            .map(|s| s.expires.to_string())
            .unwrap_or_default(),
    ]
}
