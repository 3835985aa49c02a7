//! What changed between two audits of one tenant: resources that lost their credit
//! (ownership drift), were fixed, appeared or disappeared.
//!
//! Each side is gathered by a [`DiffSide`], a [`VerdictSink`] that keeps only what a
//! comparison needs (a few ids and words per resource, never the evidence), so the older
//! audit can stream past first and the newer one after it. [`compare`] pairs resources by
//! their [`finding_id`], which stays the same from one collection to the next.

use crate::audit::{AuditHeader, AuditSummary, SinkError, VerdictSink};
use crate::findings::{Reason, Status, Verdict};
use crate::inventory::ResourceType;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// The stable id of one resource's finding, the same in every run and every report:
/// the first 16 hex digits of the SHA-256 of `tenant/resource_type/resource_id`, with the
/// tenant id and the resource id in ASCII lower case.
///
/// The APIs return the same GUID in different cases from one call to the next (and
/// Dataverse and Power Apps disagree), so case is folded; the environment is left out
/// because it is not part of a resource's identity. A hash keeps the ids short and of
/// one length, and anyone can recompute it: in DuckDB,
/// `left(sha256(lower(tenant_id) || '/' || resource_type || '/' || lower(resource_id)), 16)`.
pub fn finding_id(tenant_id: &str, resource_type: ResourceType, resource_id: &str) -> String {
    let mut h = Sha256::new();
    h.update(tenant_id.to_ascii_lowercase().as_bytes());
    h.update(b"/");
    h.update(resource_type.as_str().as_bytes());
    h.update(b"/");
    h.update(resource_id.to_ascii_lowercase().as_bytes());
    let digest = h.finalize();
    hex::encode(&digest[..8])
}

/// How one resource's finding changed between the older and the newer audit. The order
/// here is the order reports list them in: what needs action first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Attributed before; now unattributed, unknown, or credited to another partner ID
    /// (typically the customer changed an owner after handover).
    Drift,
    /// Not in the older audit, and not attributed now.
    NewlyUnattributed,
    /// Unattributed or unknown before, attributed now.
    Fixed,
    /// In the older audit, gone from the newer one.
    Removed,
    /// Not in the older audit, attributed now.
    New,
    /// In both and credited (or not) alike, but the status, the reasons or the credited
    /// identity differ: `unattributed` ↔ `unknown`, a new reason, credit moved to another
    /// identity of the same partner.
    Changed,
    /// In both, with the same status, partner, credited identity and reasons.
    Unchanged,
}

impl Change {
    pub const ALL: [Change; 7] = [
        Change::Drift,
        Change::NewlyUnattributed,
        Change::Fixed,
        Change::Removed,
        Change::New,
        Change::Changed,
        Change::Unchanged,
    ];

    /// The stable word used in CSV and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Drift => "drift",
            Change::NewlyUnattributed => "newly_unattributed",
            Change::Fixed => "fixed",
            Change::Removed => "removed",
            Change::New => "new",
            Change::Changed => "changed",
            Change::Unchanged => "unchanged",
        }
    }

    /// A heading for the group of findings with this change.
    pub fn label(self) -> &'static str {
        match self {
            Change::Drift => "Ownership drift — credited before, not now",
            Change::NewlyUnattributed => "New and not attributed",
            Change::Fixed => "Fixed — attributed now",
            Change::Removed => "Removed",
            Change::New => "New and attributed",
            Change::Changed => "Changed",
            Change::Unchanged => "Unchanged",
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one audit said about a resource, as far as a comparison needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    pub status: Status,
    #[serde(default)]
    pub partner_id: Option<String>,
    #[serde(default)]
    pub attributed_principal_id: Option<String>,
    #[serde(default)]
    pub attributed_principal_name: Option<String>,
    pub reasons: Vec<Reason>,
}

impl Observed {
    fn of(v: &Verdict) -> Observed {
        Observed {
            status: v.status,
            partner_id: v.partner_id.clone(),
            attributed_principal_id: v.attributed_principal_id.clone(),
            attributed_principal_name: v.attributed_principal_name.clone(),
            reasons: v.reasons.clone(),
        }
    }

