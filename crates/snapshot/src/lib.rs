//! The snapshot: one tenant's inventory on disk, re-auditable offline.
//!
//! This crate owns the on-disk format and nothing else: it decides no verdicts and does
//! no HTTP. Collectors write through [`SnapshotWriter`]; the audit reads through
//! [`Snapshot::open`], which refuses a snapshot that is not exactly what was written.
//!
//! A snapshot is a directory holding `manifest.json` and one Parquet file per table
//! (`docs/snapshot.md` is the reference). [`SnapshotWriter`] streams rows to the table
//! files in row groups, so a collector never holds a whole tenant in memory, and only
//! renames the finished directory into place, so a half-written snapshot is never
//! mistaken for a complete one. [`Snapshot::open`] verifies the manifest and every table's
//! checksum before anything is audited.
//!
//! The same Parquet machinery writes the audit's verdicts as one table
//! ([`VerdictsParquet`], `--verdicts-parquet`) for partners who aggregate many tenants.

use chrono::{DateTime, Utc};
use palaudit_model::{
    CollectionError, Environment, Inventory, Principal, PrincipalIdKind, PrincipalType, Resource,
    ResourceType, Role, RoleAssignment, SystemUser,
};
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

mod integrity;
mod page_headers;
mod verdicts;

pub use verdicts::VerdictsParquet;

/// The snapshot format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
pub const MANIFEST_FILE: &str = "manifest.json";

/// Rows buffered per table before they are written as one Parquet row group.
const ROW_GROUP_ROWS: usize = 65_536;

/// Why a snapshot could not be written or read. Every variant names the file involved.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("{path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a palaudit snapshot: {MANIFEST_FILE} is missing")]
    NotASnapshot { path: PathBuf },
    #[error("{path}: corrupt manifest: {message}")]
    CorruptManifest { path: PathBuf, message: String },
    #[error(
        "{path}: snapshot format version {found} is not supported (this palaudit reads version {FORMAT_VERSION})"
    )]
    UnsupportedVersion { path: PathBuf, found: u32 },
    #[error(
        "{path}: checksum mismatch (manifest says sha256 {expected}, file has {actual}); the snapshot was changed or damaged after collection"
    )]
    ChecksumMismatch {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("{path}: corrupt table: {message}")]
    CorruptTable { path: PathBuf, message: String },
    #[error("{path} already exists and is not a palaudit snapshot; refusing to replace it")]
    WouldOverwrite { path: PathBuf },
}

impl SnapshotError {
    fn io(path: &Path, source: std::io::Error) -> SnapshotError {
        SnapshotError::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// One table file as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableEntry {
    pub file: String,
    pub rows: u64,
    pub sha256: String,
}

/// `manifest.json`: what the snapshot is and how to trust it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format_version: u32,
    pub tenant_id: String,
    /// `palaudit <version>` of the build that wrote the snapshot.
    pub tool_version: String,
    pub collected_at: DateTime<Utc>,
    /// Resources per resource type.
    pub counts: BTreeMap<String, u64>,
    /// Everything that failed during collection; empty for a complete snapshot.
    #[serde(default)]
    pub collection_errors: Vec<CollectionError>,
    /// Table name → file, row count and sha256.
    pub tables: BTreeMap<String, TableEntry>,
    /// `[collect] flow_owners` of the collection when it was not the default `all`:
    /// `creator` means no flow's owners and co-owners were read, so flow evidence names
    /// creators only. Absent in snapshots read with every flow's owners, and in those
    /// written before palaudit recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_owners: Option<String>,
    /// sha256 of every other field ([`Manifest::compute_seal`]): the table checksums
    /// catch a changed table, the seal a changed manifest (another `tenant_id`, a
    /// collection error deleted). Snapshots written before palaudit sealed its manifests
    /// have none and still open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal: Option<String>,
}

impl Manifest {
    pub fn is_complete(&self) -> bool {
        self.collection_errors.is_empty()
    }

    /// The seal of this manifest: sha256 of its JSON without the seal. The JSON is
    /// canonical (fields in declaration order, maps sorted), so a manifest read back and
    /// written again has the same seal.
    pub fn compute_seal(&self) -> String {
        let unsealed = Manifest {
            seal: None,
            ..self.clone()
        };
        let json = serde_json::to_vec(&unsealed).unwrap_or_default();
        format!("sha256:{}", hex::encode(Sha256::digest(&json)))
    }

    /// This manifest with its seal set.
    pub fn sealed(mut self) -> Manifest {
        self.seal = Some(self.compute_seal());
        self
    }
}

impl Manifest {
    /// Reads `manifest.json` (its bytes, and its path for messages): the format version
    /// first, so a newer format gets the right message, then the fields, then the seal.
    pub fn from_json(text: &[u8], manifest_path: &Path) -> Result<Manifest, SnapshotError> {
        // Check the version before the full schema, so a newer format gets the right message.
        let value: serde_json::Value =
            serde_json::from_slice(text).map_err(|e| SnapshotError::CorruptManifest {
                path: manifest_path.to_owned(),
                message: e.to_string(),
            })?;
        match value.get("format_version") {
            Some(v) if v.as_u64() == Some(u64::from(FORMAT_VERSION)) => {}
            Some(v) if v.as_u64().is_some() => {
                return Err(SnapshotError::UnsupportedVersion {
                    path: manifest_path.to_owned(),
                    found: v
                        .as_u64()
                        .and_then(|v| u32::try_from(v).ok())
                        .unwrap_or(u32::MAX),
                });
            }
            Some(v) => {
                return Err(SnapshotError::CorruptManifest {
                    path: manifest_path.to_owned(),
                    message: format!(
                        "`format_version` is {v}, not a whole number such as {FORMAT_VERSION}"
                    ),
                });
            }
            None => {
                return Err(SnapshotError::CorruptManifest {
                    path: manifest_path.to_owned(),
                    message: "no `format_version`".into(),
                });
            }
        }
        let manifest: Manifest =
            serde_json::from_value(value).map_err(|e| SnapshotError::CorruptManifest {
                path: manifest_path.to_owned(),
                message: e.to_string(),
            })?;
        if let Some(seal) = &manifest.seal {
            let expected = manifest.compute_seal();
            if *seal != expected {
                return Err(SnapshotError::CorruptManifest {
                    path: manifest_path.to_owned(),
                    message: format!(
                        "the manifest was changed after collection: its seal is {seal}, but its fields (tenant `{}`, tables, counts, collection errors) seal to {expected}; collect again or restore the original manifest",
                        manifest.tenant_id
                    ),
                });
            }
        }
        Ok(manifest)
    }
}

