//! The JSON report: the full findings plus a summary, under a schema version.

use crate::coverage::{coverage_rows, coverage_tenths};
use crate::{Format, ReportError};
use palaudit_model::{
    AuditHeader, AuditSummary, Counts, Findings, ResourceType, RosterFindings, SinkError,
    TypeGuidance, Verdict, VerdictSink,
};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{Seek, SeekFrom, Write};

/// The version of the JSON report's layout. Bumped when a key is renamed, removed or
/// changes meaning; adding keys does not bump it.
pub const SCHEMA_VERSION: u32 = 1;

// Field order here is the key order in the output (serde writes struct fields in
// declaration order), which keeps the output stable whatever serde_json features other
// crates enable.

#[derive(Serialize)]
struct Report<'a> {
    schema_version: u32,
    tenant_id: &'a str,
    collected_at: &'a Option<chrono::DateTime<chrono::Utc>>,
    /// True when the snapshot recorded collection errors.
    partial: bool,
    collection_errors: &'a [String],
    summary: Summary<'a>,
    guidance: &'a BTreeMap<ResourceType, TypeGuidance>,
    /// The PAL identities of this tenant, their health and credit.
    roster: &'a RosterFindings,
    verdicts: &'a [Verdict],
}

#[derive(Serialize)]
struct Summary<'a> {
    #[serde(flatten)]
    overall: Tally,
    /// Attributed resources whose credit rests on a personal user account.
    leaver_risk: u64,
    /// Verdicts an entry of the suppressions file accepts (each keeps its status).
    suppressed: u64,
    /// Coverage over the verdicts that are not suppressed: what `--fail-under` compares.
    gate_coverage_pct: f64,
    by_environment_and_type: Vec<EnvironmentTypeTally<'a>>,
}

#[derive(Serialize)]
pub(crate) struct Tally {
    total: u64,
    attributed: u64,
    unattributed: u64,
    unknown: u64,
    /// One decimal place, as every report shows it.
    coverage_pct: f64,
}

impl From<&Counts> for Tally {
    fn from(c: &Counts) -> Self {
        Tally {
            total: c.total(),
            attributed: c.attributed,
            unattributed: c.unattributed,
            unknown: c.unknown,
            coverage_pct: coverage_tenths(c) as f64 / 10.0,
        }
    }
}

#[derive(Serialize)]
struct EnvironmentTypeTally<'a> {
    environment_id: &'a str,
    environment_name: &'a str,
    environment_type: &'a str,
    resource_type: ResourceType,
    #[serde(flatten)]
    tally: Tally,
}

pub(crate) fn render(findings: &Findings, out: &mut dyn Write) -> Result<(), ReportError> {
    let mut sink = JsonSink::new(out);
    findings
        .replay(&mut sink)
        .map_err(|e| match e.downcast::<ReportError>() {
            Ok(e) => *e,
            Err(e) => io_err(std::io::Error::other(e), "replaying the findings"),
        })
}

/// A failed write of the report itself: the same error the report gave when it was one
/// `serde_json` write.
fn json_io(source: std::io::Error) -> ReportError {
    ReportError::Json {
        source: serde_json::Error::io(source),
    }
}

fn io_err(source: std::io::Error, part: &str) -> ReportError {
    ReportError::Io {
        format: Format::Json,
        part: part.to_owned(),
        source,
    }
}

/// Where [`JsonSink`] keeps the verdicts' text until the summary, which comes before
/// them in the file, is known.
enum Spool {
    Memory(Vec<u8>),
    File(std::io::BufWriter<std::fs::File>),
}

impl Spool {
    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Spool::Memory(v) => v,
            Spool::File(f) => f,
        }
    }
}

/// The JSON report written as an audit streams past, byte for byte what [`crate::json`]
/// writes for the same findings.
///
/// The report puts its summary before the verdicts, and the summary is known only once
/// every verdict has been seen, so each verdict is rendered (already indented as it
/// appears in the report) into a spool as it arrives; `end` writes the head and then
/// copies the spool into place after it. [`JsonSink::spooled`] spools to an anonymous
/// temporary file, so a million verdicts cost disk, not memory; [`JsonSink::new`] spools
/// in memory.
pub struct JsonSink<W: Write> {
    out: W,
    spool: Spool,
    header: AuditHeader,
    verdicts: u64,
}

impl<W: Write> JsonSink<W> {
    /// A sink that keeps the rendered verdicts in memory until `end`.
    pub fn new(out: W) -> JsonSink<W> {
        JsonSink {
            out,
            spool: Spool::Memory(Vec::new()),
            header: AuditHeader::default(),
            verdicts: 0,
        }
    }

