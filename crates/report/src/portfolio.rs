//! A portfolio's roll-up by tenant (terminal, markdown, JSON) and the portfolio JSON
//! document that holds every tenant's report.
//!
//! The per-tenant detail of the terminal and markdown formats is each tenant's own
//! report, written after the roll-up by the caller; only JSON needs a document of its
//! own, because a file holds one JSON value.

use crate::coverage::format_coverage;
use crate::json_report::Tally;
use crate::table::{BOLD, header_cell, new_table, paint};
use crate::text::{display_name, markdown_code, markdown_inline, wrap};
use crate::{Format, JsonSink, ReportError, TerminalOptions, write_part};
use comfy_table::{Cell, CellAlignment, ColumnConstraint};
use palaudit_model::{
    AuditHeader, AuditSummary, Findings, Rollup, SinkError, TenantRollup, Verdict, VerdictSink,
};
use serde::Serialize;
use std::fmt::Write as _;
use std::io::Write;

/// The version of the portfolio JSON document's own layout (the tenant reports inside
/// it carry [`crate::SCHEMA_VERSION`]).
pub const PORTFOLIO_SCHEMA_VERSION: u32 = 1;

/// Characters of a tenant id shown in the terminal; the other formats keep it whole.
const SHORT_TENANT_CHARS: usize = 8;

fn tenant_lines(t: &TenantRollup) -> String {
    // A GUID's first group: enough to tell tenants apart in a table at 80 columns.
    let id: String = t.tenant_id.chars().take(SHORT_TENANT_CHARS).collect();
    let partial = if t.partial { " (partial)" } else { "" };
    match &t.label {
        Some(l) => format!("{}{partial}\n{id}", display_name(l)),
        None => format!("{id}{partial}"),
    }
}

fn title(rollup: &Rollup) -> String {
    let all = rollup.overall();
    let n = rollup.tenants.len();
    format!(
        "PAL attribution — portfolio of {n} tenant{}, {} resource{}",
        if n == 1 { "" } else { "s" },
        all.counts.total(),
        if all.counts.total() == 1 { "" } else { "s" }
    )
}

const GAPS_NOTE: &str = "Roster gaps: PAL identities of the tenant that cannot earn credit as they stand (deleted, disabled, invitation pending, no directory record, or verified as not linked or linked to another partner ID). Leaver risk: attributed resources whose credit rests on a personal user account.";

/// True when some tenant has suppressed findings: only then do the roll-ups show them.
fn any_suppressed(rollup: &Rollup) -> bool {
    rollup.tenants.iter().any(|t| t.suppressed.total() > 0)
}

