//! The decision on one resource: who holds its attributing role, whether a PAL identity
//! among them qualifies, and which one is credited.
//!
//! This room is pure logic over typed rows, with no dataframes: [`resolve`](super::resolve)
//! hands it one [`ResourceRow`] and the resource's [`HolderRow`]s, already joined to
//! their Entra identity and the roster, and it returns the [`Verdict`].
//! `docs/verdicts.md` describes the same procedure in a delivery lead's words.

use crate::load::{RuleSet, TieBreak};
use chrono::{DateTime, Utc};
use palaudit_model::{
    AccountKind, Activity, Candidate, ChangePath, Evidence, Holder, IdentityHealth,
    PrincipalIdKind, PrincipalKind, PrincipalType, Reason, ResourceType, Role, Roster, Status,
    Verdict, ids,
};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Where each entry of [`ResourceRow::activity`] comes from, as the evidence names it.
pub(crate) const ACTIVITY_SOURCES: [&str; 3] =
    ["lastModifiedTime", "lastPublishTime", "createdTime"];

/// An environment as verdicts show it; shared by all of its resources' verdicts.
#[derive(Debug, Clone)]
pub(crate) struct Env {
    pub id: Arc<str>,
    pub name: Arc<str>,
    pub kind: Arc<str>,
    /// The Dataverse Web API base; `None` without Dataverse.
    pub dataverse_url: Option<Arc<str>>,
}

/// One resource, as the decision reads it.
#[derive(Debug, Clone)]
pub(crate) struct ResourceRow<'a> {
    pub resource_type: ResourceType,
    pub resource_id: &'a str,
    /// As the resource names it; verdicts show the environment table's spelling when
    /// the environment is known.
    pub environment_id: &'a str,
    pub display_name: &'a str,
    /// `None`: the snapshot has no such environment.
    pub env: Option<&'a Env>,
    /// Who last acted on the resource and when, per [`ACTIVITY_SOURCES`] entry; the actor
    /// lower-cased. `None` when either half is missing.
    pub activity: [Option<(&'a str, DateTime<Utc>)>; 3],
    /// Why the rule book does not count this resource on its own, whoever holds its
    /// role (a custom page, a dataset of a removed workspace).
    pub not_counted: Option<Reason>,
}

/// One roster identity a holder matched: its position in the roster and the key that
/// matched (`object_id`, `app_id`, `upn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RosterMatch {
    pub identity: usize,
    pub matched_by: &'static str,
}

/// One role assignment of a resource, resolved to its Entra identity and the roster.
/// Identifiers are lower-cased; blank cells are `None`.
#[derive(Debug, Clone)]
pub(crate) struct HolderRow<'a> {
    /// `None`: a role palaudit does not know (never attributing).
    pub role: Option<Role>,
    pub id_kind: PrincipalIdKind,
    pub principal_type: PrincipalType,
    /// The id the API named the holder by.
    pub principal_id: Option<Cow<'a, str>>,
    /// The Entra object id it resolves to.
    pub object_id: Option<Cow<'a, str>>,
    pub upn: Option<Cow<'a, str>>,
    /// [`ids::upn_match_key`] of `upn`.
    pub upn_key: Option<Cow<'a, str>>,
    pub display_name: Option<Cow<'a, str>>,
    pub assigned_on: Option<DateTime<Utc>>,
    /// What the directory (and the environment's Dataverse user) says of the identity.
    pub health: IdentityHealth,
    /// For a Dataverse systemuser id: whether the environment's users list has it.
    pub systemuser_found: bool,
    /// The roster identities of this tenant it matched.
    pub matches: Vec<RosterMatch>,
    /// A roster identity of another tenant matched it.
    pub linked_elsewhere: bool,
}

