//! The HTML report (`--html`): one self-contained page — inline CSS, inline SVG charts
//! drawn here, a small inline script, no network at all — with coverage per environment
//! and per resource type, the roster, the resources that are not attributed and a
//! filterable, sortable verdict table (docs/evidence.md).
//!
//! [`HtmlReport`] is a [`VerdictSink`] that writes as it goes. The verdicts never become
//! DOM rows here: each one is appended to a `<script type="application/json">` block as
//! it streams past, and the inline script renders one page of the table at a time, so a
//! 100,000-resource tenant is a 100-row table over a JSON array. Script blocks may sit
//! anywhere in the page, which is what lets the block be written before the charts that
//! need the tenant's totals.
//!
//! Everything from a tenant is escaped: HTML text and attributes by [`esc`], the JSON
//! blocks with `<`, `>` and `&` written as `\u003c`, `\u003e`, `\u0026`, so a resource
//! named `</script><script>…` stays a name. The script writes cells with `textContent`,
//! never `innerHTML`.

use crate::coverage::{cmp_environment, format_coverage};
use crate::text::one_line;
use crate::{Format, ReportError};
use palaudit_model::{
    AuditHeader, AuditSummary, ChangePath, Counts, Reason, ResourceType, SinkError, Verdict,
    VerdictSink,
};
use std::fmt::Write as _;
use std::io::Write;

/// Rows of the static not-attributed list; the verdict table shows them all.
const NOT_ATTRIBUTED_LISTED: usize = 200;
/// Bars per chart; the rest are summed in a last line.
const CHART_BARS: usize = 24;

/// The HTML report, written to `out` as verdicts stream past.
pub struct HtmlReport<W: Write> {
    out: W,
    started: bool,
    /// Verdicts written into the open JSON block of the current tenant.
    rows: u64,
    header: Option<AuditHeader>,
    /// Per tenant: anchor, label, tenant id, counts, suppressed, leaver risk.
    tenants: Vec<TenantLine>,
}

struct TenantLine {
    label: String,
    tenant_id: String,
    counts: Counts,
    suppressed: Counts,
    leaver_risk: u64,
}

/// Escapes text for HTML content and attribute values. Control and bidirectional
/// characters become `�` (as in the terminal), so a name cannot reorder what is shown.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in one_line(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\u{2028}' | '\u{2029}' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// JSON that can sit inside a `<script>` element: nothing in it can close the element
/// or open a comment, and the line separators JavaScript once treated as line ends are
/// escaped. These characters occur only inside JSON strings, where the escapes mean the
/// same characters.
pub(crate) fn script_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

fn io(part: &str) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Io {
        format: Format::Html,
        part: part.to_owned(),
        source,
    }
}

fn name_or(s: &str, empty: &str) -> String {
    if s.trim().is_empty() {
        empty.to_owned()
    } else {
        esc(s)
    }
}

impl<W: Write> HtmlReport<W> {
    pub fn new(out: W) -> HtmlReport<W> {
        HtmlReport {
            out,
            started: false,
            rows: 0,
            header: None,
            tenants: Vec::new(),
        }
    }

    fn put(&mut self, part: &str, text: &str) -> Result<(), ReportError> {
        self.out.write_all(text.as_bytes()).map_err(io(part))
    }

    fn start(&mut self, first: Option<&AuditHeader>) -> Result<(), ReportError> {
        self.started = true;
        let title = match first {
            Some(h) => format!("palaudit PAL attribution report · {}", esc(&h.tenant_id)),
            None => "palaudit PAL attribution report".to_owned(),
        };
        let reasons: serde_json::Map<String, serde_json::Value> = Reason::ALL
            .iter()
            .map(|r| (r.as_str().to_owned(), r.explanation().into()))
            .collect();
        let types: serde_json::Map<String, serde_json::Value> = ResourceType::ALL
            .iter()
            .map(|t| (t.as_str().to_owned(), t.label().into()))
            .collect();
        let lookups = serde_json::json!({ "reasons": reasons, "types": types });
        let mut s = String::new();
        let _ = write!(
            s,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n\
             <title>{title}</title>\n<style>{CSS}</style>\n</head>\n<body>\n\
             <header class=\"top\"><h1>PAL attribution report</h1>\
             <p>Which Power Platform resources credit your partner ID through Partner Admin Link, and how to move the rest.</p></header>\n\
             <script type=\"application/json\" id=\"palaudit-lookups\">{}</script>\n<main>\n",
            script_json(&lookups.to_string())
        );
        self.put("page head", &s)
    }

