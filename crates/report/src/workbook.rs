//! The evidence workbook (`--xlsx`): one `.xlsx` file a partner hands to the customer
//! or the specialization auditor, with five sheets — *Summary*, *Verdicts*, *Roster*,
//! *Fix plan* and *Run* (docs/evidence.md lists every column).
//!
//! [`EvidenceWorkbook`] is a [`VerdictSink`]: verdicts stream into the *Verdicts* sheet
//! as they arrive, in rust_xlsxwriter's constant-memory mode (each row goes to a
//! temporary file as soon as the next one starts), so a million-resource audit does not
//! hold a million rows of cells. The other sheets are written from each tenant's
//! [`AuditSummary`] and are small. A portfolio writes every tenant into the same sheets
//! (every sheet's first column is `tenant_id`) and adds an all-tenants row to the
//! summary. The file itself is written in [`VerdictSink::finish`].
//!
//! Cells are typed: counts and line numbers are numbers, coverage a percentage, dates
//! and times Excel dates, `leaver_risk` and `suppressed` booleans. Text is written as
//! text, never as a formula, so a resource name beginning with `=` stays a name.

use crate::fix_plan::{self, Credit, PlanItem, PlanItems, Shell, Step, TargetChoice};
use crate::{CSV_COLUMNS, CSV_EXTRA_COLUMNS, Format, ROSTER_CSV_COLUMNS, ReportError};
use palaudit_model::{
    AuditHeader, AuditSummary, ChangePath, Counts, ResourceType, RosterEntry, SinkError, Verdict,
    VerdictSink,
};
use rust_xlsxwriter::{Color, Format as CellFormat, FormatBorder, Workbook, Worksheet, XlsxError};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The sheets, in the order a reader meets them.
pub const SHEETS: [&str; 5] = ["Summary", "Verdicts", "Roster", "Fix plan", "Run"];

const SUMMARY: usize = 0;
const VERDICTS: usize = 1;
const ROSTER: usize = 2;
const FIX_PLAN: usize = 3;
const RUN: usize = 4;

/// The *Summary* sheet's columns.
pub const SUMMARY_COLUMNS: [&str; 12] = [
    "tenant_id",
    "environment_name",
    "environment_id",
    "environment_type",
    "resource_type",
    "attributed",
    "unattributed",
    "unknown",
    "total",
    "coverage",
    "suppressed",
    "coverage_without_suppressed",
];

/// The *Fix plan* sheet's columns: one row per way of fixing a resource (an offered
/// path, a path not offered, or the reason nothing can be moved).
pub const FIX_PLAN_COLUMNS: [&str; 15] = [
    "tenant_id",
    "environment_name",
    "environment_id",
    "resource_type",
    "resource_id",
    "resource_name",
    "status",
    "reasons",
    "target",
    "path",
    "title",
    "tool",
    "command",
    "credit",
    "note",
];

/// The *Run* sheet's columns: one row per tenant audited.
pub const RUN_COLUMNS: [&str; 10] = [
    "tenant_id",
    "label",
    "collected_at_utc",
    "palaudit_version",
    "collected_by",
    "snapshot",
    "snapshot_checksum",
    "rules",
    "identities",
    "collection_errors",
];

/// Excel's last row index; the header takes row 0.
const MAX_ROW: u32 = 1_048_575;
/// Excel's longest cell text.
const MAX_TEXT: usize = 32_767;

/// What the workbook needs besides the verdicts.
#[derive(Debug, Clone, Default)]
pub struct WorkbookOptions {
    /// The roster identity the *Fix plan* sheet moves resources to (`--fix-plan-to`);
    /// `None` for the default target.
    pub fix_plan_to: Option<String>,
    /// The shell the *Fix plan* sheet's commands are written in; PowerShell by default.
    pub shell: Option<Shell>,
}

/// Cell formats, made once.
struct Formats {
    header: CellFormat,
    bold: CellFormat,
    bold_pct: CellFormat,
    pct: CellFormat,
    date: CellFormat,
    time: CellFormat,
    wrap: CellFormat,
}

impl Formats {
    fn new() -> Formats {
        Formats {
            header: CellFormat::new()
                .set_bold()
                .set_background_color(Color::RGB(0xDDE4EE))
                .set_border_bottom(FormatBorder::Thin),
            bold: CellFormat::new().set_bold(),
            bold_pct: CellFormat::new().set_bold().set_num_format("0.0%"),
            pct: CellFormat::new().set_num_format("0.0%"),
            date: CellFormat::new().set_num_format("yyyy-mm-dd"),
            time: CellFormat::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
            wrap: CellFormat::new().set_text_wrap(),
        }
    }
}

