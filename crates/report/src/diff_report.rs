//! The run-to-run diff (`palaudit diff`) as a terminal table, CSV, markdown and JSON.

use crate::table::{BOLD, header_cell, new_table, paint};
use crate::text::{
    csv_cell, display_name, environment_label, markdown_code, markdown_inline, one_line, shorten,
    wrap,
};
use crate::{Format, ReportError, TerminalOptions, write_part};
use comfy_table::{Cell, ColumnConstraint};
use palaudit_model::{Change, Diff, DiffEntry, Observed, Status};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;

/// The version of the diff JSON's layout, bumped like the audit report's
/// [`crate::SCHEMA_VERSION`].
pub const DIFF_SCHEMA_VERSION: u32 = 1;

/// The diff CSV's columns, in order. New ones are only ever appended.
pub const DIFF_CSV_COLUMNS: [&str; 19] = [
    "finding_id",
    "change",
    "tenant_id",
    "environment_id",
    "environment_name",
    "environment_type",
    "resource_type",
    "resource_id",
    "resource_name",
    "old_status",
    "new_status",
    "old_partner_id",
    "new_partner_id",
    "old_attributed_principal_id",
    "new_attributed_principal_id",
    "old_attributed_principal_name",
    "new_attributed_principal_name",
    "old_reasons",
    "new_reasons",
];

/// Longest resource or environment name in a terminal cell.
const MAX_NAME_CHARS: usize = 40;

/// The entries grouped by change, in [`Change`] order, each group in diff order.
fn grouped(diff: &Diff) -> Vec<&DiffEntry> {
    let mut entries: Vec<&DiffEntry> = diff.entries.iter().collect();
    entries.sort_by_key(|e| e.change);
    entries
}

fn timestamp(at: &Option<chrono::DateTime<chrono::Utc>>) -> String {
    match at {
        Some(at) => at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        None => "collection time not recorded".to_owned(),
    }
}

/// "1 drift, 2 newly unattributed, …; 40 unchanged".
fn counts_sentence(diff: &Diff) -> String {
    let counts = diff.counts();
    let changed: Vec<String> = Change::ALL
        .iter()
        .filter(|c| **c != Change::Unchanged)
        .map(|c| format!("{} {}", counts[c], c.as_str().replace('_', " ")))
        .collect();
    format!(
        "{}; {} unchanged",
        changed.join(", "),
        counts[&Change::Unchanged]
    )
}

const PARTIAL_NOTE: &str = "One of the audits is of a partial snapshot: a resource listed as removed or new may only have been missed by one collection.";

const DRIFT_NOTE: &str = "Drift: the resource was credited in the older audit and is not (or is credited to another partner ID) in the newer one; typically the customer changed an owner or creator after handover. `palaudit audit` on the newer snapshot shows how ownership can be moved back.";

/// One side of a finding as table-cell lines: the status, then the partner and identity
/// credited, or the reasons.
fn side_lines(o: &Option<Observed>) -> Vec<String> {
    let Some(o) = o else {
        return vec!["(not in this audit)".to_owned()];
    };
    let mut lines = vec![o.status.as_str().to_owned()];
    if o.status == Status::Attributed {
        if let Some(p) = &o.partner_id {
            lines.push(format!("partner {}", one_line(p)));
        }
        let who = o
            .attributed_principal_name
            .as_deref()
            .or(o.attributed_principal_id.as_deref());
        if let Some(w) = who {
            lines.push(one_line(w));
        }
    } else {
        lines.extend(o.reasons.iter().map(|r| r.as_str().to_owned()));
    }
    lines
}