impl HolderRow<'_> {
    /// True when the resource's activity field `actor` (lower-cased) names this holder;
    /// `actor_kind` is how the resource type names its actors.
    fn is_actor(&self, actor: &str, actor_kind: PrincipalIdKind) -> bool {
        match actor_kind {
            PrincipalIdKind::Upn => {
                self.upn_key.as_deref() == Some(ids::upn_match_key_cow(actor).as_ref())
            }
            PrincipalIdKind::EntraObjectId => {
                self.object_id.as_deref() == Some(actor)
                    || self.principal_id.as_deref() == Some(actor)
            }
            _ => self.id_kind == actor_kind && self.principal_id.as_deref() == Some(actor),
        }
    }

    /// The API gave no usable identity for this holder.
    fn unresolved(&self) -> bool {
        self.principal_id.is_none()
            || self.id_kind == PrincipalIdKind::None
            || (self.id_kind == PrincipalIdKind::DataverseSystemUser && !self.systemuser_found)
    }
}

/// Per resource type (indexed by `ResourceType as usize`), the change paths to a user
/// and to a service principal, shared by every verdict of that type.
pub(crate) type ChangePathsByType = [(Arc<[ChangePath]>, Arc<[ChangePath]>); 5];

/// What every decision of one audit shares.
pub(crate) struct Context<'a> {
    pub rules: &'a RuleSet,
    pub roster: &'a Roster,
    pub paths: ChangePathsByType,
}

impl<'a> Context<'a> {
    pub fn new(rules: &'a RuleSet, roster: &'a Roster) -> Context<'a> {
        Context {
            rules,
            roster,
            paths: ResourceType::ALL.map(|t| {
                let rule = rules.rule_for(t);
                (
                    rule.to_user.paths().into(),
                    rule.to_service_principal.paths().into(),
                )
            }),
        }
    }
}

/// A verdict and, when attributed, the roster position of the credited identity.
#[derive(Debug)]
pub(crate) struct Decision {
    pub verdict: Verdict,
    pub credited: Option<usize>,
}

