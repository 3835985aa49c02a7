//! Resolving: the snapshot's tables joined into typed rows for the decision.
//!
//! Each role assignment is resolved to an Entra identity (Dataverse systemusers, Graph
//! principals, UPN keys) and matched against the roster by object id, app id and UPN key.
//! Every join here is a hash join built once on its small side — the principals, the
//! Dataverse users, the roster — and probed from the large one, reading the snapshot's
//! Arrow columns in place: identifiers are normalised with [`ids::norm_cow`] and
//! [`ids::upn_match_key_cow`], which copy only the ones that are not already lower-case
//! and trimmed, so a tenant of a million resources is read without copying its ids.
//! (The same joins as polars lazy queries took 85 % more instructions; BENCHMARKS.md has
//! the profiles.)
//!
//! Role assignments are placed once by their resource's position in report order, so
//! the driver walks resources in that order and resolves each one's holders as it goes;
//! what leaves this room is [`ResourceRow`]s and [`HolderRow`]s, and the decision never
//! reads a column by name.

use super::decide::{Env, HolderRow, ResourceRow, RosterMatch};
use super::facts::FactColumns;
use chrono::{DateTime, Utc};
use palaudit_model::{
    HealthSignals, IdentityHealth, MATCH_KEY_NAMES, PrincipalIdKind, PrincipalType, ResourceType,
    Role, Roster, RosterIndex, SinkError, ids,
};
use palaudit_snapshot::Frames;
use polars::datatypes::StaticArray;
use polars::prelude::{
    BooleanChunked, DataFrame, DataType, Int64Chunked, PolarsDataType, PolarsError, StringType,
    TimeUnit,
};
use std::borrow::Cow;
use std::collections::HashMap;

/// The engine's hash maps: keyed by tenant data, so seeded, but far cheaper per lookup
/// than the standard library's SipHash.
pub(crate) type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
use std::sync::Arc;

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
    /// The verdicts that are not attributed could not be kept for the reports.
    #[error(transparent)]
    Kept(#[from] palaudit_model::ListError),
}

pub(crate) fn table_err(table: &'static str) -> impl Fn(PolarsError) -> EvalError {
    move |e| EvalError::Table {
        table,
        message: e.to_string(),
    }
}

/// Graph `externalUserState` of a guest whose invitation was never accepted, lower-cased.
pub(crate) const PENDING_ACCEPTANCE: &str = "pendingacceptance";

/// The Arrow array behind a polars string column.
type StrArray = <StringType as PolarsDataType>::Array;

/// A string column of a snapshot table, read cell by cell straight from its Arrow arrays
/// without polars' per-cell chunk lookup: the engine reads millions of cells.
///
/// A snapshot's tables are decoded one chunk per row group, every group but the last of
/// the same size, so a row's chunk is found by one division and the columns are never
/// copied into one chunk (which, for a million resources, held the string columns twice).
/// A column in chunks of other sizes is joined into one chunk once.
pub(crate) struct Text {
    chunks: Vec<StrArray>,
    /// Rows in each chunk but the last.
    rows_per_chunk: usize,
}

impl Text {
    pub(crate) fn read(df: &DataFrame, name: &str, table: &'static str) -> Result<Text, EvalError> {
        let err = table_err(table);
        let ca = df.column(name).map_err(&err)?.str().map_err(err)?;
        // Every chunk but the last of one (non-zero) size, the last no longer.
        let in_row_groups = |chunks: &[StrArray]| match chunks {
            [] | [_] => true,
            [first, middle @ .., last] => {
                let n = first.len();
                n > 0 && middle.iter().all(|c| c.len() == n) && last.len() <= n
            }
        };
        let mut chunks: Vec<StrArray> = ca.downcast_iter().cloned().collect();
        if !in_row_groups(&chunks) {
            chunks = ca.rechunk().downcast_iter().cloned().collect();
        }
        let rows_per_chunk = chunks.first().map_or(0, |c| c.len());
        Ok(Text {
            chunks,
            rows_per_chunk,
        })
    }

    pub(crate) fn get(&self, i: usize) -> Option<&str> {
        let (chunk, row) = match self.chunks.len() {
            0 => return None,
            1 => (&self.chunks[0], i),
            _ => (
                self.chunks.get(i / self.rows_per_chunk)?,
                i % self.rows_per_chunk,
            ),
        };
        StaticArray::get(chunk, row)
    }
}