    fn same_principal(&self, other: &Observed) -> bool {
        let norm = |s: &Option<String>| s.as_deref().map(str::to_ascii_lowercase);
        norm(&self.attributed_principal_id) == norm(&other.attributed_principal_id)
    }
}

/// One resource of either audit and how its finding changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffEntry {
    pub finding_id: String,
    pub change: Change,
    /// Environment, type, id and name as the newer audit shows them (the older one's for a
    /// removed resource).
    pub environment_id: String,
    pub environment_name: String,
    pub environment_type: String,
    pub resource_type: ResourceType,
    pub resource_id: String,
    pub resource_name: String,
    /// What the older audit said; `None` for a resource it did not have.
    pub old: Option<Observed>,
    /// What the newer audit says; `None` for a removed resource.
    pub new: Option<Observed>,
}

/// The resources of one tenant's audit, gathered for a comparison.
#[derive(Debug, Clone, Default)]
pub struct Side {
    pub tenant_id: String,
    pub collected_at: Option<DateTime<Utc>>,
    /// Collection errors of the audit: a resource missing from a partial audit may not
    /// really be gone.
    pub collection_errors: usize,
    entries: Vec<DiffEntry>,
}

/// A [`VerdictSink`] that gathers one side of a comparison. It holds one tenant: a
/// second `begin` is an error.
#[derive(Debug, Default)]
pub struct DiffSide {
    side: Option<Side>,
    tenants: Vec<String>,
}

/// A comparison got verdicts of more than one tenant on one side.
#[derive(Debug, thiserror::Error)]
#[error("holds audits of more than one tenant ({}); a diff compares one tenant", .0.join(", "))]
pub struct SeveralTenants(pub Vec<String>);

impl DiffSide {
    /// The side gathered, once the audit has streamed past.
    pub fn into_side(self) -> Side {
        self.side.unwrap_or_default()
    }
}

impl VerdictSink for DiffSide {
    fn begin(&mut self, header: &AuditHeader) -> Result<(), SinkError> {
        self.tenants.push(header.tenant_id.clone());
        if self.side.is_some() {
            return Err(Box::new(SeveralTenants(self.tenants.clone())));
        }
        self.side = Some(Side {
            tenant_id: header.tenant_id.clone(),
            collected_at: header.collected_at,
            collection_errors: header.collection_errors.len(),
            entries: Vec::new(),
        });
        Ok(())
    }

    fn verdict(&mut self, v: &Verdict) -> Result<(), SinkError> {
        let side = self
            .side
            .as_mut()
            .expect("begin comes before every verdict");
        side.entries.push(DiffEntry {
            finding_id: finding_id(&side.tenant_id, v.resource_type, &v.resource_id),
            // Filled in by `compare`.
            change: Change::Unchanged,
            environment_id: v.environment_id.to_string(),
            environment_name: v.environment_name.to_string(),
            environment_type: v.environment_type.to_string(),
            resource_type: v.resource_type,
            resource_id: v.resource_id.clone(),
            resource_name: v.resource_name.clone(),
            old: None,
            new: Some(Observed::of(v)),
        });
        Ok(())
    }

    fn end(&mut self, _summary: &AuditSummary) -> Result<(), SinkError> {
        Ok(())
    }
}

/// The comparison of two audits of one tenant.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Diff {
    pub tenant_id: String,
    #[serde(default)]
    pub old_collected_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub new_collected_at: Option<DateTime<Utc>>,
    /// True when either audit recorded collection errors: some "removed" or "new"
    /// resources may only have been missed by one collection.
    pub partial: bool,
    /// Every resource of either audit: the newer audit's in its report order, then the
    /// removed ones in the older audit's order.
    pub entries: Vec<DiffEntry>,
}