/// The evidence workbook, written as verdicts stream past; saved by `finish`.
pub struct EvidenceWorkbook {
    path: PathBuf,
    book: Workbook,
    formats: Formats,
    options: WorkbookOptions,
    /// The *Verdicts* sheet being written (a further one once Excel's row limit is hit).
    verdict_sheet: usize,
    verdict_row: u32,
    /// Rows written so far on the other sheets.
    summary_row: u32,
    roster_row: u32,
    plan_row: u32,
    run_row: u32,
    /// The tenant being written.
    header: Option<AuditHeader>,
    tenant_id: String,
    /// Suppressed verdicts per (environment id, type) of the tenant being written; the
    /// audit summary counts them only over the whole tenant.
    suppressed: BTreeMap<(String, ResourceType), Counts>,
    /// Every tenant's counts and suppressed counts, for the all-tenants row.
    tenants: Vec<(Counts, Counts)>,
}

fn xlsx(part: impl Into<String>) -> impl FnOnce(XlsxError) -> ReportError {
    let part = part.into();
    move |source| ReportError::Xlsx {
        format: Format::Workbook,
        part,
        source,
    }
}

/// `s` as Excel accepts it: at most 32,767 characters.
fn cell_text(s: &str) -> std::borrow::Cow<'_, str> {
    if s.chars().count() <= MAX_TEXT {
        return s.into();
    }
    let mut t: String = s.chars().take(MAX_TEXT - 1).collect();
    t.push('…');
    t.into()
}

fn text(ws: &mut Worksheet, row: u32, col: u16, s: &str) -> Result<(), XlsxError> {
    if !s.is_empty() {
        ws.write_string(row, col, cell_text(s))?;
    }
    Ok(())
}

fn opt_text(ws: &mut Worksheet, row: u32, col: u16, s: Option<&str>) -> Result<(), XlsxError> {
    text(ws, row, col, s.unwrap_or(""))
}