    fn tenant_section(
        &mut self,
        header: &AuditHeader,
        summary: &AuditSummary,
    ) -> Result<String, ReportError> {
        let i = self.tenants.len();
        let counts = summary.counts();
        let label = header
            .run
            .as_ref()
            .and_then(|r| r.label.clone())
            .unwrap_or_else(|| header.tenant_id.clone());
        let mut s = String::new();
        // The tenant id stands beside a name only when there is a name to stand beside.
        let id = if label == header.tenant_id {
            String::new()
        } else {
            format!(" <code>{}</code>", esc(&header.tenant_id))
        };
        let _ = write!(
            s,
            "<section class=\"tenant\" id=\"tenant-{i}\">\n<h2>{}{id}</h2>\n",
            esc(&label),
        );
        s.push_str(&run_facts(header));
        if !header.collection_errors.is_empty() {
            let _ = write!(
                s,
                "<div class=\"warn\"><strong>Partial audit.</strong> {} collection error(s); the verdicts cover only what was collected.<ul>",
                header.collection_errors.len()
            );
            for e in &header.collection_errors {
                let _ = write!(s, "<li>{}</li>", esc(e));
            }
            s.push_str("</ul></div>\n");
        }
        s.push_str(&cards(&counts, &summary.suppressed, summary.leaver_risk));

        // Coverage per environment and per type, from the summary's cells.
        let mut by_env: Vec<(String, String, Counts)> = Vec::new();
        let mut by_type: Vec<(ResourceType, Counts)> = Vec::new();
        for ((env, ty), c) in &summary.by_environment_and_type {
            let name = summary
                .environments
                .get(env)
                .map(|e| e.0.clone())
                .unwrap_or_default();
            match by_env.iter_mut().find(|(id, _, _)| id == env) {
                Some((_, _, total)) => add(total, c),
                None => by_env.push((env.clone(), name, *c)),
            }
            match by_type.iter_mut().find(|(t, _)| t == ty) {
                Some((_, total)) => add(total, c),
                None => by_type.push((*ty, *c)),
            }
        }
        by_env.sort_by(|a, b| cmp_environment((&a.1, &a.0), (&b.1, &b.0)));
        by_type.sort_by_key(|(t, _)| *t);
        let env_bars: Vec<(String, Counts)> = by_env
            .into_iter()
            .map(|(_, name, c)| {
                let name = if name.trim().is_empty() {
                    "(unknown environment)".to_owned()
                } else {
                    name
                };
                (name, c)
            })
            .collect();
        let type_bars: Vec<(String, Counts)> = by_type
            .into_iter()
            .map(|(t, c)| (t.label().to_owned(), c))
            .collect();
        s.push_str("<div class=\"charts\">\n");
        s.push_str(&chart(
            "Coverage per environment",
            "environments",
            &env_bars,
        ));
        s.push_str(&chart("Coverage per resource type", "types", &type_bars));
        s.push_str("</div>\n");

        s.push_str(&roster_table(summary));
        s.push_str(&not_attributed(summary)?);
        let _ = write!(
            s,
            "<h3>Verdicts</h3>\n<div class=\"verdicts\" data-source=\"verdicts-{i}\">\n{}</div>\n</section>\n",
            VERDICT_TABLE
        );
        self.tenants.push(TenantLine {
            label,
            tenant_id: header.tenant_id.clone(),
            counts,
            suppressed: summary.suppressed,
            leaver_risk: summary.leaver_risk,
        });
        Ok(s)
    }

