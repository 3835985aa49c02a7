//! The plan as a PowerShell or bash file: a header that says palaudit runs nothing, a
//! guard that stops the file from being run whole, the sign-ins, then one block per
//! resource. Everything from a tenant lands in comments through `one_line` (a line break
//! in a name would otherwise end the comment) or in commands through the shell's quoting.

use super::commands::{Command, SignInAs};
use super::{
    Credit, PlanHead, PlanItem, PlanItems, PlanTarget, Run, RunAs, Shell, Step, Tally, TargetSource,
};
use crate::text::one_line;
use crate::{Format, ReportError, write_part};
use palaudit_model::{AccountKind, Holder, IdentityHealth, PrincipalType, ResourceType};
use std::fmt::Write as _;
use std::io::Write;
use std::sync::Mutex;

/// Comment text is wrapped to this width (prefix included) so the file reads in an
/// editor; commands are never wrapped.
const WIDTH: usize = 96;

/// Writes `plan` as a `shell` file.
pub fn render(plan: &dyn PlanItems, shell: Shell, out: &mut dyn Write) -> Result<(), ReportError> {
    // The header counts the items and the sign-ins depend on their commands: a first
    // pass tallies them, the second writes each item as it is built. Both build runs of
    // items on every core, in the same runs.
    let mut tally = Tally::default();
    let mut run_items = Vec::new();
    plan.runs(
        &|_, items| {
            let mut tally = Tally::default();
            items.for_each(|item| tally.add(&item));
            Run {
                tally,
                ..Run::default()
            }
        },
        &mut |run| {
            tally.merge(&run.tally);
            run_items.push(run.tally.total);
            Ok(())
        },
    )?;
    let mut s = String::new();
    header(&plan.head(), &tally, shell, &mut s);
    sign_in(&plan.head(), &tally, shell, &mut s);
    write_part(out, Format::FixPlan, "plan", &s)?;
    s.clear();
    // The number of each run's first item.
    let first: Vec<usize> = run_items
        .iter()
        .scan(1, |next, n| {
            let first = *next;
            *next += n;
            Some(first)
        })
        .collect();
    let total = tally.total;
    // Written run by run: a plan for a large tenant runs to gigabytes of text, which is
    // never held whole. A run's text (megabytes) goes into a buffer a written run gave
    // back, so the memory is not asked of the allocator (and faulted in) again.
    let buffers: Mutex<Vec<String>> = Mutex::default();
    let buffer = || {
        let given_back = buffers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut text = given_back.unwrap_or_default();
        text.clear();
        text
    };
    plan.runs(
        &|run, items| {
            let mut text = buffer();
            let start = first.get(run).copied().unwrap_or(1);
            for (i, item) in items.enumerate() {
                item_block(start + i, total, &item, shell, &mut text);
            }
            Run {
                text,
                ..Run::default()
            }
        },
        &mut |run| {
            write_part(out, Format::FixPlan, "plan", &run.text)?;
            buffers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(run.text);
            Ok(())
        },
    )?;
    if tally.total == 0 {
        s.push_str("\n# Every resource in the snapshot is attributed: there is nothing to move.\n");
    }
    write_part(out, Format::FixPlan, "plan", &s)
}

impl Tally {
    fn merge(&mut self, other: &Tally) {
        self.total += other.total;
        self.certain += other.certain;
        self.possible += other.possible;
        self.blocked += other.blocked;
        self.power_apps |= other.power_apps;
        self.power_bi |= other.power_bi;
    }

    fn add(&mut self, item: &PlanItem) {
        self.total += 1;
        match item.best_credit() {
            Some(Credit::Certain) => self.certain += 1,
            Some(Credit::Possible) => self.possible += 1,
            None => self.blocked += 1,
        }
        for p in &item.paths {
            for st in &p.steps {
                let Step::Command(c) = st else { continue };
                self.power_apps |= matches!(
                    c,
                    Command::SetCanvasAppOwner { .. }
                        | Command::AddCanvasAppCoOwner { .. }
                        | Command::AddFlowCoOwner { .. }
                );
                self.power_bi |= matches!(
                    c,
                    Command::PublishPbix { .. } | Command::TakeOverDataset { .. }
                );
            }
        }
    }
}

