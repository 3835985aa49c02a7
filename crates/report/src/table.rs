//! The terminal report (comfy-table).

use crate::coverage::{
    cmp_verdict, coverage_rows, format_coverage, leaver_risk_sentence, other_tenants_sentence,
    summary_sentence, suppressed_sentence,
};
use crate::text::{display_name, environment_label, environment_type_label, one_line, shorten};
use crate::{Format, ReportError, write_part};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{
    Attribute, Cell, CellAlignment, Color, ColumnConstraint, ContentArrangement, Table, Width,
};
use palaudit_model::{
    ChangePath, Counts, Findings, IdentityHealth, PrincipalKind, RosterEntry, Status, Verdict,
};
use std::io::Write;

/// Longest resource name shown in a table cell; the CSV and JSON keep the full name.
const MAX_NAME_CHARS: usize = 60;
/// Longest environment name shown in a table cell.
const MAX_ENVIRONMENT_CHARS: usize = 40;

/// How the terminal report is laid out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TerminalOptions {
    /// Fixed table width in columns (snapshot tests, `COLUMNS`). `None`: the terminal's
    /// width when standard output is a terminal, otherwise no wrapping.
    pub width: Option<u16>,
    /// ANSI colours and bold. When false the output holds no escape codes at all.
    pub color: bool,
}

/// ANSI SGR codes for the few lines written outside comfy-table.
pub(crate) const BOLD: &str = "1";
const YELLOW_BOLD: &str = "1;33";
const GREEN_BOLD: &str = "1;32";

pub(crate) fn paint(text: &str, sgr: &str, opts: &TerminalOptions) -> String {
    if opts.color {
        format!("\u{1b}[{sgr}m{text}\u{1b}[0m")
    } else {
        text.to_owned()
    }
}

pub(crate) fn render(
    findings: &Findings,
    out: &mut dyn Write,
    opts: &TerminalOptions,
) -> Result<(), ReportError> {
    let write =
        |out: &mut dyn Write, part: &str, text: &str| write_part(out, Format::Terminal, part, text);

    let collected = match &findings.collected_at {
        Some(at) => format!("collected {}", at.format("%Y-%m-%d %H:%M:%S UTC")),
        None => "collection time not recorded".to_owned(),
    };
    let title = format!(
        "PAL attribution — tenant {} — {collected}",
        display_name(&findings.tenant_id)
    );
    write(out, "title", &format!("{}\n\n", paint(&title, BOLD, opts)))?;

    if !findings.collection_errors.is_empty() {
        write(
            out,
            "partial-snapshot warning",
            &partial_warning(findings, opts),
        )?;
    }

    if findings.verdicts.is_empty() {
        let text = "No resources in the snapshot: nothing to attribute.\n\n";
        write(out, "summary line", text)?;
        return write(out, "roster table", &roster_section(findings, opts));
    }

    let coverage = coverage_table(findings, opts);
    write(
        out,
        "coverage table",
        &format!(
            "{}\n{coverage}\n\n",
            paint("Coverage by environment and resource type", BOLD, opts)
        ),
    )?;

    let mut missing: Vec<&Verdict> = findings
        .verdicts
        .iter()
        .filter(|v| v.status != Status::Attributed)
        .collect();
    missing.sort_by(|a, b| cmp_verdict(a, b));
    let section = if missing.is_empty() {
        "Every resource is attributed.\n\n".to_owned()
    } else {
        format!(
            "{}\n{}\n{}\n",
            paint(&format!("Not attributed ({})", missing.len()), BOLD, opts),
            missing_table(&missing, opts),
            path_legend()
        )
    };
    write(out, "unattributed table", &section)?;
    let mut suppressed: Vec<&Verdict> = findings
        .verdicts
        .iter()
        .filter(|v| v.suppression.is_some())
        .collect();
    if !suppressed.is_empty() {
        suppressed.sort_by(|a, b| cmp_verdict(a, b));
        let section = format!(
            "{}\n{}\n\n",
            paint(
                &format!(
                    "Suppressed ({}): accepted findings, left out of --fail-under",
                    suppressed.len()
                ),
                BOLD,
                opts
            ),
            suppressed_table(&suppressed, opts)
        );
        write(out, "suppressed table", &section)?;
    }
    write(out, "roster table", &roster_section(findings, opts))?;

    let counts = findings.counts();
    if counts.attributed > 0 {
        write(
            out,
            "leaver-risk line",
            &leaver_risk_line(findings, &counts),
        )?;
    }
    let mut summary = summary_sentence(&counts);
    if !findings.collection_errors.is_empty() {
        summary.push_str(" (partial snapshot)");
    }
    let sgr = if counts.attributed == counts.total() && findings.collection_errors.is_empty() {
        GREEN_BOLD
    } else {
        BOLD
    };
    let mut tail = format!("{}\n", paint(&summary, sgr, opts));
    if let Some(line) = suppressed_sentence(&counts, &findings.suppressed_counts()) {
        tail.push_str(&line);
        tail.push('\n');
    }
    write(out, "summary line", &tail)
}