    fn rollup(&self) -> String {
        let mut s = String::from(
            "<section class=\"rollup\" id=\"portfolio\">\n<h2>Portfolio</h2>\n\
             <div class=\"scroll\"><table class=\"grid\"><thead><tr><th>Tenant</th><th>Tenant id</th>\
             <th class=\"num\">Resources</th><th class=\"num\">Attributed</th><th class=\"num\">Unattributed</th>\
             <th class=\"num\">Unknown</th><th class=\"num\">Coverage</th><th class=\"num\">Suppressed</th>\
             <th class=\"num\">Leaver risk</th></tr></thead><tbody>\n",
        );
        let mut all = Counts::default();
        let mut suppressed = Counts::default();
        let mut leaver = 0;
        let line = |s: &mut String, name: &str, id: &str, c: &Counts, sup: &Counts, l: u64| {
            let _ = writeln!(
                s,
                "<tr><td>{name}</td><td><code>{id}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{l}</td></tr>",
                c.total(),
                c.attributed,
                c.unattributed,
                c.unknown,
                format_coverage(c),
                sup.total(),
            );
        };
        for (i, t) in self.tenants.iter().enumerate() {
            let name = format!("<a href=\"#tenant-{i}\">{}</a>", esc(&t.label));
            line(
                &mut s,
                &name,
                &esc(&t.tenant_id),
                &t.counts,
                &t.suppressed,
                t.leaver_risk,
            );
            add(&mut all, &t.counts);
            add(&mut suppressed, &t.suppressed);
            leaver += t.leaver_risk;
        }
        s.push_str("</tbody><tfoot>");
        line(
            &mut s,
            "<strong>All tenants</strong>",
            "",
            &all,
            &suppressed,
            leaver,
        );
        s.push_str("</tfoot></table></div>\n");
        let bars: Vec<(String, Counts)> = self
            .tenants
            .iter()
            .map(|t| (t.label.clone(), t.counts))
            .collect();
        s.push_str("<div class=\"charts\">");
        s.push_str(&chart("Coverage per tenant", "tenants", &bars));
        s.push_str("</div>\n</section>\n");
        s
    }
}

fn add(total: &mut Counts, c: &Counts) {
    total.attributed += c.attributed;
    total.unattributed += c.unattributed;
    total.unknown += c.unknown;
}

fn run_facts(header: &AuditHeader) -> String {
    let mut facts: Vec<String> = Vec::new();
    if let Some(at) = header.collected_at {
        facts.push(format!(
            "collected <time>{}</time>",
            at.format("%Y-%m-%d %H:%M:%S UTC")
        ));
    }
    if let Some(run) = &header.run {
        facts.push(format!("audited by {}", esc(&run.palaudit_version)));
        if let Some(sum) = &run.snapshot_checksum {
            facts.push(format!(
                "snapshot sha256 <code class=\"digest\" title=\"sha256 of the snapshot's manifest.json\">{}</code>",
                esc(sum)
            ));
        }
        facts.push(format!("rules: {}", esc(&run.rules)));
        facts.push(format!("identities: {}", esc(&run.identities)));
    }
    if facts.is_empty() {
        return String::new();
    }
    format!("<p class=\"facts\">{}</p>\n", facts.join(" · "))
}

fn cards(c: &Counts, suppressed: &Counts, leaver_risk: u64) -> String {
    let card = |class: &str, value: String, what: &str| {
        format!("<div class=\"card {class}\"><b>{value}</b><span>{what}</span></div>")
    };
    let mut s = String::from("<div class=\"cards\">");
    s.push_str(&card("cov", format_coverage(c), "coverage"));
    s.push_str(&card("", c.total().to_string(), "resources"));
    s.push_str(&card("ok", c.attributed.to_string(), "attributed"));
    s.push_str(&card("bad", c.unattributed.to_string(), "unattributed"));
    s.push_str(&card("unk", c.unknown.to_string(), "unknown"));
    if suppressed.total() > 0 {
        s.push_str(&card(
            "",
            suppressed.total().to_string(),
            &format!(
                "suppressed · {} without them",
                format_coverage(&c.without(suppressed))
            ),
        ));
    }
    s.push_str(&card(
        "",
        leaver_risk.to_string(),
        "credited through a personal account (leaver risk)",
    ));
    s.push_str("</div>\n");
    s
}