/// A boolean column of a snapshot table, as one Arrow array.
pub(crate) struct Flags(BooleanChunked);

impl Flags {
    pub(crate) fn read(
        df: &DataFrame,
        name: &str,
        table: &'static str,
    ) -> Result<Flags, EvalError> {
        let err = table_err(table);
        let ca = df.column(name).map_err(&err)?.bool().map_err(err)?;
        Ok(Flags(ca.rechunk().into_owned()))
    }

    pub(crate) fn get(&self, i: usize) -> Option<bool> {
        self.0.get(i)
    }
}

/// A timestamp column of a snapshot table, as milliseconds since the epoch.
pub(crate) struct Times(Int64Chunked);

impl Times {
    fn read(df: &DataFrame, name: &str, table: &'static str) -> Result<Times, EvalError> {
        let err = table_err(table);
        let c = df
            .column(name)
            .map_err(&err)?
            .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
            .map_err(&err)?;
        let ms = c
            .datetime()
            .map_err(&err)?
            .physical()
            .rechunk()
            .into_owned();
        Ok(Times(ms))
    }

    fn get(&self, i: usize) -> Option<DateTime<Utc>> {
        self.0.get(i).and_then(DateTime::from_timestamp_millis)
    }
}

/// A cell with blank values read as missing.
fn present<'a>(s: Option<Cow<'a, str>>) -> Option<Cow<'a, str>> {
    s.filter(|s| !s.trim().is_empty())
}

/// Environment id (lower-cased) → the environment as verdicts show it.
pub(crate) fn environments(df: &DataFrame) -> Result<Map<String, Env>, EvalError> {
    const T: &str = "environments";
    let ids = Text::read(df, "environment_id", T)?;
    let names = Text::read(df, "display_name", T)?;
    let types = Text::read(df, "environment_type", T)?;
    let urls = Text::read(df, "dataverse_url", T)?;
    let mut map = Map::with_capacity_and_hasher(df.height(), Default::default());
    for i in 0..df.height() {
        if let Some(id) = ids.get(i) {
            map.insert(
                ids::norm(id),
                Env {
                    id: id.into(),
                    name: names.get(i).unwrap_or(id).into(),
                    kind: types.get(i).unwrap_or("").into(),
                    dataverse_url: urls.get(i).filter(|u| !u.trim().is_empty()).map(Arc::from),
                },
            );
        }
    }
    Ok(map)
}

/// The resources table in snapshot order (a resource's row is its index).
pub(crate) struct Resources<'a> {
    resource_type: Vec<ResourceType>,
    resource_id: Text,
    environment_id: Text,
    display_name: Text,
    /// (actor column, time column), in `ACTIVITY_SOURCES` order: modified, published,
    /// created.
    activity: [(Text, Times); 3],
    /// What a fix plan needs beyond the roles (see `facts.rs`).
    facts: FactColumns<'a>,
}

/// The activity actors of one resource, normalised; what its [`ResourceRow`] borrows.
pub(crate) type Actors<'a> = [Option<Cow<'a, str>>; 3];