    /// A sink that keeps the rendered verdicts in an anonymous temporary file (removed
    /// by the operating system when the sink is dropped) until `end`.
    pub fn spooled(out: W) -> Result<JsonSink<W>, ReportError> {
        let file = tempfile::tempfile().map_err(|e| io_err(e, "temporary verdict file"))?;
        Ok(JsonSink {
            spool: Spool::File(std::io::BufWriter::new(file)),
            ..JsonSink::new(out)
        })
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.out
    }

    /// Writes the head and the spooled verdicts to `out` (see [`JsonSink`]).
    fn write_report(&mut self, summary: &AuditSummary) -> Result<(), ReportError> {
        let h = &self.header;
        let report = Report {
            schema_version: SCHEMA_VERSION,
            tenant_id: &h.tenant_id,
            collected_at: &h.collected_at,
            partial: !h.collection_errors.is_empty(),
            collection_errors: &h.collection_errors,
            summary: Summary {
                overall: Tally::from(&summary.counts()),
                leaver_risk: summary.leaver_risk,
                suppressed: summary.suppressed.total(),
                gate_coverage_pct: coverage_tenths(&summary.gated_counts()) as f64 / 10.0,
                by_environment_and_type: coverage_rows(summary)
                    .into_iter()
                    .map(|r| EnvironmentTypeTally {
                        environment_id: r.environment_id,
                        environment_name: r.environment_name,
                        environment_type: r.environment_type,
                        resource_type: r.resource_type,
                        tally: Tally::from(&r.counts),
                    })
                    .collect(),
            },
            guidance: &h.guidance,
            roster: &summary.roster,
            verdicts: &[],
        };
        let head =
            serde_json::to_string_pretty(&report).map_err(|source| ReportError::Json { source })?;
        if self.verdicts == 0 {
            return self
                .out
                .write_all(head.as_bytes())
                .map_err(json_io)
                .and_then(|()| {
                    self.out
                        .write_all(b"\n")
                        .map_err(|e| io_err(e, "final newline"))
                });
        }
        // The head ends with the empty verdict list, `[]`, and the closing brace.
        let Some(head) = head.strip_suffix(EMPTY_TAIL) else {
            return Err(io_err(
                std::io::Error::other("the report does not end with its verdict list"),
                "report head",
            ));
        };
        self.out
            .write_all(head.as_bytes())
            .and_then(|()| self.out.write_all(b"["))
            .map_err(json_io)?;
        match &mut self.spool {
            Spool::Memory(v) => self.out.write_all(v).map_err(json_io)?,
            Spool::File(f) => {
                f.flush().map_err(|e| io_err(e, "temporary verdict file"))?;
                let file = f.get_mut();
                file.seek(SeekFrom::Start(0))
                    .map_err(|e| io_err(e, "temporary verdict file"))?;
                std::io::copy(file, &mut self.out).map_err(json_io)?;
            }
        }
        self.out.write_all(b"\n  ]\n}").map_err(json_io)?;
        self.out
            .write_all(b"\n")
            .map_err(|e| io_err(e, "final newline"))
    }
}

/// How the pretty-printed report ends when its verdict list is empty.
const EMPTY_TAIL: &str = "[]\n}";

/// What the pretty printer puts before each line of a verdict in the report's list (the
/// list is a key of the top-level object, so its items sit two levels deep).
const VERDICT_INDENT: &str = "    ";

impl<W: Write> VerdictSink for JsonSink<W> {
    fn begin(&mut self, header: &AuditHeader) -> Result<(), SinkError> {
        if self.verdicts > 0 {
            return Err(
                "the JSON report holds one tenant; a portfolio writes PortfolioJson".into(),
            );
        }
        self.header = header.clone();
        Ok(())
    }

    fn verdict(&mut self, verdict: &Verdict) -> Result<(), SinkError> {
        let text =
            serde_json::to_string_pretty(verdict).map_err(|source| ReportError::Json { source })?;
        // Pretty JSON escapes newlines inside strings, so every line break here is the
        // printer's own and indenting each line nests the verdict exactly as printing it
        // inside the report would.
        let mut item = String::with_capacity(text.len() + 64);
        item.push_str(if self.verdicts == 0 { "\n" } else { ",\n" });
        for (i, line) in text.split('\n').enumerate() {
            if i > 0 {
                item.push('\n');
            }
            item.push_str(VERDICT_INDENT);
            item.push_str(line);
        }
        self.spool
            .writer()
            .write_all(item.as_bytes())
            .map_err(|e| io_err(e, "temporary verdict file"))?;
        self.verdicts += 1;
        Ok(())
    }

    fn end(&mut self, summary: &AuditSummary) -> Result<(), SinkError> {
        self.write_report(summary)?;
        self.out.flush().map_err(|e| io_err(e, "final flush"))?;
        Ok(())
    }
}
