//! The roster section of the findings: every PAL identity the roster lists for the
//! audited tenant, how the customer directory sees it, whether its PAL link and Azure
//! role assignments have been verified, and how many resources it wins credit for.
//!
//! The rules crate fills health and credit from a snapshot. `link_state` and
//! `rbac_assignments` come from a separate verification against the ManagementPartner
//! and ARM APIs (`palaudit identities verify`), applied with
//! [`RosterFindings::apply_link_checks`]; until then they read `unverified` and
//! `not checked`. Nothing here does I/O.

use crate::identities::{AccountKind, PrincipalKind};
use crate::ids::{norm, upn_match_key};
use serde::{Deserialize, Serialize};
use std::fmt;

/// How the customer directory (Microsoft Graph, as recorded in the snapshot) sees a PAL
/// identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityHealth {
    /// Present, enabled, and (for a guest) the invitation accepted.
    Ok,
    /// `accountEnabled` is false.
    Disabled,
    /// Graph answered 404.
    Deleted,
    /// A guest whose invitation was never accepted (`externalUserState`
    /// `PendingAcceptance`).
    InvitationPending,
    /// Not among the principals the snapshot resolved: it holds no role on any
    /// collected resource, so the collectors never looked it up.
    NotSeen,
    /// The snapshot has a record of it, but Graph did not say whether it is enabled.
    Unknown,
}

impl IdentityHealth {
    pub const ALL: [IdentityHealth; 6] = [
        IdentityHealth::Ok,
        IdentityHealth::Disabled,
        IdentityHealth::Deleted,
        IdentityHealth::InvitationPending,
        IdentityHealth::NotSeen,
        IdentityHealth::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IdentityHealth::Ok => "ok",
            IdentityHealth::Disabled => "disabled",
            IdentityHealth::Deleted => "deleted",
            IdentityHealth::InvitationPending => "invitation_pending",
            IdentityHealth::NotSeen => "not_seen",
            IdentityHealth::Unknown => "unknown",
        }
    }
}

/// What a directory record says about an identity, as the health precedence reads it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HealthSignals {
    /// Graph says the object is gone.
    pub deleted: bool,
    /// Disabled in the directory (or, for a verdict, its Dataverse user in the
    /// environment).
    pub disabled: bool,
    /// A guest whose invitation was never accepted.
    pub invitation_pending: bool,
    /// The record cannot tell whether the identity is usable.
    pub unknown: bool,
}

impl IdentityHealth {
    /// The one precedence every judgement of an identity uses: deleted over disabled
    /// over a pending invitation over unknown; only an identity with none of these is
    /// `ok`.
    pub fn judge(s: HealthSignals) -> IdentityHealth {
        if s.deleted {
            IdentityHealth::Deleted
        } else if s.disabled {
            IdentityHealth::Disabled
        } else if s.invitation_pending {
            IdentityHealth::InvitationPending
        } else if s.unknown {
            IdentityHealth::Unknown
        } else {
            IdentityHealth::Ok
        }
    }

    /// The reason code an identity of this health earns no credit with; `None` for `ok`.
    pub fn stops_attribution(self) -> Option<crate::Reason> {
        use crate::Reason;
        match self {
            IdentityHealth::Ok => None,
            IdentityHealth::Deleted => Some(Reason::IdentityDeleted),
            IdentityHealth::Disabled => Some(Reason::IdentityDisabled),
            IdentityHealth::InvitationPending => Some(Reason::IdentityInvitationPending),
            IdentityHealth::NotSeen | IdentityHealth::Unknown => {
                Some(Reason::IdentityHealthUnknown)
            }
        }
    }
}

impl fmt::Display for IdentityHealth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether the identity's PAL link to its partner ID has been verified.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// Nobody has checked yet: the roster's word is taken.
    #[default]
    Unverified,
    /// The ManagementPartner API shows the identity linked to its roster partner ID.
    Linked,
    /// The identity has no PAL link in this tenant.
    NotLinked,
    /// The identity is linked, but to another partner ID than the roster says.
    OtherPartner,
    /// The link could not be read (no way to sign in as the identity, an API error).
    CannotCheck,
}