impl<'a> Resources<'a> {
    pub(crate) fn read(df: &'a DataFrame) -> Result<Resources<'a>, EvalError> {
        const T: &str = "resources";
        let types = Text::read(df, "resource_type", T)?;
        let mut resource_type = Vec::with_capacity(df.height());
        for i in 0..df.height() {
            let t = types.get(i).unwrap_or("");
            resource_type.push(t.parse::<ResourceType>().map_err(|e| EvalError::Table {
                table: T,
                message: format!("row {i}: {e}"),
            })?);
        }
        Ok(Resources {
            resource_type,
            resource_id: Text::read(df, "resource_id", T)?,
            environment_id: Text::read(df, "environment_id", T)?,
            display_name: Text::read(df, "display_name", T)?,
            activity: [
                (
                    Text::read(df, "modified_by", T)?,
                    Times::read(df, "modified_time", T)?,
                ),
                (
                    Text::read(df, "published_by", T)?,
                    Times::read(df, "published_time", T)?,
                ),
                (
                    Text::read(df, "created_by", T)?,
                    Times::read(df, "created_time", T)?,
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

    pub(crate) fn resource_id(&self, r: usize) -> &str {
        self.resource_id.get(r).unwrap_or_default()
    }

    pub(crate) fn environment_id(&self, r: usize) -> &str {
        self.environment_id.get(r).unwrap_or_default()
    }

    pub(crate) fn display_name(&self, r: usize) -> &str {
        self.display_name.get(r).unwrap_or_default()
    }

    /// Who acted on resource `r`, normalised, for [`Resources::row`]; blank actors and
    /// actors without a time are missing.
    pub(crate) fn actors(&self, r: usize) -> Actors<'_> {
        self.activity
            .each_ref()
            .map(|(by, at)| at.get(r).and(present(by.get(r).map(ids::norm_cow))))
    }

    /// Resource `r` as the decision reads it, in environment `env`, with its `actors`.
    pub(crate) fn row<'e>(
        &'e self,
        r: usize,
        env: Option<&'e Env>,
        actors: &'e Actors<'_>,
    ) -> ResourceRow<'e> {
        let rt = self.resource_type[r];
        let mut activity = [None; 3];
        for (slot, ((_, at), by)) in activity.iter_mut().zip(self.activity.iter().zip(actors)) {
            *slot = by.as_deref().zip(at.get(r));
        }
        ResourceRow {
            resource_type: rt,
            resource_id: self.resource_id(r),
            environment_id: self.environment_id(r),
            display_name: self.display_name(r),
            env,
            activity,
            not_counted: self.facts.not_counted(r, rt),
        }
    }

    /// The facts of resource `r` (see `facts.rs`), in environment `env`.
    pub(crate) fn facts(&self, r: usize, env: &Env) -> palaudit_model::ResourceFacts {
        self.facts
            .of(r, self.resource_type[r], env.dataverse_url.as_deref())
    }
}

/// Every role assignment of a known resource, grouped by its resource's position in
/// report order (snapshot order within a resource). Placed once by counting, so the
/// driver reads a resource's assignments as one slice.
pub(crate) struct Placement {
    /// `starts[pos]..starts[pos + 1]` indexes `rows` for the resource at `pos`.
    starts: Vec<u32>,
    /// Assignment rows (of the `role_assignments` table).
    rows: Vec<u32>,
}

impl Placement {
    /// Places the assignments of `frames` by resource: an assignment belongs to every
    /// resource with its type and (normalised) id. `order` is the resources' rows in
    /// report order.
    pub(crate) fn new(
        frames: &Frames,
        resources: &Resources,
        order: &[u32],
    ) -> Result<Placement, EvalError> {
        const T: &str = "role_assignments";
        let n = resources.len();
        let mut pos_of_row = vec![0u32; n];
        for (pos, &r) in order.iter().enumerate() {
            pos_of_row[r as usize] = pos as u32;
        }
        // (type, id) → the first resource row with it; further rows with the same key
        // (the same id in another environment) are chained through `next`.
        const END: u32 = u32::MAX;
        let mut first: Map<(ResourceType, Cow<str>), u32> =
            Map::with_capacity_and_hasher(n, Default::default());
        let mut next = vec![END; n];
        for r in (0..n).rev() {
            let key = (
                resources.resource_type(r),
                ids::norm_cow(resources.resource_id(r)),
            );
            if let Some(prev) = first.insert(key, r as u32) {
                next[r] = prev;
            }
        }
        let df = &frames.role_assignments;
        let types = Text::read(df, "resource_type", T)?;
        let ids = Text::read(df, "resource_id", T)?;
        // Each assignment's resource positions, found once and used twice (to count,
        // then to place); most assignments belong to one resource.
        let mut resource_of = Vec::with_capacity(df.height());
        let mut counts = vec![0u32; n + 1];
        for a in 0..df.height() {
            let found = match (types.get(a).map(str::parse::<ResourceType>), ids.get(a)) {
                (Some(Ok(rt)), Some(id)) => {
                    first.get(&(rt, ids::norm_cow(id))).copied().unwrap_or(END)
                }
                _ => END,
            };
            resource_of.push(found);
            let mut r = found;
            while r != END {
                counts[pos_of_row[r as usize] as usize + 1] += 1;
                r = next[r as usize];
            }
        }
        drop(first);
        for pos in 0..n {
            counts[pos + 1] += counts[pos];
        }
        let total = counts[n] as usize;
        let mut fill = counts.clone();
        let mut rows = vec![0u32; total];
        for (a, &found) in resource_of.iter().enumerate() {
            let mut r = found;
            while r != END {
                let slot = &mut fill[pos_of_row[r as usize] as usize];
                rows[*slot as usize] = a as u32;
                *slot += 1;
                r = next[r as usize];
            }
        }
        Ok(Placement {
            starts: counts,
            rows,
        })
    }

    /// The assignment rows of the resource at report position `pos`.
    pub(crate) fn of(&self, pos: usize) -> &[u32] {
        &self.rows[self.starts[pos] as usize..self.starts[pos + 1] as usize]
    }
}

/// The `role_assignments` columns a holder is read from.
pub(crate) struct Assignments {
    role: Text,
    kind: Text,
    principal_type: Text,
    principal_id: Text,
    display_name: Text,
    assigned_on: Times,
}

impl Assignments {
    pub(crate) fn read(df: &DataFrame) -> Result<Assignments, EvalError> {
        const T: &str = "role_assignments";
        Ok(Assignments {
            role: Text::read(df, "role", T)?,
            kind: Text::read(df, "principal_id_kind", T)?,
            principal_type: Text::read(df, "principal_type", T)?,
            principal_id: Text::read(df, "principal_id", T)?,
            display_name: Text::read(df, "display_name", T)?,
            assigned_on: Times::read(df, "assigned_on", T)?,
        })
    }
}

/// A Graph principal, as a holder resolved to it reads it.
struct Principal<'a> {
    object_id: Option<Cow<'a, str>>,
    app_id: Option<Cow<'a, str>>,
    upn: Option<&'a str>,
    display_name: Option<&'a str>,
    enabled: Option<bool>,
    deleted: Option<bool>,
    /// `Some` when Graph gave an `externalUserState`: whether it is pending acceptance.
    pending: Option<bool>,
}

/// A Dataverse systemuser, as a holder named by its systemuser id reads it.
struct SystemUser<'a> {
    object_id: Option<Cow<'a, str>>,
    app_id: Option<Cow<'a, str>>,
    upn: Option<&'a str>,
    name: Option<&'a str>,
    disabled: Option<bool>,
}

/// The columns the lookups borrow from, read once.
pub(crate) struct LookupColumns {
    su: [Text; 6],
    su_disabled: Flags,
    p: [Text; 5],
    p_enabled: Flags,
    p_deleted: Flags,
}

impl LookupColumns {
    pub(crate) fn read(frames: &Frames) -> Result<LookupColumns, EvalError> {
        let su = &frames.systemusers;
        let p = &frames.principals;
        const S: &str = "systemusers";
        const P: &str = "principals";
        Ok(LookupColumns {
            su: [
                Text::read(su, "environment_id", S)?,
                Text::read(su, "systemuser_id", S)?,
                Text::read(su, "azure_ad_object_id", S)?,
                Text::read(su, "application_id", S)?,
                Text::read(su, "domain_name", S)?,
                Text::read(su, "full_name", S)?,
            ],
            su_disabled: Flags::read(su, "is_disabled", S)?,
            p: [
                Text::read(p, "object_id", P)?,
                Text::read(p, "app_id", P)?,
                Text::read(p, "upn", P)?,
                Text::read(p, "display_name", P)?,
                Text::read(p, "external_user_state", P)?,
            ],
            p_enabled: Flags::read(p, "enabled", P)?,
            p_deleted: Flags::read(p, "deleted", P)?,
        })
    }
}

/// The principal tables and the roster, keyed for resolving holders; built once.
pub(crate) struct Lookups<'a> {
    /// Dataverse users by environment id, then systemuser id (both normalised); the
    /// first row of a key wins.
    systemusers: Map<Cow<'a, str>, Map<Cow<'a, str>, SystemUser<'a>>>,
    principals: Vec<Principal<'a>>,
    /// Principals by object id; a live record wins over a deleted one, then the first.
    by_oid: Map<Cow<'a, str>, u32>,
    /// Principals by UPN match key, for Power BI publishers named only by UPN; the same
    /// precedence.
    by_upn: Map<Cow<'a, str>, u32>,
    /// Every roster identity (of every tenant) by its match keys.
    roster: RosterIndex,
    /// Per roster position: the identity belongs to the audited tenant.
    this_tenant: Vec<bool>,
}