// ---------------------------------------------------------------------------------------
// Table schemas. Each row type lists its columns once; writing and reading both follow it.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Str,
    Bool,
    I64,
    /// UTC timestamp, stored as a naive millisecond `Datetime`.
    Time,
    /// A calendar day (Parquet `DATE`); only the verdicts table has one.
    Date,
}

enum Value<'a> {
    Str(Option<&'a str>),
    Bool(Option<bool>),
    I64(Option<i64>),
    Time(Option<DateTime<Utc>>),
    Date(Option<chrono::NaiveDate>),
}

/// A row of one snapshot table.
trait Row: Sized {
    const TABLE: &'static str;
    const COLUMNS: &'static [(&'static str, Kind)];
    /// Columns added after the table's first release: a snapshot written before them
    /// lacks them and still opens; its rows read them as missing.
    const OPTIONAL: &'static [&'static str] = &[];
    fn values(&self) -> Vec<Value<'_>>;
    fn read(r: &RowReader<'_>, i: usize) -> Result<Self, String>;
}

/// The table names of a snapshot, in manifest order.
pub const TABLES: [&str; 5] = [
    Environment::TABLE,
    Resource::TABLE,
    RoleAssignment::TABLE,
    Principal::TABLE,
    SystemUser::TABLE,
];

impl Row for Environment {
    const TABLE: &'static str = "environments";
    const COLUMNS: &'static [(&'static str, Kind)] = &[
        ("environment_id", Kind::Str),
        ("display_name", Kind::Str),
        ("environment_type", Kind::Str),
        ("is_default", Kind::Bool),
        ("dataverse_url", Kind::Str),
        ("region", Kind::Str),
    ];
    fn values(&self) -> Vec<Value<'_>> {
        vec![
            Value::Str(Some(&self.environment_id)),
            Value::Str(Some(&self.display_name)),
            Value::Str(Some(&self.environment_type)),
            Value::Bool(Some(self.is_default)),
            Value::Str(self.dataverse_url.as_deref()),
            Value::Str(self.region.as_deref()),
        ]
    }
    fn read(r: &RowReader<'_>, i: usize) -> Result<Self, String> {
        Ok(Environment {
            environment_id: r.req_str(0, i)?,
            display_name: r.str(1, i).unwrap_or_default(),
            environment_type: r.str(2, i).unwrap_or_default(),
            is_default: r.bool(3, i).unwrap_or(false),
            dataverse_url: r.str(4, i),
            region: r.str(5, i),
        })
    }
}

/// The `resources` columns a fix plan reads (app type, ALM mode, the flow's Dataverse
/// record, managed, solution, unique name). Snapshots written before palaudit recorded
/// them lack these columns: they still open, and the audit treats the facts as unknown
/// rather than absent, so it can tell "not in a solution" from "not recorded".
pub const RESOURCE_FACT_COLUMNS: &[&str] = &[
    "app_type",
    "alm_mode",
    "workflow_entity_id",
    "is_managed",
    "solution_id",
    "unique_name",
];

impl Row for Resource {
    const TABLE: &'static str = "resources";
    const COLUMNS: &'static [(&'static str, Kind)] = &[
        ("resource_type", Kind::Str),
        ("resource_id", Kind::Str),
        ("environment_id", Kind::Str),
        ("display_name", Kind::Str),
        ("workspace_name", Kind::Str),
        ("created_time", Kind::Time),
        ("created_by", Kind::Str),
        ("modified_time", Kind::Time),
        ("modified_by", Kind::Str),
        ("published_time", Kind::Time),
        ("published_by", Kind::Str),
        ("state", Kind::Str),
        ("app_type", Kind::Str),
        ("alm_mode", Kind::Str),
        ("workflow_entity_id", Kind::Str),
        ("is_managed", Kind::Bool),
        ("solution_id", Kind::Str),
        ("unique_name", Kind::Str),
    ];
    const OPTIONAL: &'static [&'static str] = RESOURCE_FACT_COLUMNS;
    fn values(&self) -> Vec<Value<'_>> {
        vec![
            Value::Str(Some(self.resource_type.as_str())),
            Value::Str(Some(&self.resource_id)),
            Value::Str(Some(&self.environment_id)),
            Value::Str(Some(&self.display_name)),
            Value::Str(self.workspace_name.as_deref()),
            Value::Time(self.created_time),
            Value::Str(self.created_by.as_deref()),
            Value::Time(self.modified_time),
            Value::Str(self.modified_by.as_deref()),
            Value::Time(self.published_time),
            Value::Str(self.published_by.as_deref()),
            Value::Str(self.state.as_deref()),
            Value::Str(self.app_type.as_deref()),
            Value::Str(self.alm_mode.as_deref()),
            Value::Str(self.workflow_entity_id.as_deref()),
            Value::Bool(self.is_managed),
            Value::Str(self.solution_id.as_deref()),
            Value::Str(self.unique_name.as_deref()),
        ]
    }
    fn read(r: &RowReader<'_>, i: usize) -> Result<Self, String> {
        Ok(Resource {
            resource_type: r.req_str(0, i)?.parse()?,
            resource_id: r.req_str(1, i)?,
            environment_id: r.req_str(2, i)?,
            display_name: r.str(3, i).unwrap_or_default(),
            workspace_name: r.str(4, i),
            created_time: r.time(5, i),
            created_by: r.str(6, i),
            modified_time: r.time(7, i),
            modified_by: r.str(8, i),
            published_time: r.time(9, i),
            published_by: r.str(10, i),
            state: r.str(11, i),
            app_type: r.str(12, i),
            alm_mode: r.str(13, i),
            workflow_entity_id: r.str(14, i),
            is_managed: r.bool(15, i),
            solution_id: r.str(16, i),
            unique_name: r.str(17, i),
        })
    }
}

