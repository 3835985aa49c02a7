//! The verdict engine: snapshot tables × PAL roster × rules → one verdict per resource.
//!
//! The joins run in polars over the snapshot's tables: each role assignment is resolved
//! to an Entra identity (Dataverse systemusers, Graph principals, UPN keys) and matched
//! against the roster by object id, app id and UPN. What is left is a per-resource
//! decision over a handful of rows, done in one linear pass over the sorted join result.
//! `docs/verdicts.md` describes the procedure in a delivery lead's words.

use crate::facts::FactColumns;
use crate::load::{RuleSet, TieBreak};
use crate::roster::roster_findings;
use chrono::{DateTime, Utc};
use palaudit_model::{
    AccountKind, Activity, Candidate, ChangePath, Evidence, Findings, Holder, Identity,
    PrincipalIdKind, PrincipalKind, PrincipalType, Reason, ResourceType, Role, Roster, Status,
    Verdict, ids,
};
use palaudit_snapshot::Frames;
use polars::prelude::*;
use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// The audit could not run over these tables (a snapshot that passed its checksums but
/// does not hold what the schema promises).
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("cannot evaluate the snapshot's `{table}` table: {message}")]
    Table {
        table: &'static str,
        message: String,
    },
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
        .replace(lit(r"^(.+)_([^_#]+)#ext#.*$"), lit("${1}@${2}"), false)
}

fn kind_is(kind: PrincipalIdKind) -> Expr {
    col("principal_id_kind").eq(lit(kind.as_str()))
}

/// Graph `externalUserState` of a guest whose invitation was never accepted, lower-cased.
pub(crate) const PENDING_ACCEPTANCE: &str = "pendingacceptance";

/// Resources judged per batch of joins.
const BATCH: usize = 100_000;

/// Evaluates every resource of `frames` for the customer tenant `tenant_id`.
pub fn evaluate(
    frames: &Frames,
    tenant_id: &str,
    roster: &Roster,
    rules: &RuleSet,
) -> Result<Findings, EvalError> {
    evaluate_in_batches(frames, tenant_id, roster, rules, BATCH)
}

fn evaluate_in_batches(
    frames: &Frames,
    tenant_id: &str,
    roster: &Roster,
    rules: &RuleSet,
    batch_size: usize,
) -> Result<Findings, EvalError> {
    let tenant = ids::norm(tenant_id);
    let environments = environments(&frames.environments)?;
    let resources_df = resources_frame(&frames.resources)?;
    let resources = Resources::read(&resources_df)?;
    let paths: ChangePathsByType = ResourceType::ALL.map(|t| {
        let rule = rules.rule_for(t);
        (
            rule.to_user.paths().into(),
            rule.to_service_principal.paths().into(),
        )
    });

    // Resources are judged in batches, so the joined assignment rows held at once stay
    // bounded however large the tenant (or portfolio) is.
    let mut verdicts = Vec::with_capacity(resources.len());
    // Resources credited to each roster identity, by roster position.
    let mut credits = vec![0u64; roster.identities.len()];
    for first in (0..resources.len()).step_by(batch_size.max(1)) {
        let batch = first..resources.len().min(first + batch_size.max(1));
        let mut assignments = resolve_assignments(frames, batch.clone())?;
        assignments.rechunk_mut();
        let matches = match_roster(&assignments, roster, &tenant)?;
        let rows = AssignmentRows::read(&assignments)?;
        let mut next = 0usize;
        for r in batch {
            let start = next;
            while next < rows.len() && rows.ridx[next] as usize == r {
                next += 1;
            }
            let (verdict, credited) = decide(
                &resources,
                r,
                &rows,
                start..next,
                &matches,
                roster,
                &environments,
                rules,
                &paths,
            );
            if let Some(slot) = credited.and_then(|i| credits.get_mut(i)) {
                *slot += 1;
            }
            verdicts.push(verdict);
        }
    }
    verdicts.sort_by(|a, b| {
        (
            &a.environment_name,
            &a.environment_id,
            a.resource_type,
            &a.resource_name,
            &a.resource_id,
        )
            .cmp(&(
                &b.environment_name,
                &b.environment_id,
                b.resource_type,
                &b.resource_name,
                &b.resource_id,
            ))
    });
    let roster = roster_findings(&frames.principals, roster, &tenant, &credits)?;
    Ok(Findings {
        tenant_id: tenant,
        collected_at: None,
        collection_errors: Vec::new(),
        verdicts,
        guidance: rules.guidance(),
        roster,
    })
}