impl<'a> Lookups<'a> {
    pub(crate) fn prepare(cols: &'a LookupColumns, roster: &Roster, tenant: &str) -> Lookups<'a> {
        let norm = |s: Option<&'a str>| s.map(ids::norm_cow);
        let [env, su_id, su_oid, su_app, su_upn, su_name] = &cols.su;
        let mut systemusers: Map<Cow<str>, Map<Cow<str>, SystemUser>> = Map::default();
        for i in 0..cols.su_disabled.0.len() {
            let (Some(env), Some(id)) = (env.get(i), su_id.get(i)) else {
                continue;
            };
            systemusers
                .entry(ids::norm_cow(env))
                .or_default()
                .entry(ids::norm_cow(id))
                .or_insert_with(|| SystemUser {
                    object_id: norm(su_oid.get(i)),
                    app_id: norm(su_app.get(i)),
                    upn: su_upn.get(i),
                    name: su_name.get(i),
                    disabled: cols.su_disabled.get(i),
                });
        }

        let [oid, app, upn, name, ext] = &cols.p;
        let rows = cols.p_deleted.0.len();
        let principals: Vec<Principal> = (0..rows)
            .map(|i| Principal {
                object_id: norm(oid.get(i)),
                app_id: norm(app.get(i)),
                upn: upn.get(i),
                display_name: name.get(i),
                enabled: cols.p_enabled.get(i),
                deleted: cols.p_deleted.get(i),
                pending: ext.get(i).map(|s| s.to_lowercase() == PENDING_ACCEPTANCE),
            })
            .collect();
        // Live records first, then deleted ones, then those that do not say; snapshot
        // order within each.
        let mut order: Vec<u32> = (0..rows as u32).collect();
        order.sort_by_key(|&i| match principals[i as usize].deleted {
            Some(false) => 0u8,
            Some(true) => 1,
            None => 2,
        });
        let mut by_oid = Map::with_capacity_and_hasher(rows, Default::default());
        let mut by_upn = Map::with_capacity_and_hasher(rows, Default::default());
        for &i in &order {
            if let Some(key) = oid.get(i as usize).map(ids::norm_cow)
                && !key.is_empty()
            {
                by_oid.entry(key).or_insert(i);
            }
            if let Some(key) = upn.get(i as usize).map(ids::upn_match_key_cow)
                && !key.is_empty()
            {
                by_upn.entry(key).or_insert(i);
            }
        }
        Lookups {
            systemusers,
            principals,
            by_oid,
            by_upn,
            roster: RosterIndex::new(roster.identities.iter().enumerate()),
            this_tenant: roster
                .identities
                .iter()
                .map(|i| i.tenant_id == tenant)
                .collect(),
        }
    }

    /// Resolves assignment row `a` of a resource in the environment `env` (normalised)
    /// to its identity and the roster. `matched` is scratch space, reused across calls.
    pub(crate) fn holder<'r>(
        &'r self,
        cols: &'r Assignments,
        a: usize,
        env: &str,
        matched: &mut Vec<(usize, usize)>,
    ) -> HolderRow<'r> {
        let id_kind = cols
            .kind
            .get(a)
            .and_then(|k| k.parse().ok())
            .unwrap_or(PrincipalIdKind::None);
        let pid: Option<Cow<'r, str>> = cols.principal_id.get(a).map(ids::norm_cow);
        let pid_is = |kind: PrincipalIdKind| if id_kind == kind { pid.clone() } else { None };
        let su: Option<&'r SystemUser<'a>> = pid_is(PrincipalIdKind::DataverseSystemUser)
            .and_then(|id| self.systemusers.get(env)?.get(id.as_ref()));
        let oid: Option<Cow<'r, str>> = match id_kind {
            PrincipalIdKind::EntraObjectId => pid.clone(),
            PrincipalIdKind::DataverseSystemUser => su.and_then(|s| borrow(&s.object_id)),
            _ => None,
        };
        let principal = |key: Option<&str>, map: &Map<Cow<str>, u32>| {
            key.and_then(|k| map.get(k))
                .map(|&i| &self.principals[i as usize])
        };
        let p = principal(oid.as_deref(), &self.by_oid);
        let upn_pid_key = pid_is(PrincipalIdKind::Upn).map(|u| upn_key_of(&u));
        let q = principal(upn_pid_key.as_deref(), &self.by_upn);
        let either = |f: fn(&Principal<'a>) -> Option<bool>| p.and_then(f).or(q.and_then(f));

        let object_id = oid.or_else(|| q.and_then(|q| borrow(&q.object_id)));
        let app_id: Option<&str> = su
            .and_then(|s| s.app_id.as_deref())
            .or(p.and_then(|p| p.app_id.as_deref()))
            .or(q.and_then(|q| q.app_id.as_deref()));
        let upn: Option<Cow<'r, str>> = pid_is(PrincipalIdKind::Upn)
            .or_else(|| p.and_then(|p| p.upn).map(Cow::Borrowed))
            .or_else(|| su.and_then(|s| s.upn).map(Cow::Borrowed));
        let upn_key = upn.as_ref().map(upn_key_of);
        let name = cols
            .display_name
            .get(a)
            .or(p.and_then(|p| p.display_name))
            .or(q.and_then(|q| q.display_name))
            .or(su.and_then(|s| s.name));
        let health = IdentityHealth::judge(HealthSignals {
            deleted: either(|p| p.deleted) == Some(true),
            // A Dataverse user disabled in this environment counts as disabled here (a
            // verdict-level matter, see `roster.rs`).
            disabled: either(|p| p.enabled) == Some(false)
                || su.and_then(|s| s.disabled) == Some(true),
            // A guest that never accepted its invitation has never signed in here.
            invitation_pending: either(|p| p.pending) == Some(true),
            unknown: either(|p| p.deleted).is_none(),
        });

        matched.clear();
        self.roster
            .matches([object_id.as_deref(), app_id, upn_key.as_deref()], matched);
        let mut matches = Vec::new();
        let mut linked_elsewhere = false;
        for &(identity, by) in matched.iter() {
            if self.this_tenant[identity] {
                matches.push(RosterMatch {
                    identity,
                    matched_by: MATCH_KEY_NAMES[by],
                });
            } else {
                linked_elsewhere = true;
            }
        }
        HolderRow {
            role: cols.role.get(a).and_then(|r| r.parse::<Role>().ok()),
            id_kind,
            principal_type: cols
                .principal_type
                .get(a)
                .and_then(|k| k.parse().ok())
                .unwrap_or(PrincipalType::Unknown),
            principal_id: present(pid),
            object_id: present(object_id),
            upn: present(upn),
            upn_key: present(upn_key),
            display_name: present(name.map(Cow::Borrowed)),
            assigned_on: cols.assigned_on.get(a),
            health,
            systemuser_found: su.is_some(),
            matches,
            linked_elsewhere,
        }
    }
}

