//! The roster section of the findings: one row per PAL identity of the audited tenant,
//! its health as the snapshot's Graph records say, and the resources it wins.

use palaudit_model::{
    AccountKind, IdentityHealth, Inventory, LinkState, Principal, PrincipalType, Roster,
};
use palaudit_rules::{RuleSet, evaluate};
use std::path::Path;

const T: &str = "d8d86e5f-13e9-4bb5-bb94-0f99b507cd15";

fn case_inventory(name: &str) -> Inventory {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/cases")
        .join(name);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    serde_json::from_value(v["inventory"].clone()).unwrap()
}

fn principal(object_id: &str, upn: &str, enabled: Option<bool>, deleted: bool) -> Principal {
    Principal {
        object_id: object_id.to_owned(),
        app_id: None,
        upn: Some(upn.to_owned()),
        mail: None,
        display_name: Some(format!("Graph name of {upn}")),
        principal_type: PrincipalType::User,
        user_type: Some("Guest".to_owned()),
        enabled,
        deleted,
        external_user_state: Some("Accepted".to_owned()),
    }
}

#[test]
fn every_identity_of_the_tenant_gets_a_row_with_its_health_and_credit() {
    let mut inv = case_inventory("identity_invitation_pending.pass.json");
    inv.principals.extend([
        principal(
            "d30c70e3-d029-4dd8-b857-e1f6c8d0cebb",
            "jordan_fabrikam.com#EXT#@contoso.onmicrosoft.com",
            None,
            true,
        ),
        principal(
            "3f2809ca-5258-4d08-a3cf-b794ef7b7e28",
            "sam_northwind.com#EXT#@contoso.onmicrosoft.com",
            Some(false),
            false,
        ),
        principal(
            "a921677c-cd0e-44b2-a4d0-663b05b8fe75",
            "lee_northwind.com#EXT#@contoso.onmicrosoft.com",
            None,
            false,
        ),
    ]);
    let roster = Roster::parse(
        format!(
            "partner_id,tenant_id,principal_type,object_id,app_id,upn,display_name,account_kind\n\
             1234567,{T},user,9723D9B0-B8D6-48AF-B381-FB4A9F0403E4,,,Pat,\n\
             1234567,{T},user,,,svc-fabrikam@contoso.onmicrosoft.com,,service_account\n\
             1234567,{T},user,d30c70e3-d029-4dd8-b857-e1f6c8d0cebb,,,Jordan,\n\
             7654321,{T},user,3f2809ca-5258-4d08-a3cf-b794ef7b7e28,,,Sam,personal\n\
             7654321,{T},user,,,LEE@northwind.com,Lee,\n\
             7654321,{T},service_principal,,4e2b3c1d-6a7f-4b8e-9c0d-1e2f3a4b5c6d,,Northwind app,\n\
             1234567,11111111-2222-3333-4444-555555555555,user,618849b5-5eff-4dfe-880e-d0a7c1cf76b6,,,Dana,\n\
             7654321,11111111-2222-3333-4444-555555555555,user,786dff29-4735-41ca-aba2-9a9429ecd2ab,,,Priya,\n\
             7654321,22222222-2222-3333-4444-555555555555,user,786dff29-4735-41ca-aba2-9a9429ecd2ab,,,Priya,\n"
        )
        .as_bytes(),
    )
    .unwrap();
    let frames = palaudit_snapshot::Frames::of(&inv).unwrap();
    let findings = evaluate(&frames, T, &roster, &RuleSet::bundled()).unwrap();
    let rows = &findings.roster.identities;

    let got: Vec<(u64, &str, IdentityHealth, u64)> = rows
        .iter()
        .map(|r| {
            (
                r.line,
                r.partner_id.as_str(),
                r.health,
                r.credited_resources,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (2, "1234567", IdentityHealth::InvitationPending, 0),
            // Site Audit falls to the service account once Pat is out.
            (3, "1234567", IdentityHealth::Ok, 1),
            (4, "1234567", IdentityHealth::Deleted, 0),
            (5, "7654321", IdentityHealth::Disabled, 0),
            // Matched by the guest UPN's invited address; Graph gave no accountEnabled.
            (6, "7654321", IdentityHealth::Unknown, 0),
            (7, "7654321", IdentityHealth::NotSeen, 0),
        ]
    );
    // An identity listed by UPN only gets the object id the directory resolved.
    assert_eq!(
        rows[1].object_id.as_deref(),
        Some("0831bb1c-c892-4503-bc70-8d3eae4a31a6")
    );
    assert_eq!(rows[1].account_kind, AccountKind::ServiceAccount);
    assert_eq!(
        rows[1].display_name.as_deref(),
        Some("Fabrikam service account")
    );
    // The roster's own name and id win over the directory's.
    assert_eq!(rows[0].display_name.as_deref(), Some("Pat"));
    assert_eq!(
        rows[0].object_id.as_deref(),
        Some("9723d9b0-b8d6-48af-b381-fb4a9f0403e4")
    );
    assert_eq!(rows[0].account_kind, AccountKind::Personal);
    assert_eq!(rows[5].account_kind, AccountKind::ServiceAccount);
    for r in rows {
        assert_eq!(r.link_state, LinkState::Unverified);
        assert_eq!(r.rbac_assignments, None);
    }
    assert_eq!(findings.roster.other_tenants.identities, 3);
    assert_eq!(findings.roster.other_tenants.tenants, 2);
    assert_eq!(findings.leaver_risk_count(), 0);
}

#[test]
fn credit_counts_follow_the_verdicts() {
    let inv = case_inventory("identity_invitation_pending.fail.json");
    let roster = Roster::parse(
        format!(
            "partner_id,tenant_id,principal_type,object_id,app_id,upn,display_name\n\
             1234567,{T},user,9723d9b0-b8d6-48af-b381-fb4a9f0403e4,,pat_fabrikam.com#EXT#@contoso.onmicrosoft.com,Pat\n\
             1234567,{T},user,,,svc-fabrikam@contoso.onmicrosoft.com,Svc\n"
        )
        .as_bytes(),
    )
    .unwrap();
    let frames = palaudit_snapshot::Frames::of(&inv).unwrap();
    let findings = evaluate(&frames, T, &roster, &RuleSet::bundled()).unwrap();
    let credited: Vec<u64> = findings
        .roster
        .identities
        .iter()
        .map(|r| r.credited_resources)
        .collect();
    assert_eq!(credited, [3, 0]);
    // Without an account_kind column both are personal accounts: every credit is at risk.
    assert_eq!(findings.leaver_risk_count(), 3);
    let attributed = findings.counts().attributed;
    assert_eq!(credited.iter().sum::<u64>(), attributed);
}