impl Row for RoleAssignment {
    const TABLE: &'static str = "role_assignments";
    const COLUMNS: &'static [(&'static str, Kind)] = &[
        ("resource_type", Kind::Str),
        ("resource_id", Kind::Str),
        ("role", Kind::Str),
        ("principal_id", Kind::Str),
        ("principal_id_kind", Kind::Str),
        ("principal_type", Kind::Str),
        ("display_name", Kind::Str),
        ("assigned_on", Kind::Time),
    ];
    fn values(&self) -> Vec<Value<'_>> {
        vec![
            Value::Str(Some(self.resource_type.as_str())),
            Value::Str(Some(&self.resource_id)),
            Value::Str(Some(self.role.as_str())),
            Value::Str(Some(&self.principal_id)),
            Value::Str(Some(self.principal_id_kind.as_str())),
            Value::Str(Some(self.principal_type.as_str())),
            Value::Str(self.display_name.as_deref()),
            Value::Time(self.assigned_on),
        ]
    }
    fn read(r: &RowReader<'_>, i: usize) -> Result<Self, String> {
        Ok(RoleAssignment {
            resource_type: r.req_str(0, i)?.parse()?,
            resource_id: r.req_str(1, i)?,
            role: r.req_str(2, i)?.parse::<Role>()?,
            principal_id: r.str(3, i).unwrap_or_default(),
            principal_id_kind: r.req_str(4, i)?.parse::<PrincipalIdKind>()?,
            principal_type: r.req_str(5, i)?.parse::<PrincipalType>()?,
            display_name: r.str(6, i),
            assigned_on: r.time(7, i),
        })
    }
}

impl Row for Principal {
    const TABLE: &'static str = "principals";
    const COLUMNS: &'static [(&'static str, Kind)] = &[
        ("object_id", Kind::Str),
        ("app_id", Kind::Str),
        ("upn", Kind::Str),
        ("mail", Kind::Str),
        ("display_name", Kind::Str),
        ("principal_type", Kind::Str),
        ("user_type", Kind::Str),
        ("enabled", Kind::Bool),
        ("deleted", Kind::Bool),
        ("external_user_state", Kind::Str),
    ];
    fn values(&self) -> Vec<Value<'_>> {
        vec![
            Value::Str(Some(&self.object_id)),
            Value::Str(self.app_id.as_deref()),
            Value::Str(self.upn.as_deref()),
            Value::Str(self.mail.as_deref()),
            Value::Str(self.display_name.as_deref()),
            Value::Str(Some(self.principal_type.as_str())),
            Value::Str(self.user_type.as_deref()),
            Value::Bool(self.enabled),
            Value::Bool(Some(self.deleted)),
            Value::Str(self.external_user_state.as_deref()),
        ]
    }
    fn read(r: &RowReader<'_>, i: usize) -> Result<Self, String> {
        Ok(Principal {
            object_id: r.str(0, i).unwrap_or_default(),
            app_id: r.str(1, i),
            upn: r.str(2, i),
            mail: r.str(3, i),
            display_name: r.str(4, i),
            principal_type: r.req_str(5, i)?.parse::<PrincipalType>()?,
            user_type: r.str(6, i),
            enabled: r.bool(7, i),
            deleted: r.bool(8, i).unwrap_or(false),
            external_user_state: r.str(9, i),
        })
    }
}

impl Row for SystemUser {
    const TABLE: &'static str = "systemusers";
    const COLUMNS: &'static [(&'static str, Kind)] = &[
        ("environment_id", Kind::Str),
        ("systemuser_id", Kind::Str),
        ("azure_ad_object_id", Kind::Str),
        ("application_id", Kind::Str),
        ("domain_name", Kind::Str),
        ("full_name", Kind::Str),
        ("is_disabled", Kind::Bool),
        ("access_mode", Kind::I64),
    ];
    fn values(&self) -> Vec<Value<'_>> {
        vec![
            Value::Str(Some(&self.environment_id)),
            Value::Str(Some(&self.systemuser_id)),
            Value::Str(self.azure_ad_object_id.as_deref()),
            Value::Str(self.application_id.as_deref()),
            Value::Str(self.domain_name.as_deref()),
            Value::Str(self.full_name.as_deref()),
            Value::Bool(self.is_disabled),
            Value::I64(self.access_mode.map(i64::from)),
        ]
    }
    fn read(r: &RowReader<'_>, i: usize) -> Result<Self, String> {
        Ok(SystemUser {
            environment_id: r.req_str(0, i)?,
            systemuser_id: r.req_str(1, i)?,
            azure_ad_object_id: r.str(2, i),
            application_id: r.str(3, i),
            domain_name: r.str(4, i),
            full_name: r.str(5, i),
            is_disabled: r.bool(6, i),
            access_mode: r.i64(7, i).and_then(|v| i32::try_from(v).ok()),
        })
    }
}

/// Column buffers for one table, flushed as a row group when full.
struct TableBuffer {
    columns: &'static [(&'static str, Kind)],
    strs: Vec<Vec<Option<String>>>,
    bools: Vec<Vec<Option<bool>>>,
    ints: Vec<Vec<Option<i64>>>,
    len: usize,
}

impl TableBuffer {
    fn new(columns: &'static [(&'static str, Kind)]) -> TableBuffer {
        let n = columns.len();
        TableBuffer {
            columns,
            strs: vec![Vec::new(); n],
            bools: vec![Vec::new(); n],
            ints: vec![Vec::new(); n],
            len: 0,
        }
    }

    fn push(&mut self, values: Vec<Value<'_>>) {
        debug_assert_eq!(values.len(), self.columns.len());
        for (i, v) in values.into_iter().enumerate() {
            match v {
                Value::Str(s) => self.strs[i].push(s.map(str::to_owned)),
                Value::Bool(b) => self.bools[i].push(b),
                Value::I64(n) => self.ints[i].push(n),
                Value::Time(t) => self.ints[i].push(t.map(|t| t.timestamp_millis())),
                // Days since 1970-01-01 (chrono's default date), Parquet's DATE.
                Value::Date(d) => self.ints[i].push(d.map(|d| {
                    d.signed_duration_since(chrono::NaiveDate::default())
                        .num_days()
                })),
            }
        }
        self.len += 1;
    }

    /// Drains the buffer into a DataFrame of the table's schema.
    fn take_frame(&mut self) -> PolarsResult<DataFrame> {
        let mut cols = Vec::with_capacity(self.columns.len());
        for (i, (name, kind)) in self.columns.iter().enumerate() {
            let name: PlSmallStr = (*name).into();
            let series = match kind {
                Kind::Str => Series::new(name, std::mem::take(&mut self.strs[i])),
                Kind::Bool => Series::new(name, std::mem::take(&mut self.bools[i])),
                Kind::I64 => Series::new(name, std::mem::take(&mut self.ints[i])),
                Kind::Date => {
                    let days: Vec<Option<i32>> = std::mem::take(&mut self.ints[i])
                        .into_iter()
                        .map(|d| d.map(|d| d as i32))
                        .collect();
                    Series::new(name, days).into_date()
                }
                Kind::Time => Series::new(name, std::mem::take(&mut self.ints[i]))
                    .into_datetime(TimeUnit::Milliseconds, None),
            };
            cols.push(series.into_column());
        }
        let height = std::mem::take(&mut self.len);
        DataFrame::new(height, cols)
    }
}