impl Diff {
    /// How many findings had each change; every change is present, zeros included.
    pub fn counts(&self) -> BTreeMap<Change, u64> {
        let mut counts: BTreeMap<Change, u64> = Change::ALL.iter().map(|c| (*c, 0)).collect();
        for e in &self.entries {
            *counts.entry(e.change).or_default() += 1;
        }
        counts
    }

    /// Findings with this change, in [`Diff::entries`] order.
    pub fn with_change(&self, change: Change) -> impl Iterator<Item = &DiffEntry> {
        self.entries.iter().filter(move |e| e.change == change)
    }

    pub fn drift(&self) -> u64 {
        self.with_change(Change::Drift).count() as u64
    }
}

/// The two audits are of different tenants.
#[derive(Debug, thiserror::Error)]
#[error(
    "the older audit is of tenant {old} and the newer of tenant {new}; a diff compares two audits of one tenant"
)]
pub struct TenantMismatch {
    pub old: String,
    pub new: String,
}

/// Compares the older audit with the newer one.
pub fn compare(old: Side, new: Side) -> Result<Diff, TenantMismatch> {
    if !old.tenant_id.eq_ignore_ascii_case(&new.tenant_id) {
        return Err(TenantMismatch {
            old: old.tenant_id,
            new: new.tenant_id,
        });
    }
    let mut before: HashMap<String, DiffEntry> = HashMap::with_capacity(old.entries.len());
    let mut old_order = Vec::with_capacity(old.entries.len());
    for e in old.entries {
        old_order.push(e.finding_id.clone());
        // A resource listed twice (it should not be) keeps its first verdict.
        before.entry(e.finding_id.clone()).or_insert(e);
    }
    let mut entries = Vec::with_capacity(new.entries.len());
    for mut e in new.entries {
        let was = before.remove(&e.finding_id).and_then(|o| o.new);
        let now = e.new.as_ref().expect("a gathered entry has its verdict");
        e.change = classify(was.as_ref(), now);
        e.old = was;
        entries.push(e);
    }
    for id in old_order {
        if let Some(mut e) = before.remove(&id) {
            e.old = e.new.take();
            e.change = Change::Removed;
            entries.push(e);
        }
    }
    Ok(Diff {
        tenant_id: new.tenant_id,
        old_collected_at: old.collected_at,
        new_collected_at: new.collected_at,
        partial: old.collection_errors > 0 || new.collection_errors > 0,
        entries,
    })
}

