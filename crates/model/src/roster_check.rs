//! The roster-check file: what `palaudit identities verify --out FILE` found out about
//! each PAL identity's link and Azure role assignments, read back by `audit
//! --roster-check FILE`. Its format is shared vocabulary: `collect` writes it, the CLI
//! reads it, reports show it.

use crate::roster_findings::{LinkCheck, LinkState};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The result for one roster identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentityCheck {
    /// The identities file line of the roster row.
    pub line: u64,
    pub partner_id: String,
    /// `user` or `service_principal`.
    pub principal_type: String,
    /// The roster's object id.
    #[serde(default)]
    pub object_id: Option<String>,
    /// The object id the identity's own token names, when the roster has none (used to
    /// read its Azure role assignments).
    #[serde(default)]
    pub resolved_object_id: Option<String>,
    #[serde(default)]
    pub app_id: Option<String>,
    #[serde(default)]
    pub upn: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    pub link_state: LinkState,
    /// The partner ID the API reports, when one is linked.
    #[serde(default)]
    pub linked_partner_id: Option<String>,
    /// How the link was checked, or why it could not be.
    pub detail: String,
    /// Azure RBAC role assignments of the identity at subscription, resource group or
    /// resource scope; `None` when they could not be read.
    #[serde(default)]
    pub rbac_assignments: Option<u32>,
    /// The distinct scopes of those assignments.
    #[serde(default)]
    pub rbac_scopes: Vec<String>,
    /// The commands that would fix a missing or wrong link (palaudit never runs them).
    #[serde(default)]
    pub fix: Vec<String>,
}

/// `palaudit identities verify --out`: what was checked, for `audit` to show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RosterCheck {
    pub tenant_id: String,
    pub checked_at: chrono::DateTime<chrono::Utc>,
    /// Subscriptions the `[auth]` identity can see (`None`: the list could not be read).
    #[serde(default)]
    pub subscriptions: Option<u32>,
    /// Problems that did not stop the check (an unreadable subscription, …).
    #[serde(default)]
    pub notes: Vec<String>,
    pub identities: Vec<IdentityCheck>,
}

impl IdentityCheck {
    /// The identity as people know it: display name, else UPN, object id or app id.
    pub fn name(&self) -> &str {
        self.display_name
            .as_deref()
            .or(self.upn.as_deref())
            .or(self.object_id.as_deref())
            .or(self.app_id.as_deref())
            .unwrap_or("")
    }
}

impl RosterCheck {
    /// The results as the audit applies them to its roster section: one per identity,
    /// named by object id, else app id, else UPN.
    pub fn link_checks(&self) -> Vec<LinkCheck> {
        self.identities
            .iter()
            .filter_map(|i| {
                let principal_id = i
                    .object_id
                    .clone()
                    .or_else(|| i.app_id.clone())
                    .or_else(|| i.upn.clone())?;
                Some(LinkCheck {
                    partner_id: i.partner_id.clone(),
                    principal_id,
                    link_state: i.link_state,
                    rbac_assignments: i.rbac_assignments,
                })
            })
            .collect()
    }
}

/// A roster-check file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RosterCheckError {
    #[error("cannot read roster check file {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{}:{line}:{column}: not a roster check written by `palaudit identities verify --out`: {message}",
        path.display()
    )]
    Malformed {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "roster check file {} is for tenant {found}, but the snapshot is of tenant {expected}",
        path.display()
    )]
    OtherTenant {
        path: PathBuf,
        found: String,
        expected: String,
    },
}

impl RosterCheck {
    /// Reads a roster-check file and checks that it is for `tenant`.
    pub fn load(path: &Path, tenant: &str) -> Result<RosterCheck, RosterCheckError> {
        let text = std::fs::read(path).map_err(|source| RosterCheckError::Read {
            path: path.to_owned(),
            source,
        })?;
        RosterCheck::parse(&text, path, tenant)
    }

    /// Reads the bytes of a roster-check file (`path` names it in messages). A UTF-8
    /// byte-order mark, which Windows editors add, is skipped; line numbers count LF,
    /// CRLF and lone CR line ends alike.
    pub fn parse(bytes: &[u8], path: &Path, tenant: &str) -> Result<RosterCheck, RosterCheckError> {
        let text = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        // serde_json counts `\n` only. A raw CR is whitespace to JSON (it cannot stand in a
        // string), so lone CR line ends become LF and every line number is an editor's.
        let text: std::borrow::Cow<'_, [u8]> = if text.contains(&b'\r') {
            let mut lf = Vec::with_capacity(text.len());
            for (i, &b) in text.iter().enumerate() {
                if b == b'\r' && text.get(i + 1) != Some(&b'\n') {
                    lf.push(b'\n');
                } else {
                    lf.push(b);
                }
            }
            lf.into()
        } else {
            text.into()
        };
        let check: RosterCheck =
            serde_json::from_slice(&text).map_err(|e| RosterCheckError::Malformed {
                path: path.to_owned(),
                line: e.line(),
                column: e.column(),
                message: e.to_string(),
            })?;
        if !check.tenant_id.eq_ignore_ascii_case(tenant) {
            return Err(RosterCheckError::OtherTenant {
                path: path.to_owned(),
                found: check.tenant_id,
                expected: tenant.to_owned(),
            });
        }
        Ok(check)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TENANT: &str = "d8d86e5f-13e9-4bb5-bb94-0f99b507cd15";

    /// A roster check whose fourth line has a misspelt field name.
    fn broken(eol: &str) -> String {
        [
            "{",
            &format!("  \"tenant_id\": \"{TENANT}\","),
            "  \"checked_at\": \"2026-11-30T10:00:00Z\",",
            "  \"identitys\": []",
            "}",
        ]
        .join(eol)
    }

    fn line_of(bytes: &[u8]) -> usize {
        match RosterCheck::parse(bytes, Path::new("check.json"), TENANT) {
            Err(RosterCheckError::Malformed { line, .. }) => line,
            other => panic!("not a malformed-file error: {other:?}"),
        }
    }

    #[test]
    fn line_numbers_are_the_same_for_every_line_end_and_a_bom() {
        // serde_json names the closing brace of the object that lacks `identities`.
        let lf = line_of(broken("\n").as_bytes());
        assert_eq!(lf, 5);
        assert_eq!(line_of(broken("\r\n").as_bytes()), lf, "CRLF");
        assert_eq!(line_of(broken("\r").as_bytes()), lf, "lone CR");
        let mut bom = b"\xef\xbb\xbf".to_vec();
        bom.extend_from_slice(broken("\r\n").as_bytes());
        assert_eq!(line_of(&bom), lf, "BOM and CRLF");
    }

    #[test]
    fn a_bom_is_not_an_error_and_the_tenant_is_checked() {
        let good = broken("\r\n").replace("identitys", "identities");
        let mut bytes = b"\xef\xbb\xbf".to_vec();
        bytes.extend_from_slice(good.as_bytes());
        let check = RosterCheck::parse(&bytes, Path::new("check.json"), TENANT).unwrap();
        assert!(check.identities.is_empty());
        let other = RosterCheck::parse(&bytes, Path::new("check.json"), "another-tenant");
        assert!(matches!(other, Err(RosterCheckError::OtherTenant { .. })));
    }
}
