//! A portfolio: one audit run over many customer tenants, and its roll-up by tenant.
//!
//! [`RollupSink`] is a [`VerdictSink`] that keeps one line per tenant from what each
//! tenant's `end` reports (never the verdicts themselves), so the roll-up of a hundred
//! tenants costs a hundred small rows however many resources they hold.

use crate::audit::{AuditHeader, AuditSummary, SinkError, VerdictSink};
use crate::findings::{Counts, Verdict};
use crate::roster_findings::{IdentityHealth, LinkState, RosterEntry};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One tenant's line of the roll-up.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TenantRollup {
    pub tenant_id: String,
    /// What the partner calls the tenant: the snapshot directory's name.
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub collected_at: Option<DateTime<Utc>>,
    /// The snapshot recorded collection errors.
    pub partial: bool,
    pub counts: Counts,
    /// Attributed resources whose credit rests on a personal user account.
    pub leaver_risk: u64,
    /// PAL identities the roster lists for the tenant.
    pub roster_identities: u64,
    /// Of those, the ones that cannot earn credit as they stand ([`is_roster_gap`]).
    pub roster_gaps: u64,
    /// Counts of the suppressed verdicts, by status (part of `counts`).
    #[serde(default)]
    pub suppressed: Counts,
}

impl TenantRollup {
    /// The counts `--fail-under` compares: every verdict that is not suppressed.
    pub fn gated_counts(&self) -> Counts {
        self.counts.without(&self.suppressed)
    }
}

/// True for a roster identity that cannot earn credit as it stands: the directory shows
/// it deleted, disabled, with an invitation never accepted, or without a record to
/// judge by; or `identities verify` found it not linked, or linked to another partner
/// ID. An identity that is healthy but holds no role (`not_seen`), or whose link was not
/// checked, is not a gap: nothing is known to be wrong with it.
pub fn is_roster_gap(e: &RosterEntry) -> bool {
    matches!(
        e.health,
        IdentityHealth::Deleted
            | IdentityHealth::Disabled
            | IdentityHealth::InvitationPending
            | IdentityHealth::Unknown
    ) || matches!(e.link_state, LinkState::NotLinked | LinkState::OtherPartner)
}

/// The roll-up of a portfolio, tenant by tenant in the order they were audited.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Rollup {
    pub tenants: Vec<TenantRollup>,
}

impl Rollup {
    /// The portfolio as one line: counts, leaver risk and roster figures summed.
    pub fn overall(&self) -> TenantRollup {
        let mut all = TenantRollup {
            tenant_id: String::new(),
            ..TenantRollup::default()
        };
        for t in &self.tenants {
            all.partial |= t.partial;
            all.counts.attributed += t.counts.attributed;
            all.counts.unattributed += t.counts.unattributed;
            all.counts.unknown += t.counts.unknown;
            all.leaver_risk += t.leaver_risk;
            all.roster_identities += t.roster_identities;
            all.roster_gaps += t.roster_gaps;
            all.suppressed.attributed += t.suppressed.attributed;
            all.suppressed.unattributed += t.suppressed.unattributed;
            all.suppressed.unknown += t.suppressed.unknown;
        }
        all
    }
}

/// Gathers the roll-up as tenants stream past.
#[derive(Debug, Default)]
pub struct RollupSink {
    labels: HashMap<String, String>,
    header: Option<AuditHeader>,
    rollup: Rollup,
}

impl RollupSink {
    /// `labels` maps a tenant id (any case) to the name shown beside it.
    pub fn new(labels: impl IntoIterator<Item = (String, String)>) -> RollupSink {
        RollupSink {
            labels: labels
                .into_iter()
                .map(|(t, l)| (t.to_ascii_lowercase(), l))
                .collect(),
            ..RollupSink::default()
        }
    }

    pub fn into_rollup(self) -> Rollup {
        self.rollup
    }
}

impl VerdictSink for RollupSink {
    fn begin(&mut self, header: &AuditHeader) -> Result<(), SinkError> {
        self.header = Some(AuditHeader {
            // The guidance is per type and the same for every tenant; not needed here.
            guidance: Default::default(),
            ..header.clone()
        });
        Ok(())
    }