impl LinkState {
    pub const ALL: [LinkState; 5] = [
        LinkState::Unverified,
        LinkState::Linked,
        LinkState::NotLinked,
        LinkState::OtherPartner,
        LinkState::CannotCheck,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Unverified => "unverified",
            LinkState::Linked => "linked",
            LinkState::NotLinked => "not_linked",
            LinkState::OtherPartner => "other_partner",
            LinkState::CannotCheck => "cannot_check",
        }
    }
}

impl fmt::Display for LinkState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One PAL identity of the roster for the audited tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RosterEntry {
    /// The line of the identities file it came from, so it can be fixed there.
    pub line: u64,
    pub partner_id: String,
    pub principal_type: PrincipalKind,
    pub account_kind: AccountKind,
    /// From the roster, else as the directory shows it.
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub upn: Option<String>,
    /// From the roster, else the object id the directory resolved it to (an identity
    /// listed by UPN only).
    #[serde(default)]
    pub object_id: Option<String>,
    #[serde(default)]
    pub app_id: Option<String>,
    pub health: IdentityHealth,
    #[serde(default)]
    pub link_state: LinkState,
    /// Azure role assignments the identity holds; `None` until checked.
    #[serde(default)]
    pub rbac_assignments: Option<u32>,
    /// Resources whose credit this identity wins (attributed verdicts).
    pub credited_resources: u64,
}

impl RosterEntry {
    /// The identifier to show next to the name: UPN, else object id, else app id.
    pub fn identifier(&self) -> &str {
        self.upn
            .as_deref()
            .or(self.object_id.as_deref())
            .or(self.app_id.as_deref())
            .unwrap_or("")
    }

    /// True when `principal_id` (an object id, app id or UPN, any case) names this
    /// identity.
    pub fn is_named_by(&self, principal_id: &str) -> bool {
        let id = norm(principal_id);
        if id.is_empty() {
            return false;
        }
        let by_id = [&self.object_id, &self.app_id]
            .into_iter()
            .flatten()
            .any(|own| norm(own) == id);
        by_id
            || (id.contains('@')
                && self
                    .upn
                    .as_deref()
                    .is_some_and(|u| upn_match_key(u) == upn_match_key(&id)))
    }
}

/// Roster rows for other tenants: counted, never listed (a PAL link holds in one tenant).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtherTenants {
    pub identities: u64,
    pub tenants: u64,
}

/// The roster as the audit found it, in identities-file order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RosterFindings {
    pub identities: Vec<RosterEntry>,
    #[serde(default)]
    pub other_tenants: OtherTenants,
}

/// What a PAL link verification found for one identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkCheck {
    pub partner_id: String,
    /// The identity's object id, app id or UPN in the customer tenant.
    pub principal_id: String,
    pub link_state: LinkState,
    /// Azure role assignments found; `None` when they could not be listed.
    #[serde(default)]
    pub rbac_assignments: Option<u32>,
}

