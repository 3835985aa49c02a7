//! The terminal report (comfy-table).

use crate::coverage::{
    coverage_rows, format_coverage, leaver_risk_sentence, other_tenants_sentence, summary_sentence,
    suppressed_sentence, verdict_key,
};
use crate::text::{
    display_name, environment_label, environment_type_label, one_line, shorten, wrap,
};
use crate::{Format, ReportError, write_part};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{
    Attribute, Cell, CellAlignment, Color, ColumnConstraint, ContentArrangement, Table, Width,
};
use palaudit_model::{
    AuditHeader, AuditSummary, ChangePath, Counts, IdentityHealth, ListError, PrincipalKind,
    RosterEntry, Status, Verdict, VerdictList,
};
use rayon::prelude::*;
use std::borrow::Cow;
use std::io::Write;

/// Longest resource name shown in a table cell; the CSV and JSON keep the full name.
const MAX_NAME_CHARS: usize = 60;
/// Longest environment name shown in a table cell.
const MAX_ENVIRONMENT_CHARS: usize = 40;
/// Below this width the three wide tables (coverage, not attributed, roster) stack each
/// row's facts into fewer columns: spread over seven or eight columns at 80 columns,
/// comfy-table would squeeze names and UPNs into columns one letter wide.
const COMPACT_BELOW: u16 = 120;

/// The most resources the terminal lists in each table; the CSV, the checklist and the
/// HTML report list every one. A terminal of a million rows is read by nobody, and
/// would cost more memory than the audit.
const TERMINAL_LISTED: usize = 1_000;

/// The first verdicts of a list in the terminal's order, and how many there were.
struct FirstInOrder<'a> {
    first: Vec<Cow<'a, Verdict>>,
    count: usize,
}

impl FirstInOrder<'_> {
    /// Under a table that lists only the first ones, where to find the rest.
    fn more_line(&self, width: Option<u16>) -> String {
        if self.count <= self.first.len() {
            return String::new();
        }
        let line = format!(
            "The first {} of {} are listed; the audit CSV (--csv), the checklist (--markdown) and the HTML report (--html) list every one.",
            self.first.len(),
            self.count
        );
        format!("{}\n", prose(&line, width))
    }
}