fn schema_of(columns: &[(&'static str, Kind)]) -> Schema {
    columns
        .iter()
        .map(|(name, kind)| {
            let dt = match kind {
                Kind::Str => DataType::String,
                Kind::Bool => DataType::Boolean,
                Kind::I64 => DataType::Int64,
                Kind::Time => DataType::Datetime(TimeUnit::Milliseconds, None),
                Kind::Date => DataType::Date,
            };
            Field::new((*name).into(), dt)
        })
        .collect()
}

struct TableFile {
    file_name: String,
    path: PathBuf,
    buffer: TableBuffer,
    writer: polars::io::parquet::write::BatchedWriter<File>,
    rows: u64,
    /// Rows buffered before they are written as one row group.
    rows_per_group: usize,
}

impl TableFile {
    fn create(
        dir: &Path,
        table: &str,
        columns: &'static [(&'static str, Kind)],
    ) -> Result<TableFile, SnapshotError> {
        let file_name = format!("{table}.parquet");
        TableFile::at(dir.join(&file_name), file_name, columns, ROW_GROUP_ROWS)
    }

    /// A table file at `path`, named `file_name` in the manifest, written in row groups of
    /// `rows_per_group` rows.
    fn at(
        path: PathBuf,
        file_name: String,
        columns: &'static [(&'static str, Kind)],
        rows_per_group: usize,
    ) -> Result<TableFile, SnapshotError> {
        let file = File::create(&path).map_err(|e| SnapshotError::io(&path, e))?;
        let writer = ParquetWriter::new(file)
            .with_compression(ParquetCompression::Zstd(None))
            .batched(&schema_of(columns))
            .map_err(|e| SnapshotError::CorruptTable {
                path: path.clone(),
                message: e.to_string(),
            })?;
        Ok(TableFile {
            file_name,
            path,
            buffer: TableBuffer::new(columns),
            writer,
            rows: 0,
            rows_per_group,
        })
    }

    fn push(&mut self, values: Vec<Value<'_>>) -> Result<(), SnapshotError> {
        self.buffer.push(values);
        self.rows += 1;
        if self.buffer.len >= self.rows_per_group {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SnapshotError> {
        if self.buffer.len == 0 {
            return Ok(());
        }
        let err = |e: PolarsError| SnapshotError::CorruptTable {
            path: self.path.clone(),
            message: e.to_string(),
        };
        let frame = self.buffer.take_frame().map_err(err)?;
        self.writer
            .write_batch(&frame)
            .map_err(|e| SnapshotError::CorruptTable {
                path: self.path.clone(),
                message: e.to_string(),
            })
    }

    fn finish(&mut self) -> Result<(String, u64, PathBuf), SnapshotError> {
        self.flush()?;
        self.writer
            .finish()
            .map_err(|e| SnapshotError::CorruptTable {
                path: self.path.clone(),
                message: e.to_string(),
            })?;
        Ok((self.file_name.clone(), self.rows, self.path.clone()))
    }
}

/// Streams an inventory into a new snapshot directory.
///
/// Rows go to a hidden temporary directory beside `out`; [`SnapshotWriter::finish`]
/// writes the manifest and renames the directory into place. Dropping the writer without
/// finishing leaves `out` untouched (the temporary directory is removed).
pub struct SnapshotWriter {
    out: PathBuf,
    tmp: PathBuf,
    environments: TableFile,
    resources: TableFile,
    role_assignments: TableFile,
    principals: TableFile,
    systemusers: TableFile,
    counts: BTreeMap<String, u64>,
    flow_owners: Option<String>,
    finished: bool,
}

impl SnapshotWriter {
    pub fn create(out: &Path) -> Result<SnapshotWriter, SnapshotError> {
        if out.exists() && !out.join(MANIFEST_FILE).exists() && !is_empty_dir(out)? {
            return Err(SnapshotError::WouldOverwrite {
                path: out.to_owned(),
            });
        }
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|e| SnapshotError::io(&parent, e))?;
        let name = out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "snapshot".into());
        let tmp = parent.join(format!(".{name}.partial-{}", std::process::id()));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|e| SnapshotError::io(&tmp, e))?;
        }
        std::fs::create_dir_all(&tmp).map_err(|e| SnapshotError::io(&tmp, e))?;
        let made = (|| {
            Ok::<_, SnapshotError>((
                TableFile::create(&tmp, Environment::TABLE, Environment::COLUMNS)?,
                TableFile::create(&tmp, Resource::TABLE, Resource::COLUMNS)?,
                TableFile::create(&tmp, RoleAssignment::TABLE, RoleAssignment::COLUMNS)?,
                TableFile::create(&tmp, Principal::TABLE, Principal::COLUMNS)?,
                TableFile::create(&tmp, SystemUser::TABLE, SystemUser::COLUMNS)?,
            ))
        })();
        let (environments, resources, role_assignments, principals, systemusers) = match made {
            Ok(t) => t,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&tmp);
                return Err(e);
            }
        };
        Ok(SnapshotWriter {
            out: out.to_owned(),
            tmp,
            environments,
            resources,
            role_assignments,
            principals,
            systemusers,
            counts: ResourceType::ALL
                .iter()
                .map(|t| (t.as_str().to_owned(), 0))
                .collect(),
            flow_owners: None,
            finished: false,
        })
    }

    /// Records in the manifest that flows' owners were read as `setting` says
    /// ([`Manifest::flow_owners`]); not called for the default, every flow's owners.
    pub fn set_flow_owners(&mut self, setting: &str) {
        self.flow_owners = Some(setting.to_owned());
    }

    pub fn environment(&mut self, row: &Environment) -> Result<(), SnapshotError> {
        self.environments.push(row.values())
    }

    pub fn resource(&mut self, row: &Resource) -> Result<(), SnapshotError> {
        *self
            .counts
            .entry(row.resource_type.as_str().to_owned())
            .or_default() += 1;
        self.resources.push(row.values())
    }

    pub fn role_assignment(&mut self, row: &RoleAssignment) -> Result<(), SnapshotError> {
        self.role_assignments.push(row.values())
    }

    pub fn principal(&mut self, row: &Principal) -> Result<(), SnapshotError> {
        self.principals.push(row.values())
    }

    pub fn systemuser(&mut self, row: &SystemUser) -> Result<(), SnapshotError> {
        self.systemusers.push(row.values())
    }

    /// Writes every row of `inventory`.
    pub fn inventory(&mut self, inventory: &Inventory) -> Result<(), SnapshotError> {
        for r in &inventory.environments {
            self.environment(r)?;
        }
        for r in &inventory.resources {
            self.resource(r)?;
        }
        for r in &inventory.role_assignments {
            self.role_assignment(r)?;
        }
        for r in &inventory.principals {
            self.principal(r)?;
        }
        for r in &inventory.systemusers {
            self.systemuser(r)?;
        }
        Ok(())
    }

    /// Closes the tables, writes the manifest and moves the snapshot into place.
    pub fn finish(
        mut self,
        tenant_id: &str,
        collected_at: DateTime<Utc>,
        collection_errors: Vec<CollectionError>,
    ) -> Result<Manifest, SnapshotError> {
        let mut tables = BTreeMap::new();
        let files = [
            (Environment::TABLE, &mut self.environments),
            (Resource::TABLE, &mut self.resources),
            (RoleAssignment::TABLE, &mut self.role_assignments),
            (Principal::TABLE, &mut self.principals),
            (SystemUser::TABLE, &mut self.systemusers),
        ];
        for (table, file) in files {
            let (file_name, rows, path) = file.finish()?;
            tables.insert(
                table.to_owned(),
                TableEntry {
                    file: file_name,
                    rows,
                    sha256: sha256_file(&path)?,
                },
            );
        }
        let manifest = Manifest {
            format_version: FORMAT_VERSION,
            tenant_id: tenant_id.to_owned(),
            tool_version: concat!("palaudit ", env!("CARGO_PKG_VERSION")).to_owned(),
            collected_at,
            counts: std::mem::take(&mut self.counts),
            collection_errors,
            tables,
            flow_owners: self.flow_owners.take(),
            seal: None,
        }
        .sealed();
        let manifest_path = self.tmp.join(MANIFEST_FILE);
        let json =
            serde_json::to_vec_pretty(&manifest).map_err(|e| SnapshotError::CorruptManifest {
                path: manifest_path.clone(),
                message: e.to_string(),
            })?;
        std::fs::write(&manifest_path, json).map_err(|e| SnapshotError::io(&manifest_path, e))?;
        // Durable before it is visible: a crash after the rename must not leave a
        // snapshot whose files are still only in the page cache.
        sync_dir_files(&self.tmp)?;
        // Replace an earlier snapshot only once the new one is complete on disk. The old
        // one is moved aside first and put back if the new one cannot take its place.
        if self.out.exists() {
            let old = self.tmp.with_extension("old");
            if old.exists() {
                std::fs::remove_dir_all(&old).map_err(|e| SnapshotError::io(&old, e))?;
            }
            std::fs::rename(&self.out, &old).map_err(|e| SnapshotError::io(&self.out, e))?;
            if let Err(e) = std::fs::rename(&self.tmp, &self.out) {
                let _ = std::fs::rename(&old, &self.out);
                return Err(SnapshotError::io(&self.out, e));
            }
            let _ = std::fs::remove_dir_all(&old);
        } else {
            std::fs::rename(&self.tmp, &self.out).map_err(|e| SnapshotError::io(&self.out, e))?;
        }
        if let Some(parent) = self.out.parent() {
            // The rename itself is durable once the parent directory is synced (best
            // effort: not every platform can open a directory for syncing).
            let _ = File::open(parent).and_then(|d| d.sync_all());
        }
        self.finished = true;
        Ok(manifest)
    }
}