impl RosterFindings {
    /// Applies verification results; see [`crate::Findings::apply_link_checks`].
    pub fn apply_link_checks<'a>(&mut self, checks: &'a [LinkCheck]) -> Vec<&'a LinkCheck> {
        let mut unmatched = Vec::new();
        for check in checks {
            let mut matched = false;
            for entry in &mut self.identities {
                if entry.partner_id.trim() == check.partner_id.trim()
                    && entry.is_named_by(&check.principal_id)
                {
                    entry.link_state = check.link_state;
                    entry.rbac_assignments = check.rbac_assignments;
                    matched = true;
                }
            }
            if !matched {
                unmatched.push(check);
            }
        }
        unmatched
    }

    /// Identities per health, for summary lines.
    pub fn count_by_health(&self, health: IdentityHealth) -> usize {
        self.identities
            .iter()
            .filter(|e| e.health == health)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(
        partner: &str,
        object_id: Option<&str>,
        app_id: Option<&str>,
        upn: Option<&str>,
    ) -> RosterEntry {
        RosterEntry {
            line: 2,
            partner_id: partner.into(),
            principal_type: PrincipalKind::User,
            account_kind: AccountKind::Personal,
            display_name: None,
            upn: upn.map(str::to_owned),
            object_id: object_id.map(str::to_owned),
            app_id: app_id.map(str::to_owned),
            health: IdentityHealth::Ok,
            link_state: LinkState::default(),
            rbac_assignments: None,
            credited_resources: 0,
        }
    }

    fn check(partner: &str, principal: &str, state: LinkState, rbac: Option<u32>) -> LinkCheck {
        LinkCheck {
            partner_id: partner.into(),
            principal_id: principal.into(),
            link_state: state,
            rbac_assignments: rbac,
        }
    }

    #[test]
    fn link_checks_match_by_partner_and_principal_ignoring_case() {
        let mut roster = RosterFindings {
            identities: vec![
                entry(
                    "1234567",
                    Some("9723d9b0-b8d6-48af-b381-fb4a9f0403e4"),
                    None,
                    None,
                ),
                entry(
                    "1234567",
                    None,
                    Some("4e2b3c1d-6a7f-4b8e-9c0d-1e2f3a4b5c6d"),
                    None,
                ),
                entry(
                    "7654321",
                    Some("9723d9b0-b8d6-48af-b381-fb4a9f0403e4"),
                    None,
                    None,
                ),
                entry(
                    "1234567",
                    None,
                    None,
                    Some("pat_fabrikam.com#EXT#@contoso.onmicrosoft.com"),
                ),
            ],
            other_tenants: OtherTenants::default(),
        };
        let checks = [
            check(
                "1234567",
                "9723D9B0-B8D6-48AF-B381-FB4A9F0403E4",
                LinkState::Linked,
                Some(2),
            ),
            check(
                "1234567",
                "4E2B3C1D-6A7F-4B8E-9C0D-1E2F3A4B5C6D",
                LinkState::OtherPartner,
                Some(0),
            ),
            check("1234567", "PAT@fabrikam.com", LinkState::CannotCheck, None),
            check(
                "9999999",
                "9723d9b0-b8d6-48af-b381-fb4a9f0403e4",
                LinkState::NotLinked,
                None,
            ),
        ];
        let unmatched = roster.apply_link_checks(&checks);
        assert_eq!(unmatched, vec![&checks[3]]);
        let got: Vec<(LinkState, Option<u32>)> = roster
            .identities
            .iter()
            .map(|e| (e.link_state, e.rbac_assignments))
            .collect();
        assert_eq!(
            got,
            [
                (LinkState::Linked, Some(2)),
                (LinkState::OtherPartner, Some(0)),
                // Same object id, other partner: untouched.
                (LinkState::Unverified, None),
                (LinkState::CannotCheck, None),
            ]
        );
    }

    #[test]
    fn one_precedence_judges_every_identity() {
        let all = HealthSignals {
            deleted: true,
            disabled: true,
            invitation_pending: true,
            unknown: true,
        };
        assert_eq!(IdentityHealth::judge(all), IdentityHealth::Deleted);
        let s = HealthSignals {
            deleted: false,
            ..all
        };
        assert_eq!(IdentityHealth::judge(s), IdentityHealth::Disabled);
        let s = HealthSignals {
            disabled: false,
            ..s
        };
        assert_eq!(IdentityHealth::judge(s), IdentityHealth::InvitationPending);
        let s = HealthSignals {
            invitation_pending: false,
            ..s
        };
        assert_eq!(IdentityHealth::judge(s), IdentityHealth::Unknown);
        assert_eq!(
            IdentityHealth::judge(HealthSignals::default()),
            IdentityHealth::Ok
        );
        assert_eq!(IdentityHealth::Ok.stops_attribution(), None);
        assert_eq!(
            IdentityHealth::NotSeen.stops_attribution(),
            Some(crate::Reason::IdentityHealthUnknown)
        );
    }

    #[test]
    fn words_are_stable() {
        let health: Vec<&str> = IdentityHealth::ALL.iter().map(|h| h.as_str()).collect();
        assert_eq!(
            health,
            [
                "ok",
                "disabled",
                "deleted",
                "invitation_pending",
                "not_seen",
                "unknown"
            ]
        );
        for h in IdentityHealth::ALL {
            assert_eq!(serde_json::to_string(&h).unwrap(), format!("\"{h}\""));
        }
        for l in LinkState::ALL {
            assert_eq!(serde_json::to_string(&l).unwrap(), format!("\"{l}\""));
        }
        assert_eq!(LinkState::default(), LinkState::Unverified);
    }
}
