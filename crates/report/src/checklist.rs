//! The markdown pre-handover checklist.

use crate::coverage::{
    coverage_rows, format_coverage, leaver_risk_sentence, other_tenants_sentence, summary_sentence,
    suppressed_sentence,
};
use crate::sorted_spill::{SortedSpill, Spillable};
use crate::text::{
    display_name, environment_label, environment_type_label, markdown_code, markdown_inline,
};
use crate::{Format, ReportError, write_part};
use palaudit_model::{
    AuditHeader, AuditSummary, Candidate, ChangePath, Counts, Findings, PrincipalKind, Reason,
    ResourceType, RosterEntry, RosterFindings, SinkError, Status, TypeGuidance, Verdict,
    VerdictSink,
};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io::Write;
use std::sync::Arc;

pub(crate) fn render(findings: &Findings, out: &mut dyn Write) -> Result<(), ReportError> {
    let mut sink = ChecklistSink::new(out);
    findings
        .replay(&mut sink)
        .map_err(|e| match e.downcast::<ReportError>() {
            Ok(e) => *e,
            Err(e) => ReportError::Io {
                format: Format::Markdown,
                part: "replaying the findings".to_owned(),
                source: std::io::Error::other(e),
            },
        })
}

/// One resource's checklist item, rendered when its verdict streamed past, with what
/// sorting and grouping it into its environment's section needs.
#[derive(Serialize, Deserialize)]
struct Item {
    /// Sort key: an environment without a name comes last.
    unnamed: bool,
    environment_name_lower: String,
    environment_name: Arc<str>,
    environment_id: Arc<str>,
    environment_type: Arc<str>,
    /// Within its environment, the attributed items follow those still to do.
    done: bool,
    resource_type: ResourceType,
    resource_name_lower: String,
    resource_name: String,
    resource_id: String,
    text: String,
}

impl Spillable for Item {
    /// The order [`verdict_key`](crate::coverage::verdict_key) gives the verdicts, with
    /// each environment's items still to do before its attributed ones.
    fn order(&self, other: &Item) -> Ordering {
        (
            self.unnamed,
            &self.environment_name_lower,
            &self.environment_name,
            &self.environment_id,
            self.done,
            self.resource_type,
            &self.resource_name_lower,
            &self.resource_name,
            &self.resource_id,
        )
            .cmp(&(
                other.unnamed,
                &other.environment_name_lower,
                &other.environment_name,
                &other.environment_id,
                other.done,
                other.resource_type,
                &other.resource_name_lower,
                &other.resource_name,
                &other.resource_id,
            ))
    }

    fn bytes(&self) -> usize {
        self.environment_name_lower.len()
            + self.resource_name_lower.len()
            + self.resource_name.len()
            + self.resource_id.len()
            + self.text.len()
    }
}

/// The markdown checklist written as an audit streams past, byte for byte what
/// [`crate::markdown`] writes for the same findings.
///
/// The checklist opens with the coverage table, known only after the last verdict, and
/// lists resources by environment name as a reader looks for them (not in the audit's
/// order), so each verdict is rendered into its item's text as it arrives and only that
/// text (not the verdict) is kept until `end` writes the file. The items are kept in a
/// [`SortedSpill`]: past 16 MiB of them they wait on disk, so a tenant of any
/// size costs the same memory.
pub struct ChecklistSink<W: Write> {
    out: W,
    header: AuditHeader,
    items: Option<SortedSpill<Item>>,
    /// Per environment id: the counts its section opens with.
    sections: HashMap<Arc<str>, Counts>,
    began: bool,
}

impl<W: Write> ChecklistSink<W> {
    pub fn new(out: W) -> ChecklistSink<W> {
        ChecklistSink::with_items(out, SortedSpill::new())
    }

    /// A checklist whose items go to disk in runs of about `run_bytes` (tests use a few
    /// bytes, so that every item is spilled and the runs are merged).
    #[doc(hidden)]
    pub fn spilling_past(out: W, run_bytes: usize) -> ChecklistSink<W> {
        ChecklistSink::with_items(out, SortedSpill::with_run_bytes(run_bytes))
    }

    fn with_items(out: W, items: SortedSpill<Item>) -> ChecklistSink<W> {
        ChecklistSink {
            out,
            header: AuditHeader::default(),
            items: Some(items),
            sections: HashMap::new(),
            began: false,
        }
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.out
    }
}

