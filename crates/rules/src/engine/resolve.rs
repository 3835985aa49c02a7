//! Resolving: the snapshot's tables joined, in polars, into typed rows for the decision.
//!
//! Each role assignment is resolved to an Entra identity (Dataverse systemusers, Graph
//! principals, UPN keys) and matched against the roster by object id, app id and UPN key.
//! Everything columnar happens here; what leaves this room is [`ResourceRow`]s and
//! [`HolderRow`]s, so the decision never reads a column by name.

use super::decide::{Env, HolderRow, ResourceRow, RosterMatch};
use super::facts::FactColumns;
use chrono::{DateTime, Utc};
use palaudit_model::{
    HealthSignals, IdentityHealth, MATCH_KEY_NAMES, PrincipalIdKind, PrincipalType, ResourceType,
    Role, Roster, SinkError, ids,
};
use palaudit_snapshot::Frames;
use polars::prelude::*;
use std::collections::HashMap;

/// The audit could not run over these tables (a snapshot that passed its checksums but
/// does not hold what the schema promises), or a report streamed to could not be written.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("cannot evaluate the snapshot's `{table}` table: {message}")]
    Table {
        table: &'static str,
        message: String,
    },
    /// A report fed verdict by verdict failed to take one.
    #[error("cannot write a report: {0}")]
    Report(#[source] SinkError),
}

pub(crate) fn table_err(table: &'static str) -> impl Fn(PolarsError) -> EvalError {
    move |e| EvalError::Table {
        table,
        message: e.to_string(),
    }
}

fn lower(name: &str) -> Expr {
    col(name).str().to_lowercase()
}

fn null_str() -> Expr {
    lit(NULL).cast(DataType::String)
}

/// The UPN match key as a polars expression; the same rule as [`ids::upn_match_key`]: a
/// guest UPN `pat_fabrikam.com#EXT#@…` is keyed by `pat@fabrikam.com`.
fn upn_key(e: Expr) -> Expr {
    e.str()
        .to_lowercase()
        .str()
        .strip_chars(null_str())
        .str()
        // Up to the first `#ext#` (a UPN has no other `#`), split at its last `_`.
        .replace(lit(r"^([^#]+)_([^_#]+)#ext#.*$"), lit("${1}@${2}"), false)
}

fn kind_is(kind: PrincipalIdKind) -> Expr {
    col("principal_id_kind").eq(lit(kind.as_str()))
}

/// Graph `externalUserState` of a guest whose invitation was never accepted, lower-cased.
pub(crate) const PENDING_ACCEPTANCE: &str = "pendingacceptance";

/// Environment id (lower-cased) → the environment as verdicts show it.
pub(crate) fn environments(df: &DataFrame) -> Result<HashMap<String, Env>, EvalError> {
    let err = table_err("environments");
    let ids = df
        .column("environment_id")
        .map_err(&err)?
        .str()
        .map_err(&err)?;
    let names = df
        .column("display_name")
        .map_err(&err)?
        .str()
        .map_err(&err)?;
    let types = df
        .column("environment_type")
        .map_err(&err)?
        .str()
        .map_err(&err)?;
    let urls = df
        .column("dataverse_url")
        .map_err(&err)?
        .str()
        .map_err(&err)?;
    let mut map = HashMap::with_capacity(df.height());
    for (((id, name), ty), url) in ids
        .iter()
        .zip(names.iter())
        .zip(types.iter())
        .zip(urls.iter())
    {
        if let Some(id) = id {
            map.insert(
                ids::norm(id),
                Env {
                    id: id.into(),
                    name: name.unwrap_or(id).into(),
                    kind: ty.unwrap_or("").into(),
                    dataverse_url: url.filter(|u| !u.trim().is_empty()).map(Arc::from),
                },
            );
        }
    }
    Ok(map)
}

/// The resources table in snapshot order (a resource's row is its index), borrowed
/// column by column from a rechunked frame so that a million resources are not copied
/// into strings.
pub(crate) struct Resources<'a> {
    resource_type: Vec<ResourceType>,
    resource_id: &'a StringChunked,
    environment_id: &'a StringChunked,
    display_name: &'a StringChunked,
    /// (actor column lower-cased, time column), in `ACTIVITY_SOURCES` order: modified,
    /// published, created.
    activity: [(&'a StringChunked, Vec<Option<DateTime<Utc>>>); 3],
    /// What a fix plan needs beyond the roles (see `facts.rs`).
    facts: FactColumns<'a>,
}

pub(crate) fn str_col<'a>(
    df: &'a DataFrame,
    name: &str,
    table: &'static str,
) -> Result<&'a StringChunked, EvalError> {
    let err = table_err(table);
    df.column(name).map_err(&err)?.str().map_err(err)
}