/// A horizontal bar per row: the share attributed, unattributed and unknown, with the
/// coverage and the count beside it. Drawn at a fixed size; the SVG scales to its box.
pub(crate) fn chart(title: &str, what: &str, rows: &[(String, Counts)]) -> String {
    let rows: Vec<&(String, Counts)> = rows.iter().filter(|(_, c)| c.total() > 0).collect();
    // Past CHART_BARS, the largest are drawn (in their order) and the others summed.
    let mut keep = vec![true; rows.len()];
    let mut rest = Counts::default();
    let hidden = if rows.len() > CHART_BARS {
        let mut by_size: Vec<usize> = (0..rows.len()).collect();
        by_size.sort_by_key(|&i| std::cmp::Reverse(rows[i].1.total()));
        for &i in &by_size[CHART_BARS - 1..] {
            keep[i] = false;
            add(&mut rest, &rows[i].1);
        }
        rows.len() - (CHART_BARS - 1)
    } else {
        0
    };
    let others = (hidden > 0).then(|| (format!("{hidden} other {what}"), rest));
    let all: Vec<(&str, &Counts)> = rows
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|((n, c), _)| (n.as_str(), c))
        .chain(others.as_ref().map(|(n, c)| (n.as_str(), c)))
        .collect();

    const ROW: u32 = 28;
    const TOP: u32 = 34;
    const LABEL: u32 = 200;
    const BAR: f64 = 250.0;
    let height = TOP + ROW * all.len().max(1) as u32 + 8;
    let mut s = String::new();
    let _ = write!(
        s,
        "<figure class=\"chart\"><figcaption>{}</figcaption>\
         <svg viewBox=\"0 0 580 {height}\" width=\"580\" height=\"{height}\" role=\"img\" aria-label=\"{}\">\
         <g class=\"legend\" font-size=\"12\">\
         <rect x=\"0\" y=\"6\" width=\"12\" height=\"12\" fill=\"#2e7d32\"/><text x=\"17\" y=\"16\">attributed</text>\
         <rect x=\"100\" y=\"6\" width=\"12\" height=\"12\" fill=\"#c62828\"/><text x=\"117\" y=\"16\">unattributed</text>\
         <rect x=\"215\" y=\"6\" width=\"12\" height=\"12\" fill=\"#9e9e9e\"/><text x=\"232\" y=\"16\">unknown</text></g>",
        esc(title),
        esc(title)
    );
    if all.is_empty() {
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{}\" font-size=\"13\">No resources.</text>",
            TOP + 18
        );
    }
    for (i, (name, c)) in all.iter().enumerate() {
        let y = TOP + ROW * i as u32;
        let total = c.total() as f64;
        let short: String = if name.chars().count() > 27 {
            let mut t: String = name.chars().take(26).collect();
            t.push('…');
            t
        } else {
            (*name).to_owned()
        };
        let _ = write!(
            s,
            "<g><title>{}: {} of {} attributed ({}), {} unattributed, {} unknown</title>\
             <text x=\"0\" y=\"{}\" font-size=\"13\">{}</text>",
            esc(name),
            c.attributed,
            c.total(),
            format_coverage(c),
            c.unattributed,
            c.unknown,
            y + 17,
            esc(&short)
        );
        let mut x = LABEL as f64;
        for (n, colour) in [
            (c.attributed, "#2e7d32"),
            (c.unattributed, "#c62828"),
            (c.unknown, "#9e9e9e"),
        ] {
            if n == 0 {
                continue;
            }
            let w = BAR * n as f64 / total;
            let _ = write!(
                s,
                "<rect x=\"{x:.1}\" y=\"{}\" width=\"{w:.1}\" height=\"18\" fill=\"{colour}\"/>",
                y + 4
            );
            x += w;
        }
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"13\"><tspan font-weight=\"600\">{}</tspan> of {}</text></g>",
            LABEL as f64 + BAR + 10.0,
            y + 17,
            format_coverage(c),
            c.total()
        );
    }
    s.push_str("</svg></figure>\n");
    s
}

fn roster_table(summary: &AuditSummary) -> String {
    let mut s = String::from("<h3>PAL identity roster</h3>\n");
    if summary.roster.identities.is_empty() {
        s.push_str("<p class=\"muted\">The identities file lists no PAL identity for this tenant: nothing here can be credited.</p>\n");
        return s;
    }
    s.push_str(
        "<div class=\"scroll\"><table class=\"grid\"><thead><tr><th>Identity</th><th>Type</th><th>Account</th>\
         <th>Partner ID</th><th>Directory</th><th>PAL link</th><th class=\"num\">Azure RBAC</th>\
         <th class=\"num\">Credited</th><th class=\"num\">Line</th></tr></thead><tbody>\n",
    );
    for e in &summary.roster.identities {
        let name = e
            .display_name
            .as_deref()
            .or(e.upn.as_deref())
            .or(e.object_id.as_deref())
            .or(e.app_id.as_deref())
            .unwrap_or("");
        let id = e
            .upn
            .as_deref()
            .or(e.object_id.as_deref())
            .or(e.app_id.as_deref())
            .unwrap_or("");
        let health_class = if e.health.as_str() == "ok" {
            "ok"
        } else {
            "bad"
        };
        let _ = writeln!(
            s,
            "<tr><td>{}<div class=\"sub\">{}</div></td><td>{}</td><td>{}</td><td>{}</td>\
             <td><span class=\"pill {health_class}\">{}</span></td><td>{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            name_or(name, "(no name)"),
            esc(id),
            e.principal_type.as_str(),
            e.account_kind.as_str(),
            esc(&e.partner_id),
            e.health.as_str(),
            e.link_state.as_str(),
            e.rbac_assignments
                .map(|n| n.to_string())
                .unwrap_or_else(|| "not checked".into()),
            e.credited_resources,
            e.line
        );
    }
    s.push_str("</tbody></table></div>\n");
    s
}