/// Appends `text` as `#` comment lines: the first starts with `first`, the rest with
/// `rest` (usually spaces of the same width), words wrapped at [`WIDTH`] characters.
/// Written straight into `s` with a running character count: a plan for a large tenant
/// wraps millions of lines.
fn comment(s: &mut String, first: &str, rest: &str, text: &str) {
    let text = one_line(text);
    let mut line_start = s.len();
    s.push_str("# ");
    s.push_str(first);
    let mut width = 2 + first.chars().count();
    let mut empty = true;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let word_width = word.chars().count();
        if !empty && width + 1 + word_width > WIDTH {
            end_line(s, line_start);
            line_start = s.len();
            s.push_str("# ");
            s.push_str(rest);
            width = 2 + rest.chars().count();
            empty = true;
        }
        if !empty {
            s.push(' ');
            width += 1;
        }
        s.push_str(word);
        width += word_width;
        empty = false;
    }
    end_line(s, line_start);
}

/// Ends the line that starts at `line_start` in `s`, without its trailing whitespace.
fn end_line(s: &mut String, line_start: usize) {
    let kept = s[line_start..].trim_end().len();
    s.truncate(line_start + kept);
    s.push('\n');
}

/// A labelled comment field: `#   label      text`, continuation lines aligned.
fn field(s: &mut String, indent: &str, label: &str, text: &str) {
    let first = format!("{indent}{label:<12} ");
    let rest = " ".repeat(first.chars().count());
    comment(s, &first, &rest, text);
}

fn rule(s: &mut String, c: char) {
    let _ = writeln!(s, "# {}", c.to_string().repeat(WIDTH - 2));
}

fn target_description(t: &PlanTarget) -> Vec<String> {
    let mut lines = Vec::new();
    let name = one_line(&t.label());
    lines.push(match &t.upn {
        Some(upn) if t.display_name.is_some() => format!("{name} <{}>", one_line(upn)),
        _ => name,
    });
    let kind = match (t.is_service_principal(), t.account_kind) {
        (true, _) => "service principal".to_owned(),
        (false, AccountKind::ServiceAccount) => {
            "user account (dedicated service account)".to_owned()
        }
        (false, AccountKind::Personal) => "user account (a person's own account)".to_owned(),
    };
    lines.push(format!(
        "{kind} of partner {}, identities file line {}",
        one_line(&t.partner_id),
        t.line
    ));
    let mut ids = Vec::new();
    if let Some(o) = &t.object_id {
        ids.push(format!("object id {}", one_line(o)));
    } else {
        ids.push("object id unknown (commands show a placeholder)".to_owned());
    }
    if let Some(a) = &t.app_id {
        ids.push(format!("app id {}", one_line(a)));
    }
    ids.push(format!("health {}", t.health));
    ids.push(format!("PAL link {}", t.link_state));
    lines.push(ids.join("; "));
    lines.push(match t.source {
        TargetSource::Named => "chosen with --to".to_owned(),
        TargetSource::DefaultServiceAccount => {
            "chosen as the roster's first service account for this tenant; name another with --to".to_owned()
        }
        TargetSource::DefaultServicePrincipal => {
            "chosen as the roster's first service principal for this tenant (it lists no service account); name another with --to".to_owned()
        }
    });
    lines
}