    fn verdict(&mut self, _verdict: &Verdict) -> Result<(), SinkError> {
        Ok(())
    }

    fn end(&mut self, summary: &AuditSummary) -> Result<(), SinkError> {
        let header = self.header.take().unwrap_or_default();
        let roster = &summary.roster.identities;
        self.rollup.tenants.push(TenantRollup {
            label: self
                .labels
                .get(&header.tenant_id.to_ascii_lowercase())
                .cloned(),
            tenant_id: header.tenant_id,
            collected_at: header.collected_at,
            partial: !header.collection_errors.is_empty(),
            counts: summary.counts(),
            leaver_risk: summary.leaver_risk,
            roster_identities: roster.len() as u64,
            roster_gaps: roster.iter().filter(|e| is_roster_gap(e)).count() as u64,
            suppressed: summary.suppressed,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{Findings, Status};
    use crate::identities::{AccountKind, PrincipalKind};
    use crate::inventory::ResourceType;
    use crate::roster_findings::RosterFindings;

    fn verdict(status: Status, leaver_risk: bool) -> Verdict {
        Verdict {
            leaver_risk,
            ..Verdict::new(ResourceType::Flow, "r", "R", status)
        }
    }

    fn identity(health: IdentityHealth, link_state: LinkState) -> RosterEntry {
        RosterEntry {
            line: 2,
            partner_id: "1".into(),
            principal_type: PrincipalKind::User,
            account_kind: AccountKind::Personal,
            display_name: None,
            upn: None,
            object_id: None,
            app_id: None,
            health,
            link_state,
            rbac_assignments: None,
            credited_resources: 0,
        }
    }

    #[test]
    fn roster_gaps_are_what_is_known_to_be_wrong() {
        use IdentityHealth::*;
        use LinkState::*;
        assert!(!is_roster_gap(&identity(Ok, Unverified)));
        assert!(!is_roster_gap(&identity(NotSeen, Linked)));
        assert!(!is_roster_gap(&identity(Ok, CannotCheck)));
        for h in [Deleted, Disabled, InvitationPending, Unknown] {
            assert!(is_roster_gap(&identity(h, Linked)), "{h}");
        }
        for l in [NotLinked, OtherPartner] {
            assert!(is_roster_gap(&identity(Ok, l)), "{l}");
        }
    }

    #[test]
    fn one_line_per_tenant_and_the_sum() {
        let a = Findings {
            tenant_id: "A".into(),
            verdicts: vec![
                verdict(Status::Attributed, true),
                verdict(Status::Attributed, false),
                verdict(Status::Unknown, false),
            ],
            roster: RosterFindings {
                identities: vec![
                    identity(IdentityHealth::Ok, LinkState::Unverified),
                    identity(IdentityHealth::Disabled, LinkState::Unverified),
                ],
                ..RosterFindings::default()
            },
            ..Findings::default()
        };
        let b = Findings {
            tenant_id: "b".into(),
            collection_errors: vec!["graph: 503".into()],
            verdicts: vec![verdict(Status::Unattributed, false)],
            ..Findings::default()
        };
        let mut sink = RollupSink::new([("a".to_owned(), "contoso".to_owned())]);
        a.replay(&mut sink).unwrap();
        b.replay(&mut sink).unwrap();
        let rollup = sink.into_rollup();
        let [ra, rb] = &rollup.tenants[..] else {
            panic!("{rollup:?}")
        };
        assert_eq!(ra.label.as_deref(), Some("contoso"));
        assert_eq!((ra.counts.attributed, ra.counts.unknown), (2, 1));
        assert_eq!(
            (ra.leaver_risk, ra.roster_identities, ra.roster_gaps),
            (1, 2, 1)
        );
        assert!(!ra.partial && rb.partial);
        assert_eq!(rb.label, None);
        let all = rollup.overall();
        assert_eq!(all.counts.total(), 4);
        assert_eq!(all.counts.unattributed, 1);
        assert_eq!((all.leaver_risk, all.roster_gaps), (1, 1));
        assert!(all.partial);
    }
}