/// The first [`TERMINAL_LISTED`] verdicts of `held` then `list` that `keep` accepts, in
/// [`verdict_key`] order (equal keys in list order). The list's chunks are read on
/// every core, each part of the list keeping its own first ones (at most twice that
/// many at a time per part being read).
fn first_in_order<'a>(
    held: &'a [Verdict],
    list: &'a VerdictList,
    keep: impl Fn(&Verdict) -> bool + Sync,
) -> Result<FirstInOrder<'a>, ReportError> {
    let trim = |mut first: FirstInOrder<'a>| {
        first.first.sort_by_cached_key(|v| verdict_key(v));
        first.first.truncate(TERMINAL_LISTED);
        first
    };
    let add = |mut acc: FirstInOrder<'a>, verdicts: &mut dyn Iterator<Item = Cow<'a, Verdict>>| {
        for v in verdicts {
            if keep(&v) {
                acc.count += 1;
                acc.first.push(v);
                if acc.first.len() >= 2 * TERMINAL_LISTED {
                    acc = trim(acc);
                }
            }
        }
        acc
    };
    let empty = || FirstInOrder {
        first: Vec::new(),
        count: 0,
    };
    let held = add(empty(), &mut held.iter().map(Cow::Borrowed));
    // Folded and reduced in list order, so the stable sort keeps equal keys in it.
    let listed = list
        .chunks()
        .par_iter()
        .map(|chunk| chunk.verdicts())
        .try_fold(empty, |acc, verdicts| {
            Ok::<_, ListError>(add(acc, &mut verdicts?.into_iter()))
        })
        .try_reduce(empty, |mut a, b| {
            a.count += b.count;
            a.first.extend(b.first);
            Ok(trim(a))
        });
    // Chunks read in parallel fail in no fixed order: say the first damaged one.
    let listed = match listed {
        Ok(listed) => listed,
        Err(e) => {
            for chunk in list.chunks() {
                chunk.verdicts()?;
            }
            return Err(e.into());
        }
    };
    let mut all = held;
    all.count += listed.count;
    all.first.extend(listed.first);
    Ok(trim(all))
}

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
    header: &AuditHeader,
    summary: &AuditSummary,
    out: &mut dyn Write,
    opts: &TerminalOptions,
) -> Result<(), ReportError> {
    let write =
        |out: &mut dyn Write, part: &str, text: &str| write_part(out, Format::Terminal, part, text);

    let collected = match &header.collected_at {
        Some(at) => format!("collected {}", at.format("%Y-%m-%d %H:%M:%S UTC")),
        None => "collection time not recorded".to_owned(),
    };
    let title = format!(
        "PAL attribution — tenant {} — {collected}",
        display_name(&header.tenant_id)
    );
    let width = new_table(opts).width();
    let title = prose(&title, width);
    write(out, "title", &format!("{}\n\n", paint(&title, BOLD, opts)))?;

    if !header.collection_errors.is_empty() {
        write(
            out,
            "partial-snapshot warning",
            &prose(&partial_warning(header, opts), width),
        )?;
    }

    let counts = summary.counts();
    if counts.total() == 0 {
        let text = "No resources in the snapshot: nothing to attribute.\n\n";
        write(out, "summary line", text)?;
        return write(out, "roster table", &roster_section(summary, false, opts));
    }

    let compact = width.is_some_and(|w| w < COMPACT_BELOW);
    let coverage = if compact {
        compact_coverage_table(summary, opts)
    } else {
        coverage_table(summary, opts)
    };
    write(
        out,
        "coverage table",
        &format!(
            "{}\n{coverage}\n\n",
            paint("Coverage by environment and resource type", BOLD, opts)
        ),
    )?;

    // Listed in the terminal's order (environment and resource names, case folded),
    // at most `TERMINAL_LISTED` of each, the verdicts read on every core.
    let missing = first_in_order(&[], &summary.not_attributed, |v| {
        v.status != Status::Attributed
    })?;
    let section = if missing.count == 0 {
        "Every resource is attributed.\n\n".to_owned()
    } else {
        let shown: Vec<&Verdict> = missing.first.iter().map(|v| &**v).collect();
        format!(
            "{}\n{}\n{}{}\n",
            paint(&format!("Not attributed ({})", missing.count), BOLD, opts),
            if compact {
                compact_missing_table(&shown, opts)
            } else {
                missing_table(&shown, opts)
            },
            missing.more_line(width),
            prose(&path_legend(), width)
        )
    };
    write(out, "unattributed table", &section)?;
    // Attributed and not attributed alike, in the order sorting gives both. The list
    // of verdicts not attributed (a million on a large tenant, mostly read back from
    // disk) is read again only when the summary counted suppressed ones among them.
    let suppressed_elsewhere = summary.suppressed.unattributed + summary.suppressed.unknown > 0;
    let none = VerdictList::default();
    let suppressed = first_in_order(
        &summary.suppressed_attributed,
        if suppressed_elsewhere {
            &summary.not_attributed
        } else {
            &none
        },
        |v| v.suppression.is_some(),
    )?;
    if suppressed.count > 0 {
        let shown: Vec<&Verdict> = suppressed.first.iter().map(|v| &**v).collect();
        let section = format!(
            "{}\n{}\n{}\n",
            paint(
                &format!(
                    "Suppressed ({}): accepted findings, left out of --fail-under",
                    suppressed.count
                ),
                BOLD,
                opts
            ),
            suppressed_table(&shown, opts),
            suppressed.more_line(width),
        );
        write(out, "suppressed table", &section)?;
    }
    write(
        out,
        "roster table",
        &prose(&roster_section(summary, compact, opts), width),
    )?;

    if counts.attributed > 0 {
        write(
            out,
            "leaver-risk line",
            &prose(&leaver_risk_line(summary, &counts), width),
        )?;
    }
    let mut line = summary_sentence(&counts);
    if !header.collection_errors.is_empty() {
        line.push_str(" (partial snapshot)");
    }
    let sgr = if counts.attributed == counts.total() && header.collection_errors.is_empty() {
        GREEN_BOLD
    } else {
        BOLD
    };
    let mut tail = format!("{}\n", paint(&prose(&line, width), sgr, opts));
    if let Some(line) = suppressed_sentence(&counts, &summary.suppressed) {
        tail.push_str(&prose(&line, width));
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

fn partial_warning(header: &AuditHeader, opts: &TerminalOptions) -> String {
    let n = header.collection_errors.len();
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
    for e in &header.collection_errors {
        s.push_str("  - ");
        s.push_str(&one_line(e));
        s.push('\n');
    }
    s.push('\n');
    s
}

/// `text` folded at word boundaries to `width`, line by line, so that no word is split by
/// the terminal. Lines that fit and table lines (they start with a box-drawing character)
/// stay as they are; a folded line's indent is kept on its continuation lines.
fn prose(text: &str, width: Option<u16>) -> String {
    let Some(width) = width.map(usize::from) else {
        return text.to_owned();
    };
    text.split('\n')
        .map(|line| {
            if line.chars().count() <= width || line.starts_with(['┌', '│', '╞', '├', '└'])
            {
                return line.to_owned();
            }
            let body = line.trim_start_matches(' ');
            let indent = &line[..line.len() - body.len()];
            let room = width.saturating_sub(indent.len()).max(20);
            let folded = wrap(body, u16::try_from(room).ok());
            folded
                .split('\n')
                .map(|l| format!("{indent}{l}"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect::<Vec<_>>()
        .join("\n")
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

fn coverage_table(summary: &AuditSummary, opts: &TerminalOptions) -> Table {
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
    for row in coverage_rows(summary) {
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
    let [a, u, k, c] = count_cells(&summary.counts(), opts);
    let total = |text: &str| header_cell(text, opts);
    t.add_row(vec![total("Total"), total(""), total(""), a, u, k, c]);
    for i in 3..=6 {
        if let Some(col) = t.column_mut(i) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
    t
}

/// [`coverage_table`] for narrow terminals: each environment named once, its type under
/// its name, short count headers.
fn compact_coverage_table(summary: &AuditSummary, opts: &TerminalOptions) -> Table {
    let mut t = new_table(opts);
    t.set_header(
        [
            "Environment",
            "Resource type",
            "Attr.",
            "Unattr.",
            "Unkn.",
            "Cov.",
        ]
        .map(|h| header_cell(h, opts)),
    );
    let mut previous: Option<(&str, &str)> = None;
    for row in coverage_rows(summary) {
        let [a, u, k, c] = count_cells(&row.counts, opts);
        let environment = (row.environment_id, row.environment_type);
        let same_environment = previous == Some(environment);
        previous = Some(environment);
        t.add_row(vec![
            Cell::new(if same_environment {
                String::new()
            } else {
                format!(
                    "{}\n{}",
                    shorten(
                        &environment_label(row.environment_name),
                        MAX_ENVIRONMENT_CHARS
                    ),
                    environment_type_label(row.environment_type)
                )
            }),
            Cell::new(row.resource_type.label()),
            a,
            u,
            k,
            c,
        ]);
    }
    let [a, u, k, c] = count_cells(&summary.counts(), opts);
    t.add_row(vec![
        header_cell("Total", opts),
        header_cell("", opts),
        a,
        u,
        k,
        c,
    ]);
    // Type names and counts keep their width; the environment's name wraps instead.
    for i in 1..=5 {
        if let Some(col) = t.column_mut(i) {
            col.set_constraint(ColumnConstraint::ContentWidth);
            if i >= 2 {
                col.set_cell_alignment(CellAlignment::Right);
            }
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
    Cell::new(paths_text(paths))
}

/// The short names of `paths`, in table order, or `none`.
fn paths_text(paths: &[ChangePath]) -> String {
    if paths.is_empty() {
        return "none".to_owned();
    }
    let mut sorted = paths.to_vec();
    sorted.sort();
    sorted.dedup();
    sorted
        .iter()
        .map(|p| short_label(*p))
        .collect::<Vec<_>>()
        .join(", ")
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

/// [`missing_table`] for narrow terminals, three columns: the resource (name over type
/// and environment), its status over its reasons, and the ways to move it.
fn compact_missing_table(missing: &[&Verdict], opts: &TerminalOptions) -> Table {
    let mut t = new_table(opts);
    t.set_header(
        ["Resource", "Status and reasons", "Move to PAL user / SP"].map(|h| header_cell(h, opts)),
    );
    for v in missing {
        let mut status = v.status.as_str().to_owned();
        if v.suppression.is_some() {
            status.push_str(" (suppressed)");
        }
        let mut lines = vec![status];
        if v.reasons.is_empty() {
            lines.push("(none recorded)".to_owned());
        }
        lines.extend(v.reasons.iter().map(|r| r.as_str().to_owned()));
        let status_cell = Cell::new(lines.join("\n"));
        let status_cell = match (opts.color, v.suppression.is_some(), v.status) {
            (false, _, _) => status_cell,
            (true, true, _) => status_cell.fg(Color::DarkGrey),
            (true, false, Status::Unknown) => status_cell.fg(Color::Yellow),
            (true, false, _) => status_cell.fg(Color::Red),
        };
        t.add_row(vec![
            Cell::new(format!(
                "{}\n{} · {}",
                shorten(&display_name(&v.resource_name), MAX_NAME_CHARS),
                v.resource_type.label(),
                shorten(
                    &environment_label(&v.environment_name),
                    MAX_ENVIRONMENT_CHARS
                )
            )),
            status_cell,
            Cell::new(format!(
                "user: {}\nSP: {}",
                paths_text(&v.change_paths_user),
                paths_text(&v.change_paths_service_principal)
            )),
        ]);
    }
    // Reason codes must not break mid-word; names and paths wrap instead.
    if let Some(col) = t.column_mut(1) {
        col.set_constraint(ColumnConstraint::ContentWidth);
    }
    t
}

/// Longest identity name or identifier shown in the roster table.
const MAX_IDENTITY_CHARS: usize = 60;

/// The roster: one row per PAL identity of the tenant, then a line counting the rows
/// for other tenants.
fn roster_section(summary: &AuditSummary, compact: bool, opts: &TerminalOptions) -> String {
    let roster = &summary.roster;
    let n = roster.identities.len();
    let mut s = paint(&format!("PAL identities for this tenant ({n})"), BOLD, opts);
    s.push('\n');
    if n == 0 {
        s.push_str("The identities file lists no identity for this tenant.\n");
    } else {
        let table = if compact {
            compact_roster_table(&roster.identities, opts)
        } else {
            roster_table(&roster.identities, opts)
        };
        s.push_str(&table.to_string());
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
    health_colour(Cell::new(health.as_str()), health, opts)
}

/// `c` in the colour of `health`: green when healthy, red when it stops credit.
fn health_colour(c: Cell, health: IdentityHealth, opts: &TerminalOptions) -> Cell {
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

/// [`roster_table`] for narrow terminals: who the identity is (name, identifier, then
/// partner, principal and account kind) beside what was checked of it.
fn compact_roster_table(entries: &[RosterEntry], opts: &TerminalOptions) -> Table {
    let mut t = new_table(opts);
    t.set_header(["Identity", "Checks", "Credited"].map(|h| header_cell(h, opts)));
    for e in entries {
        let checks = format!(
            "health: {}\nPAL link: {}\nRBAC: {}",
            e.health.as_str(),
            e.link_state.as_str(),
            e.rbac_assignments
                .map(|n| n.to_string())
                .unwrap_or_else(|| "not checked".to_owned())
        );
        t.add_row(vec![
            Cell::new(format!(
                "{}\n{} · {} · {}",
                identity_text(e),
                one_line(&e.partner_id),
                principal_label(e.principal_type),
                e.account_kind.as_str().replace('_', " ")
            )),
            health_colour(Cell::new(checks), e.health, opts),
            Cell::new(e.credited_resources),
        ]);
    }
    // Stable words must not break mid-word; the identity column wraps instead.
    if let Some(col) = t.column_mut(1) {
        col.set_constraint(ColumnConstraint::ContentWidth);
    }
    if let Some(col) = t.column_mut(2) {
        col.set_cell_alignment(CellAlignment::Right);
    }
    t
}

fn leaver_risk_line(summary: &AuditSummary, counts: &Counts) -> String {
    format!(
        "{}\n\n",
        leaver_risk_sentence(summary.leaver_risk, counts.attributed)
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