pub(crate) fn terminal(
    diff: &Diff,
    out: &mut dyn Write,
    opts: &TerminalOptions,
) -> Result<(), ReportError> {
    let write = |out: &mut dyn Write, part: &str, text: &str| {
        write_part(out, Format::DiffTerminal, part, text)
    };
    let title = format!(
        "PAL attribution changes — tenant {}",
        display_name(&diff.tenant_id)
    );
    let mut head = format!("{}\n", paint(&title, BOLD, opts));
    let _ = writeln!(
        head,
        "Older audit: {}\nNewer audit: {}\n",
        timestamp(&diff.old_collected_at),
        timestamp(&diff.new_collected_at)
    );
    if diff.partial {
        let _ = writeln!(head, "{}\n", wrap(PARTIAL_NOTE, opts.width));
    }
    write(out, "title", &head)?;

    let entries = grouped(diff);
    for change in Change::ALL {
        if change == Change::Unchanged {
            continue;
        }
        let group: Vec<&DiffEntry> = entries
            .iter()
            .copied()
            .filter(|e| e.change == change)
            .collect();
        if group.is_empty() {
            continue;
        }
        let heading = paint(&format!("{} ({})", change.label(), group.len()), BOLD, opts);
        let text = format!("{heading}\n{}\n\n", change_table(&group, opts));
        write(out, change.as_str(), &text)?;
    }
    let mut tail = String::new();
    if diff.drift() > 0 {
        tail.push_str(&wrap(DRIFT_NOTE, opts.width));
        tail.push_str("\n\n");
    }
    let total = diff.entries.len();
    if diff.counts()[&Change::Unchanged] as usize == total {
        let line = format!(
            "No changes: all {total} resource{} have the same verdict in both audits.",
            if total == 1 { "" } else { "s" }
        );
        let _ = writeln!(tail, "{}", wrap(&line, opts.width));
    } else {
        let line = wrap(&counts_sentence(diff), opts.width);
        let _ = writeln!(tail, "{}", paint(&line, BOLD, opts));
    }
    write(out, "summary line", &tail)
}

