//! The roster section of the findings: each PAL identity of the audited tenant, its
//! health as the snapshot's `principals` table records it, and the resources it won.
//!
//! Health is read from Microsoft Graph's answers only (the directory account), not from
//! Dataverse: a Dataverse user disabled in one environment is a verdict-level matter
//! (`identity_disabled` on that resource), not the state of the identity itself.

use super::resolve::{EvalError, Flags, PENDING_ACCEPTANCE, Text};
use palaudit_model::{
    HealthSignals, IdentityHealth, LinkState, OtherTenants, Roster, RosterEntry, RosterFindings,
    RosterIndex, ids,
};
use polars::prelude::DataFrame;
use std::borrow::Cow;
use std::collections::BTreeSet;

/// What one `principals` row says, for the identity it matched.
#[derive(Debug, Clone)]
struct Record {
    object_id: Option<String>,
    app_id: Option<String>,
    upn: Option<String>,
    display_name: Option<String>,
    health: IdentityHealth,
}

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

    // The roster is small and the principals table may be large, so the table is
    // scanned once against the roster's keys (positions in `here`).
    let index = RosterIndex::new(
        here.iter()
            .enumerate()
            .map(|(k, &i)| (k, &roster.identities[i])),
    );
    let found = scan_principals(principals, &index, here.len())?;

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
    index: &RosterIndex,
    n: usize,
) -> Result<Vec<Option<Record>>, EvalError> {
    const T: &str = "principals";
    let object_id = Text::read(df, "object_id", T)?;
    let app_id = Text::read(df, "app_id", T)?;
    let upn = Text::read(df, "upn", T)?;
    let name = Text::read(df, "display_name", T)?;
    let ext = Text::read(df, "external_user_state", T)?;
    let enabled = Flags::read(df, "enabled", T)?;
    let deleted = Flags::read(df, "deleted", T)?;

    let mut best: Vec<Option<((bool, usize), Record)>> = vec![None; n];
    let mut hits = Vec::new();
    for row in 0..df.height() {
        let (oid, app, upn) = (
            blank(object_id.get(row)),
            blank(app_id.get(row)),
            blank(upn.get(row)),
        );
        let keys = (
            oid.map(ids::norm_cow),
            app.map(ids::norm_cow),
            upn.map(ids::upn_match_key_cow),
        );
        hits.clear();
        index.matches(
            [keys.0.as_deref(), keys.1.as_deref(), keys.2.as_deref()],
            &mut hits,
        );
        if hits.is_empty() {
            continue;
        }
        let enabled = enabled.get(row);
        let deleted = deleted.get(row) == Some(true);
        // The identity itself: a record that does not say whether the account is
        // enabled leaves its health unknown.
        let health = IdentityHealth::judge(HealthSignals {
            deleted,
            disabled: enabled == Some(false),
            invitation_pending: ext
                .get(row)
                .is_some_and(|e| e.trim().eq_ignore_ascii_case(PENDING_ACCEPTANCE)),
            unknown: enabled.is_none(),
        });
        let record = Record {
            object_id: keys.0.map(Cow::into_owned),
            app_id: keys.1.map(Cow::into_owned),
            upn: upn.map(str::to_owned),
            display_name: blank(name.get(row)).map(str::to_owned),
            health,
        };
        for &(pos, by) in &hits {
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