impl Drop for SnapshotWriter {
    fn drop(&mut self) {
        if !self.finished {
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}

/// Flushes every file of `dir` to disk.
fn sync_dir_files(dir: &Path) -> Result<(), SnapshotError> {
    for entry in std::fs::read_dir(dir).map_err(|e| SnapshotError::io(dir, e))? {
        let path = entry.map_err(|e| SnapshotError::io(dir, e))?.path();
        if path.is_file() {
            // Opened for writing: some platforms refuse to flush a read-only handle.
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .and_then(|f| f.sync_all())
                .map_err(|e| SnapshotError::io(&path, e))?;
        }
    }
    let _ = File::open(dir).and_then(|d| d.sync_all());
    Ok(())
}

fn is_empty_dir(path: &Path) -> Result<bool, SnapshotError> {
    if !path.is_dir() {
        return Ok(false);
    }
    let mut entries = std::fs::read_dir(path).map_err(|e| SnapshotError::io(path, e))?;
    Ok(entries.next().is_none())
}

fn sha256_file(path: &Path) -> Result<String, SnapshotError> {
    let mut file = File::open(path).map_err(|e| SnapshotError::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| SnapshotError::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

// ---------------------------------------------------------------------------------------
// Reading.

/// A verified snapshot: its manifest and its tables as DataFrames.
pub struct Snapshot {
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub environments: DataFrame,
    pub resources: DataFrame,
    pub role_assignments: DataFrame,
    pub principals: DataFrame,
    pub systemusers: DataFrame,
}

impl Snapshot {
    /// Opens `dir`, checks the manifest, the format version and every table's checksum,
    /// and loads the tables.
    pub fn open(dir: &Path) -> Result<Snapshot, SnapshotError> {
        let manifest_path = dir.join(MANIFEST_FILE);
        if !dir.is_dir() {
            return Err(SnapshotError::Io {
                path: dir.to_owned(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no snapshot directory here",
                ),
            });
        }
        if !manifest_path.exists() {
            return Err(SnapshotError::NotASnapshot {
                path: dir.to_owned(),
            });
        }
        let text =
            std::fs::read(&manifest_path).map_err(|e| SnapshotError::io(&manifest_path, e))?;
        let manifest = Manifest::from_json(&text, &manifest_path)?;
        let load = |table: &str, columns: &'static [(&'static str, Kind)], optional| {
            load_table(dir, &manifest, &manifest_path, table, columns, optional)
        };
        Ok(Snapshot {
            environments: load(
                Environment::TABLE,
                Environment::COLUMNS,
                Environment::OPTIONAL,
            )?,
            resources: load(Resource::TABLE, Resource::COLUMNS, Resource::OPTIONAL)?,
            role_assignments: load(
                RoleAssignment::TABLE,
                RoleAssignment::COLUMNS,
                RoleAssignment::OPTIONAL,
            )?,
            principals: load(Principal::TABLE, Principal::COLUMNS, Principal::OPTIONAL)?,
            systemusers: load(SystemUser::TABLE, SystemUser::COLUMNS, SystemUser::OPTIONAL)?,
            dir: dir.to_owned(),
            manifest,
        })
    }

    /// Reads the tables back into rows (tests, small tenants, inspection).
    pub fn to_inventory(&self) -> Result<Inventory, SnapshotError> {
        Ok(Inventory {
            tenant_id: self.manifest.tenant_id.clone(),
            environments: rows_of(&self.dir, &self.environments)?,
            resources: rows_of(&self.dir, &self.resources)?,
            role_assignments: rows_of(&self.dir, &self.role_assignments)?,
            principals: rows_of(&self.dir, &self.principals)?,
            systemusers: rows_of(&self.dir, &self.systemusers)?,
        })
    }
}

/// The tables of an in-memory inventory as DataFrames, in the snapshot's schema, so the
/// audit runs the same code on a fixture as on a snapshot.
pub struct Frames {
    pub environments: DataFrame,
    pub resources: DataFrame,
    pub role_assignments: DataFrame,
    pub principals: DataFrame,
    pub systemusers: DataFrame,
}

impl Frames {
    /// An in-memory inventory's tables in the snapshot's schema, so the audit runs the
    /// same code on a rule fixture as on a snapshot.
    pub fn of(inventory: &Inventory) -> PolarsResult<Frames> {
        fn frame<R: Row>(rows: &[R]) -> PolarsResult<DataFrame> {
            let mut buf = TableBuffer::new(R::COLUMNS);
            for r in rows {
                buf.push(r.values());
            }
            buf.take_frame()
        }
        Ok(Frames {
            environments: frame(&inventory.environments)?,
            resources: frame(&inventory.resources)?,
            role_assignments: frame(&inventory.role_assignments)?,
            principals: frame(&inventory.principals)?,
            systemusers: frame(&inventory.systemusers)?,
        })
    }
}

/// Writes an in-memory inventory as a complete snapshot at `out` (fixtures, tests).
pub fn write_inventory(
    inventory: &Inventory,
    out: &Path,
    collected_at: DateTime<Utc>,
) -> Result<Manifest, SnapshotError> {
    let mut w = SnapshotWriter::create(out)?;
    w.inventory(inventory)?;
    w.finish(&inventory.tenant_id, collected_at, Vec::new())
}

impl Snapshot {
    /// The snapshot's tables in the shape of [`Frames::of`] (the columns are shared, not copied).
    pub fn frames(&self) -> Frames {
        Frames {
            environments: self.environments.clone(),
            resources: self.resources.clone(),
            role_assignments: self.role_assignments.clone(),
            principals: self.principals.clone(),
            systemusers: self.systemusers.clone(),
        }
    }
}

fn load_table(
    dir: &Path,
    manifest: &Manifest,
    manifest_path: &Path,
    table: &str,
    columns: &'static [(&'static str, Kind)],
    optional: &[&str],
) -> Result<DataFrame, SnapshotError> {
    let entry = manifest
        .tables
        .get(table)
        .ok_or_else(|| SnapshotError::CorruptManifest {
            path: manifest_path.to_owned(),
            message: format!("table `{table}` is not listed"),
        })?;
    if entry.file.trim().is_empty() {
        return Err(SnapshotError::CorruptManifest {
            path: manifest_path.to_owned(),
            message: format!("table `{table}` has an empty `file`"),
        });
    }
    // The file name comes from the manifest: keep it inside the snapshot directory.
    if entry.file.contains('/') || entry.file.contains('\\') || entry.file.starts_with('.') {
        return Err(SnapshotError::CorruptManifest {
            path: manifest_path.to_owned(),
            message: format!(
                "table `{table}` names file `{}` outside the snapshot",
                entry.file
            ),
        });
    }
    let path = dir.join(&entry.file);
    // Read once: checksummed, then checked and decoded from memory.
    let bytes = std::fs::read(&path).map_err(|e| SnapshotError::io(&path, e))?;
    let actual = hex::encode(Sha256::digest(&bytes));
    if !actual.eq_ignore_ascii_case(&entry.sha256) {
        return Err(SnapshotError::ChecksumMismatch {
            path,
            expected: entry.sha256.clone(),
            actual,
        });
    }
    read_table(bytes, &path, table, columns, optional, Some(entry.rows))
}