fn spill_error(source: std::io::Error) -> ReportError {
    ReportError::Io {
        format: Format::Markdown,
        part: "the items waiting in a temporary file until the last verdict".to_owned(),
        source,
    }
}

impl<W: Write> VerdictSink for ChecklistSink<W> {
    fn begin(&mut self, header: &AuditHeader) -> Result<(), SinkError> {
        if self.began {
            return Err("the markdown checklist holds one tenant".into());
        }
        self.began = true;
        self.header = header.clone();
        Ok(())
    }

    fn verdict(&mut self, v: &Verdict) -> Result<(), SinkError> {
        let Some(items) = self.items.as_mut() else {
            return Err("the markdown checklist was already written".into());
        };
        let mut text = String::new();
        let done = v.status == Status::Attributed;
        if done {
            done_item(&mut text, v);
        } else {
            todo_item(&mut text, &self.header.guidance, v);
        }
        self.sections
            .entry(Arc::clone(&v.environment_id))
            .or_default()
            .add(v.status);
        items
            .push(Item {
                unnamed: v.environment_name.trim().is_empty(),
                environment_name_lower: v.environment_name.to_lowercase(),
                environment_name: Arc::clone(&v.environment_name),
                environment_id: Arc::clone(&v.environment_id),
                environment_type: Arc::clone(&v.environment_type),
                done,
                resource_type: v.resource_type,
                resource_name_lower: v.resource_name.to_lowercase(),
                resource_name: v.resource_name.clone(),
                resource_id: v.resource_id.clone(),
                text,
            })
            .map_err(spill_error)?;
        Ok(())
    }

    fn end(&mut self, summary: &AuditSummary) -> Result<(), SinkError> {
        let Some(items) = self.items.take() else {
            return Err("the markdown checklist was already written".into());
        };
        let header = &self.header;
        let out: &mut dyn Write = &mut self.out;
        write_part(
            out,
            Format::Markdown,
            "title and coverage summary",
            &head(header, summary),
        )?;
        let mut section = Section::default();
        for item in items.into_sorted().map_err(spill_error)? {
            let item = item.map_err(spill_error)?;
            section.item(&item, &self.sections, out)?;
        }
        section.close(out)?;
        write_part(
            out,
            Format::Markdown,
            "roster section",
            &roster_section(&summary.roster),
        )?;
        out.flush().map_err(|source| ReportError::Io {
            format: Format::Markdown,
            part: "final flush".to_owned(),
            source,
        })?;
        Ok(())
    }
}

/// The environment section being written as the sorted items pass: its heading when
/// its first item arrives, a sub-heading where its attributed items begin.
#[derive(Default)]
struct Section {
    open: Option<OpenSection>,
    part: String,
    s: String,
}

struct OpenSection {
    environment_id: Arc<str>,
    counts: Counts,
    attributed_begun: bool,
}

impl Section {
    fn item(
        &mut self,
        item: &Item,
        sections: &HashMap<Arc<str>, Counts>,
        out: &mut dyn Write,
    ) -> Result<(), ReportError> {
        let same = matches!(&self.open, Some(o) if o.environment_id == item.environment_id);
        if !same {
            self.close(out)?;
            let counts = sections
                .get(&item.environment_id)
                .cloned()
                .unwrap_or_default();
            self.part = format!(
                "section for environment {}",
                environment_label(&item.environment_name)
            );
            section_heading(&mut self.s, item, &counts);
            if !item.done {
                let todo = counts.total() - counts.attributed;
                let _ = writeln!(self.s, "### To do before handover ({todo})\n");
            }
            self.open = Some(OpenSection {
                environment_id: Arc::clone(&item.environment_id),
                counts,
                attributed_begun: false,
            });
        }
        if let Some(open) = &mut self.open
            && item.done
            && !open.attributed_begun
        {
            // Closes the list of items to do, if there was one.
            if open.counts.total() > open.counts.attributed {
                self.s.push('\n');
            }
            let _ = writeln!(self.s, "### Attributed ({})\n", open.counts.attributed);
            open.attributed_begun = true;
        }
        self.s.push_str(&item.text);
        if self.s.len() >= 1 << 16 {
            write_part(out, Format::Markdown, &self.part, &self.s)?;
            self.s.clear();
        }
        Ok(())
    }

    /// Ends the open section, if any, and writes what is left of it.
    fn close(&mut self, out: &mut dyn Write) -> Result<(), ReportError> {
        if self.open.take().is_some() {
            self.s.push('\n');
        }
        if !self.s.is_empty() {
            write_part(out, Format::Markdown, &self.part, &self.s)?;
            self.s.clear();
        }
        Ok(())
    }
}