fn time_col(
    df: &DataFrame,
    name: &str,
    table: &'static str,
) -> Result<Vec<Option<DateTime<Utc>>>, EvalError> {
    let err = table_err(table);
    let c = df.column(name).map_err(&err)?;
    let c = c
        .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
        .map_err(&err)?;
    let phys = c.datetime().map_err(&err)?.physical().clone();
    Ok(phys
        .iter()
        .map(|v| v.and_then(DateTime::from_timestamp_millis))
        .collect())
}

/// A cell of a rechunked string column, with blank cells read as missing.
fn cell(c: &StringChunked, i: usize) -> Option<&str> {
    c.get(i).filter(|s| !s.trim().is_empty())
}

/// The resources frame the engine reads: actor columns lower-cased, one chunk per column.
pub(crate) fn resources_frame(df: &DataFrame) -> Result<DataFrame, EvalError> {
    let mut out = df
        .clone()
        .lazy()
        .with_columns([
            lower("created_by").str().strip_chars(null_str()),
            lower("modified_by").str().strip_chars(null_str()),
            lower("published_by").str().strip_chars(null_str()),
        ])
        .collect()
        .map_err(table_err("resources"))?;
    out.rechunk_mut();
    Ok(out)
}

impl<'a> Resources<'a> {
    /// Reads the frame [`resources_frame`] prepared.
    pub(crate) fn read(df: &'a DataFrame) -> Result<Resources<'a>, EvalError> {
        const T: &str = "resources";
        let types = str_col(df, "resource_type", T)?;
        let mut resource_type = Vec::with_capacity(df.height());
        for (i, t) in types.iter().enumerate() {
            let t = t.unwrap_or("");
            resource_type.push(t.parse::<ResourceType>().map_err(|e| EvalError::Table {
                table: T,
                message: format!("row {i}: {e}"),
            })?);
        }
        Ok(Resources {
            resource_type,
            resource_id: str_col(df, "resource_id", T)?,
            environment_id: str_col(df, "environment_id", T)?,
            display_name: str_col(df, "display_name", T)?,
            activity: [
                (
                    str_col(df, "modified_by", T)?,
                    time_col(df, "modified_time", T)?,
                ),
                (
                    str_col(df, "published_by", T)?,
                    time_col(df, "published_time", T)?,
                ),
                (
                    str_col(df, "created_by", T)?,
                    time_col(df, "created_time", T)?,
                ),
            ],
            facts: FactColumns::read(df)?,
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.resource_type.len()
    }

    pub(crate) fn resource_type(&self, r: usize) -> ResourceType {
        self.resource_type[r]
    }

    pub(crate) fn resource_id(&self, r: usize) -> &'a str {
        self.resource_id.get(r).unwrap_or_default()
    }

    pub(crate) fn environment_id(&self, r: usize) -> &'a str {
        self.environment_id.get(r).unwrap_or_default()
    }

    pub(crate) fn display_name(&self, r: usize) -> &'a str {
        self.display_name.get(r).unwrap_or_default()
    }

    /// Resource `r` as the decision reads it, in environment `env`.
    pub(crate) fn row<'e>(&'e self, r: usize, env: Option<&'e Env>) -> ResourceRow<'e> {
        let rt = self.resource_type[r];
        ResourceRow {
            resource_type: rt,
            resource_id: self.resource_id(r),
            environment_id: self.environment_id(r),
            display_name: self.display_name(r),
            env,
            activity: self
                .activity
                .each_ref()
                .map(|(by, at)| cell(by, r).zip(at[r])),
            not_counted: self.facts.not_counted(r, rt),
        }
    }

    /// The facts of resource `r` (see `facts.rs`), in environment `env`.
    pub(crate) fn facts(&self, r: usize, env: &Env) -> palaudit_model::ResourceFacts {
        self.facts
            .of(r, self.resource_type[r], env.dataverse_url.as_deref())
    }
}

