//! The audit's verdicts as one Parquet table (`--verdicts-parquet`), for partners who
//! aggregate hundreds of tenants in DuckDB, Spark or Fabric.
//!
//! It lives beside the snapshot tables because it is written the same way (column
//! buffers flushed as row groups, zstd), and this is the crate that owns Parquet; the
//! report crate stays free of polars. `docs/verdicts-parquet.md` is the reference.

use crate::{Kind, SnapshotError, TableFile, Value};
use chrono::{DateTime, Utc};
use palaudit_model::{
    AuditHeader, AuditSummary, ChangePath, SinkError, Verdict, VerdictSink, finding_id,
};
use std::path::{Path, PathBuf};

/// Verdicts buffered before they are written as one row group: a verdict row is some
/// twenty-two columns wide, mostly text, so a group of them costs several times a
/// snapshot table's.
const VERDICT_ROWS_PER_GROUP: usize = 16_384;

/// The table's columns, in order: `tenant_id`, `collected_at` and `finding_id`, then
/// every column of the audit CSV in its order. Only ever appended to.
const VERDICTS_COLUMNS: &[(&str, Kind)] = &[
    ("tenant_id", Kind::Str),
    ("collected_at", Kind::Time),
    ("finding_id", Kind::Str),
    ("environment_id", Kind::Str),
    ("environment_name", Kind::Str),
    ("environment_type", Kind::Str),
    ("resource_type", Kind::Str),
    ("resource_id", Kind::Str),
    ("resource_name", Kind::Str),
    ("status", Kind::Str),
    ("partner_id", Kind::Str),
    ("attributed_principal_id", Kind::Str),
    ("attributing_role", Kind::Str),
    ("reasons", Kind::Str),
    ("change_paths_user", Kind::Str),
    ("change_paths_service_principal", Kind::Str),
    ("attributed_principal_name", Kind::Str),
    ("leaver_risk", Kind::Bool),
    ("suppressed", Kind::Bool),
    ("suppression_reason", Kind::Str),
    ("suppression_approved_by", Kind::Str),
    ("suppression_expires", Kind::Date),
];

/// A [`VerdictSink`] writing every verdict of every tenant it is given to one Parquet
/// file. Rows go to a hidden file beside the target, renamed into place by `finish`, so a
/// failed audit never leaves a half-written table where a pipeline would read it.
pub struct VerdictsParquet {
    path: PathBuf,
    tmp: PathBuf,
    table: TableFile,
    tenant: Option<(String, Option<DateTime<Utc>>)>,
    finished: bool,
}

impl VerdictsParquet {
    pub fn create(path: &Path) -> Result<VerdictsParquet, SnapshotError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "verdicts.parquet".to_owned());
        let tmp = path.with_file_name(format!(".{name}.{}.partial", std::process::id()));
        let table = TableFile::at(tmp.clone(), name, VERDICTS_COLUMNS, VERDICT_ROWS_PER_GROUP)?;
        Ok(VerdictsParquet {
            path: path.to_owned(),
            tmp,
            table,
            tenant: None,
            finished: false,
        })
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.table.rows
    }
}

impl VerdictSink for VerdictsParquet {
    fn begin(&mut self, header: &AuditHeader) -> Result<(), SinkError> {
        self.tenant = Some((header.tenant_id.clone(), header.collected_at));
        Ok(())
    }

    fn verdict(&mut self, v: &Verdict) -> Result<(), SinkError> {
        let (tenant, collected_at) = self
            .tenant
            .as_ref()
            .expect("begin comes before every verdict");
        let id = finding_id(tenant, v.resource_type, &v.resource_id);
        let reasons = v
            .reasons
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(";");
        let user = ChangePath::join(&v.change_paths_user);
        let sp = ChangePath::join(&v.change_paths_service_principal);
        let values = vec![
            Value::Str(Some(tenant)),
            Value::Time(*collected_at),
            Value::Str(Some(&id)),
            Value::Str(Some(&v.environment_id)),
            Value::Str(Some(&v.environment_name)),
            Value::Str(Some(&v.environment_type)),
            Value::Str(Some(v.resource_type.as_str())),
            Value::Str(Some(&v.resource_id)),
            Value::Str(Some(&v.resource_name)),
            Value::Str(Some(v.status.as_str())),
            Value::Str(v.partner_id.as_deref()),
            Value::Str(v.attributed_principal_id.as_deref()),
            Value::Str(v.attributing_role.map(|r| r.as_str())),
            Value::Str(Some(&reasons)),
            Value::Str(Some(&user)),
            Value::Str(Some(&sp)),
            Value::Str(v.attributed_principal_name.as_deref()),
            Value::Bool(Some(v.leaver_risk)),
            Value::Bool(Some(v.suppression.is_some())),
            Value::Str(v.suppression.as_deref().map(|s| s.reason.as_str())),
            Value::Str(v.suppression.as_deref().map(|s| s.approved_by.as_str())),
            Value::Date(v.suppression.as_deref().map(|s| s.expires)),
        ];
        self.table.push(values)?;
        Ok(())
    }

    fn end(&mut self, _summary: &AuditSummary) -> Result<(), SinkError> {
        Ok(())
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        self.table.finish()?;
        std::fs::rename(&self.tmp, &self.path).map_err(|e| SnapshotError::io(&self.path, e))?;
        self.finished = true;
        Ok(())
    }
}