pub(crate) fn terminal(
    rollup: &Rollup,
    out: &mut dyn Write,
    opts: &TerminalOptions,
) -> Result<(), ReportError> {
    let suppressed = any_suppressed(rollup);
    let mut t = new_table(opts);
    let mut header = vec![
        "Tenant",
        "Attributed",
        "Unattributed",
        "Unknown",
        "Coverage",
        // Two lines, so that the table fits 80 columns without breaking a word.
        "Leaver\nrisk",
        "Roster\ngaps",
    ];
    if suppressed {
        header.push("Sup-\npressed");
    }
    t.set_header(header.into_iter().map(|h| header_cell(h, opts)));
    let row = |r: &TenantRollup, name: Cell| {
        let mut cells = vec![
            name,
            Cell::new(r.counts.attributed),
            Cell::new(r.counts.unattributed),
            Cell::new(r.counts.unknown),
            Cell::new(format_coverage(&r.counts)),
            Cell::new(r.leaver_risk),
            Cell::new(format!("{} of {}", r.roster_gaps, r.roster_identities)),
        ];
        if suppressed {
            cells.push(Cell::new(r.suppressed.total()));
        }
        cells
    };
    for r in &rollup.tenants {
        t.add_row(row(r, Cell::new(tenant_lines(r))));
    }
    t.add_row(row(&rollup.overall(), header_cell("All tenants", opts)));
    for i in 1..t.column_count() {
        if let Some(col) = t.column_mut(i) {
            col.set_cell_alignment(CellAlignment::Right);
            col.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
    let mut note = GAPS_NOTE.to_owned();
    if suppressed {
        note.push_str(SUPPRESSED_NOTE);
    }
    let text = format!(
        "{}\n\n{}\n{t}\n\n{}\n\nEach tenant's report follows.\n",
        paint(&title(rollup), BOLD, opts),
        paint("Roll-up by tenant", BOLD, opts),
        wrap(&note, opts.width)
    );
    write_part(out, Format::Terminal, "portfolio roll-up", &text)
}

const SUPPRESSED_NOTE: &str = " Suppressed: findings the suppressions file accepts; they keep their status and count in Coverage, but --fail-under leaves them out.";

pub(crate) fn markdown(rollup: &Rollup, out: &mut dyn Write) -> Result<(), ReportError> {
    let suppressed = any_suppressed(rollup);
    let mut s = format!("# {}\n\n", title(rollup));
    s.push_str("| Tenant | Tenant id | Attributed | Unattributed | Unknown | Coverage | Leaver risk | Roster gaps |");
    s.push_str(if suppressed { " Suppressed |\n" } else { "\n" });
    s.push_str("|---|---|--:|--:|--:|--:|--:|--:|");
    s.push_str(if suppressed { "--:|\n" } else { "\n" });
    let line = |s: &mut String, name: String, id: String, r: &TenantRollup| {
        let _ = write!(
            s,
            "| {name} | {id} | {} | {} | {} | {} | {} | {} of {} |",
            r.counts.attributed,
            r.counts.unattributed,
            r.counts.unknown,
            format_coverage(&r.counts),
            r.leaver_risk,
            r.roster_gaps,
            r.roster_identities
        );
        if suppressed {
            let _ = write!(s, " {} |", r.suppressed.total());
        }
        s.push('\n');
    };
    for r in &rollup.tenants {
        let mut name = r.label.as_deref().map(markdown_inline).unwrap_or_default();
        if r.partial {
            name.push_str(" (partial snapshot)");
        }
        line(&mut s, name, markdown_code(&r.tenant_id), r);
    }
    line(
        &mut s,
        "**All tenants**".to_owned(),
        String::new(),
        &rollup.overall(),
    );
    let mut note = GAPS_NOTE.to_owned();
    if suppressed {
        note.push_str(SUPPRESSED_NOTE);
    }
    let _ = writeln!(s, "\n{}\n", markdown_inline(&note));
    write_part(out, Format::Markdown, "portfolio roll-up", &s)
}

#[derive(Serialize)]
struct RollupLine<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    tenant_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    collected_at: Option<chrono::DateTime<chrono::Utc>>,
    partial: bool,
    #[serde(flatten)]
    tally: Tally,
    leaver_risk: u64,
    roster_identities: u64,
    roster_gaps: u64,
    /// Verdicts the suppressions file accepts.
    suppressed: u64,
    /// Coverage over the verdicts that are not suppressed: what `--fail-under` compares.
    gate_coverage_pct: f64,
}

impl<'a> From<&'a TenantRollup> for RollupLine<'a> {
    fn from(r: &'a TenantRollup) -> Self {
        RollupLine {
            tenant_id: &r.tenant_id,
            label: r.label.as_deref(),
            collected_at: r.collected_at,
            partial: r.partial,
            tally: Tally::from(&r.counts),
            leaver_risk: r.leaver_risk,
            roster_identities: r.roster_identities,
            roster_gaps: r.roster_gaps,
            suppressed: r.suppressed.total(),
            gate_coverage_pct: crate::coverage_tenths(&r.gated_counts()) as f64 / 10.0,
        }
    }
}

#[derive(Serialize)]
struct RollupJson<'a> {
    tenants: Vec<RollupLine<'a>>,
    overall: RollupLine<'a>,
}

/// Writes the portfolio JSON document a tenant at a time: `schema_version`
/// ([`PORTFOLIO_SCHEMA_VERSION`]), `kind` `"portfolio"`, `tenants` (each tenant's full
/// JSON report, as `palaudit audit --json` writes it for one tenant), then `rollup`
/// (one line per tenant and `overall`). The roll-up comes last so the document can be
/// written while tenants stream past, without holding their reports.
pub struct PortfolioJson {
    tenants: usize,
}

fn json_err(source: std::io::Error, part: &str) -> ReportError {
    ReportError::Io {
        format: Format::Json,
        part: part.to_owned(),
        source,
    }
}

/// One tenant's report streaming into a [`PortfolioJson`] document.
pub struct PortfolioTenant<'a> {
    sink: JsonSink<Indented<'a>>,
    doc: &'a mut PortfolioJson,
}