/// The principal tables every batch of assignments is joined against, prepared once.
pub(crate) struct Lookups {
    /// Dataverse systemusers keyed by (environment, systemuser id).
    systemusers: DataFrame,
    /// Graph principals with an object id, keyed by it; a live record wins over a
    /// deleted one.
    by_oid: DataFrame,
    /// Graph principals keyed by UPN, for Power BI publishers named only by UPN.
    by_upn: DataFrame,
}

impl Lookups {
    pub(crate) fn prepare(frames: &Frames) -> Result<Lookups, EvalError> {
        let systemusers = frames
            .systemusers
            .clone()
            .lazy()
            .select([
                lower("environment_id").alias("env"),
                lower("systemuser_id").alias("su_pid"),
                lower("azure_ad_object_id").alias("su_oid"),
                lower("application_id").alias("su_app"),
                col("domain_name").alias("su_upn"),
                col("full_name").alias("su_name"),
                col("is_disabled").alias("su_disabled"),
                lit(true).alias("su_found"),
            ])
            .unique_stable_generic(
                Some(vec![col("env"), col("su_pid")]),
                UniqueKeepStrategy::First,
            )
            .collect()
            .map_err(table_err("systemusers"))?;
        let principals = frames.principals.clone().lazy().sort(
            ["deleted"],
            SortMultipleOptions::default()
                .with_nulls_last(true)
                .with_maintain_order(true),
        );
        let by_oid = principals
            .clone()
            .filter(col("object_id").str().len_bytes().gt(lit(0u32)))
            .select([
                lower("object_id").alias("oid"),
                lower("app_id").alias("p_app"),
                col("upn").alias("p_upn"),
                col("display_name").alias("p_name"),
                col("enabled").alias("p_enabled"),
                col("deleted").alias("p_deleted"),
                col("external_user_state").alias("p_ext"),
            ])
            .unique_stable_generic(Some(vec![col("oid")]), UniqueKeepStrategy::First)
            .collect()
            .map_err(table_err("principals"))?;
        let by_upn = principals
            .filter(col("upn").is_not_null())
            .select([
                upn_key(col("upn")).alias("upn_pid_key"),
                lower("object_id").alias("q_oid"),
                lower("app_id").alias("q_app"),
                col("display_name").alias("q_name"),
                col("enabled").alias("q_enabled"),
                col("deleted").alias("q_deleted"),
                col("external_user_state").alias("q_ext"),
            ])
            .unique_stable_generic(Some(vec![col("upn_pid_key")]), UniqueKeepStrategy::First)
            .collect()
            .map_err(table_err("principals"))?;
        Ok(Lookups {
            systemusers,
            by_oid,
            by_upn,
        })
    }
}

/// Every role assignment of a known resource, keyed to its resource's position in report
/// order (`pos`, from `pos_of_row[resource row]`) and sorted by it, snapshot order within
/// a resource: three index columns (`pos`, `raidx` the assignment's row, `ridx` its
/// resource's row). Done once, so each batch is a contiguous slice of it; the assignment
/// columns themselves are gathered batch by batch, so they are never all copied at once.
pub(crate) fn order_assignments(
    frames: &Frames,
    pos_of_row: Vec<IdxSize>,
) -> Result<DataFrame, EvalError> {
    let err = table_err("resources");
    let mut keys = frames
        .resources
        .select(["resource_type", "resource_id"])
        .map_err(&err)?;
    keys.with_column(Column::new("pos".into(), pos_of_row))
        .map_err(&err)?;
    let resources = keys.lazy().with_row_index("ridx", None).select([
        col("pos"),
        col("ridx"),
        col("resource_type").alias("rt"),
        lower("resource_id").alias("rid"),
    ]);
    let mut ordered = frames
        .role_assignments
        .clone()
        .lazy()
        .with_row_index("raidx", None)
        .select([
            col("raidx"),
            col("resource_type").alias("rt"),
            lower("resource_id").alias("rid"),
        ])
        .join(
            resources,
            [col("rt"), col("rid")],
            [col("rt"), col("rid")],
            JoinArgs::new(JoinType::Inner),
        )
        .select([col("pos"), col("raidx"), col("ridx")])
        .sort(["pos", "raidx"], SortMultipleOptions::default())
        .collect()
        .map_err(table_err("role_assignments"))?;
    ordered.rechunk_mut();
    Ok(ordered)
}

