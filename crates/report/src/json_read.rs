//! Reading a JSON report back (`audit --json`), so an earlier run can be compared with a
//! later one without its snapshot.

use crate::json_report::SCHEMA_VERSION;
use palaudit_model::lines::{line_at, strip_bom};
use palaudit_model::{Findings, ResourceType, RosterFindings, TypeGuidance, Verdict};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Why a JSON report could not be read. Positions are 1-based lines (and columns) of the
/// file as given, a UTF-8 byte-order mark and CRLF line ends included.
#[derive(Debug, thiserror::Error)]
pub enum JsonReadError {
    #[error("line {line}, column {column}: not a palaudit JSON report: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "line {line}: schema_version {found} is not one this palaudit reads (it reads version {SCHEMA_VERSION}); re-run `palaudit audit --json` with this version, or diff with the palaudit that wrote it"
    )]
    SchemaVersion { line: usize, found: String },
    #[error("line 1: not a palaudit JSON report: it has no schema_version")]
    NoSchemaVersion,
    #[error(
        "line {line}: this is a portfolio report of several tenants; a diff compares the report of one tenant"
    )]
    Portfolio { line: usize },
}

impl JsonReadError {
    /// The line the problem is on.
    pub fn line(&self) -> usize {
        match self {
            JsonReadError::Syntax { line, .. }
            | JsonReadError::SchemaVersion { line, .. }
            | JsonReadError::Portfolio { line } => *line,
            JsonReadError::NoSchemaVersion => 1,
        }
    }
}

/// Just enough of a report to tell what it is before reading all of it.
#[derive(Deserialize)]
struct Probe {
    #[serde(default)]
    schema_version: Option<serde_json::Value>,
    #[serde(default)]
    kind: Option<String>,
}

/// The parts of the JSON report that make up findings; the summary is derived from them
/// and so not read back.
#[derive(Deserialize)]
struct ReportIn {
    tenant_id: String,
    #[serde(default)]
    collected_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default)]
    collection_errors: Vec<String>,
    #[serde(default)]
    guidance: BTreeMap<ResourceType, TypeGuidance>,
    #[serde(default)]
    roster: RosterFindings,
    verdicts: Vec<Verdict>,
}

/// Reads a JSON report written by [`crate::json`] back into findings.
pub fn read_json(bytes: &[u8]) -> Result<Findings, JsonReadError> {
    // serde_json does not skip a byte-order mark.
    let body = strip_bom(bytes);
    let syntax = |e: serde_json::Error| JsonReadError::Syntax {
        line: e.line().max(1),
        column: e.column(),
        message: strip_position(&e.to_string()),
    };
    let probe: Probe = serde_json::from_slice(body).map_err(syntax)?;
    let line = |key: &str| key_line(body, key);
    if probe.kind.as_deref() == Some("portfolio") {
        return Err(JsonReadError::Portfolio { line: line("kind") });
    }
    match &probe.schema_version {
        None => return Err(JsonReadError::NoSchemaVersion),
        Some(v) if v.as_u64() == Some(u64::from(SCHEMA_VERSION)) => {}
        Some(v) => {
            return Err(JsonReadError::SchemaVersion {
                line: line("schema_version"),
                found: v.to_string(),
            });
        }
    }
    let report: ReportIn = serde_json::from_slice(body).map_err(syntax)?;
    Ok(Findings {
        tenant_id: report.tenant_id,
        collected_at: report.collected_at,
        collection_errors: report.collection_errors,
        verdicts: report.verdicts,
        guidance: report.guidance,
        roster: report.roster,
    })
}

/// serde_json ends its messages with " at line L column C", which the error says itself.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// The line of the first `"key":` in the text (1 when it is not found). The writer puts
/// `schema_version` and `kind` before any verdict, so the first occurrence is the
/// document's own key, not a resource name that happens to spell it.
fn key_line(text: &[u8], key: &str) -> usize {
    let needle = format!("\"{key}\"");
    let at = text
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())
        .unwrap_or(0);
    line_at(text, at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_numbers_survive_crlf_and_a_bom() {
        let text = b"\xEF\xBB\xBF{\r\n  \"schema_version\": 9,\r\n  \"tenant_id\": \"t\"\r\n}";
        let err = read_json(text).unwrap_err();
        assert_eq!(err.line(), 2, "{err}");
        assert!(err.to_string().contains("schema_version 9"), "{err}");
    }

    #[test]
    fn syntax_errors_say_where() {
        let err = read_json(b"{\n  \"schema_version\": 1,\n  \"tenant_id\": \n}").unwrap_err();
        assert!(
            matches!(err, JsonReadError::Syntax { line: 4, .. }),
            "{err:?}"
        );
        assert!(!err.to_string().contains(" at line "), "{err}");
    }

    #[test]
    fn a_document_without_a_version_is_not_a_report() {
        let err = read_json(b"[1, 2]").unwrap_err();
        assert!(matches!(err, JsonReadError::Syntax { .. }), "{err:?}");
        let err = read_json(b"{\"verdicts\": []}").unwrap_err();
        assert!(matches!(err, JsonReadError::NoSchemaVersion), "{err:?}");
    }

    #[test]
    fn a_portfolio_is_named() {
        let err = read_json(b"{\n\"schema_version\": 1,\n\"kind\": \"portfolio\"}").unwrap_err();
        assert_eq!(err.line(), 3, "{err}");
    }
}