/// Decides one resource from its holders. The verdict's `facts` are left for the caller
/// to fill on verdicts of a known environment that are not attributed (what a fix plan
/// acts on): they come from columns this room does not read.
pub(crate) fn decide(ctx: &Context, res: &ResourceRow, holders: &[HolderRow]) -> Decision {
    let rt = res.resource_type;
    let rule = ctx.rules.rule_for(rt);
    let env = res.env;
    let mut verdict = Verdict {
        environment_id: env
            .map(|e| e.id.clone())
            .unwrap_or_else(|| res.environment_id.into()),
        environment_name: env.map(|e| e.name.clone()).unwrap_or_else(|| "".into()),
        environment_type: env.map(|e| e.kind.clone()).unwrap_or_else(|| "".into()),
        resource_type: rt,
        resource_id: res.resource_id.to_owned(),
        resource_name: res.display_name.to_owned(),
        status: Status::Unknown,
        partner_id: None,
        attributed_principal_id: None,
        attributed_principal_name: None,
        attributing_role: None,
        leaver_risk: false,
        reasons: Vec::new(),
        change_paths_user: ctx.paths[rt as usize].0.clone(),
        change_paths_service_principal: ctx.paths[rt as usize].1.clone(),
        evidence: Evidence::default(),
        facts: None,
        suppression: None,
    };
    let Some(env) = env else {
        verdict.reasons.push(Reason::EnvironmentUnknown);
        return Decision {
            verdict,
            credited: None,
        };
    };
    // A resource the rule book does not count on its own is judged like work outside
    // production: kept visible with its reason, never credited.
    let eligible = ctx.rules.eligibility.is_eligible(&env.kind) && res.not_counted.is_none();
    let not_eligible_reason = res.not_counted.unwrap_or(Reason::NonProductionEnvironment);
    let actor_kind = rt.actor_id_kind();

    let mut reasons: BTreeSet<Reason> = BTreeSet::new();
    // Every holder of the attributing role, kept on verdicts that are not attributed:
    // what a fix plan moves the resource away from.
    let mut holder_list: Vec<Holder> = Vec::new();
    // Each candidate with its roster position, so the credited one can be traced back.
    let mut candidates: Vec<(Candidate, usize)> = Vec::new();
    for h in holders {
        let Some(role) = h.role else { continue };
        let attributing = rule.attributing_roles.contains(&role);
        if attributing {
            holder_list.push(Holder {
                role,
                principal_id: h
                    .object_id
                    .as_deref()
                    .or(h.principal_id.as_deref())
                    .unwrap_or_default()
                    .to_owned(),
                principal_type: h.principal_type,
                display_name: h.display_name.as_deref().map(str::to_owned),
                upn: h.upn.as_deref().map(str::to_owned),
            });
            if matches!(h.principal_type, PrincipalType::Group | PrincipalType::Team) {
                reasons.insert(Reason::GroupPrincipal);
            } else if h.unresolved() {
                reasons.insert(Reason::OwnerUnresolved);
            }
        }
        if h.matches.is_empty() && h.linked_elsewhere && attributing {
            reasons.insert(Reason::PalLinkOtherTenant);
        }
        for m in &h.matches {
            let identity = &ctx.roster.identities[m.identity];
            let mut activity = Vec::new();
            for (source, seen) in ACTIVITY_SOURCES.iter().zip(&res.activity) {
                if let Some((by, at)) = seen
                    && h.is_actor(by, actor_kind)
                {
                    activity.push(Activity {
                        source: (*source).into(),
                        at: *at,
                    });
                }
            }
            if let Some(at) = h.assigned_on {
                activity.push(Activity {
                    source: "roleAssignedOn".into(),
                    at,
                });
            }
            activity.sort_by(|x, y| y.at.cmp(&x.at).then_with(|| x.source.cmp(&y.source)));
            let disqualified_by = if attributing {
                h.health.stops_attribution()
            } else {
                Some(Reason::PalIdentityLacksRole)
            };
            candidates.push((
                Candidate {
                    partner_id: identity.partner_id.clone(),
                    principal_id: h
                        .object_id
                        .as_deref()
                        .unwrap_or_else(|| identity.principal_id())
                        .to_owned(),
                    display_name: h
                        .display_name
                        .as_deref()
                        .map(str::to_owned)
                        .or_else(|| identity.display_name.clone()),
                    upn: h
                        .upn
                        .as_deref()
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
    let holder_count = holder_list.len();
    verdict.evidence.holders = holder_list;
    verdict.evidence.candidates = candidates.into_iter().map(|(c, _)| c).collect();
    if let Some((w, contested, tie)) = pick_winner(rule.tie_break, &verdict.evidence.candidates) {
        let c = &verdict.evidence.candidates[w];
        let identity = identity_of[w];
        if eligible {
            // An attributed verdict needs no fix plan: its evidence is the winner.
            verdict.evidence.holders = Vec::new();
            verdict.status = Status::Attributed;
            verdict.partner_id = Some(c.partner_id.clone());
            verdict.attributed_principal_id = Some(c.principal_id.clone());
            verdict.attributed_principal_name = c.display_name.clone().or_else(|| c.upn.clone());
            verdict.attributing_role = Some(c.role);
            verdict.leaver_risk = ctx.roster.identities.get(identity).is_some_and(|i| {
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
        return Decision { verdict, credited };
    }

    if holder_count == 0 {
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
    // Reasons that already say why no PAL identity is credited.
    const PAL_REASONS: [Reason; 8] = [
        Reason::IdentityDeleted,
        Reason::IdentityDisabled,
        Reason::IdentityInvitationPending,
        Reason::IdentityHealthUnknown,
        Reason::PalIdentityLacksRole,
        Reason::GroupPrincipal,
        Reason::OwnerUnresolved,
        Reason::PalLinkOtherTenant,
    ];
    if !PAL_REASONS.iter().any(|r| reasons.contains(r)) {
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
    Decision {
        verdict,
        credited: None,
    }
}

/// Compares partner IDs numerically when both are numbers, else as text.
pub(crate) fn partner_cmp(a: &str, b: &str) -> Ordering {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

/// Picks the credited candidate among the qualifying ones, as the rule's `tie_break`
/// says, and within the winning partner the identity with the latest activity, then
/// owner before co-owner, then the lower principal id.
/// Returns (index, several partners competed, the tie-break decided).
pub(crate) fn pick_winner(
    tie_break: TieBreak,
    candidates: &[Candidate],
) -> Option<(usize, bool, bool)> {
    let qualifying: Vec<usize> = (0..candidates.len())
        .filter(|i| candidates[*i].qualifies)
        .collect();
    let first = *qualifying.first()?;
    let (partner, contested, tie) = match tie_break {
        // One holder by definition: its partner wins uncontested. Should the data show
        // several partners anyway, the latest-partner procedure decides, so the verdict
        // stays deterministic.
        TieBreak::SingleHolder
            if qualifying
                .iter()
                .all(|i| candidates[*i].partner_id == candidates[first].partner_id) =>
        {
            (candidates[first].partner_id.as_str(), false, false)
        }
        TieBreak::SingleHolder | TieBreak::LatestPartner => latest_partner(candidates, &qualifying),
    };
    let best = best_of_partner(candidates, &qualifying, partner)?;
    Some((best, contested, tie))
}

/// The partner with the latest activity among the `qualifying` candidates; an exact tie
/// goes to the lower partner ID. Returns (partner, several partners competed, the
/// partner ID decided).
fn latest_partner<'a>(candidates: &'a [Candidate], qualifying: &[usize]) -> (&'a str, bool, bool) {
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
    use chrono::TimeZone;

    const TENANT: &str = "d8d86e5f-13e9-4bb5-bb94-0f99b507cd15";
    const PAT: &str = "00000003-0000-4000-8000-000000000001";
    const SAM: &str = "00000003-0000-4000-8000-000000000002";

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 1, 1, 0, minute, 0).unwrap()
    }

    fn roster() -> Roster {
        let csv = format!(
            "partner_id,tenant_id,principal_type,object_id,app_id,upn,display_name\n\
             1234567,{TENANT},user,{PAT},,,Pat\n7654321,{TENANT},user,{SAM},,,Sam\n"
        );
        Roster::parse(csv.as_bytes()).unwrap()
    }

    fn production() -> Env {
        Env {
            id: "env-1".into(),
            name: "Contoso".into(),
            kind: "Production".into(),
            dataverse_url: None,
        }
    }

    fn app<'a>(env: Option<&'a Env>, modified_by: Option<(&'a str, u32)>) -> ResourceRow<'a> {
        ResourceRow {
            resource_type: ResourceType::CanvasApp,
            resource_id: "app-1",
            environment_id: "env-1",
            display_name: "Expenses",
            env,
            activity: [modified_by.map(|(by, m)| (by, at(m))), None, None],
            not_counted: None,
        }
    }

    fn holder(role: Role, oid: &str, roster_position: Option<usize>) -> HolderRow<'_> {
        HolderRow {
            role: Some(role),
            id_kind: PrincipalIdKind::EntraObjectId,
            principal_type: PrincipalType::User,
            principal_id: Some(oid.into()),
            object_id: Some(oid.into()),
            upn: None,
            upn_key: None,
            display_name: None,
            assigned_on: None,
            health: IdentityHealth::Ok,
            systemuser_found: false,
            matches: roster_position
                .map(|identity| RosterMatch {
                    identity,
                    matched_by: "object_id",
                })
                .into_iter()
                .collect(),
            linked_elsewhere: false,
        }
    }

    fn verdict(res: &ResourceRow, holders: &[HolderRow]) -> Decision {
        let rules = RuleSet::bundled();
        let roster = roster();
        decide(&Context::new(&rules, &roster), res, holders)
    }

    #[test]
    fn a_healthy_pal_owner_is_credited() {
        let env = production();
        let d = verdict(&app(Some(&env), None), &[holder(Role::Owner, PAT, Some(0))]);
        assert_eq!(d.verdict.status, Status::Attributed);
        assert_eq!(d.verdict.partner_id.as_deref(), Some("1234567"));
        assert_eq!(d.verdict.reasons, [Reason::PalIdentityInRole]);
        assert_eq!(d.credited, Some(0));
        assert!(
            d.verdict.evidence.holders.is_empty(),
            "the winner is the evidence"
        );
    }

    #[test]
    fn the_partner_that_acted_last_wins_a_contested_app() {
        let env = production();
        let holders = [
            holder(Role::Owner, PAT, Some(0)),
            holder(Role::CoOwner, SAM, Some(1)),
        ];
        let d = verdict(&app(Some(&env), Some((SAM, 7))), &holders);
        assert_eq!(d.verdict.partner_id.as_deref(), Some("7654321"));
        assert_eq!(
            d.verdict.reasons,
            [Reason::PalIdentityInRole, Reason::LatestPartnerWins]
        );
        assert_eq!(d.credited, Some(1));
    }

    #[test]
    fn health_decides_before_anything_else() {
        let env = production();
        for (health, reason, status) in [
            (
                IdentityHealth::Deleted,
                Reason::IdentityDeleted,
                Status::Unattributed,
            ),
            (
                IdentityHealth::Disabled,
                Reason::IdentityDisabled,
                Status::Unattributed,
            ),
            (
                IdentityHealth::InvitationPending,
                Reason::IdentityInvitationPending,
                Status::Unattributed,
            ),
            (
                IdentityHealth::Unknown,
                Reason::IdentityHealthUnknown,
                Status::Unknown,
            ),
        ] {
            let mut h = holder(Role::Owner, PAT, Some(0));
            h.health = health;
            let d = verdict(&app(Some(&env), None), &[h]);
            assert_eq!(
                (d.verdict.status, &d.verdict.reasons[..]),
                (status, &[reason][..])
            );
            assert_eq!(d.credited, None);
            assert_eq!(d.verdict.evidence.holders.len(), 1, "kept for the fix plan");
        }
    }

    #[test]
    fn a_pal_identity_in_a_role_that_earns_nothing() {
        let env = production();
        let holders = [
            holder(Role::Owner, SAM, None),
            holder(Role::Viewer, PAT, Some(0)),
        ];
        let d = verdict(&app(Some(&env), None), &holders);
        assert_eq!(d.verdict.status, Status::Unattributed);
        assert_eq!(d.verdict.reasons, [Reason::PalIdentityLacksRole]);
    }

    #[test]
    fn groups_unresolved_holders_and_missing_environments() {
        let env = production();
        let mut group = holder(Role::Owner, PAT, None);
        group.principal_type = PrincipalType::Group;
        let d = verdict(&app(Some(&env), None), &[group]);
        assert_eq!(d.verdict.reasons, [Reason::GroupPrincipal]);
        assert_eq!(d.verdict.status, Status::Unattributed);

        let d = verdict(&app(Some(&env), None), &[]);
        assert_eq!(d.verdict.reasons, [Reason::OwnerUnresolved]);
        assert_eq!(d.verdict.status, Status::Unknown);

        let d = verdict(&app(None, None), &[holder(Role::Owner, PAT, Some(0))]);
        assert_eq!(d.verdict.reasons, [Reason::EnvironmentUnknown]);
        assert_eq!(d.verdict.status, Status::Unknown);
        assert_eq!(&*d.verdict.environment_id, "env-1");
    }

    #[test]
    fn work_outside_production_names_the_partner_it_would_credit() {
        let mut env = production();
        env.kind = "Sandbox".into();
        let d = verdict(&app(Some(&env), None), &[holder(Role::Owner, PAT, Some(0))]);
        assert_eq!(d.verdict.status, Status::Unattributed);
        assert_eq!(d.verdict.reasons, [Reason::NonProductionEnvironment]);
        assert_eq!(
            d.verdict.evidence.would_be_partner_id.as_deref(),
            Some("1234567")
        );
        let env = production();
        let mut page = app(Some(&env), None);
        page.not_counted = Some(Reason::CustomPageOfModelDrivenApp);
        let d = verdict(&page, &[holder(Role::Owner, PAT, Some(0))]);
        assert_eq!(d.verdict.reasons, [Reason::CustomPageOfModelDrivenApp]);
    }

    fn candidate(partner: &str, principal: &str, minute: Option<u32>) -> Candidate {
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
                    at: at(m),
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