/// Environment id (lower-cased) → (display name, type).
/// Per resource type (indexed by `ResourceType as usize`), the change paths to a user
/// and to a service principal, shared by every verdict of that type.
type ChangePathsByType = [(Arc<[ChangePath]>, Arc<[ChangePath]>); 5];

/// An environment as verdicts show it; shared by all of its resources' verdicts.
#[derive(Clone)]
struct Env {
    id: Arc<str>,
    name: Arc<str>,
    kind: Arc<str>,
    /// The Dataverse Web API base; `None` without Dataverse.
    dataverse_url: Option<Arc<str>>,
}

fn environments(df: &DataFrame) -> Result<HashMap<String, Env>, EvalError> {
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

/// The resources table in snapshot order (`ridx` is the row), borrowed column by column
/// from a rechunked frame so that a million resources are not copied into strings.
struct Resources<'a> {
    resource_type: Vec<ResourceType>,
    resource_id: &'a StringChunked,
    environment_id: &'a StringChunked,
    display_name: &'a StringChunked,
    /// (actor column lower-cased, time column) for created, modified, published.
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
fn resources_frame(df: &DataFrame) -> Result<DataFrame, EvalError> {
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
    fn read(df: &'a DataFrame) -> Result<Resources<'a>, EvalError> {
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

    fn len(&self) -> usize {
        self.resource_type.len()
    }
}

/// The activity sources, in the order of `Resources::activity`.
const ACTIVITY_SOURCES: [&str; 3] = ["lastModifiedTime", "lastPublishTime", "createdTime"];

/// Joins the role assignments of the resources at positions `batch` to their resource,
/// Dataverse systemuser and Graph principal. The result is sorted by resource position
/// (`ridx`), one row per assignment (`aidx`, numbered within the batch).
fn resolve_assignments(
    frames: &Frames,
    batch: std::ops::Range<usize>,
) -> Result<DataFrame, EvalError> {
    let resources = frames
        .resources
        .slice(batch.start as i64, batch.len())
        .lazy()
        .with_row_index("ridx", Some(batch.start as IdxSize))
        .select([
            col("ridx"),
            col("resource_type").alias("rt"),
            lower("resource_id").alias("rid"),
            lower("environment_id").alias("env"),
        ]);
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
        );
    // Principals with an object id, keyed by it; a live record wins over a deleted one.
    let principals = frames.principals.clone().lazy().sort(
        ["deleted"],
        SortMultipleOptions::default().with_nulls_last(true),
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
        .unique_stable_generic(Some(vec![col("oid")]), UniqueKeepStrategy::First);
    // Principals keyed by UPN, for Power BI publishers named only by UPN.
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
        .unique_stable_generic(Some(vec![col("upn_pid_key")]), UniqueKeepStrategy::First);

    let joined = frames
        .role_assignments
        .clone()
        .lazy()
        .with_columns([
            col("resource_type").alias("rt"),
            lower("resource_id").alias("rid"),
            lower("principal_id")
                .str()
                .strip_chars(null_str())
                .alias("pid"),
        ])
        .join(
            resources,
            [col("rt"), col("rid")],
            [col("rt"), col("rid")],
            JoinArgs::new(JoinType::Inner),
        )
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
            systemusers,
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
            by_oid,
            [col("oid")],
            [col("oid")],
            JoinArgs::new(JoinType::Left),
        )
        .join(
            by_upn,
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
        .sort(
            ["ridx"],
            SortMultipleOptions::default().with_maintain_order(true),
        )
        .with_row_index("aidx", None)
        .select([
            col("aidx"),
            col("ridx"),
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

/// One roster match: assignment `aidx` is roster identity `identity` (position in the
/// roster), found by `matched_by`.
#[derive(Debug, Clone, Copy)]
struct Match {
    identity: usize,
    matched_by: &'static str,
}

const MATCH_KEYS: [(&str, &str, &str); 3] = [
    ("oid", "r_oid", "object_id"),
    ("app", "r_app", "app_id"),
    ("upn_key", "r_upn", "upn"),
];

/// Matches assignments to roster identities by object id, app id and UPN key, in polars.
/// Returns, per assignment, its matches in this tenant and whether a row for another
/// tenant matched.
fn match_roster(
    assignments: &DataFrame,
    roster: &Roster,
    tenant: &str,
) -> Result<HashMap<u32, (Vec<Match>, bool)>, EvalError> {
    let n = roster.identities.len();
    let mut pos = Vec::with_capacity(n);
    let mut this_tenant = Vec::with_capacity(n);
    let mut r_oid = Vec::with_capacity(n);
    let mut r_app = Vec::with_capacity(n);
    let mut r_upn = Vec::with_capacity(n);
    for (i, id) in roster.identities.iter().enumerate() {
        pos.push(i as u32);
        this_tenant.push(id.tenant_id == tenant);
        r_oid.push(id.object_id.clone());
        r_app.push(id.app_id.clone());
        r_upn.push(id.upn.as_deref().map(ids::upn_match_key));
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
    for (prio, (left, right, _)) in MATCH_KEYS.iter().enumerate() {
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
    let mut out: HashMap<u32, (Vec<Match>, bool)> = HashMap::new();
    for i in 0..matched.height() {
        let (Some(a), Some(p), Some(t), Some(k)) =
            (aidx.get(i), pos.get(i), this.get(i), prio.get(i))
        else {
            continue;
        };
        let entry = out.entry(a).or_default();
        if t {
            entry.0.push(Match {
                identity: p as usize,
                matched_by: MATCH_KEYS[k as usize].2,
            });
        } else {
            entry.1 = true;
        }
    }
    Ok(out)
}

/// The resolved assignments, sorted by resource, borrowed column by column.
struct AssignmentRows<'a> {
    aidx: Vec<u32>,
    ridx: Vec<u32>,
    role: Vec<Option<Role>>,
    kind: Vec<PrincipalIdKind>,
    ptype: Vec<PrincipalType>,
    pid: &'a StringChunked,
    oid: &'a StringChunked,
    upn: &'a StringChunked,
    upn_key: &'a StringChunked,
    name: &'a StringChunked,
    assigned_on: Vec<Option<DateTime<Utc>>>,
    enabled: &'a BooleanChunked,
    deleted: &'a BooleanChunked,
    pending: &'a BooleanChunked,
    known: &'a BooleanChunked,
    su_found: &'a BooleanChunked,
    su_disabled: &'a BooleanChunked,
}

impl<'a> AssignmentRows<'a> {
    fn read(df: &'a DataFrame) -> Result<AssignmentRows<'a>, EvalError> {
        const T: &str = "role_assignments";
        let err = table_err(T);
        let idx = |name: &str| -> Result<Vec<u32>, EvalError> {
            Ok(df
                .column(name)
                .map_err(&err)?
                .idx()
                .map_err(&err)?
                .iter()
                .map(|v| v.unwrap_or_default())
                .collect())
        };
        let bools = |name: &str| -> Result<&'a BooleanChunked, EvalError> {
            df.column(name).map_err(&err)?.bool().map_err(&err)
        };
        let role = str_col(df, "role", T)?
            .iter()
            .map(|r| r.and_then(|r| r.parse::<Role>().ok()))
            .collect();
        let kind = str_col(df, "principal_id_kind", T)?
            .iter()
            .map(|k| {
                k.and_then(|k| k.parse().ok())
                    .unwrap_or(PrincipalIdKind::None)
            })
            .collect();
        let ptype = str_col(df, "principal_type", T)?
            .iter()
            .map(|k| {
                k.and_then(|k| k.parse().ok())
                    .unwrap_or(PrincipalType::Unknown)
            })
            .collect();
        Ok(AssignmentRows {
            aidx: idx("aidx")?,
            ridx: idx("ridx")?,
            role,
            kind,
            ptype,
            pid: str_col(df, "pid", T)?,
            oid: str_col(df, "oid", T)?,
            upn: str_col(df, "upn", T)?,
            upn_key: str_col(df, "upn_key", T)?,
            name: str_col(df, "name", T)?,
            assigned_on: time_col(df, "assigned_on", T)?,
            enabled: bools("enabled")?,
            deleted: bools("deleted")?,
            pending: bools("pending")?,
            known: bools("known")?,
            su_found: bools("su_found")?,
            su_disabled: bools("su_disabled")?,
        })
    }

    fn len(&self) -> usize {
        self.aidx.len()
    }

    /// True when the resource's activity field `actor` (lower-cased) names this
    /// assignment's holder.
    fn is_actor(&self, a: usize, actor: &str, actor_kind: PrincipalIdKind) -> bool {
        match actor_kind {
            PrincipalIdKind::Upn => cell(self.upn_key, a) == Some(&ids::upn_match_key(actor)),
            PrincipalIdKind::EntraObjectId => {
                cell(self.oid, a) == Some(actor) || cell(self.pid, a) == Some(actor)
            }
            _ => self.kind[a] == actor_kind && cell(self.pid, a) == Some(actor),
        }
    }
}

/// Compares partner IDs numerically when both are numbers, else as text.
fn partner_cmp(a: &str, b: &str) -> Ordering {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

#[allow(clippy::too_many_arguments)]
fn decide(
    res: &Resources,
    r: usize,
    rows: &AssignmentRows,
    range: std::ops::Range<usize>,
    matches: &HashMap<u32, (Vec<Match>, bool)>,
    roster: &Roster,
    environments: &HashMap<String, Env>,
    rules: &RuleSet,
    paths: &ChangePathsByType,
) -> (Verdict, Option<usize>) {
    let rt = res.resource_type[r];
    let rule = rules.rule_for(rt);
    let environment_id = res.environment_id.get(r).unwrap_or_default();
    let env = environments.get(&ids::norm(environment_id));
    let mut verdict = Verdict {
        environment_id: env
            .map(|e| e.id.clone())
            .unwrap_or_else(|| environment_id.into()),
        environment_name: env.map(|e| e.name.clone()).unwrap_or_else(|| "".into()),
        environment_type: env.map(|e| e.kind.clone()).unwrap_or_else(|| "".into()),
        resource_type: rt,
        resource_id: res.resource_id.get(r).unwrap_or_default().to_owned(),
        resource_name: res.display_name.get(r).unwrap_or_default().to_owned(),
        status: Status::Unknown,
        partner_id: None,
        attributed_principal_id: None,
        attributed_principal_name: None,
        attributing_role: None,
        leaver_risk: false,
        reasons: Vec::new(),
        change_paths_user: paths[rt as usize].0.clone(),
        change_paths_service_principal: paths[rt as usize].1.clone(),
        evidence: Evidence::default(),
        facts: None,
        suppression: None,
    };
    let Some(env) = env else {
        verdict.reasons.push(Reason::EnvironmentUnknown);
        return (verdict, None);
    };
    // A resource the rule book does not count on its own (see `facts.rs`) is judged like
    // work outside production: kept visible with its reason, never credited.
    let not_counted = res.facts.not_counted(r, rt);
    let eligible = rules.eligibility.is_eligible(&env.kind) && not_counted.is_none();
    let not_eligible_reason = not_counted.unwrap_or(Reason::NonProductionEnvironment);
    let actor_kind = rt.actor_id_kind();

    let mut reasons: BTreeSet<Reason> = BTreeSet::new();
    let mut holders = 0usize;
    // Every holder of the attributing role, kept on verdicts that are not attributed:
    // what a fix plan moves the resource away from.
    let mut holder_list: Vec<Holder> = Vec::new();
    // Each candidate with its roster position, so the credited one can be traced back.
    let mut candidates: Vec<(Candidate, usize)> = Vec::new();
    for a in range {
        let Some(role) = rows.role[a] else { continue };
        let attributing = rule.attributing_roles.contains(&role);
        if attributing {
            holders += 1;
            holder_list.push(Holder {
                role,
                principal_id: cell(rows.oid, a)
                    .or_else(|| cell(rows.pid, a))
                    .unwrap_or_default()
                    .to_owned(),
                principal_type: rows.ptype[a],
                display_name: cell(rows.name, a).map(str::to_owned),
                upn: cell(rows.upn, a).map(str::to_owned),
            });
            let unresolved = cell(rows.pid, a).is_none()
                || rows.kind[a] == PrincipalIdKind::None
                || (rows.kind[a] == PrincipalIdKind::DataverseSystemUser
                    && rows.su_found.get(a) != Some(true));
            if matches!(rows.ptype[a], PrincipalType::Group | PrincipalType::Team) {
                reasons.insert(Reason::GroupPrincipal);
            } else if unresolved {
                reasons.insert(Reason::OwnerUnresolved);
            }
        }
        let Some((found, other_tenant)) = matches.get(&rows.aidx[a]) else {
            continue;
        };
        if found.is_empty() && *other_tenant && attributing {
            reasons.insert(Reason::PalLinkOtherTenant);
        }
        for m in found {
            let identity: &Identity = &roster.identities[m.identity];
            let mut activity = Vec::new();
            for (source, (by, at)) in ACTIVITY_SOURCES.iter().zip(&res.activity) {
                if let (Some(by), Some(at)) = (cell(by, r), at[r])
                    && rows.is_actor(a, by, actor_kind)
                {
                    activity.push(Activity {
                        source: (*source).into(),
                        at,
                    });
                }
            }
            if let Some(at) = rows.assigned_on[a] {
                activity.push(Activity {
                    source: "roleAssignedOn".into(),
                    at,
                });
            }
            activity.sort_by(|x, y| y.at.cmp(&x.at).then_with(|| x.source.cmp(&y.source)));
            let disqualified_by = if !attributing {
                Some(Reason::PalIdentityLacksRole)
            } else if rows.deleted.get(a) == Some(true) {
                Some(Reason::IdentityDeleted)
            } else if rows.enabled.get(a) == Some(false) || rows.su_disabled.get(a) == Some(true) {
                Some(Reason::IdentityDisabled)
            } else if rows.pending.get(a) == Some(true) {
                Some(Reason::IdentityInvitationPending)
            } else if rows.known.get(a) != Some(true) {
                Some(Reason::IdentityHealthUnknown)
            } else {
                None
            };
            candidates.push((
                Candidate {
                    partner_id: identity.partner_id.clone(),
                    principal_id: cell(rows.oid, a)
                        .unwrap_or_else(|| identity.principal_id())
                        .to_owned(),
                    display_name: cell(rows.name, a)
                        .map(str::to_owned)
                        .or_else(|| identity.display_name.clone()),
                    upn: cell(rows.upn, a)
                        .map(str::to_owned)
                        .or_else(|| identity.upn.clone()),
                    role,
                    matched_by: m.matched_by.into(),
                    qualifies: disqualified_by.is_none(),
                    disqualified_by,
                    activity,
                },
                m.identity,
            ));
        }
    }

    // Candidates in a stable order: qualifying first, then partner, role, principal.
    candidates.sort_by(|(x, _), (y, _)| {
        y.qualifies
            .cmp(&x.qualifies)
            .then_with(|| partner_cmp(&x.partner_id, &y.partner_id))
            .then_with(|| x.role.cmp(&y.role))
            .then_with(|| x.principal_id.cmp(&y.principal_id))
    });
    let identity_of: Vec<usize> = candidates.iter().map(|(_, i)| *i).collect();
    verdict.evidence.holders = holder_list;
    verdict.facts = Some(Box::new(res.facts.of(r, rt, env.dataverse_url.as_deref())));
    verdict.evidence.candidates = candidates.into_iter().map(|(c, _)| c).collect();
    let winner = pick_winner(rule.tie_break, &verdict.evidence.candidates);
    if let Some((w, contested, tie)) = winner {
        let c = &verdict.evidence.candidates[w];
        let identity = identity_of[w];
        if eligible {
            // An attributed verdict needs no fix plan: its evidence is the winner.
            verdict.evidence.holders = Vec::new();
            verdict.facts = None;
            verdict.status = Status::Attributed;
            verdict.partner_id = Some(c.partner_id.clone());
            verdict.attributed_principal_id = Some(c.principal_id.clone());
            verdict.attributed_principal_name = c.display_name.clone().or_else(|| c.upn.clone());
            verdict.attributing_role = Some(c.role);
            verdict.leaver_risk = roster.identities.get(identity).is_some_and(|i| {
                i.principal_type == PrincipalKind::User && i.account_kind == AccountKind::Personal
            });
            reasons = BTreeSet::from([Reason::PalIdentityInRole]);
            if contested {
                reasons.insert(Reason::LatestPartnerWins);
            }
            if tie {
                reasons.insert(Reason::TieBrokenByPartnerId);
            }
        } else {
            verdict.status = Status::Unattributed;
            verdict.evidence.would_be_partner_id = Some(c.partner_id.clone());
            reasons = BTreeSet::from([not_eligible_reason]);
        }
        let credited = (verdict.status == Status::Attributed).then_some(identity);
        verdict.reasons = reasons.into_iter().collect();
        return (verdict, credited);
    }

    if holders == 0 {
        reasons.insert(Reason::OwnerUnresolved);
    }
    // An identity that holds an attributing role is judged by that role: its other
    // roles (a flow creator is also listed as owner) do not add `pal_identity_lacks_role`.
    let in_attributing_role: BTreeSet<(&str, &str)> = verdict
        .evidence
        .candidates
        .iter()
        .filter(|c| c.disqualified_by != Some(Reason::PalIdentityLacksRole))
        .map(|c| (c.partner_id.as_str(), c.principal_id.as_str()))
        .collect();
    for c in &verdict.evidence.candidates {
        match c.disqualified_by {
            Some(Reason::PalIdentityLacksRole)
                if in_attributing_role
                    .contains(&(c.partner_id.as_str(), c.principal_id.as_str())) => {}
            Some(reason) => {
                reasons.insert(reason);
            }
            None => {}
        }
    }
    let pal_reasons = [
        Reason::IdentityDeleted,
        Reason::IdentityDisabled,
        Reason::IdentityInvitationPending,
        Reason::IdentityHealthUnknown,
        Reason::PalIdentityLacksRole,
        Reason::GroupPrincipal,
        Reason::OwnerUnresolved,
        Reason::PalLinkOtherTenant,
    ];
    if !pal_reasons.iter().any(|r| reasons.contains(r)) {
        reasons.insert(Reason::NoPalIdentityInRole);
    }
    if !eligible {
        reasons.insert(not_eligible_reason);
    }
    verdict.status = if reasons.contains(&Reason::OwnerUnresolved)
        || reasons.contains(&Reason::IdentityHealthUnknown)
    {
        Status::Unknown
    } else {
        Status::Unattributed
    };
    verdict.reasons = reasons.into_iter().collect();
    (verdict, None)
}

/// Picks the credited candidate among the qualifying ones, as the rule's `tie_break`
/// says, and within the winning partner the identity with the latest activity, then
/// owner before co-owner, then the lower principal id.
/// Returns (index, several partners competed, the tie-break decided).
fn pick_winner(tie_break: TieBreak, candidates: &[Candidate]) -> Option<(usize, bool, bool)> {
    let qualifying: Vec<usize> = (0..candidates.len())
        .filter(|i| candidates[*i].qualifies)
        .collect();
    let first = *qualifying.first()?;
    let winner_partner = match tie_break {
        // One holder by definition: its partner wins uncontested. Should the data show
        // several partners anyway, the latest-partner procedure decides, so the verdict
        // stays deterministic.
        TieBreak::SingleHolder
            if qualifying
                .iter()
                .all(|i| candidates[*i].partner_id == candidates[first].partner_id) =>
        {
            return best_of_partner(candidates, &qualifying, &candidates[first].partner_id)
                .map(|w| (w, false, false));
        }
        TieBreak::SingleHolder | TieBreak::LatestPartner => latest_partner(candidates, &qualifying),
    };
    let (partner, contested, tie) = winner_partner;
    let best = best_of_partner(candidates, &qualifying, partner)?;
    Some((best, contested, tie))
}

/// The partner with the latest activity among the `qualifying` candidates; an exact tie
/// goes to the lower partner ID. Returns (partner, several partners competed, the
/// partner ID decided).
fn latest_partner<'a>(candidates: &'a [Candidate], qualifying: &[usize]) -> (&'a str, bool, bool) {
    // Latest activity per partner.
    let mut partners: Vec<(&str, Option<DateTime<Utc>>)> = Vec::new();
    for &i in qualifying {
        let c = &candidates[i];
        let at = c.latest_activity();
        match partners.iter_mut().find(|(p, _)| *p == c.partner_id) {
            Some((_, best)) => *best = (*best).max(at),
            None => partners.push((&c.partner_id, at)),
        }
    }
    // Latest first; equal times → lower partner ID first.
    partners.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| partner_cmp(a.0, b.0)));
    let contested = partners.len() > 1;
    let tie = contested && partners[0].1 == partners[1].1;
    (partners[0].0, contested, tie)
}

/// The credited identity of `partner`: latest activity, then owner before co-owner, then
/// the lower principal id.
fn best_of_partner(candidates: &[Candidate], qualifying: &[usize], partner: &str) -> Option<usize> {
    qualifying
        .iter()
        .copied()
        .filter(|i| candidates[*i].partner_id == partner)
        .min_by(|a, b| {
            let (x, y) = (&candidates[*a], &candidates[*b]);
            y.latest_activity()
                .cmp(&x.latest_activity())
                .then_with(|| x.role.cmp(&y.role))
                .then_with(|| x.principal_id.cmp(&y.principal_id))
        })
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

    #[test]
    fn batching_does_not_change_any_verdict() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/cases");
        let rules = RuleSet::bundled();
        for name in [
            "latest_partner_wins.pass.json",
            "identity_deleted.pass.json",
            "owner_unresolved.pass.json",
            "non_production_environment.pass.json",
        ] {
            let text = std::fs::read_to_string(format!("{dir}/{name}")).unwrap();
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            let inv: palaudit_model::Inventory =
                serde_json::from_value(v["inventory"].clone()).unwrap();
            assert!(inv.resources.len() > 1, "{name} needs several resources");
            let roster = Roster::parse(v["identities"].as_str().unwrap().as_bytes()).unwrap();
            let frames = palaudit_snapshot::Frames::of(&inv).unwrap();
            let whole =
                evaluate_in_batches(&frames, &inv.tenant_id, &roster, &rules, 1000).unwrap();
            let one_by_one =
                evaluate_in_batches(&frames, &inv.tenant_id, &roster, &rules, 1).unwrap();
            assert_eq!(whole, one_by_one, "{name}");
        }
    }

    fn candidate(partner: &str, principal: &str, minute: Option<u32>) -> Candidate {
        use chrono::TimeZone;
        Candidate {
            partner_id: partner.into(),
            principal_id: principal.into(),
            display_name: None,
            upn: None,
            role: Role::Creator,
            matched_by: "object_id".into(),
            qualifies: true,
            disqualified_by: None,
            activity: minute
                .map(|m| Activity {
                    source: "createdTime".into(),
                    at: Utc.with_ymd_and_hms(2025, 1, 1, 0, m, 0).unwrap(),
                })
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn the_latest_partner_wins_and_an_exact_tie_goes_to_the_lower_partner_id() {
        let c = [
            candidate("7654321", "a", Some(5)),
            candidate("1234567", "b", Some(3)),
        ];
        assert_eq!(
            pick_winner(TieBreak::LatestPartner, &c),
            Some((0, true, false))
        );
        let c = [
            candidate("7654321", "a", Some(5)),
            candidate("1234567", "b", Some(5)),
        ];
        assert_eq!(
            pick_winner(TieBreak::LatestPartner, &c),
            Some((1, true, true))
        );
        let mut none = candidate("1234567", "b", Some(5));
        none.qualifies = false;
        assert_eq!(pick_winner(TieBreak::LatestPartner, &[none]), None);
    }

    #[test]
    fn a_single_holder_wins_uncontested_and_several_fall_back_to_the_latest_partner() {
        // One partner, two of its identities: the latest identity, never contested.
        let c = [
            candidate("1234567", "a", Some(1)),
            candidate("1234567", "b", Some(9)),
        ];
        assert_eq!(
            pick_winner(TieBreak::SingleHolder, &c),
            Some((1, false, false))
        );
        // Data that contradicts the rule (two partners' creators) is still decided the
        // same way every time: by the latest-partner procedure.
        let c = [
            candidate("1234567", "a", Some(1)),
            candidate("7654321", "b", Some(9)),
        ];
        assert_eq!(
            pick_winner(TieBreak::SingleHolder, &c),
            pick_winner(TieBreak::LatestPartner, &c)
        );
        assert_eq!(
            pick_winner(TieBreak::SingleHolder, &c),
            Some((1, true, false))
        );
    }

    #[test]
    fn partner_ids_compare_as_numbers() {
        assert_eq!(partner_cmp("999", "1234567"), Ordering::Less);
        assert_eq!(partner_cmp("1234567", "7654321"), Ordering::Less);
    }
}