fn header_row(
    ws: &mut Worksheet,
    names: &[&str],
    widths: &[f64],
    f: &Formats,
) -> Result<(), XlsxError> {
    for (col, (name, width)) in names.iter().zip(widths).enumerate() {
        let col = col as u16;
        ws.set_column_width(col, *width)?;
        ws.write_string_with_format(0, col, *name, &f.header)?;
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

/// The *Verdicts* sheet's column widths, in [`CSV_COLUMNS`] then [`CSV_EXTRA_COLUMNS`]
/// order.
const VERDICT_WIDTHS: [f64; 20] = [
    38.0, 38.0, 26.0, 16.0, 17.0, 38.0, 34.0, 13.0, 12.0, 38.0, 16.0, 34.0, 24.0, 30.0, 26.0, 11.0,
    11.0, 32.0, 22.0, 19.0,
];

fn verdict_header(ws: &mut Worksheet, f: &Formats) -> Result<(), XlsxError> {
    let names: Vec<&str> = CSV_COLUMNS
        .iter()
        .chain(CSV_EXTRA_COLUMNS.iter())
        .copied()
        .collect();
    header_row(ws, &names, &VERDICT_WIDTHS, f)
}

impl EvidenceWorkbook {
    /// A workbook to be saved at `path` when the sink finishes. Nothing is written there
    /// before then.
    pub fn create(path: &Path, options: WorkbookOptions) -> Result<EvidenceWorkbook, ReportError> {
        let mut book = Workbook::new();
        // Deflate at its fastest: a million-row workbook saves in about half the time
        // for about 1.8 times the bytes (BENCHMARKS.md), and the workbook of a typical
        // tenant stays a few megabytes.
        book.set_zip_compression_level(1);
        let formats = Formats::new();
        let f = &formats;
        let sheet = |e| xlsx("creating the sheets")(e);

        // Every sheet is written row after row, so every sheet streams its rows to disk:
        // a portfolio's summary and roster rows grow with its tenants.
        let ws = book
            .add_worksheet_with_constant_memory()
            .map_err(sheet)?
            .set_name(SHEETS[SUMMARY])
            .map_err(sheet)?;
        header_row(
            ws,
            &SUMMARY_COLUMNS,
            &[
                38.0, 26.0, 38.0, 16.0, 17.0, 11.0, 13.0, 10.0, 9.0, 10.0, 12.0, 28.0,
            ],
            f,
        )
        .map_err(sheet)?;

        let ws = book
            .add_worksheet_with_constant_memory()
            .map_err(sheet)?
            .set_name(SHEETS[VERDICTS])
            .map_err(sheet)?;
        verdict_header(ws, f).map_err(sheet)?;

        let ws = book
            .add_worksheet_with_constant_memory()
            .map_err(sheet)?
            .set_name(SHEETS[ROSTER])
            .map_err(sheet)?;
        header_row(
            ws,
            &ROSTER_CSV_COLUMNS,
            &[
                38.0, 6.0, 12.0, 18.0, 16.0, 26.0, 34.0, 38.0, 38.0, 18.0, 14.0, 17.0, 18.0,
            ],
            f,
        )
        .map_err(sheet)?;

        let ws = book
            .add_worksheet_with_constant_memory()
            .map_err(sheet)?
            .set_name(SHEETS[FIX_PLAN])
            .map_err(sheet)?;
        header_row(
            ws,
            &FIX_PLAN_COLUMNS,
            &[
                38.0, 24.0, 38.0, 17.0, 38.0, 30.0, 13.0, 30.0, 28.0, 12.0, 34.0, 26.0, 80.0, 10.0,
                60.0,
            ],
            f,
        )
        .map_err(sheet)?;

        let ws = book
            .add_worksheet_with_constant_memory()
            .map_err(sheet)?
            .set_name(SHEETS[RUN])
            .map_err(sheet)?;
        header_row(
            ws,
            &RUN_COLUMNS,
            &[38.0, 18.0, 20.0, 18.0, 18.0, 40.0, 66.0, 40.0, 40.0, 17.0],
            f,
        )
        .map_err(sheet)?;

        Ok(EvidenceWorkbook {
            path: path.to_owned(),
            book,
            formats,
            options,
            verdict_sheet: VERDICTS,
            verdict_row: 0,
            summary_row: 0,
            roster_row: 0,
            plan_row: 0,
            run_row: 0,
            header: None,
            tenant_id: String::new(),
            suppressed: BTreeMap::new(),
            tenants: Vec::new(),
        })
    }

    fn sheet(&mut self, index: usize) -> &mut Worksheet {
        // Every index used here was added in `create` (or by `next_verdict_sheet`).
        self.book
            .worksheet_from_index(index)
            .expect("the workbook's sheets exist")
    }

    /// Excel holds 1,048,575 rows under a header: the verdicts continue on
    /// `Verdicts 2`, `Verdicts 3`, … (after the *Run* sheet) rather than being dropped.
    fn next_verdict_sheet(&mut self) -> Result<(), XlsxError> {
        let n = self.book.worksheets().len() - RUN + 1;
        let ws = self.book.add_worksheet_with_constant_memory()?;
        ws.set_name(format!("{} {n}", SHEETS[VERDICTS]))?;
        verdict_header(ws, &self.formats)?;
        let last = self.verdict_row;
        let prev = self.verdict_sheet;
        self.book.worksheet_from_index(prev)?.autofilter(
            0,
            0,
            last,
            VERDICT_WIDTHS.len() as u16 - 1,
        )?;
        self.verdict_sheet = self.book.worksheets().len() - 1;
        self.verdict_row = 0;
        Ok(())
    }

    fn write_verdict(&mut self, tenant_id: &str, v: &Verdict) -> Result<(), XlsxError> {
        if self.verdict_row == MAX_ROW {
            self.next_verdict_sheet()?;
        }
        self.verdict_row += 1;
        let row = self.verdict_row;
        let index = self.verdict_sheet;
        let date = self.formats.date.clone();
        let ws = self.sheet(index);
        let strings: [&str; 8] = [
            tenant_id,
            &v.environment_id,
            &v.environment_name,
            &v.environment_type,
            v.resource_type.as_str(),
            &v.resource_id,
            &v.resource_name,
            v.status.as_str(),
        ];
        for (col, s) in strings.iter().enumerate() {
            text(ws, row, col as u16, s)?;
        }
        opt_text(ws, row, 8, v.partner_id.as_deref())?;
        opt_text(ws, row, 9, v.attributed_principal_id.as_deref())?;
        opt_text(ws, row, 10, v.attributing_role.map(|r| r.as_str()))?;
        let reasons: Vec<&str> = v.reasons.iter().map(|r| r.as_str()).collect();
        text(ws, row, 11, &reasons.join(";"))?;
        text(ws, row, 12, &ChangePath::join(&v.change_paths_user))?;
        text(
            ws,
            row,
            13,
            &ChangePath::join(&v.change_paths_service_principal),
        )?;
        opt_text(ws, row, 14, v.attributed_principal_name.as_deref())?;
        ws.write_boolean(row, 15, v.leaver_risk)?;
        ws.write_boolean(row, 16, v.suppression.is_some())?;
        if let Some(s) = &v.suppression {
            text(ws, row, 17, &s.reason)?;
            text(ws, row, 18, &s.approved_by)?;
            ws.write_datetime_with_format(row, 19, s.expires, &date)?;
        }
        Ok(())
    }

    fn write_counts(
        &mut self,
        row: u32,
        counts: &Counts,
        suppressed: &Counts,
        bold: bool,
    ) -> Result<(), XlsxError> {
        let (num, pct) = if bold {
            (
                Some(self.formats.bold.clone()),
                self.formats.bold_pct.clone(),
            )
        } else {
            (None, self.formats.pct.clone())
        };
        let ws = self.sheet(SUMMARY);
        let numbers = [
            counts.attributed,
            counts.unattributed,
            counts.unknown,
            counts.total(),
        ];
        for (i, n) in numbers.into_iter().enumerate() {
            let col = 5 + i as u16;
            match &num {
                Some(f) => ws.write_number_with_format(row, col, n as f64, f)?,
                None => ws.write_number(row, col, n as f64)?,
            };
        }
        ws.write_number_with_format(row, 9, coverage(counts), &pct)?;
        match &num {
            Some(f) => ws.write_number_with_format(row, 10, suppressed.total() as f64, f)?,
            None => ws.write_number(row, 10, suppressed.total() as f64)?,
        };
        ws.write_number_with_format(row, 11, coverage(&counts.without(suppressed)), &pct)?;
        Ok(())
    }

    fn write_summary(&mut self, tenant_id: &str, summary: &AuditSummary) -> Result<(), XlsxError> {
        // Environments by name, as every other report lists them; then type.
        let mut cells: Vec<(&(String, ResourceType), &Counts)> =
            summary.by_environment_and_type.iter().collect();
        let name = |id: &str| summary.environments.get(id).map_or("", |e| e.0.as_str());
        cells.sort_by(|((a, at), _), ((b, bt), _)| {
            crate::coverage::cmp_environment((name(a), a), (name(b), b)).then(at.cmp(bt))
        });
        for ((env, ty), counts) in cells {
            self.summary_row += 1;
            let row = self.summary_row;
            let (env_name, env_type) = summary
                .environments
                .get(env)
                .map(|(n, t)| (n.as_str(), t.as_str()))
                .unwrap_or_default();
            let ws = self.sheet(SUMMARY);
            text(ws, row, 0, tenant_id)?;
            text(ws, row, 1, env_name)?;
            text(ws, row, 2, env)?;
            text(ws, row, 3, env_type)?;
            text(ws, row, 4, ty.as_str())?;
            let suppressed = self
                .suppressed
                .get(&(env.clone(), *ty))
                .copied()
                .unwrap_or_default();
            self.write_counts(row, counts, &suppressed, false)?;
        }
        self.summary_row += 1;
        let row = self.summary_row;
        let bold = self.formats.bold.clone();
        let ws = self.sheet(SUMMARY);
        ws.write_string_with_format(row, 0, cell_text(tenant_id), &bold)?;
        ws.write_string_with_format(row, 1, "All environments", &bold)?;
        ws.write_string_with_format(row, 4, "all", &bold)?;
        self.write_counts(row, &summary.counts(), &summary.suppressed, true)
    }

    fn write_roster(&mut self, tenant_id: &str, entries: &[RosterEntry]) -> Result<(), XlsxError> {
        for e in entries {
            self.roster_row += 1;
            let row = self.roster_row;
            let ws = self.sheet(ROSTER);
            text(ws, row, 0, tenant_id)?;
            ws.write_number(row, 1, e.line as f64)?;
            text(ws, row, 2, &e.partner_id)?;
            text(ws, row, 3, e.principal_type.as_str())?;
            text(ws, row, 4, e.account_kind.as_str())?;
            opt_text(ws, row, 5, e.display_name.as_deref())?;
            opt_text(ws, row, 6, e.upn.as_deref())?;
            opt_text(ws, row, 7, e.object_id.as_deref())?;
            opt_text(ws, row, 8, e.app_id.as_deref())?;
            text(ws, row, 9, e.health.as_str())?;
            text(ws, row, 10, e.link_state.as_str())?;
            if let Some(n) = e.rbac_assignments {
                ws.write_number(row, 11, n as f64)?;
            }
            ws.write_number(row, 12, e.credited_resources as f64)?;
        }
        Ok(())
    }

    fn plan_row(&mut self, cells: [&str; 15]) -> Result<(), XlsxError> {
        self.plan_row += 1;
        let row = self.plan_row;
        let wrap = self.formats.wrap.clone();
        let ws = self.sheet(FIX_PLAN);
        for (col, s) in cells.iter().enumerate() {
            if s.is_empty() {
                continue;
            }
            // The command and the note run over several lines.
            if col == 12 || col == 14 {
                ws.write_string_with_format(row, col as u16, cell_text(s), &wrap)?;
            } else {
                ws.write_string(row, col as u16, cell_text(s))?;
            }
        }
        Ok(())
    }

    fn write_plan(&mut self, plan: &dyn PlanItems) -> Result<(), ReportError> {
        let head = plan.head();
        let target = head.target.label();
        plan.each_item(&mut |item| {
            self.write_plan_item(head.tenant_id, &target, item)
                .map_err(|e| xlsx(format!("Fix plan sheet, tenant {}", head.tenant_id))(e))
        })
    }

    /// The rows of one plan item: a blocker, each path, each path not offered.
    fn write_plan_item(
        &mut self,
        tenant_id: &str,
        target: &str,
        item: &PlanItem,
    ) -> Result<(), XlsxError> {
        let shell = self.options.shell.unwrap_or(Shell::PowerShell);
        let reasons: Vec<&str> = item.reasons.iter().map(|r| r.as_str()).collect();
        let reasons = reasons.join(";");
        let item_cells = [
            tenant_id,
            item.environment_name.as_str(),
            item.environment_id.as_str(),
            item.resource_type.as_str(),
            item.resource_id.as_str(),
            item.resource_name.as_str(),
            item.status.as_str(),
            reasons.as_str(),
            target,
        ];
        let lead = |way: [&str; 6]| -> [String; 15] {
            std::array::from_fn(|i| if i < 9 { item_cells[i] } else { way[i - 9] }.to_owned())
        };
        let mut rows: Vec<[String; 15]> = Vec::new();
        if let Some(b) = &item.blocker {
            let note = format!("{}: {}", b.reason.as_str(), b.remedy);
            rows.push(lead([
                "none",
                "No ownership move helps",
                "",
                "",
                "none",
                &note,
            ]));
        }
        for p in &item.paths {
            let mut command = Vec::new();
            let mut step = 0;
            for st in &p.steps {
                match st {
                    Step::Manual(t) => {
                        step += 1;
                        command.push(format!("{step}. {t}"));
                    }
                    Step::Command(c) => command.extend(c.render(shell)),
                }
            }
            let credit = match p.credit {
                Credit::Certain => "certain",
                Credit::Possible => "possible",
            };
            let note = format!(
                "Run as {}. Changes: {} Credit {credit}: {}",
                p.run_as.as_str(),
                p.changes,
                p.credit_reason
            );
            rows.push(lead([
                p.path.as_str(),
                &p.title,
                &p.tool,
                &command.join("\n"),
                credit,
                &note,
            ]));
        }
        for no in &item.not_offered {
            let title = no.what.as_deref().unwrap_or("Not offered");
            rows.push(lead([no.path.as_str(), title, "", "", "none", &no.why]));
        }
        for r in rows {
            self.plan_row(r.each_ref().map(String::as_str))?;
        }
        Ok(())
    }

    fn write_run(&mut self, header: &AuditHeader) -> Result<(), XlsxError> {
        self.run_row += 1;
        let row = self.run_row;
        let time = self.formats.time.clone();
        let ws = self.sheet(RUN);
        text(ws, row, 0, &header.tenant_id)?;
        if let Some(at) = header.collected_at {
            ws.write_datetime_with_format(row, 2, at.naive_utc(), &time)?;
        }
        if let Some(run) = &header.run {
            opt_text(ws, row, 1, run.label.as_deref())?;
            text(ws, row, 3, &run.palaudit_version)?;
            opt_text(ws, row, 4, run.collected_by.as_deref())?;
            opt_text(ws, row, 5, run.snapshot.as_deref())?;
            opt_text(ws, row, 6, run.snapshot_checksum.as_deref())?;
            text(ws, row, 7, &run.rules)?;
            text(ws, row, 8, &run.identities)?;
        }
        ws.write_number(row, 9, header.collection_errors.len() as f64)?;
        Ok(())
    }

    fn end_tenant(&mut self, summary: &AuditSummary) -> Result<(), ReportError> {
        let header = self.header.take().unwrap_or_default();
        let tenant = header.tenant_id.clone();
        self.write_summary(&tenant, summary)
            .map_err(xlsx(format!("Summary sheet, tenant {tenant}")))?;
        self.write_roster(&tenant, &summary.roster.identities)
            .map_err(xlsx(format!("Roster sheet, tenant {tenant}")))?;
        let choice = match &self.options.fix_plan_to {
            Some(to) => TargetChoice::Named(to),
            None => TargetChoice::Default,
        };
        match fix_plan::streamed(&header, summary, choice) {
            Ok(plan) => self.write_plan(&plan)?,
            // A tenant without a service account or principal still gets its other
            // sheets; the plan sheet says why it has no rows for it.
            Err(e) if !summary.not_attributed.is_empty() => {
                let msg = e.to_string();
                self.plan_row([
                    &tenant,
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "none",
                    "No fix plan",
                    "",
                    "",
                    "",
                    &msg,
                ])
                .map_err(xlsx(format!("Fix plan sheet, tenant {tenant}")))?
            }
            Err(_) => {}
        }
        self.write_run(&header)
            .map_err(xlsx(format!("Run sheet, tenant {tenant}")))?;
        self.tenants.push((summary.counts(), summary.suppressed));
        self.suppressed.clear();
        Ok(())
    }

    fn save(&mut self) -> Result<(), ReportError> {
        let part = "saving the workbook";
        if self.tenants.len() > 1 {
            let mut all = Counts::default();
            let mut suppressed = Counts::default();
            for (c, s) in &self.tenants {
                for (a, b) in [(&mut all, c), (&mut suppressed, s)] {
                    a.attributed += b.attributed;
                    a.unattributed += b.unattributed;
                    a.unknown += b.unknown;
                }
            }
            self.summary_row += 1;
            let row = self.summary_row;
            let bold = self.formats.bold.clone();
            let ws = self.sheet(SUMMARY);
            ws.write_string_with_format(row, 0, "All tenants", &bold)
                .map_err(xlsx(part))?;
            self.write_counts(row, &all, &suppressed, true)
                .map_err(xlsx(part))?;
        }
        let widths = [
            (SUMMARY, self.summary_row, SUMMARY_COLUMNS.len()),
            (self.verdict_sheet, self.verdict_row, VERDICT_WIDTHS.len()),
            (ROSTER, self.roster_row, ROSTER_CSV_COLUMNS.len()),
            (FIX_PLAN, self.plan_row, FIX_PLAN_COLUMNS.len()),
            (RUN, self.run_row, RUN_COLUMNS.len()),
        ];
        for (index, last, cols) in widths {
            self.sheet(index)
                .autofilter(0, 0, last, cols as u16 - 1)
                .map_err(xlsx(part))?;
        }
        let path = self.path.clone();
        self.book.save(&path).map_err(xlsx(part))
    }
}

/// Attributed ÷ all as a fraction, at the precision every report prints (tenths of a
/// percent), so the workbook's 61.5% is the terminal's 61.5%.
fn coverage(c: &Counts) -> f64 {
    crate::coverage_tenths(c) as f64 / 1000.0
}

impl VerdictSink for EvidenceWorkbook {
    fn begin(&mut self, header: &AuditHeader) -> Result<(), SinkError> {
        self.tenant_id = header.tenant_id.clone();
        self.header = Some(AuditHeader {
            guidance: Default::default(),
            ..header.clone()
        });
        Ok(())
    }

    fn verdict(&mut self, verdict: &Verdict) -> Result<(), SinkError> {
        if verdict.suppression.is_some() {
            self.suppressed
                .entry((verdict.environment_id.to_string(), verdict.resource_type))
                .or_default()
                .add(verdict.status);
        }
        // Taken out for the call, so the row can borrow the workbook mutably.
        let tenant = std::mem::take(&mut self.tenant_id);
        let written = self.write_verdict(&tenant, verdict);
        self.tenant_id = tenant;
        written.map_err(|e| {
            xlsx(format!(
                "Verdicts sheet, row {}, resource {}",
                self.verdict_row, verdict.resource_id
            ))(e)
        })?;
        Ok(())
    }

    fn end(&mut self, summary: &AuditSummary) -> Result<(), SinkError> {
        Ok(self.end_tenant(summary)?)
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        Ok(self.save()?)
    }
}