impl Drop for VerdictsParquet {
    fn drop(&mut self) {
        if !self.finished {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palaudit_model::{Findings, Reason, ResourceType, Role, Status};
    use polars::prelude::*;
    use std::sync::Arc;

    fn verdict(id: &str, name: &str, status: Status, leaver_risk: bool) -> Verdict {
        let credited = status == Status::Attributed;
        Verdict {
            environment_id: "env-1".into(),
            environment_name: "Sales".into(),
            environment_type: "Production".into(),
            partner_id: credited.then(|| "1234567".to_owned()),
            attributed_principal_name: credited.then(|| "Pat Kowalski".to_owned()),
            attributing_role: credited.then_some(Role::Creator),
            leaver_risk,
            reasons: vec![
                Reason::NoPalIdentityInRole,
                Reason::NonProductionEnvironment,
            ],
            change_paths_user: Arc::from([ChangePath::Powershell, ChangePath::Gui]),
            ..Verdict::new(ResourceType::Flow, id, name, status)
        }
    }

    #[test]
    fn every_tenant_lands_in_one_typed_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("verdicts.parquet");
        let at = DateTime::parse_from_rfc3339("2026-03-01T08:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut accepted = verdict("f2", "販売 📊", Status::Unknown, false);
        accepted.suppression = Some(Arc::new(palaudit_model::Suppression {
            reason: "Customer-built".into(),
            approved_by: "jane@fabrikam.com".into(),
            expires: chrono::NaiveDate::from_ymd_opt(2026, 6, 30).unwrap(),
            source: "s.toml:3".into(),
        }));
        let a = Findings {
            tenant_id: "tenant-a".into(),
            collected_at: Some(at),
            verdicts: vec![
                verdict("F1", "=SUM(A1)", Status::Attributed, true),
                accepted,
            ],
            ..Findings::default()
        };
        let b = Findings {
            tenant_id: "tenant-b".into(),
            verdicts: vec![verdict("f3", "", Status::Unattributed, false)],
            ..Findings::default()
        };
        let mut sink = VerdictsParquet::create(&path).unwrap();
        a.replay(&mut sink).unwrap();
        b.replay(&mut sink).unwrap();
        assert!(!path.exists(), "nothing in place before finish");
        sink.finish().unwrap();
        drop(sink);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no leftovers"
        );

        let df = ParquetReader::new(std::fs::File::open(&path).unwrap())
            .finish()
            .unwrap();
        let names: Vec<&str> = df.get_column_names().iter().map(|n| n.as_str()).collect();
        let expected: Vec<&str> = VERDICTS_COLUMNS.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, expected);
        assert_eq!(df.height(), 3);
        assert_eq!(
            df.column("leaver_risk").unwrap().dtype(),
            &DataType::Boolean
        );
        assert!(matches!(
            df.column("collected_at").unwrap().dtype(),
            DataType::Datetime(TimeUnit::Milliseconds, None)
        ));
        let col = |name: &str| df.column(name).unwrap().as_materialized_series().clone();
        let strs = |name: &str| -> Vec<Option<String>> {
            let s = col(name);
            let ca = s.str().unwrap();
            (0..ca.len())
                .map(|i| ca.get(i).map(str::to_owned))
                .collect()
        };
        let some = |v: &[&str]| -> Vec<Option<String>> {
            v.iter().map(|s| Some((*s).to_owned())).collect()
        };
        assert_eq!(
            strs("tenant_id"),
            some(&["tenant-a", "tenant-a", "tenant-b"])
        );
        // Names are stored as they are: no spreadsheet guard, unicode intact.
        assert_eq!(strs("resource_name"), some(&["=SUM(A1)", "販売 📊", ""]));
        let risk = col("leaver_risk");
        let risk = risk.bool().unwrap();
        assert_eq!(
            (0..3).map(|i| risk.get(i)).collect::<Vec<_>>(),
            [Some(true), Some(false), Some(false)]
        );
        let stamps = col("collected_at");
        let stamps = stamps.datetime().unwrap().physical();
        assert_eq!(
            (0..3).map(|i| stamps.get(i)).collect::<Vec<_>>(),
            [
                Some(at.timestamp_millis()),
                Some(at.timestamp_millis()),
                None
            ]
        );
        assert_eq!(strs("partner_id"), [Some("1234567".to_owned()), None, None]);
        assert_eq!(
            strs("change_paths_user")[0].as_deref(),
            Some("gui;powershell")
        );
        assert_eq!(
            strs("reasons")[0].as_deref(),
            Some("no_pal_identity_in_role;non_production_environment")
        );
        let suppressed = col("suppressed");
        let suppressed = suppressed.bool().unwrap();
        assert_eq!(
            (0..3).map(|i| suppressed.get(i)).collect::<Vec<_>>(),
            [Some(false), Some(true), Some(false)]
        );
        assert_eq!(
            strs("suppression_reason")[1].as_deref(),
            Some("Customer-built")
        );
        let expires = col("suppression_expires");
        let expires = expires.date().unwrap().physical();
        // 2026-06-30 is day 20634 after 1970-01-01.
        assert_eq!(
            (0..3).map(|i| expires.get(i)).collect::<Vec<_>>(),
            [None, Some(20634), None]
        );
        assert_eq!(
            strs("finding_id")[0].as_deref(),
            Some(finding_id("tenant-a", ResourceType::Flow, "f1").as_str()),
            "finding ids fold case"
        );
    }

    #[test]
    fn an_unfinished_table_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.parquet");
        let mut sink = VerdictsParquet::create(&path).unwrap();
        sink.begin(&AuditHeader::default()).unwrap();
        sink.verdict(&verdict("x", "X", Status::Unknown, false))
            .unwrap();
        drop(sink);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