fn paths_text(paths: &[ChangePath]) -> String {
    if paths.is_empty() {
        return "none".into();
    }
    let mut p = paths.to_vec();
    p.sort();
    p.dedup();
    p.iter().map(|p| p.label()).collect::<Vec<_>>().join(", ")
}

fn not_attributed(summary: &AuditSummary) -> Result<String, ReportError> {
    let list = &summary.not_attributed;
    let mut s = format!("<h3>Not attributed ({})</h3>\n", list.len());
    if list.is_empty() {
        s.push_str("<p class=\"muted\">Every resource credits a PAL identity.</p>\n");
        return Ok(s);
    }
    s.push_str(
        "<div class=\"scroll\"><table class=\"grid na\"><thead><tr><th>Resource</th><th>Environment</th>\
         <th>Status</th><th>Why</th><th>Change paths (user / service principal)</th></tr></thead><tbody>\n",
    );
    for v in list.iter().take(NOT_ATTRIBUTED_LISTED) {
        let v = v?;
        let reasons: Vec<String> = v
            .reasons
            .iter()
            .map(|r| {
                format!(
                    "<li><code>{}</code> {}</li>",
                    r.as_str(),
                    esc(r.explanation())
                )
            })
            .collect();
        let suppressed = match &v.suppression {
            Some(sup) => format!(
                "<div class=\"sub\">suppressed until {}: {} ({})</div>",
                sup.expires,
                esc(&sup.reason),
                esc(&sup.approved_by)
            ),
            None => String::new(),
        };
        let _ = writeln!(
            s,
            "<tr><td>{}<div class=\"sub\">{} · <code>{}</code></div></td><td>{}</td>\
             <td><span class=\"pill {}\">{}</span>{suppressed}</td><td><ul>{}</ul></td><td>{}<div class=\"sub\">{}</div></td></tr>",
            name_or(&v.resource_name, "(no name)"),
            v.resource_type.label(),
            esc(&v.resource_id),
            name_or(&v.environment_name, "(unknown environment)"),
            v.status.as_str(),
            v.status.as_str(),
            reasons.concat(),
            paths_text(&v.change_paths_user),
            paths_text(&v.change_paths_service_principal),
        );
    }
    s.push_str("</tbody></table></div>\n");
    if list.len() > NOT_ATTRIBUTED_LISTED {
        let _ = writeln!(
            s,
            "<p class=\"muted\">The first {NOT_ATTRIBUTED_LISTED} of {} are listed; filter the verdict table below by status for every one.</p>",
            list.len()
        );
    }
    Ok(s)
}

/// One verdict as the script's row: a JSON array, in the order `COLUMNS` of the script
/// reads it.
fn verdict_row(v: &Verdict) -> String {
    let reasons: Vec<&str> = v.reasons.iter().map(|r| r.as_str()).collect();
    let credited = v
        .attributed_principal_name
        .as_deref()
        .or(v.attributed_principal_id.as_deref())
        .unwrap_or("");
    let row = (
        one_line(&v.environment_name),
        &*v.environment_type,
        v.resource_type.as_str(),
        one_line(&v.resource_name),
        &v.resource_id,
        v.status.as_str(),
        v.partner_id.as_deref().unwrap_or(""),
        one_line(credited),
        v.attributing_role.map(|r| r.as_str()).unwrap_or(""),
        reasons.join(";"),
        ChangePath::join(&v.change_paths_user),
        ChangePath::join(&v.change_paths_service_principal),
        v.leaver_risk,
        v.suppression
            .as_ref()
            .map(|s| format!("until {}: {} ({})", s.expires, s.reason, s.approved_by))
            .unwrap_or_default(),
    );
    // Serialising strings, bools and a tuple of them cannot fail.
    script_json(&serde_json::to_string(&row).unwrap_or_default())
}