/// The `pos` column of [`order_assignments`]' result, for finding where batches begin.
pub(crate) fn positions(ordered: &DataFrame) -> Result<Vec<IdxSize>, EvalError> {
    let err = table_err("role_assignments");
    Ok(ordered
        .column("pos")
        .map_err(&err)?
        .idx()
        .map_err(&err)?
        .iter()
        .map(|p| p.unwrap_or_default())
        .collect())
}

/// Resolves the assignments at `rows` of `ordered` to their Dataverse systemuser and
/// Graph principal: one row per assignment (`aidx`, numbered within the batch), sorted by
/// resource position (`pos`).
pub(crate) fn resolve_assignments(
    frames: &Frames,
    ordered: &DataFrame,
    rows: std::ops::Range<usize>,
    lookups: &Lookups,
) -> Result<DataFrame, EvalError> {
    let err = table_err("role_assignments");
    let part = ordered.slice(rows.start as i64, rows.len());
    let raidx = part.column("raidx").map_err(&err)?.idx().map_err(&err)?;
    let ridx = part.column("ridx").map_err(&err)?.idx().map_err(&err)?;
    let mut batch = frames
        .role_assignments
        .select([
            "role",
            "principal_id_kind",
            "principal_type",
            "principal_id",
            "display_name",
            "assigned_on",
        ])
        .map_err(&err)?
        .take(raidx)
        .map_err(&err)?;
    let env = frames
        .resources
        .column("environment_id")
        .map_err(table_err("resources"))?
        .take(ridx)
        .map_err(table_err("resources"))?
        .with_name("resource_environment_id".into());
    for c in [
        part.column("pos").map_err(&err)?.clone(),
        part.column("raidx").map_err(&err)?.clone(),
        env,
    ] {
        batch.with_column(c).map_err(&err)?;
    }
    let joined = batch
        .lazy()
        .with_columns([
            lower("resource_environment_id").alias("env"),
            lower("principal_id")
                .str()
                .strip_chars(null_str())
                .alias("pid"),
        ])
        .with_columns([
            when(kind_is(PrincipalIdKind::DataverseSystemUser))
                .then(col("pid"))
                .otherwise(null_str())
                .alias("su_pid"),
            when(kind_is(PrincipalIdKind::Upn))
                .then(upn_key(col("pid")))
                .otherwise(null_str())
                .alias("upn_pid_key"),
        ])
        .join(
            lookups.systemusers.clone().lazy(),
            [col("env"), col("su_pid")],
            [col("env"), col("su_pid")],
            JoinArgs::new(JoinType::Left),
        )
        .with_column(
            when(kind_is(PrincipalIdKind::EntraObjectId))
                .then(col("pid"))
                .when(kind_is(PrincipalIdKind::DataverseSystemUser))
                .then(col("su_oid"))
                .otherwise(null_str())
                .alias("oid"),
        )
        .join(
            lookups.by_oid.clone().lazy(),
            [col("oid")],
            [col("oid")],
            JoinArgs::new(JoinType::Left),
        )
        .join(
            lookups.by_upn.clone().lazy(),
            [col("upn_pid_key")],
            [col("upn_pid_key")],
            JoinArgs::new(JoinType::Left),
        )
        .with_columns([
            coalesce(&[col("oid"), col("q_oid")]).alias("oid"),
            coalesce(&[col("su_app"), col("p_app"), col("q_app")]).alias("app"),
            coalesce(&[
                when(kind_is(PrincipalIdKind::Upn))
                    .then(col("pid"))
                    .otherwise(null_str()),
                col("p_upn"),
                col("su_upn"),
            ])
            .alias("upn"),
            coalesce(&[
                col("display_name"),
                col("p_name"),
                col("q_name"),
                col("su_name"),
            ])
            .alias("name"),
            coalesce(&[col("p_enabled"), col("q_enabled")]).alias("enabled"),
            coalesce(&[col("p_deleted"), col("q_deleted")]).alias("deleted"),
            // A guest that never accepted its invitation has never signed in here.
            coalesce(&[col("p_ext"), col("q_ext")])
                .str()
                .to_lowercase()
                .eq(lit(PENDING_ACCEPTANCE))
                .fill_null(lit(false))
                .alias("pending"),
            (col("p_deleted")
                .is_not_null()
                .or(col("q_deleted").is_not_null()))
            .alias("known"),
            col("su_found").fill_null(lit(false)),
        ])
        .with_column(upn_key(col("upn")).alias("upn_key"))
        .sort(["pos", "raidx"], SortMultipleOptions::default())
        .with_row_index("aidx", None)
        .select([
            col("aidx"),
            col("pos"),
            col("role"),
            col("principal_id_kind"),
            col("principal_type"),
            col("pid"),
            col("oid"),
            col("app"),
            col("upn"),
            col("upn_key"),
            col("name"),
            col("assigned_on"),
            col("enabled"),
            col("deleted"),
            col("pending"),
            col("known"),
            col("su_found"),
            col("su_disabled"),
        ]);
    joined.collect().map_err(table_err("role_assignments"))
}

