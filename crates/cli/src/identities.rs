//! `palaudit identities verify`: the roster's PAL links and Azure RBAC, as a table, fix
//! commands, and optionally JSON.

use crate::{Outcome, VerifyArgs};
use anyhow::{Context, Result};
use palaudit_collect::auth::Auth;
use palaudit_collect::config::Config;
use palaudit_model::LinkState;
use palaudit_model::RosterCheck;
use std::io::Write;

pub fn verify(args: &VerifyArgs) -> Result<Outcome> {
    let config = Config::load(&args.config)?;
    let roster = crate::audit::load_roster(&args.identities)?;
    let auditor = Auth::from_config(&config)?;
    let env = |name: &str| std::env::var(name).ok();
    let check = crate::collect::runtime()?
        .block_on(palaudit_collect::verify::verify(
            &config,
            &args.config,
            &roster.identities,
            auditor,
            &env,
        ))
        .with_context(|| {
            format!(
                "verifying the PAL identities of tenant {}",
                config.tenant_id
            )
        })?;
    if let Some(path) = &args.out {
        let json = serde_json::to_vec_pretty(&check)?;
        std::fs::write(path, json).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if !args.quiet {
        let stdout = std::io::stdout();
        let mut w = stdout.lock();
        // verify checks only the rows for the config's tenant.
        let other_tenants = roster.identities.len() - check.identities.len();
        render(&check, other_tenants, &mut w)?;
        w.flush()?;
    }
    let gap = check
        .identities
        .iter()
        .any(|i| matches!(i.link_state, LinkState::NotLinked | LinkState::OtherPartner));
    Ok(if args.fail_on_gap && gap {
        Outcome::NotMet
    } else {
        Outcome::Done
    })
}

fn render(check: &RosterCheck, other_tenants: usize, w: &mut dyn Write) -> Result<()> {
    writeln!(w, "PAL identities of tenant {}", check.tenant_id)?;
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
    // Wrap the long "how it was checked" sentences; the terminal's width when there is
    // one, else a width that reads well in a log.
    table.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
    if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        table.set_width(140);
    }
    table.set_header([
        "line",
        "partner",
        "identity",
        "type",
        "PAL link",
        "Azure RBAC",
        "how it was checked",
    ]);
    for i in &check.identities {
        let who = i.name().to_owned();
        let link = match (&i.link_state, &i.linked_partner_id) {
            (LinkState::OtherPartner, Some(p)) => format!("other_partner ({p})"),
            (s, _) => s.as_str().to_owned(),
        };
        let rbac = match i.rbac_assignments {
            None => "not checked".to_owned(),
            Some(0) => "none".to_owned(),
            Some(n) => format!("{n} assignment{}", if n == 1 { "" } else { "s" }),
        };
        table.add_row([
            i.line.to_string(),
            i.partner_id.clone(),
            who,
            i.principal_type.clone(),
            link,
            rbac,
            i.detail.clone(),
        ]);
    }
    writeln!(w, "{table}")?;
    let count = |s: LinkState| {
        check
            .identities
            .iter()
            .filter(|i| i.link_state == s)
            .count()
    };
    writeln!(
        w,
        "\n{} identities: {} linked, {} not linked, {} linked to another partner, {} could not be checked.",
        check.identities.len(),
        count(LinkState::Linked),
        count(LinkState::NotLinked),
        count(LinkState::OtherPartner),
        count(LinkState::CannotCheck)
    )?;
    if other_tenants > 0 {
        writeln!(
            w,
            "{other_tenants} roster row(s) for other tenants were not checked (a PAL link holds in one tenant only)."
        )?;
    }
    let no_rbac: Vec<_> = check
        .identities
        .iter()
        .filter(|i| i.rbac_assignments == Some(0))
        .collect();
    if !no_rbac.is_empty() {
        writeln!(
            w,
            "\nNo Azure RBAC role assignment found in the {} subscription(s) the [auth] identity can read \
             (access through groups or Azure Lighthouse is not counted); Azure consumed revenue cannot be \
             attributed to these identities:",
            check.subscriptions.unwrap_or(0)
        )?;
        for i in no_rbac {
            writeln!(w, "  - line {}: {}", i.line, i.name())?;
        }
    }
    let fixes: Vec<_> = check
        .identities
        .iter()
        .filter(|i| !i.fix.is_empty())
        .collect();
    if !fixes.is_empty() {
        writeln!(
            w,
            "\nTo fix (palaudit does not run these; each runs as the identity itself, and the Azure CLI \
             needs `az extension add --name managementpartner` once):"
        )?;
        for i in fixes {
            writeln!(w, "  line {} — {}:", i.line, i.name())?;
            for f in &i.fix {
                writeln!(w, "    {f}")?;
            }
        }
    }
    if !check.notes.is_empty() {
        writeln!(w, "\nNotes:")?;
        for n in &check.notes {
            writeln!(w, "  - {n}")?;
        }
    }
    Ok(())
}