impl PortfolioTenant<'_> {
    /// Counts the tenant in the document once its report is written.
    pub fn done(self) {
        self.doc.tenants += 1;
    }
}

impl VerdictSink for PortfolioTenant<'_> {
    fn begin(&mut self, header: &AuditHeader) -> Result<(), SinkError> {
        self.sink.begin(header)
    }
    fn verdict(&mut self, verdict: &Verdict) -> Result<(), SinkError> {
        self.sink.verdict(verdict)
    }
    fn verdicts(&mut self, block: &[Verdict]) -> Result<(), SinkError> {
        self.sink.verdicts(block)
    }
    fn end(&mut self, summary: &AuditSummary) -> Result<(), SinkError> {
        self.sink.end(summary)
    }
}

/// Writes a tenant's report as [`indent`] does: after the separator, every line but the
/// first indented by four spaces, and the report's final newline left out (so a
/// newline is written only once something follows it).
struct Indented<'a> {
    out: &'a mut (dyn Write + Send),
    sep: Option<&'static [u8]>,
    newline: bool,
}

impl Write for Indented<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if let Some(sep) = self.sep.take() {
            self.out.write_all(sep)?;
        }
        for line in buf.split_inclusive(|b| *b == b'\n') {
            if self.newline {
                self.out.write_all(b"\n    ")?;
                self.newline = false;
            }
            match line.strip_suffix(b"\n") {
                Some(text) => {
                    self.out.write_all(text)?;
                    self.newline = true;
                }
                None => self.out.write_all(line)?,
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// `text` with every line but the first indented by `pad`.
fn indent(text: &str, pad: &str) -> String {
    text.trim_end().replace('\n', &format!("\n{pad}"))
}

impl PortfolioJson {
    pub fn begin(out: &mut dyn Write) -> Result<PortfolioJson, ReportError> {
        let head = format!(
            "{{\n  \"schema_version\": {PORTFOLIO_SCHEMA_VERSION},\n  \"kind\": \"portfolio\",\n  \"tenants\": ["
        );
        out.write_all(head.as_bytes())
            .map_err(|e| json_err(e, "portfolio header"))?;
        Ok(PortfolioJson { tenants: 0 })
    }

    pub fn tenant(&mut self, findings: &Findings, out: &mut dyn Write) -> Result<(), ReportError> {
        let mut report = Vec::new();
        crate::json_report::render(findings, &mut report)?;
        let report = String::from_utf8(report).expect("serde_json writes UTF-8");
        let sep = if self.tenants == 0 {
            "\n    "
        } else {
            ",\n    "
        };
        out.write_all(format!("{sep}{}", indent(&report, "    ")).as_bytes())
            .map_err(|e| json_err(e, &format!("report of tenant {}", findings.tenant_id)))?;
        self.tenants += 1;
        Ok(())
    }

    /// A sink that writes one tenant's report into the document at `out` as its audit
    /// streams past, byte for byte what [`PortfolioJson::tenant`] writes for the same
    /// findings (the verdicts wait in a temporary file, as [`JsonSink::spooled`] says).
    /// Call [`PortfolioTenant::done`] after the tenant's `end`.
    pub fn tenant_sink<'a>(
        &'a mut self,
        out: &'a mut (dyn Write + Send),
    ) -> Result<PortfolioTenant<'a>, ReportError> {
        let sep: &'static [u8] = if self.tenants == 0 {
            b"\n    "
        } else {
            b",\n    "
        };
        let indented = Indented {
            out,
            sep: Some(sep),
            newline: false,
        };
        Ok(PortfolioTenant {
            sink: JsonSink::spooled(indented)?,
            doc: self,
        })
    }

    pub fn end(self, rollup: &Rollup, out: &mut dyn Write) -> Result<(), ReportError> {
        let overall = rollup.overall();
        let doc = RollupJson {
            tenants: rollup.tenants.iter().map(RollupLine::from).collect(),
            overall: RollupLine::from(&overall),
        };
        let text =
            serde_json::to_string_pretty(&doc).map_err(|source| ReportError::Json { source })?;
        let close = if self.tenants == 0 { "]" } else { "\n  ]" };
        let tail = format!("{close},\n  \"rollup\": {}\n}}\n", indent(&text, "  "));
        out.write_all(tail.as_bytes())
            .map_err(|e| json_err(e, "portfolio roll-up"))
    }
}