fn head(header: &AuditHeader, summary: &AuditSummary) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# PAL pre-handover checklist — tenant {}\n",
        markdown_code(&header.tenant_id)
    );
    match &header.collected_at {
        Some(at) => {
            let _ = writeln!(
                s,
                "Snapshot collected {}.\n",
                at.format("%Y-%m-%d %H:%M:%S UTC")
            );
        }
        None => s.push_str("Snapshot collection time not recorded.\n\n"),
    }

    if !header.collection_errors.is_empty() {
        let n = header.collection_errors.len();
        let _ = writeln!(s, "> [!WARNING]");
        let _ = writeln!(
            s,
            "> **Partial snapshot: {n} collection error{}.** What could not be collected is \
             missing from this checklist and from every count in it. Re-run `palaudit collect` \
             before handing over.",
            if n == 1 { "" } else { "s" }
        );
        s.push_str(">\n");
        for e in &header.collection_errors {
            let _ = writeln!(s, "> - {}", markdown_inline(e));
        }
        s.push('\n');
    }

    let counts = summary.counts();
    if counts.total() == 0 {
        s.push_str("No resources were found in the snapshot: nothing to check.\n\n");
        return s;
    }

    s.push_str(
        "Tick an item once ownership has been moved to a PAL-linked identity and a new audit \
         confirms it. Unknown verdicts count against coverage: missing data is never credit.\n\n",
    );
    s.push_str("## Coverage\n\n");
    let _ = writeln!(s, "**{}.**\n", summary_sentence(&counts));
    if let Some(line) = suppressed_sentence(&counts, &summary.suppressed) {
        let _ = writeln!(s, "{}\n", markdown_inline(&line));
    }
    s.push_str(
        "| Environment | Environment type | Resource type | Attributed | Unattributed | Unknown | Coverage |\n",
    );
    s.push_str("|---|---|---|--:|--:|--:|--:|\n");
    for row in coverage_rows(summary) {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            markdown_inline(&environment_label(row.environment_name)),
            markdown_inline(&environment_type_label(row.environment_type)),
            row.resource_type.label(),
            count_cells(&row.counts)
        );
    }
    let _ = writeln!(s, "| **Total** | | | {} |\n", count_cells(&counts));
    let attributed = counts.attributed;
    if attributed > 0 {
        let _ = writeln!(
            s,
            "{}\n",
            leaver_risk_sentence(summary.leaver_risk, attributed)
        );
    }
    s
}

fn count_cells(c: &Counts) -> String {
    format!(
        "{} | {} | {} | {}",
        c.attributed,
        c.unattributed,
        c.unknown,
        format_coverage(c)
    )
}

/// An environment section's heading and count line.
fn section_heading(s: &mut String, first: &Item, counts: &Counts) {
    if first.environment_name.trim().is_empty() {
        // `environment_unknown`: the snapshot holds no name or type for it.
        let _ = writeln!(
            s,
            "## Environment missing from the snapshot — {}\n",
            markdown_code(&first.environment_id)
        );
    } else {
        let _ = writeln!(
            s,
            "## {} — {} — {}\n",
            markdown_inline(&environment_label(&first.environment_name)),
            markdown_inline(&environment_type_label(&first.environment_type)),
            markdown_code(&first.environment_id)
        );
    }
    let _ = writeln!(
        s,
        "{} of {} attributed ({}).\n",
        counts.attributed,
        resources(counts.total()),
        format_coverage(counts)
    );
}

/// "1 resource", "2 resources".
fn resources(n: u64) -> String {
    if n == 1 {
        "1 resource".to_owned()
    } else {
        format!("{n} resources")
    }
}

fn resource_heading(v: &Verdict) -> String {
    format!(
        "**{}** ({}, {})",
        markdown_inline(&display_name(&v.resource_name)),
        v.resource_type.label(),
        markdown_code(&v.resource_id)
    )
}