fn suppressed_table(suppressed: &[&Verdict], opts: &TerminalOptions) -> Table {
    let mut t = new_table(opts);
    t.set_header(["Resource", "Until", "Approved by", "Reason"].map(|h| header_cell(h, opts)));
    for v in suppressed {
        let Some(s) = &v.suppression else { continue };
        // Four columns, the resource's facts stacked in one, so the table reads at 80
        // columns.
        t.add_row(vec![
            Cell::new(format!(
                "{}\n{} · {}\n{}",
                shorten(&display_name(&v.resource_name), MAX_NAME_CHARS),
                v.resource_type.label(),
                shorten(
                    &environment_label(&v.environment_name),
                    MAX_ENVIRONMENT_CHARS
                ),
                v.status
            )),
            Cell::new(s.expires),
            Cell::new(format!(
                "{}\n{}",
                one_line(&s.approved_by),
                one_line(&s.source)
            )),
            Cell::new(one_line(&s.reason)),
        ]);
    }
    // Dates and addresses must not break; names and the reason wrap instead.
    for i in [1, 2] {
        if let Some(col) = t.column_mut(i) {
            col.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
    t
}

fn partial_warning(findings: &Findings, opts: &TerminalOptions) -> String {
    let n = findings.collection_errors.len();
    let mut s = paint(
        &format!(
            "WARNING: partial snapshot — {n} collection error{}.",
            if n == 1 { "" } else { "s" }
        ),
        YELLOW_BOLD,
        opts,
    );
    s.push_str(
        "\nWhat could not be collected is missing from every count below; \
         re-run `palaudit collect` before relying on this audit.\n",
    );
    for e in &findings.collection_errors {
        s.push_str("  - ");
        s.push_str(&one_line(e));
        s.push('\n');
    }
    s.push('\n');
    s
}

pub(crate) fn new_table(opts: &TerminalOptions) -> Table {
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    if let Some(w) = opts.width {
        t.set_width(w);
    }
    if opts.color {
        // The writer need not be stdout, so do not let comfy-table guess from it.
        t.enforce_styling();
    }
    t
}

pub(crate) fn header_cell(text: &str, opts: &TerminalOptions) -> Cell {
    let c = Cell::new(text);
    if opts.color {
        c.add_attribute(Attribute::Bold)
    } else {
        c
    }
}

fn coverage_cell(counts: &Counts, opts: &TerminalOptions) -> Cell {
    let c = Cell::new(format_coverage(counts));
    if !opts.color {
        return c;
    }
    if counts.attributed == counts.total() {
        c.fg(Color::Green)
    } else if counts.attributed == 0 {
        c.fg(Color::Red)
    } else {
        c.fg(Color::Yellow)
    }
}

fn count_cells(counts: &Counts, opts: &TerminalOptions) -> [Cell; 4] {
    [
        Cell::new(counts.attributed),
        Cell::new(counts.unattributed),
        Cell::new(counts.unknown),
        coverage_cell(counts, opts),
    ]
}

fn coverage_table(findings: &Findings, opts: &TerminalOptions) -> Table {
    let mut t = new_table(opts);
    t.set_header(
        [
            "Environment",
            "Environment type",
            "Resource type",
            "Attributed",
            "Unattributed",
            "Unknown",
            "Coverage",
        ]
        .map(|h| header_cell(h, opts)),
    );
    for row in coverage_rows(findings) {
        let [a, u, k, c] = count_cells(&row.counts, opts);
        t.add_row(vec![
            Cell::new(shorten(
                &environment_label(row.environment_name),
                MAX_ENVIRONMENT_CHARS,
            )),
            Cell::new(environment_type_label(row.environment_type)),
            Cell::new(row.resource_type.label()),
            a,
            u,
            k,
            c,
        ]);
    }
    let [a, u, k, c] = count_cells(&findings.counts(), opts);
    let total = |text: &str| header_cell(text, opts);
    t.add_row(vec![total("Total"), total(""), total(""), a, u, k, c]);
    for i in 3..=6 {
        if let Some(col) = t.column_mut(i) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
    t
}

pub(crate) fn status_cell(status: Status, opts: &TerminalOptions) -> Cell {
    let c = Cell::new(status.as_str());
    if !opts.color {
        return c;
    }
    match status {
        Status::Attributed => c.fg(Color::Green),
        Status::Unattributed => c.fg(Color::Red),
        Status::Unknown => c.fg(Color::Yellow),
    }
}

/// The status of a suppressed verdict: still its status, marked as accepted.
fn suppressed_status_cell(status: Status, opts: &TerminalOptions) -> Cell {
    let c = Cell::new(format!("{}\n(suppressed)", status.as_str()));
    if opts.color { c.fg(Color::DarkGrey) } else { c }
}

/// A change path's name short enough for a table cell; [`PATH_LEGEND`] spells out the
/// shortened ones with [`ChangePath::label`].
fn short_label(p: ChangePath) -> &'static str {
    match p {
        ChangePath::Gui => "GUI",
        ChangePath::Powershell => "PowerShell",
        ChangePath::PpCli => "PP CLI",
        ChangePath::Devops => "DevOps",
    }
}

fn path_legend() -> String {
    format!(
        "Ways to move ownership to a PAL-linked user or service principal (SP), from the rule \
         book's compatibility tables:\nPP CLI = {}, DevOps = {}, none = not possible with those tools.\n",
        ChangePath::PpCli.label(),
        ChangePath::Devops.label()
    )
}

fn paths_cell(paths: &[ChangePath]) -> Cell {
    if paths.is_empty() {
        return Cell::new("none");
    }
    let mut sorted = paths.to_vec();
    sorted.sort();
    sorted.dedup();
    Cell::new(
        sorted
            .iter()
            .map(|p| short_label(*p))
            .collect::<Vec<_>>()
            .join(", "),
    )
}

fn missing_table(missing: &[&Verdict], opts: &TerminalOptions) -> Table {
    let mut t = new_table(opts);
    t.set_header(
        [
            "Environment",
            "Type",
            "Resource",
            "Status",
            "Reasons",
            "Move to PAL user",
            "Move to PAL SP",
        ]
        .map(|h| header_cell(h, opts)),
    );
    for v in missing {
        let reasons = if v.reasons.is_empty() {
            "(none recorded)".to_owned()
        } else {
            v.reasons
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        };
        t.add_row(vec![
            Cell::new(shorten(
                &environment_label(&v.environment_name),
                MAX_ENVIRONMENT_CHARS,
            )),
            Cell::new(v.resource_type.label()),
            Cell::new(shorten(&display_name(&v.resource_name), MAX_NAME_CHARS)),
            if v.suppression.is_some() {
                suppressed_status_cell(v.status, opts)
            } else {
                status_cell(v.status, opts)
            },
            Cell::new(reasons),
            paths_cell(&v.change_paths_user),
            paths_cell(&v.change_paths_service_principal),
        ]);
    }
    // Status words and reason codes must not be broken mid-word, and change paths
    // read best on at most two lines ("GUI, PowerShell," / "PP CLI, DevOps"); names
    // wrap instead.
    for i in [3, 4] {
        if let Some(col) = t.column_mut(i) {
            col.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
    for i in [5, 6] {
        if let Some(col) = t.column_mut(i) {
            col.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(16)));
        }
    }
    t
}

/// Longest identity name or identifier shown in the roster table.
const MAX_IDENTITY_CHARS: usize = 60;

/// The roster: one row per PAL identity of the tenant, then a line counting the rows
/// for other tenants.
fn roster_section(findings: &Findings, opts: &TerminalOptions) -> String {
    let roster = &findings.roster;
    let n = roster.identities.len();
    let mut s = paint(&format!("PAL identities for this tenant ({n})"), BOLD, opts);
    s.push('\n');
    if n == 0 {
        s.push_str("The identities file lists no identity for this tenant.\n");
    } else {
        s.push_str(&roster_table(&roster.identities, opts).to_string());
        s.push_str(
            "\nHealth is what Microsoft Graph answered at collection; not_seen = holds no role on any \
             collected resource. ",
        );
        s.push_str(&roster_verification_note(&roster.identities, "`"));
        s.push('\n');
    }
    if let Some(line) = other_tenants_sentence(&roster.other_tenants) {
        s.push_str(&line);
        s.push('\n');
    }
    s.push('\n');
    s
}

fn principal_label(kind: PrincipalKind) -> &'static str {
    match kind {
        PrincipalKind::User => "user",
        PrincipalKind::ServicePrincipal => "service principal",
    }
}

fn health_cell(health: IdentityHealth, opts: &TerminalOptions) -> Cell {
    let c = Cell::new(health.as_str());
    if !opts.color {
        return c;
    }
    match health {
        IdentityHealth::Ok => c.fg(Color::Green),
        IdentityHealth::NotSeen | IdentityHealth::Unknown => c.fg(Color::Yellow),
        IdentityHealth::Disabled | IdentityHealth::Deleted | IdentityHealth::InvitationPending => {
            c.fg(Color::Red)
        }
    }
}

/// "Name" over "identifier", either alone when the other is missing.
fn identity_text(e: &RosterEntry) -> String {
    let name = e
        .display_name
        .as_deref()
        .map(one_line)
        .filter(|n| !n.trim().is_empty());
    let id = one_line(e.identifier());
    match name {
        Some(n) if !id.is_empty() => format!(
            "{}\n{}",
            shorten(&n, MAX_IDENTITY_CHARS),
            shorten(&id, MAX_IDENTITY_CHARS)
        ),
        Some(n) => shorten(&n, MAX_IDENTITY_CHARS),
        None => shorten(&id, MAX_IDENTITY_CHARS),
    }
}

fn roster_table(entries: &[RosterEntry], opts: &TerminalOptions) -> Table {
    let mut t = new_table(opts);
    t.set_header(
        [
            "Partner",
            "Principal",
            "Account",
            "Identity",
            "Health",
            "PAL link",
            "RBAC assignments",
            "Credited",
        ]
        .map(|h| header_cell(h, opts)),
    );
    for e in entries {
        t.add_row(vec![
            Cell::new(one_line(&e.partner_id)),
            Cell::new(principal_label(e.principal_type)),
            Cell::new(e.account_kind.as_str().replace('_', " ")),
            Cell::new(identity_text(e)),
            health_cell(e.health, opts),
            Cell::new(e.link_state.as_str()),
            Cell::new(
                e.rbac_assignments
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "not checked".to_owned()),
            ),
            Cell::new(e.credited_resources),
        ]);
    }
    // Stable words must not break mid-word; the identity column wraps instead.
    for i in [0, 1, 2, 4, 5, 6] {
        if let Some(col) = t.column_mut(i) {
            col.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
    if let Some(col) = t.column_mut(7) {
        col.set_cell_alignment(CellAlignment::Right);
    }
    t
}

fn leaver_risk_line(findings: &Findings, counts: &Counts) -> String {
    format!(
        "{}\n\n",
        leaver_risk_sentence(findings.leaver_risk_count(), counts.attributed)
    )
}

/// What the PAL link and RBAC columns mean for this roster: how to fill them in when
/// nothing was verified, else what an identity without Azure role assignments loses.
/// `code` quotes commands (a backtick in markdown and in the terminal alike).
pub(crate) fn roster_verification_note(
    identities: &[palaudit_model::RosterEntry],
    code: &str,
) -> String {
    use palaudit_model::LinkState;
    if identities
        .iter()
        .all(|i| i.link_state == LinkState::Unverified)
    {
        return format!(
            "PAL link and RBAC assignments are not verified yet: run {code}palaudit identities verify --out FILE{code} and audit with {code}--roster-check FILE{code}."
        );
    }
    let mut note = String::from(
        "PAL link and RBAC assignments come from palaudit identities verify (unverified: not in its results).",
    );
    let no_rbac = identities
        .iter()
        .filter(|i| i.rbac_assignments == Some(0))
        .count();
    if no_rbac > 0 {
        note.push_str(&format!(
            " {no_rbac} identit{} hold{} no Azure RBAC role assignment: Azure consumed revenue cannot be attributed to {}.",
            if no_rbac == 1 { "y" } else { "ies" },
            if no_rbac == 1 { "s" } else { "" },
            if no_rbac == 1 { "it" } else { "them" }
        ));
    }
    note
}