/// Runs `read`, turning a panic into `Err` without the panic message on stderr: the
/// Parquet reader panics on some malformed files (its worker threads' panics reach the
/// caller), and that is reported as an error naming the file instead. Opening a
/// snapshot runs nothing else meanwhile, so the process-wide hook is swapped only for
/// the duration of the read.
fn quietly_catching_panics<T>(read: impl FnOnce() -> T) -> std::thread::Result<T> {
    static HOOK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = HOOK.lock().unwrap_or_else(|e| e.into_inner());
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(read));
    std::panic::set_hook(previous);
    result
}

/// Reads one table from the file's `bytes` (named `path` in messages) and checks it against its
/// columns and the integrity rules; `rows` is the count the manifest records.
fn read_table(
    bytes: Vec<u8>,
    path: &Path,
    table: &str,
    columns: &'static [(&'static str, Kind)],
    optional: &[&str],
    rows: Option<u64>,
) -> Result<DataFrame, SnapshotError> {
    let corrupt = |message: String| SnapshotError::CorruptTable {
        path: path.to_owned(),
        message,
    };
    // A file the Parquet reader cannot cope with must be an error naming it, not a crash.
    let source = polars_buffer::Buffer::from(bytes);
    // The page headers are read by the same Parquet code, which panics on some of them.
    match quietly_catching_panics(|| page_headers::check(&source)) {
        Ok(Ok(())) => {}
        Ok(Err(message)) => return Err(corrupt(message)),
        Err(_) => {
            return Err(corrupt(
                "the Parquet reader failed on this file's metadata".into(),
            ));
        }
    }
    // Decoded one chunk per row group and kept so: joining a column's chunks into one
    // copies it while the row groups are still held, which made opening a
    // million-resource snapshot peak at twice its tables' size (and the freed row groups
    // stay in the allocator). The audit reads the chunks in place.
    let read = quietly_catching_panics(|| {
        ParquetReader::new(std::io::Cursor::new(source))
            .set_rechunk(false)
            .finish()
    });
    let df = match read {
        Ok(Ok(df)) => df,
        Ok(Err(e)) => return Err(corrupt(e.to_string())),
        Err(_) => return Err(corrupt("the Parquet reader failed on this file".into())),
    };
    if let Some(rows) = rows
        && df.height() as u64 != rows
    {
        return Err(corrupt(format!(
            "{} rows, but the manifest says {rows}",
            df.height(),
        )));
    }
    for (name, kind) in columns {
        let Ok(col) = df.column(name) else {
            if optional.contains(name) {
                continue;
            }
            return Err(corrupt(format!("column `{name}` is missing")));
        };
        let ok = matches!(
            (kind, col.dtype()),
            (Kind::Str, DataType::String)
                | (Kind::Bool, DataType::Boolean)
                | (Kind::I64, DataType::Int64)
                | (Kind::Time, DataType::Datetime(_, _))
                | (Kind::Date, DataType::Date)
        );
        if !ok {
            return Err(corrupt(format!(
                "column `{name}` has type {}, expected {kind:?}",
                col.dtype()
            )));
        }
    }
    integrity::check(table, &df).map_err(corrupt)?;
    Ok(df)
}