fn paths_sentence(paths: &[ChangePath]) -> String {
    if paths.is_empty() {
        return "not possible with the tools in the compatibility table".to_owned();
    }
    let mut sorted = paths.to_vec();
    sorted.sort();
    sorted.dedup();
    sorted
        .iter()
        .map(|p| p.label())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The sub-item of a suppressed finding: who accepted it, until when, and why.
fn suppression_item(s: &mut String, v: &Verdict) {
    if let Some(sup) = &v.suppression {
        let _ = writeln!(
            s,
            "  - **Suppressed** until {} by {} ({}): {}",
            sup.expires,
            markdown_inline(&sup.approved_by),
            markdown_code(&sup.source),
            markdown_inline(&sup.reason)
        );
    }
}

fn todo_item(s: &mut String, guidance: &BTreeMap<ResourceType, TypeGuidance>, v: &Verdict) {
    let mark = if v.suppression.is_some() {
        " (suppressed)"
    } else {
        ""
    };
    let _ = writeln!(s, "- [ ] {} — **{}**{mark}", resource_heading(v), v.status);
    suppression_item(s, v);
    if v.reasons.is_empty() {
        s.push_str("  - Why: no reason recorded.\n");
    } else {
        reasons(s, &v.reasons);
    }
    if let Some(p) = &v.evidence.would_be_partner_id {
        let _ = writeln!(
            s,
            "  - Partner {} would be credited in an eligible (production) environment.",
            markdown_code(p)
        );
    }
    let _ = writeln!(
        s,
        "  - Move ownership to a PAL-linked user account: {}",
        paths_sentence(&v.change_paths_user)
    );
    let _ = writeln!(
        s,
        "  - Move ownership to a PAL-linked service principal: {}",
        paths_sentence(&v.change_paths_service_principal)
    );
    if let Some(g) = guidance.get(&v.resource_type) {
        limitations(s, g);
    }
    if partners(v).len() > 1 {
        latest_partner_evidence(s, v);
    } else if !v.evidence.candidates.is_empty() {
        s.push_str("  - PAL identities on the resource:\n");
        for c in &v.evidence.candidates {
            let _ = writeln!(s, "    - {}", candidate_line(c));
        }
    }
}

fn reasons(s: &mut String, reasons: &[Reason]) {
    s.push_str("  - Why:\n");
    for r in reasons {
        let _ = writeln!(s, "    - `{}` — {}", r.as_str(), r.explanation());
    }
}

fn limitations(s: &mut String, g: &TypeGuidance) {
    if g.limitations.is_empty() {
        return;
    }
    let product = if g.product.trim().is_empty() {
        String::new()
    } else {
        format!(" for {}", markdown_inline(&g.product))
    };
    let _ = writeln!(s, "  - Known limitations{product}:");
    for l in &g.limitations {
        let _ = writeln!(s, "    - {}", markdown_inline(l));
    }
}

fn done_item(s: &mut String, v: &Verdict) {
    let partner = v
        .partner_id
        .as_deref()
        .map(markdown_code)
        .unwrap_or_else(|| "(not recorded)".to_owned());
    let mut line = format!("- [x] {} — partner {partner}", resource_heading(v));
    if let Some(role) = v.attributing_role {
        let _ = write!(line, ", {role}");
    }
    if let Some(who) = v
        .attributed_principal_name
        .as_deref()
        .or(v.attributed_principal_id.as_deref())
    {
        let _ = write!(line, " ({})", markdown_inline(&display_name(who)));
    }
    let _ = writeln!(s, "{line}");
    suppression_item(s, v);
    if v.leaver_risk {
        s.push_str(
            "  - Leaver risk: the credit rests on a personal user account; move ownership to a \
             dedicated service account or a service principal before that person leaves.\n",
        );
    }
    if partners(v).len() > 1 {
        // Say how the contest was decided, not just who won.
        let how: Vec<Reason> = v
            .reasons
            .iter()
            .copied()
            .filter(|r| *r != Reason::PalIdentityInRole)
            .collect();
        if !how.is_empty() {
            reasons(s, &how);
        }
        latest_partner_evidence(s, v);
    }
}

/// The distinct partners among a verdict's candidates.
fn partners(v: &Verdict) -> BTreeSet<&str> {
    v.evidence
        .candidates
        .iter()
        .map(|c| c.partner_id.as_str())
        .collect()
}

/// Who a candidate is, in one line: name, UPN, partner, role and whether it qualifies.
fn candidate_line(c: &Candidate) -> String {
    // UPNs and ids as code spans: shown verbatim, and never turned into mail links.
    let mut who = match (&c.display_name, &c.upn) {
        (Some(n), Some(u)) => format!(
            "{} ({})",
            markdown_inline(&display_name(n)),
            markdown_code(u)
        ),
        (Some(n), None) => format!(
            "{} ({})",
            markdown_inline(&display_name(n)),
            markdown_code(&c.principal_id)
        ),
        (None, Some(u)) => markdown_code(u),
        (None, None) => markdown_code(&c.principal_id),
    };
    let _ = write!(
        who,
        " — partner {}, {} (matched by {})",
        markdown_code(&c.partner_id),
        c.role,
        markdown_code(&c.matched_by)
    );
    if !c.qualifies {
        match c.disqualified_by {
            Some(r) => {
                let _ = write!(who, " — does not qualify: `{}`", r.as_str());
            }
            None => who.push_str(" — does not qualify"),
        }
    }
    who
}

/// The candidate that won the latest-partner comparison: the credited principal, or for
/// a verdict credited nowhere (ineligible environment) the winning partner's qualifying
/// identity with the latest activity.
fn winner(v: &Verdict) -> Option<usize> {
    let partner = v
        .partner_id
        .as_deref()
        .or(v.evidence.would_be_partner_id.as_deref())?;
    let cands = &v.evidence.candidates;
    if let Some(principal) = v.attributed_principal_id.as_deref()
        && let Some(i) = cands
            .iter()
            .position(|c| c.partner_id == partner && c.principal_id.eq_ignore_ascii_case(principal))
    {
        return Some(i);
    }
    cands
        .iter()
        .enumerate()
        .filter(|(_, c)| c.partner_id == partner && c.qualifies)
        .max_by(|(ia, a), (ib, b)| {
            // Latest activity wins; on equal activity the earlier candidate.
            a.latest_activity()
                .cmp(&b.latest_activity())
                .then_with(|| ib.cmp(ia))
        })
        .map(|(i, _)| i)
}

fn latest_partner_evidence(s: &mut String, v: &Verdict) {
    let win = winner(v);
    s.push_str("  - Latest-partner evidence (every PAL identity compared):\n");
    for (i, c) in v.evidence.candidates.iter().enumerate() {
        let latest = match c.latest_activity() {
            Some(at) => format!("latest activity {at}"),
            None => "no recorded activity".to_owned(),
        };
        let mark = if win == Some(i) { "**Winner:** " } else { "" };
        let _ = writeln!(s, "    - {mark}{} — {latest}", candidate_line(c));
        let mut activity: Vec<_> = c.activity.iter().collect();
        activity.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.source.cmp(&b.source)));
        for a in activity {
            let _ = writeln!(s, "      - {}: {}", markdown_code(&a.source), a.at);
        }
    }
}