/// A warning when credit moved to the target would not count, or may not.
fn target_warning(t: &PlanTarget) -> Option<String> {
    let health = match t.health {
        IdentityHealth::Ok => None,
        IdentityHealth::Disabled => Some(
            "the target is disabled in the customer directory: credit moved to it would not count until it is re-enabled",
        ),
        IdentityHealth::Deleted => Some(
            "the target no longer exists in the customer directory: credit moved to it would not count; choose another with --to",
        ),
        IdentityHealth::InvitationPending => Some(
            "the target is a guest that never accepted its invitation: it must sign in to the customer tenant before it can earn credit",
        ),
        IdentityHealth::NotSeen => Some(
            "the snapshot has no directory record of the target (it holds no role on any collected resource): make sure it exists and is enabled",
        ),
        IdentityHealth::Unknown => {
            Some("the directory did not say whether the target is enabled: check it")
        }
    };
    let link = match t.link_state {
        palaudit_model::LinkState::NotLinked => Some(
            "the target has no PAL link in this tenant: link it first (palaudit identities verify prints the commands)",
        ),
        palaudit_model::LinkState::OtherPartner => {
            Some("the target is linked to another partner ID than the roster says")
        }
        _ => None,
    };
    let parts: Vec<&str> = [health, link].into_iter().flatten().collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

fn header(plan: &PlanHead<'_>, tally: &Tally, shell: Shell, s: &mut String) {
    let flavour = match shell {
        Shell::PowerShell => "PowerShell",
        Shell::Bash => "bash",
    };
    if shell == Shell::Bash {
        s.push_str("#!/usr/bin/env bash\n");
    }
    let _ = writeln!(s, "# palaudit fix plan ({flavour})");
    s.push_str("#\n");
    comment(
        s,
        "",
        "",
        "palaudit never runs these commands. It only read the tenant, and wrote this plan for a person to review. Each path says who must be signed in; you choose the paths and run their steps yourself. Nothing here has been executed.",
    );
    s.push_str("#\n");
    field(s, "", "Tenant", plan.tenant_id);
    if let Some(at) = plan.collected_at {
        field(
            s,
            "",
            "Collected",
            &at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        );
    }
    for (i, line) in target_description(plan.target).iter().enumerate() {
        field(s, "", if i == 0 { "Target" } else { "" }, line);
    }
    if let Some(w) = target_warning(plan.target) {
        field(s, "", "WARNING", &w);
    }
    let Tally {
        certain,
        possible,
        blocked,
        ..
    } = tally;
    field(
        s,
        "",
        "Items",
        &format!(
            "{} resources not attributed: {certain} with a path that earns credit for certain, {possible} with paths that earn it only possibly, {blocked} with no path offered (see each item)",
            tally.total
        ),
    );
    field(
        s,
        "",
        "Needs",
        match shell {
            Shell::PowerShell => {
                "the Microsoft.PowerApps.Administration.PowerShell and MicrosoftPowerBIMgmt modules, the Azure CLI (az) and the Power Platform CLI (pac)"
            }
            Shell::Bash => {
                "the Azure CLI (az), the Power Platform CLI (pac), curl and jq. Paths are named after the rule book's columns; here the PowerShell column's steps are the same REST calls the cmdlets make, sent with az rest and curl"
            }
        },
    );
    field(
        s,
        "",
        "Clouds",
        "commands use the public cloud's hosts; for a sovereign cloud, change the hosts and the endpoints",
    );
    s.push_str("#\n");
    match shell {
        Shell::PowerShell => s.push_str(
            "throw 'This is a palaudit fix plan to review, not a script to run as a whole: copy the steps you choose.'\n",
        ),
        Shell::Bash => s.push_str(
            "echo 'This is a palaudit fix plan to review, not a script to run as a whole: copy the steps you choose.' >&2\nexit 1\n",
        ),
    }
}

/// The sign-in commands the plan's steps rely on, for the admin and for the target.
fn sign_in(plan: &PlanHead<'_>, tally: &Tally, shell: Shell, s: &mut String) {
    let (power_apps, power_bi) = (tally.power_apps, tally.power_bi);
    let tenant = plan.tenant_id.to_owned();
    let t = plan.target;
    let target_as = if t.is_service_principal() {
        SignInAs::TargetServicePrincipal {
            tenant_id: tenant.clone(),
            app_id: t
                .app_id
                .clone()
                .unwrap_or_else(|| format!("<app id of {}>", one_line(&t.label()))),
        }
    } else {
        SignInAs::TargetUser { upn: t.upn.clone() }
    };

    s.push('\n');
    rule(s, '-');
    s.push_str("# Sign in\n");
    rule(s, '-');
    comment(
        s,
        "",
        "",
        "Steps marked \"run as: an admin\" need a Power Platform administrator of the tenant:",
    );
    let mut admin = Vec::new();
    if power_apps && shell == Shell::PowerShell {
        admin.push(Command::SignInPowerApps {
            as_: SignInAs::Admin,
        });
    }
    admin.push(Command::SignInAzureCli {
        tenant_id: tenant.clone(),
        as_: SignInAs::Admin,
    });
    for c in admin {
        for line in c.render(shell) {
            let _ = writeln!(s, "{line}");
        }
    }
    comment(
        s,
        "",
        "",
        &format!(
            "Steps marked \"run as: the target\" must be run signed in as {} (sign out of the admin first):",
            t.label()
        ),
    );
    if t.is_service_principal() {
        let var = match shell {
            Shell::PowerShell => "$env:PAL_TARGET_CLIENT_SECRET",
            Shell::Bash => "$PAL_TARGET_CLIENT_SECRET",
        };
        comment(
            s,
            "",
            "",
            &format!(
                "Put the service principal's client secret in {var} first; palaudit never writes a secret into a plan."
            ),
        );
    }
    let mut target = vec![Command::SignInAzureCli {
        tenant_id: tenant.clone(),
        as_: target_as.clone(),
    }];
    if power_bi && shell == Shell::PowerShell {
        target.push(Command::SignInPowerBi {
            tenant_id: tenant,
            as_: target_as,
        });
    }
    for c in target {
        for line in c.render(shell) {
            let _ = writeln!(s, "{line}");
        }
    }
    comment(
        s,
        "",
        "",
        "Power Platform CLI (pac) profiles are created per environment in the steps that need them.",
    );
}

fn holder_text(h: &Holder) -> String {
    let mut text = format!("{}: ", h.role);
    let name = h.display_name.as_deref().map(one_line);
    match (&name, &h.upn) {
        (Some(n), Some(u)) => {
            let _ = write!(text, "{n} <{}>", one_line(u));
        }
        (Some(n), None) => text.push_str(n),
        (None, Some(u)) => text.push_str(&one_line(u)),
        (None, None) => {}
    }
    if h.principal_id.is_empty() {
        text.push_str(" (the API named no holder)");
    } else if name.is_some() || h.upn.is_some() {
        let _ = write!(text, " ({})", one_line(&h.principal_id));
    } else {
        text.push_str(&one_line(&h.principal_id));
    }
    match h.principal_type {
        PrincipalType::Group => text.push_str(", a group"),
        PrincipalType::Team => text.push_str(", a Dataverse team"),
        PrincipalType::ServicePrincipal => text.push_str(", a service principal"),
        _ => {}
    }
    text
}

fn item_block(n: usize, total: usize, item: &PlanItem, shell: Shell, s: &mut String) {
    s.push('\n');
    rule(s, '=');
    let name = one_line(&item.resource_name);
    let name = if name.trim().is_empty() {
        "(no name)".to_owned()
    } else {
        name
    };
    comment(
        s,
        "",
        "",
        &format!("{n}/{total}  {} \"{name}\"", item.resource_type.label()),
    );
    rule(s, '=');
    let place = if item.environment_name.trim().is_empty() {
        format!(
            "environment {} (missing from the snapshot)",
            item.environment_id
        )
    } else if item.resource_type == ResourceType::PowerbiDataset {
        format!(
            "workspace {} ({}), {}",
            item.environment_name, item.environment_id, item.environment_type
        )
    } else {
        format!(
            "environment {} ({}), {}",
            item.environment_name, item.environment_id, item.environment_type
        )
    };
    field(s, "  ", "id", &item.resource_id);
    field(s, "  ", "where", &place);
    let codes: Vec<&str> = item.reasons.iter().map(|r| r.as_str()).collect();
    field(
        s,
        "  ",
        "verdict",
        &format!("{}: {}", item.status, codes.join(", ")),
    );
    for r in &item.reasons {
        field(s, "  ", "", r.explanation());
    }
    if item.holders.is_empty() {
        field(
            s,
            "  ",
            "holder",
            "unknown: the snapshot recorded no holder of the role that earns credit",
        );
    }
    for (i, h) in item.holders.iter().enumerate() {
        field(s, "  ", if i == 0 { "holder" } else { "" }, &holder_text(h));
    }
    for (i, line) in item.situation.iter().enumerate() {
        field(s, "  ", if i == 0 { "known" } else { "" }, line);
    }
    for note in &item.notes {
        field(s, "  ", "note", note);
    }
    if let Some(b) = &item.blocker {
        field(
            s,
            "  ",
            "no move",
            &format!("{}: {}", b.reason.as_str(), b.remedy),
        );
        return;
    }
    field(
        s,
        "  ",
        "best credit",
        match item.best_credit() {
            Some(Credit::Certain) => "certain (at least one path below)",
            Some(Credit::Possible) => "possible only (no path below earns it for certain)",
            None => "none: no path is offered",
        },
    );
    for (i, p) in item.paths.iter().enumerate() {
        s.push_str("#\n");
        comment(
            s,
            "",
            "",
            &format!("--- Path {} · {} · {}", i + 1, p.path.label(), p.title),
        );
        field(s, "    ", "tool", &p.tool);
        field(s, "    ", "run as", p.run_as.as_str());
        field(s, "    ", "changes", &p.changes);
        let grade = match p.credit {
            Credit::Certain => "certain",
            Credit::Possible => "possible (credit uncertain)",
        };
        field(
            s,
            "    ",
            "credit",
            &format!("{grade}: {}", p.credit_reason),
        );
        let mut step = 0;
        for st in &p.steps {
            match st {
                Step::Manual(text) => {
                    step += 1;
                    let first = format!("    {step}. ");
                    let rest = " ".repeat(first.chars().count());
                    comment(s, &first, &rest, text);
                }
                Step::Command(c) => {
                    for line in c.render(shell) {
                        let _ = writeln!(s, "{line}");
                    }
                }
            }
        }
        if p.run_as == RunAs::Target {
            comment(
                s,
                "    ",
                "    ",
                "(signed in as the target: an import or a publish is made by whoever runs it)",
            );
        }
    }
    if !item.not_offered.is_empty() {
        s.push_str("#\n");
        comment(s, "", "", "--- Not offered");
        for no in &item.not_offered {
            let what = match &no.what {
                Some(w) => format!("{} ({w})", no.path.label()),
                None => no.path.label().to_owned(),
            };
            let first = format!("    {what}: ");
            comment(s, &first, "      ", &no.why);
        }
    }
}