/// Reads `bytes` as the Parquet file of `table`, as opening a snapshot would after its
/// checksum matched; the row count of the manifest is not checked. Only the fuzz
/// targets call this.
#[doc(hidden)]
pub fn read_table_bytes(table: &str, bytes: Vec<u8>) -> Result<usize, SnapshotError> {
    let (columns, optional): (&'static [(&'static str, Kind)], &[&str]) = match table {
        "environments" => (Environment::COLUMNS, Environment::OPTIONAL),
        "resources" => (Resource::COLUMNS, Resource::OPTIONAL),
        "role_assignments" => (RoleAssignment::COLUMNS, RoleAssignment::OPTIONAL),
        "principals" => (Principal::COLUMNS, Principal::OPTIONAL),
        _ => (SystemUser::COLUMNS, SystemUser::OPTIONAL),
    };
    let path = PathBuf::from(format!("{table}.parquet"));
    let df = read_table(bytes, &path, table, columns, optional, None)?;
    Ok(df.height())
}

/// Typed cell access by column position, following a row type's `COLUMNS`.
struct RowReader<'a> {
    strs: Vec<Option<&'a StringChunked>>,
    bools: Vec<Option<&'a BooleanChunked>>,
    ints: Vec<Option<&'a Int64Chunked>>,
    times: Vec<Option<Int64Chunked>>,
    names: &'static [(&'static str, Kind)],
}

impl<'a> RowReader<'a> {
    /// A reader over `df`; a column of `optional` that `df` lacks reads as missing.
    fn new(
        df: &'a DataFrame,
        names: &'static [(&'static str, Kind)],
        optional: &[&str],
    ) -> PolarsResult<Self> {
        let mut r = RowReader {
            strs: Vec::new(),
            bools: Vec::new(),
            ints: Vec::new(),
            times: Vec::new(),
            names,
        };
        for (name, kind) in names {
            let col = match df.column(name) {
                Ok(col) => col,
                Err(_) if optional.contains(name) => {
                    r.strs.push(None);
                    r.bools.push(None);
                    r.ints.push(None);
                    r.times.push(None);
                    continue;
                }
                Err(e) => return Err(e),
            };
            r.strs.push(if *kind == Kind::Str {
                Some(col.str()?)
            } else {
                None
            });
            r.bools.push(if *kind == Kind::Bool {
                Some(col.bool()?)
            } else {
                None
            });
            r.ints.push(if *kind == Kind::I64 {
                Some(col.i64()?)
            } else {
                None
            });
            r.times.push(if *kind == Kind::Time {
                Some(col.datetime()?.physical().clone())
            } else {
                None
            });
        }
        Ok(r)
    }

    fn str(&self, c: usize, i: usize) -> Option<String> {
        self.strs[c].and_then(|s| s.get(i)).map(str::to_owned)
    }

    fn req_str(&self, c: usize, i: usize) -> Result<String, String> {
        self.str(c, i)
            .ok_or_else(|| format!("row {i}: `{}` is empty", self.names[c].0))
    }

    fn bool(&self, c: usize, i: usize) -> Option<bool> {
        self.bools[c].and_then(|s| s.get(i))
    }

    fn i64(&self, c: usize, i: usize) -> Option<i64> {
        self.ints[c].and_then(|s| s.get(i))
    }

    fn time(&self, c: usize, i: usize) -> Option<DateTime<Utc>> {
        self.times[c]
            .as_ref()
            .and_then(|s| s.get(i))
            .and_then(DateTime::from_timestamp_millis)
    }
}