impl<W: Write> VerdictSink for HtmlReport<W> {
    fn begin(&mut self, header: &AuditHeader) -> Result<(), SinkError> {
        if !self.started {
            self.start(Some(header))?;
        }
        let i = self.tenants.len();
        self.put(
            "verdict data",
            &format!("<script type=\"application/json\" id=\"verdicts-{i}\">["),
        )?;
        self.rows = 0;
        self.header = Some(AuditHeader {
            guidance: Default::default(),
            ..header.clone()
        });
        Ok(())
    }

    fn verdict(&mut self, verdict: &Verdict) -> Result<(), SinkError> {
        let sep = if self.rows == 0 { "\n" } else { ",\n" };
        self.rows += 1;
        let row = verdict_row(verdict);
        self.out
            .write_all(sep.as_bytes())
            .and_then(|()| self.out.write_all(row.as_bytes()))
            .map_err(io("verdict data"))?;
        Ok(())
    }

    fn end(&mut self, summary: &AuditSummary) -> Result<(), SinkError> {
        self.put("verdict data", "\n]</script>\n")?;
        let header = self.header.take().unwrap_or_default();
        let section = self.tenant_section(&header, summary)?;
        self.put("tenant section", &section)?;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        if !self.started {
            self.start(None)?;
        }
        let mut s = String::new();
        if self.tenants.len() > 1 {
            s.push_str(&self.rollup());
        }
        if self.tenants.is_empty() {
            s.push_str("<p class=\"muted\">No tenant was audited.</p>\n");
        }
        let _ = write!(
            s,
            "</main>\n<footer>Written by palaudit, read-only: nothing in this report was changed in any tenant. \
             Coverage is attributed ÷ all resources; unknown counts against it.</footer>\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
        );
        self.put("page end", &s)?;
        self.out.flush().map_err(io("page end"))?;
        Ok(())
    }
}

const VERDICT_TABLE: &str = r#"<form class="filters" onsubmit="return false">
<label>Status <select name="status"><option value="">all</option></select></label>
<label>Type <select name="type"><option value="">all</option></select></label>
<label>Environment <select name="env"><option value="">all</option></select></label>
<label class="q">Search <input name="q" type="search" placeholder="name, id, reason, partner…"></label>
</form>
<div class="scroll"><table class="grid vt"><thead><tr>
<th data-col="3">Resource</th><th data-col="0">Environment</th><th data-col="2">Type</th><th data-col="5">Status</th>
<th data-col="7">Credited to</th><th data-col="9">Reasons</th><th data-col="10">Change paths (user · SP)</th>
</tr></thead><tbody><tr><td colspan="7" class="muted">The verdict table needs JavaScript; the workbook and the CSV hold the same rows.</td></tr></tbody></table></div>
<div class="pager"><button type="button" class="prev">‹ Previous</button><span class="count"></span><button type="button" class="next">Next ›</button></div>
"#;