/// A normalised id held by a lookup, lent to a holder.
fn borrow<'r>(s: &'r Option<Cow<'_, str>>) -> Option<Cow<'r, str>> {
    s.as_deref().map(Cow::Borrowed)
}

/// The UPN match key of `upn`, borrowing what `upn` borrows when it is its own key.
fn upn_key_of<'r>(upn: &Cow<'r, str>) -> Cow<'r, str> {
    match upn {
        Cow::Borrowed(s) => ids::upn_match_key_cow(s),
        Cow::Owned(s) => Cow::Owned(ids::upn_match_key(s)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::{NamedFrom, Series};

    /// A one-column frame whose column is made of chunks of the given sizes.
    fn chunked(sizes: &[usize]) -> DataFrame {
        let mut next = 0;
        let mut whole: Option<Series> = None;
        for &size in sizes {
            let values: Vec<Option<String>> = (next..next + size)
                .map(|i| (i % 5 != 0).then(|| format!("v{i}")))
                .collect();
            next += size;
            let part = Series::new("c".into(), values);
            match &mut whole {
                Some(w) => {
                    w.append(&part).unwrap();
                }
                None => whole = Some(part),
            }
        }
        let whole = whole.unwrap_or_else(|| Series::new_empty("c".into(), &DataType::String));
        DataFrame::new_infer_height(vec![whole.into()]).unwrap()
    }

    fn every_cell(sizes: &[usize]) {
        let df = chunked(sizes);
        let column = df.column("c").unwrap().str().unwrap();
        assert_eq!(column.chunks().len(), sizes.len().max(1));
        let text = Text::read(&df, "c", "t").unwrap();
        for i in 0..df.height() {
            assert_eq!(text.get(i), column.get(i), "cell {i} of chunks {sizes:?}");
        }
        for i in df.height()..df.height() + 3 {
            assert_eq!(
                text.get(i),
                None,
                "cell {i} past the end of chunks {sizes:?}"
            );
        }
    }

    #[test]
    fn a_column_in_row_groups_reads_every_cell_where_polars_does() {
        // Row groups as a snapshot is decoded: all of one size, the last shorter.
        every_cell(&[4, 4, 4, 2]);
        every_cell(&[4, 4, 4]);
        every_cell(&[7]);
        // Any other chunking is joined once.
        every_cell(&[3, 5, 1]);
        every_cell(&[]);
    }
}