/// How each roster key ([`Identity::match_keys`](palaudit_model::Identity::match_keys),
/// in its order) is matched: the assignment column and the roster column.
const MATCH_KEYS: [(&str, &str); 3] = [("oid", "r_oid"), ("app", "r_app"), ("upn_key", "r_upn")];

/// Matches assignments to roster identities by object id, app id and UPN key, in polars.
/// Returns, per assignment, its matches in this tenant and whether a row for another
/// tenant matched.
pub(crate) fn match_roster(
    assignments: &DataFrame,
    roster: &Roster,
    tenant: &str,
) -> Result<HashMap<u32, (Vec<RosterMatch>, bool)>, EvalError> {
    let n = roster.identities.len();
    let mut pos = Vec::with_capacity(n);
    let mut this_tenant = Vec::with_capacity(n);
    let mut r_oid = Vec::with_capacity(n);
    let mut r_app = Vec::with_capacity(n);
    let mut r_upn = Vec::with_capacity(n);
    for (i, id) in roster.identities.iter().enumerate() {
        pos.push(i as u32);
        this_tenant.push(id.tenant_id == tenant);
        let [oid, app, upn] = id.match_keys();
        r_oid.push(oid);
        r_app.push(app);
        r_upn.push(upn);
    }
    let err = table_err("role_assignments");
    let roster_df = DataFrame::new(
        n,
        vec![
            Column::new("pos".into(), pos),
            Column::new("this_tenant".into(), this_tenant),
            Column::new("r_oid".into(), r_oid),
            Column::new("r_app".into(), r_app),
            Column::new("r_upn".into(), r_upn),
        ],
    )
    .map_err(&err)?;
    let mut parts = Vec::new();
    for (prio, (left, right)) in MATCH_KEYS.iter().enumerate() {
        parts.push(
            assignments
                .clone()
                .lazy()
                .select([col("aidx"), col(*left).alias("key")])
                .filter(col("key").is_not_null())
                .join(
                    roster_df.clone().lazy().select([
                        col("pos"),
                        col("this_tenant"),
                        col(*right).alias("key"),
                    ]),
                    [col("key")],
                    [col("key")],
                    JoinArgs::new(JoinType::Inner),
                )
                .select([
                    col("aidx"),
                    col("pos"),
                    col("this_tenant"),
                    lit(prio as u32).cast(DataType::UInt32).alias("prio"),
                ]),
        );
    }
    let matched = concat(parts, UnionArgs::default())
        .map_err(&err)?
        .sort(
            ["aidx", "pos", "prio"],
            SortMultipleOptions::default().with_maintain_order(true),
        )
        .unique_stable_generic(
            Some(vec![col("aidx"), col("pos")]),
            UniqueKeepStrategy::First,
        )
        .collect()
        .map_err(&err)?;
    let aidx = matched.column("aidx").map_err(&err)?.idx().map_err(&err)?;
    let pos = matched.column("pos").map_err(&err)?.u32().map_err(&err)?;
    let this = matched
        .column("this_tenant")
        .map_err(&err)?
        .bool()
        .map_err(&err)?;
    let prio = matched.column("prio").map_err(&err)?.u32().map_err(&err)?;
    let mut out: HashMap<u32, (Vec<RosterMatch>, bool)> = HashMap::new();
    for i in 0..matched.height() {
        let (Some(a), Some(p), Some(t), Some(k)) =
            (aidx.get(i), pos.get(i), this.get(i), prio.get(i))
        else {
            continue;
        };
        let entry = out.entry(a).or_default();
        if t {
            entry.0.push(RosterMatch {
                identity: p as usize,
                matched_by: MATCH_KEY_NAMES[k as usize],
            });
        } else {
            entry.1 = true;
        }
    }
    Ok(out)
}