const CSS: &str = r#"
:root{--ok:#2e7d32;--bad:#c62828;--unk:#757575;--line:#d8dde6;--muted:#5f6b7a;--bg:#f5f7fa}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1d2733;background:var(--bg)}
header.top{background:#1f3a5f;color:#fff;padding:18px 28px}
header.top h1{margin:0;font-size:22px;font-weight:600}
header.top p{margin:4px 0 0;opacity:.85}
main{display:flex;flex-direction:column;gap:22px;max-width:1320px;margin:0 auto;padding:22px 28px}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:18px 22px;min-width:0}
.rollup{order:-1}
h2{margin:0 0 6px;font-size:20px}
h2 code{font-size:13px;color:var(--muted);font-weight:400;margin-left:6px}
h3{margin:22px 0 8px;font-size:16px}
code{font-family:ui-monospace,SFMono-Regular,Consolas,monospace;font-size:12px;overflow-wrap:anywhere}
.facts{margin:0 0 12px;color:var(--muted);font-size:12.5px;overflow-wrap:anywhere}
.digest{font-size:11px}
.warn{background:#fff4e5;border:1px solid #f0b46a;border-radius:6px;padding:8px 12px;margin:8px 0}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:10px 0 4px}
.card{border:1px solid var(--line);border-radius:6px;padding:8px 14px;min-width:110px;background:#fafbfc}
.card b{display:block;font-size:22px;font-weight:600}
.card span{color:var(--muted);font-size:12px}
.card.cov b{color:#1f3a5f}.card.ok b{color:var(--ok)}.card.bad b{color:var(--bad)}.card.unk b{color:var(--unk)}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:16px;margin-top:14px}
figure.chart{margin:0;border:1px solid var(--line);border-radius:6px;padding:10px 14px;min-width:0}
figcaption{font-weight:600;margin-bottom:4px}
figure.chart svg{width:100%;height:auto;max-width:580px;display:block;font-family:inherit;fill:#1d2733}
.scroll{overflow-x:auto;border:1px solid var(--line);border-radius:6px}
table.grid{border-collapse:collapse;width:100%;font-size:13px}
.grid th,.grid td{text-align:left;vertical-align:top;padding:6px 9px;border-bottom:1px solid #edf0f4}
.grid thead th{background:#eef2f7;position:sticky;top:0;white-space:nowrap;font-weight:600}
.grid tfoot td{font-weight:600;background:#fafbfc}
.grid td{overflow-wrap:break-word}
.grid td:first-child{min-width:220px}
table.grid{min-width:720px}
.grid .num{text-align:right;white-space:nowrap}
.grid ul{margin:0;padding-left:16px}
.sub{color:var(--muted);font-size:12px}
.muted{color:var(--muted)}
.pill{display:inline-block;padding:0 7px;border-radius:10px;font-size:12px;background:#eceff3;white-space:nowrap}
.pill.attributed,.pill.ok{background:#e3f1e4;color:#1b5e20}
.pill.unattributed,.pill.bad{background:#fbe4e4;color:#8e1b1b}
.pill.unknown{background:#eceff3;color:#424242}
.na td:nth-child(1){min-width:200px}.na td:nth-child(4){min-width:280px}
.vt th[data-col]{cursor:pointer;user-select:none}
.vt th[aria-sort=ascending]::after{content:" ▲";font-size:10px}
.vt th[aria-sort=descending]::after{content:" ▼";font-size:10px}
.vt td:first-child{min-width:180px}
.filters{display:flex;flex-wrap:wrap;gap:10px 16px;align-items:center;margin:6px 0 10px}
.filters label{font-size:12.5px;color:var(--muted);display:flex;gap:6px;align-items:center}
.filters select,.filters input{font:inherit;font-size:13px;padding:4px 6px;border:1px solid #b9c2cf;border-radius:5px;background:#fff;color:#1d2733;max-width:240px}
.filters .q{flex:1 1 220px}.filters .q input{width:100%;max-width:none}
.pager{display:flex;gap:12px;align-items:center;margin-top:8px}
.pager button{font:inherit;font-size:13px;padding:3px 10px;border:1px solid #b9c2cf;border-radius:5px;background:#fff;cursor:pointer}
.pager button:disabled{opacity:.4;cursor:default}
footer{max-width:1320px;margin:0 auto;padding:0 28px 28px;color:var(--muted);font-size:12px}
@media (max-width:700px){main{padding:12px}section{padding:12px}.charts{grid-template-columns:1fr}}
"#;

/// The verdict table's renderer: parses each tenant's JSON block, fills the filters from
/// the values present, and draws one page of rows at a time with `textContent`. Filters
/// can be preset from the address (`#status=unattributed&q=sales`).
const SCRIPT: &str = r#"
(function () {
  "use strict";
  var PAGE = 100;
  var lookups = JSON.parse(document.getElementById("palaudit-lookups").textContent);
  var hash = {};
  location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
    var i = kv.indexOf("=");
    if (i > 0) hash[decodeURIComponent(kv.slice(0, i))] = decodeURIComponent(kv.slice(i + 1).replace(/\+/g, " "));
  });
  var PATHS = { gui: "GUI", powershell: "PowerShell", pp_cli: "PP CLI", devops: "DevOps" };
  function paths(s) { return s === "none" ? "none" : s.split(";").map(function (p) { return PATHS[p] || p; }).join(", "); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  document.querySelectorAll(".verdicts[data-source]").forEach(function (box) {
    var rows = JSON.parse(document.getElementById(box.dataset.source).textContent);
    var hay = rows.map(function (r) { return r.join("\u0001").toLowerCase(); });
    var form = box.querySelector("form"), body = box.querySelector("tbody");
    var count = box.querySelector(".count"), prev = box.querySelector(".prev"), next = box.querySelector(".next");
    var st = { status: "", type: "", env: "", q: "", sort: -1, dir: 1, page: 0 };
    var view = [];
    function fill(name, col, label) {
      var seen = {};
      rows.forEach(function (r) { seen[r[col]] = (seen[r[col]] || 0) + 1; });
      var sel = form.elements[name];
      Object.keys(seen).sort().forEach(function (v) {
        var o = el("option", "", (label ? label(v) : v || "(none)") + " (" + seen[v] + ")");
        o.value = v;
        sel.appendChild(o);
      });
      if (hash[name] !== undefined && seen[hash[name]]) { sel.value = hash[name]; st[name] = hash[name]; }
    }
    fill("status", 5);
    fill("type", 2, function (t) { return lookups.types[t] || t; });
    fill("env", 0, function (e) { return e || "(unknown environment)"; });
    if (hash.q) { form.elements.q.value = hash.q; st.q = hash.q; }
    function apply() {
      var q = st.q.trim().toLowerCase();
      view = [];
      for (var i = 0; i < rows.length; i++) {
        var r = rows[i];
        if (st.status && r[5] !== st.status) continue;
        if (st.type && r[2] !== st.type) continue;
        if (st.env && r[0] !== st.env) continue;
        if (q && hay[i].indexOf(q) < 0) continue;
        view.push(r);
      }
      if (st.sort >= 0) {
        var k = st.sort, d = st.dir;
        view.sort(function (a, b) { return String(a[k]).localeCompare(String(b[k])) * d; });
      }
      st.page = 0;
      draw();
    }
    function draw() {
      var start = st.page * PAGE, page = view.slice(start, start + PAGE);
      var frag = document.createDocumentFragment();
      page.forEach(function (r) {
        var tr = el("tr");
        var name = el("td", "", r[3] || "(no name)");
        name.appendChild(el("div", "sub", r[4]));
        if (r[13]) name.appendChild(el("div", "sub", "suppressed " + r[13]));
        tr.appendChild(name);
        var env = el("td", "", r[0] || "(unknown environment)");
        if (r[1]) env.appendChild(el("div", "sub", r[1]));
        tr.appendChild(env);
        tr.appendChild(el("td", "", lookups.types[r[2]] || r[2]));
        var status = el("td");
        status.appendChild(el("span", "pill " + r[5], r[5]));
        tr.appendChild(status);
        var who = el("td", "", r[7]);
        if (r[6]) who.appendChild(el("div", "sub", "partner " + r[6] + (r[8] ? " · " + r[8] : "")));
        if (r[12]) who.appendChild(el("div", "sub", "personal account: leaver risk"));
        tr.appendChild(who);
        var why = el("td");
        r[9].split(";").filter(Boolean).forEach(function (code) {
          var c = el("div", "", code);
          c.title = lookups.reasons[code] || "";
          why.appendChild(c);
        });
        tr.appendChild(why);
        var p = el("td", "", paths(r[10]));
        p.appendChild(el("div", "sub", "SP: " + paths(r[11])));
        tr.appendChild(p);
        frag.appendChild(tr);
      });
      body.textContent = "";
      body.appendChild(frag);
      count.textContent = view.length
        ? (start + 1) + "–" + (start + page.length) + " of " + view.length + (view.length !== rows.length ? " (filtered from " + rows.length + ")" : "")
        : "No verdict matches the filters.";
      prev.disabled = st.page === 0;
      next.disabled = start + PAGE >= view.length;
      box.dataset.rows = String(rows.length);
      box.dataset.matching = String(view.length);
      box.dataset.shown = String(page.length);
    }
    ["status", "type", "env"].forEach(function (n) {
      form.elements[n].addEventListener("change", function (e) { st[n] = e.target.value; apply(); });
    });
    var timer = 0;
    form.elements.q.addEventListener("input", function (e) {
      clearTimeout(timer);
      timer = setTimeout(function () { st.q = e.target.value; apply(); }, 150);
    });
    box.querySelectorAll("th[data-col]").forEach(function (th) {
      th.addEventListener("click", function () {
        var k = Number(th.dataset.col);
        st.dir = st.sort === k ? -st.dir : 1;
        st.sort = k;
        box.querySelectorAll("th[data-col]").forEach(function (o) { o.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", st.dir > 0 ? "ascending" : "descending");
        apply();
      });
    });
    prev.addEventListener("click", function () { if (st.page > 0) { st.page--; draw(); } });
    next.addEventListener("click", function () { if ((st.page + 1) * PAGE < view.length) { st.page++; draw(); } });
    apply();
  });
})();
"#;