fn classify(was: Option<&Observed>, now: &Observed) -> Change {
    let credited = |o: &Observed| o.status == Status::Attributed;
    let Some(was) = was else {
        return if credited(now) {
            Change::New
        } else {
            Change::NewlyUnattributed
        };
    };
    match (credited(was), credited(now)) {
        (true, false) => Change::Drift,
        (true, true) if was.partner_id != now.partner_id => Change::Drift,
        (false, true) => Change::Fixed,
        _ if was.status != now.status || was.reasons != now.reasons || !was.same_principal(now) => {
            Change::Changed
        }
        _ => Change::Unchanged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::Findings;

    fn verdict(
        id: &str,
        status: Status,
        partner: Option<&str>,
        principal: Option<&str>,
    ) -> Verdict {
        let name = format!("App {id}");
        Verdict {
            environment_id: "env".into(),
            environment_name: "Env".into(),
            environment_type: "Production".into(),
            partner_id: partner.map(str::to_owned),
            attributed_principal_id: principal.map(str::to_owned),
            reasons: match status {
                Status::Attributed => vec![Reason::PalIdentityInRole],
                Status::Unattributed => vec![Reason::NoPalIdentityInRole],
                Status::Unknown => vec![Reason::OwnerUnresolved],
            },
            ..Verdict::new(ResourceType::CanvasApp, id, &name, status)
        }
    }

    fn side(tenant: &str, verdicts: Vec<Verdict>) -> Side {
        let f = Findings {
            tenant_id: tenant.into(),
            verdicts,
            ..Findings::default()
        };
        let mut s = DiffSide::default();
        f.replay(&mut s).unwrap();
        s.into_side()
    }

    #[test]
    fn finding_ids_fold_case_and_are_recomputable() {
        let id = finding_id(
            "D8D86E5F-13E9-4BB5-BB94-0F99B507CD15",
            ResourceType::CanvasApp,
            "390D7A36-C0D0-42F2-A906-2A23E04E8ED9",
        );
        assert_eq!(
            id,
            finding_id(
                "d8d86e5f-13e9-4bb5-bb94-0f99b507cd15",
                ResourceType::CanvasApp,
                "390d7a36-c0d0-42f2-a906-2a23e04e8ed9"
            )
        );
        assert_eq!(id.len(), 16);
        // sha256("d8d86e5f-13e9-4bb5-bb94-0f99b507cd15/canvas_app/390d7a36-c0d0-42f2-a906-2a23e04e8ed9"),
        // as `sha256sum` prints it.
        assert_eq!(id, "388ad10c1b551196");
        assert_ne!(
            id,
            finding_id(
                "d8d86e5f-13e9-4bb5-bb94-0f99b507cd15",
                ResourceType::Flow,
                "390d7a36-c0d0-42f2-a906-2a23e04e8ed9"
            )
        );
    }

    #[test]
    fn every_change_is_told_apart() {
        use Status::*;
        let old = side(
            "t",
            vec![
                verdict("drift", Attributed, Some("1"), Some("pat")),
                verdict("moved", Attributed, Some("1"), Some("pat")),
                verdict("fixed", Unattributed, None, None),
                verdict("gone", Attributed, Some("1"), Some("pat")),
                verdict("same", Attributed, Some("1"), Some("pat")),
                verdict("other-id", Attributed, Some("1"), Some("pat")),
                verdict("unk", Unattributed, None, None),
            ],
        );
        let new = side(
            "T",
            vec![
                verdict("DRIFT", Unattributed, None, None),
                verdict("moved", Attributed, Some("2"), Some("lee")),
                verdict("fixed", Attributed, Some("1"), Some("pat")),
                verdict("same", Attributed, Some("1"), Some("PAT")),
                verdict("other-id", Attributed, Some("1"), Some("svc")),
                verdict("unk", Unknown, None, None),
                verdict("fresh", Unattributed, None, None),
                verdict("fresh-ok", Attributed, Some("1"), Some("pat")),
            ],
        );
        let diff = compare(old, new).unwrap();
        let got: Vec<(&str, Change)> = diff
            .entries
            .iter()
            .map(|e| (e.resource_id.as_str(), e.change))
            .collect();
        assert_eq!(
            got,
            [
                ("DRIFT", Change::Drift),
                ("moved", Change::Drift),
                ("fixed", Change::Fixed),
                ("same", Change::Unchanged),
                ("other-id", Change::Changed),
                ("unk", Change::Changed),
                ("fresh", Change::NewlyUnattributed),
                ("fresh-ok", Change::New),
                ("gone", Change::Removed),
            ]
        );
        let removed = &diff.entries[8];
        assert!(removed.new.is_none());
        assert_eq!(removed.old.as_ref().unwrap().status, Status::Attributed);
        assert_eq!(diff.drift(), 2);
        assert_eq!(diff.counts()[&Change::Unchanged], 1);
        assert_eq!(diff.counts().values().sum::<u64>(), 9);
    }

    #[test]
    fn different_tenants_are_refused() {
        let err = compare(side("a", vec![]), side("b", vec![])).unwrap_err();
        assert_eq!((err.old.as_str(), err.new.as_str()), ("a", "b"));
    }

    #[test]
    fn a_side_holds_one_tenant() {
        let mut s = DiffSide::default();
        s.begin(&AuditHeader {
            tenant_id: "a".into(),
            ..AuditHeader::default()
        })
        .unwrap();
        let err = s
            .begin(&AuditHeader {
                tenant_id: "b".into(),
                ..AuditHeader::default()
            })
            .unwrap_err();
        assert!(err.to_string().contains("a, b"), "{err}");
    }
}