/// The PAL identities of the tenant as a table, and a count of the other tenants' rows.
fn roster_section(roster: &RosterFindings) -> String {
    let mut s = String::from("## PAL identities for this tenant\n\n");
    if roster.identities.is_empty() {
        s.push_str("The identities file lists no identity for this tenant.\n");
    } else {
        s.push_str(
            "Health is what Microsoft Graph answered at collection (`not_seen`: the identity \
             holds no role on any collected resource). ",
        );
        s.push_str(&crate::table::roster_verification_note(
            &roster.identities,
            "`",
        ));
        s.push_str("\n\n");
        s.push_str(
            "| Partner | Principal | Account | Identity | Health | PAL link | RBAC assignments | Credited resources |\n",
        );
        s.push_str("|---|---|---|---|---|---|--:|--:|\n");
        for e in &roster.identities {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | `{}` | `{}` | {} | {} |",
                markdown_code(&e.partner_id),
                match e.principal_type {
                    PrincipalKind::User => "user",
                    PrincipalKind::ServicePrincipal => "service principal",
                },
                e.account_kind.as_str().replace('_', " "),
                roster_identity(e),
                e.health.as_str(),
                e.link_state.as_str(),
                e.rbac_assignments
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "not checked".to_owned()),
                e.credited_resources
            );
        }
    }
    if let Some(line) = other_tenants_sentence(&roster.other_tenants) {
        let _ = writeln!(s, "\n{line}");
    }
    s
}

/// Name and identifier of a roster identity; identifiers as code spans so that UPNs are
/// never turned into mail links.
fn roster_identity(e: &RosterEntry) -> String {
    let id = e.identifier();
    match e.display_name.as_deref().filter(|n| !n.trim().is_empty()) {
        Some(n) if !id.is_empty() => format!(
            "{} ({})",
            markdown_inline(&display_name(n)),
            markdown_code(id)
        ),
        Some(n) => markdown_inline(&display_name(n)),
        None => markdown_code(id),
    }
}