fn rows_of<R: Row>(dir: &Path, df: &DataFrame) -> Result<Vec<R>, SnapshotError> {
    let path = dir.join(format!("{}.parquet", R::TABLE));
    let corrupt = |message: String| SnapshotError::CorruptTable {
        path: path.clone(),
        message,
    };
    let reader = RowReader::new(df, R::COLUMNS, R::OPTIONAL).map_err(|e| corrupt(e.to_string()))?;
    (0..df.height())
        .map(|i| R::read(&reader, i).map_err(&corrupt))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn sample() -> Inventory {
        let t = Utc.with_ymd_and_hms(2026, 3, 1, 9, 30, 0).unwrap();
        Inventory {
            tenant_id: "d8d86e5f-13e9-4bb5-bb94-0f99b507cd15".into(),
            environments: vec![Environment {
                environment_id: "env1".into(),
                display_name: "Contoso Prod".into(),
                environment_type: "Production".into(),
                is_default: false,
                dataverse_url: Some("https://org.api.crm.dynamics.com".into()),
                region: None,
            }],
            resources: vec![Resource {
                resource_type: ResourceType::Bot,
                resource_id: "b1".into(),
                environment_id: "env1".into(),
                display_name: "HR Agent".into(),
                workspace_name: None,
                created_time: Some(t),
                created_by: Some("su1".into()),
                modified_time: None,
                modified_by: None,
                published_time: Some(t),
                published_by: Some("su1".into()),
                state: Some("0".into()),
                app_type: None,
                alm_mode: None,
                workflow_entity_id: None,
                is_managed: Some(false),
                solution_id: Some("fd140aae-4df4-11dd-bd17-0019b9312238".into()),
                unique_name: Some("cr5e3_hrAgent".into()),
            }],
            role_assignments: vec![RoleAssignment {
                resource_type: ResourceType::Bot,
                resource_id: "b1".into(),
                role: Role::Creator,
                principal_id: "su1".into(),
                principal_id_kind: PrincipalIdKind::DataverseSystemUser,
                principal_type: PrincipalType::User,
                display_name: Some("Pat".into()),
                assigned_on: Some(t),
            }],
            principals: vec![Principal {
                object_id: "o1".into(),
                app_id: None,
                upn: Some("pat@fabrikam.com".into()),
                mail: None,
                display_name: None,
                principal_type: PrincipalType::User,
                user_type: Some("Guest".into()),
                enabled: Some(false),
                deleted: false,
                external_user_state: None,
            }],
            systemusers: vec![SystemUser {
                environment_id: "env1".into(),
                systemuser_id: "su1".into(),
                azure_ad_object_id: Some("o1".into()),
                application_id: None,
                domain_name: None,
                full_name: None,
                is_disabled: None,
                access_mode: Some(4),
            }],
        }
    }

    #[test]
    fn round_trips_through_disk() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("snap");
        let inv = sample();
        let m = write_inventory(&inv, &out, Utc::now()).unwrap();
        assert_eq!(m.counts["bot"], 1);
        assert_eq!(m.tables["resources"].rows, 1);
        let snap = Snapshot::open(&out).unwrap();
        assert_eq!(snap.to_inventory().unwrap(), inv);
        // Nothing but the snapshot is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn resource_facts_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("snap");
        let mut inv = sample();
        let base = inv.resources[0].clone();
        inv.resources.push(Resource {
            resource_type: ResourceType::CanvasApp,
            resource_id: "a1".into(),
            app_type: Some("CustomCanvasPage".into()),
            alm_mode: Some("Solution".into()),
            is_managed: None,
            solution_id: None,
            unique_name: None,
            ..base.clone()
        });
        inv.resources.push(Resource {
            resource_type: ResourceType::Flow,
            resource_id: "f1".into(),
            workflow_entity_id: Some("2d4e1b6f-0c43-ef11-8409-000d3a5a1b2c".into()),
            is_managed: Some(true),
            solution_id: None,
            unique_name: None,
            ..base
        });
        write_inventory(&inv, &out, Utc::now()).unwrap();
        let back = Snapshot::open(&out).unwrap().to_inventory().unwrap();
        assert_eq!(back.resources, inv.resources);
    }

    /// Records `resources.parquet`'s new checksum in the manifest and seals it again, as
    /// a writer would have.
    fn reseal_resources(out: &Path) {
        let manifest_path = out.join(MANIFEST_FILE);
        let mut m: Manifest =
            serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
        let sha = sha256_file(&out.join("resources.parquet")).unwrap();
        m.tables.get_mut("resources").unwrap().sha256 = sha;
        std::fs::write(&manifest_path, serde_json::to_vec(&m.sealed()).unwrap()).unwrap();
    }

    /// Rewrites `resources.parquet` without the fact columns, as palaudit wrote it before
    /// it recorded them, and fixes the manifest's checksum to match.
    fn drop_fact_columns(out: &Path) {
        let path = out.join("resources.parquet");
        let mut df = ParquetReader::new(File::open(&path).unwrap())
            .finish()
            .unwrap()
            .drop_many(RESOURCE_FACT_COLUMNS.iter().copied());
        ParquetWriter::new(File::create(&path).unwrap())
            .finish(&mut df)
            .unwrap();
        reseal_resources(out);
    }

    #[test]
    fn a_snapshot_without_the_fact_columns_still_opens() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("snap");
        let inv = sample();
        write_inventory(&inv, &out, Utc::now()).unwrap();
        drop_fact_columns(&out);
        let snap = Snapshot::open(&out).unwrap();
        assert!(snap.resources.column("solution_id").is_err());
        let back = snap.to_inventory().unwrap();
        let r = &back.resources[0];
        assert_eq!(
            (&r.solution_id, r.is_managed, &r.unique_name),
            (&None, None, &None)
        );
        assert_eq!(r.resource_id, inv.resources[0].resource_id);
        assert_eq!(r.published_by, inv.resources[0].published_by);
    }

    #[test]
    fn a_required_column_missing_is_still_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("snap");
        write_inventory(&sample(), &out, Utc::now()).unwrap();
        let path = out.join("resources.parquet");
        let mut df = ParquetReader::new(File::open(&path).unwrap())
            .finish()
            .unwrap()
            .drop("state")
            .unwrap();
        ParquetWriter::new(File::create(&path).unwrap())
            .finish(&mut df)
            .unwrap();
        reseal_resources(&out);
        let err = Snapshot::open(&out).err().unwrap();
        assert!(err.to_string().contains("`state` is missing"), "{err}");
    }

    #[test]
    fn tampering_is_detected_with_the_file_named() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("snap");
        write_inventory(&sample(), &out, Utc::now()).unwrap();
        let f = out.join("resources.parquet");
        let mut bytes = std::fs::read(&f).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xff;
        std::fs::write(&f, bytes).unwrap();
        let err = Snapshot::open(&out).err().unwrap();
        assert!(matches!(err, SnapshotError::ChecksumMismatch { .. }));
        assert!(err.to_string().contains("resources.parquet"), "{err}");
    }

    #[test]
    fn missing_and_corrupt_manifests_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let err = Snapshot::open(dir.path()).err().unwrap();
        assert!(matches!(err, SnapshotError::NotASnapshot { .. }));
        std::fs::write(dir.path().join(MANIFEST_FILE), "{not json").unwrap();
        let err = Snapshot::open(dir.path()).err().unwrap();
        assert!(
            matches!(err, SnapshotError::CorruptManifest { .. }),
            "{err}"
        );
        std::fs::write(dir.path().join(MANIFEST_FILE), r#"{"format_version": 99}"#).unwrap();
        let err = Snapshot::open(dir.path()).err().unwrap();
        assert!(matches!(
            err,
            SnapshotError::UnsupportedVersion { found: 99, .. }
        ));
    }

    #[test]
    fn refuses_to_replace_a_directory_that_is_not_a_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
        let err = SnapshotWriter::create(dir.path()).err().unwrap();
        assert!(matches!(err, SnapshotError::WouldOverwrite { .. }));
        assert!(dir.path().join("notes.txt").exists());
    }

    #[test]
    fn an_abandoned_writer_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("snap");
        {
            let mut w = SnapshotWriter::create(&out).unwrap();
            w.inventory(&sample()).unwrap();
        }
        assert!(!out.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn replaces_an_older_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("snap");
        write_inventory(&sample(), &out, Utc::now()).unwrap();
        let mut inv = sample();
        inv.resources.clear();
        inv.role_assignments.clear();
        let m = write_inventory(&inv, &out, Utc::now()).unwrap();
        assert_eq!(m.tables["resources"].rows, 0);
        assert_eq!(Snapshot::open(&out).unwrap().resources.height(), 0);
    }
}
