//! The roster section of the findings: each PAL identity of the audited tenant, its
//! health as the snapshot's `principals` table records it, and the resources it won.
//!
//! Health is read from Microsoft Graph's answers only (the directory account), not from
//! Dataverse: a Dataverse user disabled in one environment is a verdict-level matter
//! (`identity_disabled` on that resource), not the state of the identity itself.

use super::resolve::{EvalError, PENDING_ACCEPTANCE, str_col, table_err};
use palaudit_model::{
    HealthSignals, IdentityHealth, LinkState, OtherTenants, Roster, RosterEntry, RosterFindings,
    ids,
};
use polars::prelude::*;
use std::collections::{BTreeSet, HashMap};

/// What one `principals` row says, for the identity it matched.
#[derive(Debug, Clone)]
struct Record {
    object_id: Option<String>,
    app_id: Option<String>,
    upn: Option<String>,
    display_name: Option<String>,
    health: IdentityHealth,
}

/// How a principals row matched a roster identity; lower is stronger.
const BY_OBJECT_ID: u8 = 0;
const BY_APP_ID: u8 = 1;
const BY_UPN: u8 = 2;

/// Builds the roster rows for `tenant` (already normalised). `credits[i]` is the number
/// of resources roster identity `i` (position in `roster.identities`) wins.
pub(crate) fn roster_findings(
    principals: &DataFrame,
    roster: &Roster,
    tenant: &str,
    credits: &[u64],
) -> Result<RosterFindings, EvalError> {
    let here: Vec<usize> = (0..roster.identities.len())
        .filter(|i| roster.identities[*i].tenant_id == tenant)
        .collect();
    let elsewhere: Vec<&str> = roster
        .identities
        .iter()
        .filter(|i| i.tenant_id != tenant)
        .map(|i| i.tenant_id.as_str())
        .collect();
    let other_tenants = OtherTenants {
        identities: elsewhere.len() as u64,
        tenants: elsewhere.iter().collect::<BTreeSet<_>>().len() as u64,
    };

    // Roster keys → positions in `here`. The roster is small and the principals table
    // may be large, so the table is scanned once against these maps.
    let mut keys: [HashMap<String, Vec<usize>>; 3] = Default::default();
    for (k, &i) in here.iter().enumerate() {
        let id = &roster.identities[i];
        // `match_keys` is in BY_OBJECT_ID, BY_APP_ID, BY_UPN order.
        for (by, key) in id.match_keys().into_iter().enumerate() {
            if let Some(key) = key {
                keys[by].entry(key).or_default().push(k);
            }
        }
    }
    let found = scan_principals(principals, &keys, here.len())?;

    let identities = here
        .iter()
        .zip(found)
        .map(|(&i, record)| {
            let id = &roster.identities[i];
            let record = record.as_ref();
            RosterEntry {
                line: id.line,
                partner_id: id.partner_id.clone(),
                principal_type: id.principal_type,
                account_kind: id.account_kind,
                display_name: id
                    .display_name
                    .clone()
                    .or_else(|| record.and_then(|r| r.display_name.clone())),
                upn: id
                    .upn
                    .clone()
                    .or_else(|| record.and_then(|r| r.upn.clone())),
                object_id: id
                    .object_id
                    .clone()
                    .or_else(|| record.and_then(|r| r.object_id.clone())),
                app_id: id
                    .app_id
                    .clone()
                    .or_else(|| record.and_then(|r| r.app_id.clone())),
                health: record.map_or(IdentityHealth::NotSeen, |r| r.health),
                link_state: LinkState::Unverified,
                rbac_assignments: None,
                credited_resources: credits.get(i).copied().unwrap_or(0),
            }
        })
        .collect();
    Ok(RosterFindings {
        identities,
        other_tenants,
    })
}

/// A cell with blank text read as missing.
fn blank(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// For each of `n` roster identities, the principals row that describes it best: a live
/// record over a deleted one (a lookup that missed by one path and hit by another), then
/// object id over app id over UPN, then the first in the table.
fn scan_principals(
    df: &DataFrame,
    keys: &[HashMap<String, Vec<usize>>; 3],
    n: usize,
) -> Result<Vec<Option<Record>>, EvalError> {
    const T: &str = "principals";
    let err = table_err(T);
    let object_id = str_col(df, "object_id", T)?;
    let app_id = str_col(df, "app_id", T)?;
    let upn = str_col(df, "upn", T)?;
    let name = str_col(df, "display_name", T)?;
    let ext = str_col(df, "external_user_state", T)?;
    let enabled = df.column("enabled").map_err(&err)?.bool().map_err(&err)?;
    let deleted = df.column("deleted").map_err(&err)?.bool().map_err(&err)?;

    let mut best: Vec<Option<((bool, u8), Record)>> = vec![None; n];
    let rows = object_id
        .iter()
        .zip(app_id.iter())
        .zip(upn.iter())
        .zip(name.iter())
        .zip(ext.iter())
        .zip(enabled.iter())
        .zip(deleted.iter());
    for ((((((oid, app), upn), name), ext), enabled), deleted) in rows {
        let (oid, app, upn) = (blank(oid), blank(app), blank(upn));
        let mut hits: Vec<(usize, u8)> = Vec::new();
        for (by, key) in [
            (BY_OBJECT_ID, oid.map(ids::norm)),
            (BY_APP_ID, app.map(ids::norm)),
            (BY_UPN, upn.map(ids::upn_match_key)),
        ] {
            if let Some(positions) = key.and_then(|k| keys[by as usize].get(&k)) {
                hits.extend(positions.iter().map(|p| (*p, by)));
            }
        }
        if hits.is_empty() {
            continue;
        }
        let deleted = deleted == Some(true);
        // The identity itself: a record that does not say whether the account is
        // enabled leaves its health unknown.
        let health = IdentityHealth::judge(HealthSignals {
            deleted,
            disabled: enabled == Some(false),
            invitation_pending: ext
                .is_some_and(|e| e.trim().eq_ignore_ascii_case(PENDING_ACCEPTANCE)),
            unknown: enabled.is_none(),
        });
        let record = Record {
            object_id: oid.map(ids::norm),
            app_id: app.map(ids::norm),
            upn: upn.map(str::to_owned),
            display_name: blank(name).map(str::to_owned),
            health,
        };
        for (pos, by) in hits {
            let rank = (deleted, by);
            let Some(slot) = best.get_mut(pos) else {
                continue;
            };
            if slot.as_ref().is_none_or(|(r, _)| rank < *r) {
                *slot = Some((rank, record.clone()));
            }
        }
    }
    Ok(best.into_iter().map(|b| b.map(|(_, r)| r)).collect())
}