fn change_table(group: &[&DiffEntry], opts: &TerminalOptions) -> comfy_table::Table {
    let mut t = new_table(opts);
    t.set_header(["Resource", "Before", "Now"].map(|h| header_cell(h, opts)));
    for e in group {
        // Name, then where it is, then the id to follow it by: three columns, so the
        // table stays readable at 80 columns.
        let resource = format!(
            "{}\n{} · {}\nfinding {}",
            shorten(&display_name(&e.resource_name), MAX_NAME_CHARS),
            e.resource_type.label(),
            shorten(&environment_label(&e.environment_name), MAX_NAME_CHARS),
            e.finding_id
        );
        t.add_row(vec![
            Cell::new(resource),
            Cell::new(side_lines(&e.old).join("\n")),
            Cell::new(side_lines(&e.new).join("\n")),
        ]);
    }
    // Reason codes are looked up and copied whole: never break them.
    for i in [1, 2] {
        if let Some(col) = t.column_mut(i) {
            col.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
    t
}

pub(crate) fn csv(diff: &Diff, out: &mut dyn Write) -> Result<(), ReportError> {
    let mut w = csv::Writer::from_writer(out);
    let err = |part: String| {
        move |source| ReportError::Csv {
            format: Format::DiffCsv,
            part,
            source,
        }
    };
    w.write_record(DIFF_CSV_COLUMNS)
        .map_err(err("header".to_owned()))?;
    let opt = |s: Option<&String>| s.map(|s| csv_cell(s)).unwrap_or_default();
    for (i, e) in grouped(diff).into_iter().enumerate() {
        let (old, new) = (e.old.as_ref(), e.new.as_ref());
        let status = |o: Option<&Observed>| o.map(|o| o.status.as_str()).unwrap_or_default();
        let reasons = |o: Option<&Observed>| {
            o.map(|o| {
                o.reasons
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(";")
            })
            .unwrap_or_default()
        };
        let record: [String; 19] = [
            e.finding_id.clone(),
            e.change.as_str().to_owned(),
            csv_cell(&diff.tenant_id),
            csv_cell(&e.environment_id),
            csv_cell(&e.environment_name),
            csv_cell(&e.environment_type),
            e.resource_type.as_str().to_owned(),
            csv_cell(&e.resource_id),
            csv_cell(&e.resource_name),
            status(old).to_owned(),
            status(new).to_owned(),
            opt(old.and_then(|o| o.partner_id.as_ref())),
            opt(new.and_then(|o| o.partner_id.as_ref())),
            opt(old.and_then(|o| o.attributed_principal_id.as_ref())),
            opt(new.and_then(|o| o.attributed_principal_id.as_ref())),
            opt(old.and_then(|o| o.attributed_principal_name.as_ref())),
            opt(new.and_then(|o| o.attributed_principal_name.as_ref())),
            reasons(old),
            reasons(new),
        ];
        w.write_record(&record)
            .map_err(err(format!("row {}, finding {}", i + 1, e.finding_id)))?;
    }
    w.flush().map_err(|source| ReportError::Io {
        format: Format::DiffCsv,
        part: "final flush".to_owned(),
        source,
    })
}

fn markdown_side(o: &Option<Observed>) -> String {
    let Some(o) = o else {
        return "—".to_owned();
    };
    let mut s = format!("**{}**", o.status.as_str());
    if o.status == Status::Attributed {
        if let Some(p) = &o.partner_id {
            let _ = write!(s, " to {}", markdown_code(p));
        }
        if let Some(n) = &o.attributed_principal_name {
            let _ = write!(s, " through {}", markdown_inline(n));
        }
    } else if !o.reasons.is_empty() {
        let codes: Vec<String> = o.reasons.iter().map(|r| format!("`{r}`")).collect();
        let _ = write!(s, ": {}", codes.join(", "));
    }
    s
}

pub(crate) fn markdown(diff: &Diff, out: &mut dyn Write) -> Result<(), ReportError> {
    let write = |out: &mut dyn Write, part: &str, text: &str| {
        write_part(out, Format::DiffMarkdown, part, text)
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# PAL attribution changes — tenant {}\n",
        markdown_code(&diff.tenant_id)
    );
    let _ = writeln!(
        s,
        "Older audit collected {}; newer audit collected {}.\n",
        timestamp(&diff.old_collected_at),
        timestamp(&diff.new_collected_at)
    );
    if diff.partial {
        let _ = writeln!(s, "> [!WARNING]\n> {PARTIAL_NOTE}\n");
    }
    let counts = diff.counts();
    s.push_str("| Change | Resources |\n|---|--:|\n");
    for c in Change::ALL {
        let _ = writeln!(s, "| {} | {} |", c.label(), counts[&c]);
    }
    s.push('\n');
    if diff.drift() > 0 {
        let _ = writeln!(s, "{DRIFT_NOTE}\n");
    }
    write(out, "title and counts", &s)?;

    let entries = grouped(diff);
    for change in Change::ALL {
        if change == Change::Unchanged {
            continue;
        }
        let group: Vec<&&DiffEntry> = entries.iter().filter(|e| e.change == change).collect();
        if group.is_empty() {
            continue;
        }
        let mut s = format!("## {} ({})\n\n", change.label(), group.len());
        s.push_str("| Finding | Environment | Type | Resource | Before | Now |\n");
        s.push_str("|---|---|---|---|---|---|\n");
        for e in group {
            let _ = writeln!(
                s,
                "| `{}` | {} | {} | {} | {} | {} |",
                e.finding_id,
                markdown_inline(&environment_label(&e.environment_name)),
                e.resource_type.label(),
                markdown_inline(&display_name(&e.resource_name)),
                markdown_side(&e.old),
                markdown_side(&e.new),
            );
        }
        s.push('\n');
        write(out, &format!("section {}", change.as_str()), &s)?;
    }
    Ok(())
}

#[derive(Serialize)]
struct DiffJson<'a> {
    schema_version: u32,
    kind: &'static str,
    tenant_id: &'a str,
    old_collected_at: &'a Option<chrono::DateTime<chrono::Utc>>,
    new_collected_at: &'a Option<chrono::DateTime<chrono::Utc>>,
    partial: bool,
    /// Findings per change, every change present.
    summary: BTreeMap<&'static str, u64>,
    findings: Vec<&'a DiffEntry>,
}

pub(crate) fn json(diff: &Diff, out: &mut dyn Write) -> Result<(), ReportError> {
    let doc = DiffJson {
        schema_version: DIFF_SCHEMA_VERSION,
        kind: "diff",
        tenant_id: &diff.tenant_id,
        old_collected_at: &diff.old_collected_at,
        new_collected_at: &diff.new_collected_at,
        partial: diff.partial,
        // Keyed by word; a BTreeMap of words sorts them alphabetically, which keeps the
        // bytes stable.
        summary: diff
            .counts()
            .into_iter()
            .map(|(c, n)| (c.as_str(), n))
            .collect(),
        findings: grouped(diff),
    };
    let mut out = out;
    serde_json::to_writer_pretty(&mut out, &doc).map_err(|source| ReportError::Json { source })?;
    out.write_all(b"\n").map_err(|source| ReportError::Io {
        format: Format::DiffJson,
        part: "final newline".to_owned(),
        source,
    })
}