/// The resolved assignments of one batch as typed rows, with the position (in the
/// batch) of the resource each belongs to; sorted by that position.
pub(crate) struct HolderBatch<'a> {
    pub positions: Vec<u32>,
    pub rows: Vec<HolderRow<'a>>,
}

/// Reads the frame [`resolve_assignments`] produced into typed rows, attaching each
/// assignment's roster matches (from [`match_roster`]).
pub(crate) fn holder_rows(
    df: &DataFrame,
    mut matches: HashMap<u32, (Vec<RosterMatch>, bool)>,
) -> Result<HolderBatch<'_>, EvalError> {
    const T: &str = "role_assignments";
    let err = table_err(T);
    let idx = |name: &str| -> Result<&IdxCa, EvalError> {
        df.column(name).map_err(&err)?.idx().map_err(&err)
    };
    let bools = |name: &str| -> Result<&BooleanChunked, EvalError> {
        df.column(name).map_err(&err)?.bool().map_err(&err)
    };
    let aidx = idx("aidx")?;
    let pos = idx("pos")?;
    let role = str_col(df, "role", T)?;
    let kind = str_col(df, "principal_id_kind", T)?;
    let ptype = str_col(df, "principal_type", T)?;
    let pid = str_col(df, "pid", T)?;
    let oid = str_col(df, "oid", T)?;
    let upn = str_col(df, "upn", T)?;
    let upn_key = str_col(df, "upn_key", T)?;
    let name = str_col(df, "name", T)?;
    let assigned_on = time_col(df, "assigned_on", T)?;
    let enabled = bools("enabled")?;
    let deleted = bools("deleted")?;
    let pending = bools("pending")?;
    let known = bools("known")?;
    let su_found = bools("su_found")?;
    let su_disabled = bools("su_disabled")?;
    let n = df.height();
    let mut positions = Vec::with_capacity(n);
    let mut rows = Vec::with_capacity(n);
    for (a, assigned_on) in assigned_on.into_iter().enumerate() {
        positions.push(pos.get(a).unwrap_or_default());
        let (found, elsewhere) = aidx
            .get(a)
            .and_then(|i| matches.remove(&i))
            .unwrap_or_default();
        rows.push(HolderRow {
            role: role.get(a).and_then(|r| r.parse::<Role>().ok()),
            id_kind: kind
                .get(a)
                .and_then(|k| k.parse().ok())
                .unwrap_or(PrincipalIdKind::None),
            principal_type: ptype
                .get(a)
                .and_then(|k| k.parse().ok())
                .unwrap_or(PrincipalType::Unknown),
            principal_id: cell(pid, a),
            object_id: cell(oid, a),
            upn: cell(upn, a),
            upn_key: cell(upn_key, a),
            display_name: cell(name, a),
            assigned_on,
            // Directory health, with a Dataverse user disabled in this environment
            // counted as disabled here (a verdict-level matter, see `roster.rs`).
            health: IdentityHealth::judge(HealthSignals {
                deleted: deleted.get(a) == Some(true),
                disabled: enabled.get(a) == Some(false) || su_disabled.get(a) == Some(true),
                invitation_pending: pending.get(a) == Some(true),
                unknown: known.get(a) != Some(true),
            }),
            systemuser_found: su_found.get(a) == Some(true),
            matches: found,
            linked_elsewhere: elsewhere,
        });
    }
    Ok(HolderBatch { positions, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polars_upn_key_agrees_with_the_model() {
        let samples = [
            "Pat_Fabrikam.com#EXT#@contoso.onmicrosoft.com",
            "first_last_fabrikam.com#EXT#@contoso.onmicrosoft.com",
            "PAT@fabrikam.com",
            " svc-fabrikam@contoso.onmicrosoft.com ",
            "weird#ext#@x",
            "a_b#ext#c_d#ext#@x",
            "_#EXT#@x",
            "a_#EXT#@x",
        ];
        let df = DataFrame::new(
            samples.len(),
            vec![Column::new(
                "u".into(),
                samples.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            )],
        )
        .unwrap();
        let out = df
            .lazy()
            .select([upn_key(col("u")).alias("k")])
            .collect()
            .unwrap();
        let keys: Vec<String> = out
            .column("k")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|s| s.unwrap().to_owned())
            .collect();
        let expected: Vec<String> = samples.iter().map(|s| ids::upn_match_key(s)).collect();
        assert_eq!(keys, expected);
    }
}
