//! The identities file: the partner's PAL-linked identities, one CSV row each.
//!
//! `partner_id,tenant_id,principal_type,object_id,app_id,upn,display_name` (README
//! "Audit a real tenant", step 2), plus the optional column `account_kind` (`personal` |
//! `service_account`): whether a user row is someone's own account or a dedicated
//! delivery account. Files without it load as before: user rows are then `personal`.
//! Every problem in the file is reported at once, each with its line, so a delivery lead
//! fixes the roster in one pass.

use crate::ids::{is_guid, norm, upn_match_key};
use crate::lines::{LineIndex, strip_bom};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub const COLUMNS: [&str; 7] = [
    "partner_id",
    "tenant_id",
    "principal_type",
    "object_id",
    "app_id",
    "upn",
    "display_name",
];

/// Optional columns: a file may leave them out, and every row then takes their default.
pub const OPTIONAL_COLUMNS: [&str; 1] = ["account_kind"];

/// Whether a PAL identity is a user account or a service principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    User,
    ServicePrincipal,
}

impl PrincipalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::User => "user",
            PrincipalKind::ServicePrincipal => "service_principal",
        }
    }
}

/// Whose account a PAL identity is. Credit that rests on a person's own account ends
/// when that person leaves the partner (the guest is removed, the account disabled), so
/// the rule book recommends a dedicated service account or a service principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// A consultant's own user account (the default for user rows).
    Personal,
    /// A dedicated delivery account, or a service principal.
    ServiceAccount,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Personal => "personal",
            AccountKind::ServiceAccount => "service_account",
        }
    }
}

/// One PAL-linked identity. Ids are stored lower-cased.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Identity {
    /// 1-based line of the identities file this came from.
    pub line: u64,
    pub partner_id: String,
    pub tenant_id: String,
    pub principal_type: PrincipalKind,
    /// `personal` unless the file says `service_account`; always `service_account` for a
    /// service principal.
    pub account_kind: AccountKind,
    pub object_id: Option<String>,
    pub app_id: Option<String>,
    pub upn: Option<String>,
    pub display_name: Option<String>,
}

/// What each entry of [`Identity::match_keys`] is, as evidence names the match.
pub const MATCH_KEY_NAMES: [&str; 3] = ["object_id", "app_id", "upn"];

impl Identity {
    /// The keys this identity is recognised by in a tenant's data, strongest first: the
    /// object id and app id lower-cased, and the UPN's match key ([`upn_match_key`]: a
    /// guest UPN is keyed by its invited address). Verdicts and the roster section match
    /// on exactly these.
    pub fn match_keys(&self) -> [Option<String>; 3] {
        [
            self.object_id.as_deref().map(norm),
            self.app_id.as_deref().map(norm),
            self.upn.as_deref().map(upn_match_key),
        ]
    }

    /// The identifier to show for this identity: object id, else app id, else UPN.
    pub fn principal_id(&self) -> &str {
        self.object_id
            .as_deref()
            .or(self.app_id.as_deref())
            .or(self.upn.as_deref())
            .unwrap_or("")
    }
}

/// Roster identities by each of their match keys ([`Identity::match_keys`]), for matching
/// many records (role holders, directory rows) against a small roster with one hash
/// lookup per key. Built over any subset of the roster; positions are the ones given.
#[derive(Debug, Default)]
pub struct RosterIndex {
    /// Per match key, in `MATCH_KEY_NAMES` order: key → identity positions, ascending.
    /// Probed three times per role assignment, so with a fast (seeded) hasher.
    keys: [HashMap<String, Vec<usize>, foldhash::fast::RandomState>; 3],
}

impl RosterIndex {
    /// Indexes `identities`, each with the position matches report it by.
    pub fn new<'a>(identities: impl IntoIterator<Item = (usize, &'a Identity)>) -> RosterIndex {
        let mut index = RosterIndex::default();
        for (position, identity) in identities {
            for (by, key) in identity.match_keys().into_iter().enumerate() {
                if let Some(key) = key {
                    let positions = index.keys[by].entry(key).or_default();
                    if positions.last() != Some(&position) {
                        positions.push(position);
                    }
                }
            }
        }
        index
    }

    /// Every identity that a record with these keys (object id, app id, UPN match key,
    /// each already normalised as [`Identity::match_keys`] normalises) names, once each,
    /// in position order, with the strongest key that matched (an index into
    /// [`MATCH_KEY_NAMES`]). Appends to `out`, which is left sorted by position.
    pub fn matches(&self, keys: [Option<&str>; 3], out: &mut Vec<(usize, usize)>) {
        let start = out.len();
        for (by, key) in keys.into_iter().enumerate() {
            let Some(positions) = key.and_then(|k| self.keys[by].get(k)) else {
                continue;
            };
            for &p in positions {
                if !out[start..].iter().any(|(q, _)| *q == p) {
                    out.push((p, by));
                }
            }
        }
        out[start..].sort_unstable();
    }

    /// True when no identity has any key.
    pub fn is_empty(&self) -> bool {
        self.keys.iter().all(|k| k.is_empty())
    }
}

/// One problem in an identities file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: u64,
    pub message: String,
}

/// Why an identities file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum IdentitiesError {
    #[error("cannot read identities file {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", render_problems(path, problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

fn render_problems(path: &Path, problems: &[Problem]) -> String {
    let mut out = format!(
        "identities file {} has {} problem{}:",
        path.display(),
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems {
        out.push_str(&format!("\n  {}:{}: {}", path.display(), p.line, p.message));
    }
    out
}

/// The whole roster, indexed for matching.
#[derive(Debug, Clone, Default)]
pub struct Roster {
    pub identities: Vec<Identity>,
    /// What was read but looks unintended (a header column palaudit does not know),
    /// for the command line to show; the roster loads regardless.
    pub warnings: Vec<Problem>,
}

/// The known column closest to `name` when it is near enough to be a typo of it.
fn closest_column(name: &str) -> Option<&'static str> {
    COLUMNS
        .iter()
        .chain(OPTIONAL_COLUMNS.iter())
        .map(|c| (edit_distance(name, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min()
        .map(|(_, c)| c)
}

/// Levenshtein distance between two short ASCII-ish strings.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

impl Roster {
    pub fn load(path: &Path) -> Result<Roster, IdentitiesError> {
        let bytes = std::fs::read(path).map_err(|source| IdentitiesError::Io {
            path: path.to_owned(),
            source,
        })?;
        Roster::parse(&bytes).map_err(|problems| IdentitiesError::Invalid {
            path: path.to_owned(),
            problems,
        })
    }

    /// Parses identities CSV text. All problems are returned together, each at the line
    /// an editor shows for it (LF, CRLF or a lone CR line ends; a UTF-8 BOM is skipped).
    pub fn parse(bytes: &[u8]) -> Result<Roster, Vec<Problem>> {
        let body = strip_bom(bytes);
        let lines = LineIndex::new(body);
        let text = match std::str::from_utf8(body) {
            Ok(t) => t,
            Err(e) => {
                return Err(vec![Problem {
                    line: lines.line(e.valid_up_to()) as u64,
                    message: "not UTF-8 text".into(),
                }]);
            }
        };
        // The csv reader counts only `\n` as a line end, and a record's position can be
        // the end of the line before it (the `\n` of a CRLF, a skipped blank line): take
        // the byte offset, step over line-end bytes to the record's first byte, and ask
        // the line index.
        let line_of = |p: Option<&csv::Position>| -> u64 {
            p.map(|p| {
                let mut at = p.byte() as usize;
                while matches!(body.get(at), Some(b'\r' | b'\n')) {
                    at += 1;
                }
                lines.line(at) as u64
            })
            .unwrap_or(0)
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let headers = match reader.headers() {
            Ok(h) => h.clone(),
            Err(e) => {
                return Err(vec![Problem {
                    line: 1,
                    message: format!("cannot read the header row: {e}"),
                }]);
            }
        };
        let header_line = line_of(headers.position()).max(1);
        let mut warnings = Vec::new();
        let mut index = HashMap::new();
        let mut problems = Vec::new();
        for (i, h) in headers.iter().enumerate() {
            let h = h.to_ascii_lowercase();
            if index.insert(h.clone(), i).is_some() {
                problems.push(Problem {
                    line: header_line,
                    message: format!("column `{h}` appears twice in the header"),
                });
            } else if !COLUMNS.contains(&h.as_str()) && !OPTIONAL_COLUMNS.contains(&h.as_str()) {
                // An unknown column is ignored, but a typo of an optional one would
                // otherwise silently give every row its default.
                let hint = match closest_column(&h) {
                    Some(c) => format!("; did you mean `{c}`?"),
                    None => format!(
                        " (known columns: {},{})",
                        COLUMNS.join(","),
                        OPTIONAL_COLUMNS.join(",")
                    ),
                };
                warnings.push(Problem {
                    line: header_line,
                    message: format!("unknown column `{h}` is ignored{hint}"),
                });
            }
        }
        let missing: Vec<&str> = COLUMNS
            .iter()
            .copied()
            .filter(|c| !index.contains_key(*c))
            .collect();
        if !missing.is_empty() {
            problems.push(Problem {
                line: header_line,
                message: format!(
                    "missing column{} {} (the header must name {})",
                    if missing.len() == 1 { "" } else { "s" },
                    missing
                        .iter()
                        .map(|c| format!("`{c}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    COLUMNS.join(",")
                ),
            });
            return Err(problems);
        }

        let mut identities: Vec<Identity> = Vec::new();
        // (tenant, key kind, key) -> line of first occurrence, for duplicate detection.
        let mut seen: HashMap<(String, &'static str, String), u64> = HashMap::new();
        for record in reader.records() {
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    let line = line_of(e.position());
                    problems.push(Problem {
                        line,
                        message: format!("unreadable CSV row: {e}"),
                    });
                    continue;
                }
            };
            let line = line_of(record.position());
            if record.iter().all(|c| c.is_empty()) {
                continue;
            }
            if record.len() != headers.len() {
                problems.push(Problem {
                    line,
                    message: format!(
                        "has {} fields but the header has {}",
                        record.len(),
                        headers.len()
                    ),
                });
                continue;
            }
            let cell = |name: &str| -> Option<String> {
                let v = record.get(index[name]).unwrap_or("").trim();
                (!v.is_empty()).then(|| v.to_owned())
            };
            let before = problems.len();
            let mut bad = |message: String| problems.push(Problem { line, message });

            let partner_id = cell("partner_id").unwrap_or_default();
            if partner_id.is_empty() {
                bad("partner_id is empty".into());
            } else if !partner_id.chars().all(|c| c.is_ascii_digit()) {
                bad(format!(
                    "partner_id `{partner_id}` is not a partner ID (digits only, e.g. 1234567)"
                ));
            }
            let tenant_id = cell("tenant_id").map(|t| norm(&t)).unwrap_or_default();
            if tenant_id.is_empty() {
                bad("tenant_id is empty: a PAL link holds in one customer tenant".into());
            } else if !is_guid(&tenant_id) {
                bad(format!("tenant_id `{tenant_id}` is not a GUID"));
            }
            let principal_type = match cell("principal_type").map(|s| s.to_ascii_lowercase()) {
                Some(s) if s == "user" => Some(PrincipalKind::User),
                Some(s) if s == "service_principal" => Some(PrincipalKind::ServicePrincipal),
                Some(other) => {
                    bad(format!(
                        "principal_type `{other}` is not `user` or `service_principal`"
                    ));
                    None
                }
                None => {
                    bad("principal_type is empty (`user` or `service_principal`)".into());
                    None
                }
            };
            let object_id = cell("object_id").map(|s| norm(&s));
            if let Some(o) = &object_id
                && !is_guid(o)
            {
                bad(format!("object_id `{o}` is not a GUID"));
            }
            let app_id = cell("app_id").map(|s| norm(&s));
            if let Some(a) = &app_id
                && !is_guid(a)
            {
                bad(format!("app_id `{a}` is not a GUID"));
            }
            let upn = cell("upn");
            if let Some(u) = &upn
                && !u.contains('@')
            {
                bad(format!("upn `{u}` is not a user principal name (no `@`)"));
            }
            if object_id.is_none() && app_id.is_none() && upn.is_none() {
                bad("no object_id, app_id or upn: nothing to match this identity by".into());
            }
            if principal_type == Some(PrincipalKind::ServicePrincipal)
                && object_id.is_none()
                && app_id.is_none()
            {
                bad("a service_principal needs an app_id or object_id".into());
            }
            // A missing column and an empty cell read alike: old rosters keep loading.
            let account_kind = match (
                index
                    .get("account_kind")
                    .and_then(|i| record.get(*i))
                    .map(|v| v.trim().to_ascii_lowercase())
                    .filter(|v| !v.is_empty())
                    .as_deref(),
                principal_type,
            ) {
                (None, Some(PrincipalKind::ServicePrincipal)) => AccountKind::ServiceAccount,
                (None, _) => AccountKind::Personal,
                (Some("service_account"), _) => AccountKind::ServiceAccount,
                (Some("personal"), Some(PrincipalKind::ServicePrincipal)) => {
                    bad("account_kind `personal` does not fit a service_principal (leave it empty or write `service_account`)".into());
                    AccountKind::ServiceAccount
                }
                (Some("personal"), _) => AccountKind::Personal,
                (Some(other), _) => {
                    bad(format!(
                        "account_kind `{other}` is not `personal` or `service_account`"
                    ));
                    AccountKind::Personal
                }
            };
            if problems.len() > before {
                continue;
            }
            let mut keys: Vec<(&'static str, String)> = Vec::new();
            if let Some(o) = &object_id {
                keys.push(("object_id", o.clone()));
            }
            if let Some(a) = &app_id {
                keys.push(("app_id", a.clone()));
            }
            if let Some(u) = &upn {
                keys.push(("upn", upn_match_key(u)));
            }
            let mut duplicate = false;
            for (kind, key) in keys {
                let k = (tenant_id.clone(), kind, key.clone());
                if let Some(first) = seen.get(&k) {
                    problems.push(Problem {
                        line,
                        message: format!(
                            "duplicate identity: {kind} `{key}` in tenant {tenant_id} is already on line {first}"
                        ),
                    });
                    duplicate = true;
                    break;
                }
                seen.insert(k, line);
            }
            if duplicate {
                continue;
            }
            identities.push(Identity {
                line,
                partner_id,
                tenant_id,
                principal_type: principal_type.unwrap_or(PrincipalKind::User),
                account_kind,
                object_id,
                app_id,
                upn,
                display_name: cell("display_name"),
            });
        }
        if problems.is_empty() {
            Ok(Roster {
                identities,
                warnings,
            })
        } else {
            Err(problems)
        }
    }

    /// The identities linked in `tenant_id`.
    pub fn for_tenant<'a>(&'a self, tenant_id: &'a str) -> impl Iterator<Item = &'a Identity> + 'a {
        let t = norm(tenant_id);
        self.identities.iter().filter(move |i| i.tenant_id == t)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "partner_id,tenant_id,principal_type,object_id,app_id,upn,display_name\n";
    const T: &str = "d8d86e5f-13e9-4bb5-bb94-0f99b507cd15";

    fn parse(body: &str) -> Result<Roster, Vec<Problem>> {
        Roster::parse(format!("{HEADER}{body}").as_bytes())
    }

    #[test]
    fn reads_users_and_service_principals() {
        let r = parse(&format!(
            "1234567,{T},user,9723D9B0-B8D6-48AF-B381-FB4A9F0403E4,,pat_fabrikam.com#EXT#@contoso.onmicrosoft.com,Pat\n\
             1234567,{T},service_principal,,0f747967-84c4-4f29-84c2-682fb00390c8,,Fabrikam deploy\n"
        ))
        .unwrap();
        assert_eq!(r.identities.len(), 2);
        assert_eq!(
            r.identities[0].object_id.as_deref(),
            Some("9723d9b0-b8d6-48af-b381-fb4a9f0403e4")
        );
        assert_eq!(r.identities[0].line, 2);
        assert_eq!(
            r.identities[1].principal_type,
            PrincipalKind::ServicePrincipal
        );
        assert_eq!(r.for_tenant(&T.to_uppercase()).count(), 2);
    }

    #[test]
    fn the_index_finds_each_identity_once_by_its_strongest_key() {
        let r = parse(&format!(
            "1234567,{T},user,9723D9B0-B8D6-48AF-B381-FB4A9F0403E4,,pat_fabrikam.com#EXT#@contoso.onmicrosoft.com,Pat\n\
             7654321,{T},service_principal,,0f747967-84c4-4f29-84c2-682fb00390c8,,Deploy\n\
             1111111,0f0e0d0c-0b0a-4908-8706-050403020100,user,,,pat@fabrikam.com,Pat elsewhere\n"
        ))
        .unwrap();
        let index = RosterIndex::new(r.identities.iter().enumerate());
        let mut out = Vec::new();
        // Pat's object id and guest UPN key both match identity 0: once, by object id;
        // the UPN key also names identity 2 (a row for another tenant).
        index.matches(
            [
                Some("9723d9b0-b8d6-48af-b381-fb4a9f0403e4"),
                None,
                Some("pat@fabrikam.com"),
            ],
            &mut out,
        );
        assert_eq!(out, [(0, 0), (2, 2)]);
        out.clear();
        index.matches(
            [None, Some("0f747967-84c4-4f29-84c2-682fb00390c8"), None],
            &mut out,
        );
        assert_eq!(out, [(1, 1)]);
        out.clear();
        index.matches([Some("nobody"), None, None], &mut out);
        assert!(out.is_empty());
        assert!(!index.is_empty());
        assert!(RosterIndex::new([]).is_empty());
    }

    #[test]
    fn every_problem_is_reported_with_its_line() {
        let errs = parse(&format!(
            "1234567,{T},robot,not-a-guid,,,x\n\
             abc,{T},user,,,pat@fabrikam.com,\n\
             1234567,{T},user,,,PAT@fabrikam.com,\n\
             1234567,{T},user\n"
        ))
        .unwrap_err();
        let lines: Vec<u64> = errs.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![2, 2, 3, 5]);
        assert!(errs[0].message.contains("robot"));
        assert!(errs[1].message.contains("not a GUID"));
        assert!(errs[2].message.contains("abc"));
        assert!(errs[3].message.contains("fields"));
    }

    #[test]
    fn duplicates_name_the_first_line() {
        let errs = parse(&format!(
            "1234567,{T},user,,,pat_fabrikam.com#EXT#@contoso.onmicrosoft.com,\n\
             7654321,{T},user,,,pat@fabrikam.com,\n"
        ))
        .unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].line, 3);
        assert!(errs[0].message.contains("line 2"), "{}", errs[0].message);
    }

    #[test]
    fn missing_column_is_named() {
        let errs = Roster::parse(b"partner_id,tenant_id,object_id\n1,2,3\n").unwrap_err();
        assert_eq!(errs[0].line, 1);
        assert!(errs[0].message.contains("`principal_type`"));
        assert!(errs[0].message.contains("`upn`"));
    }

    #[test]
    fn same_identity_in_two_tenants_is_fine() {
        let r = parse(&format!(
            "1234567,{T},user,9723d9b0-b8d6-48af-b381-fb4a9f0403e4,,,\n\
             1234567,11111111-2222-3333-4444-555555555555,user,9723d9b0-b8d6-48af-b381-fb4a9f0403e4,,,\n"
        ))
        .unwrap();
        assert_eq!(r.identities.len(), 2);
    }

    const HEADER_WITH_KIND: &str =
        "partner_id,tenant_id,principal_type,object_id,app_id,upn,display_name,account_kind\n";

    #[test]
    fn account_kind_defaults_to_personal_for_users_and_service_account_for_sps() {
        // No column at all: an old roster loads unchanged.
        let r = parse(&format!(
            "1234567,{T},user,,,pat@fabrikam.com,\n\
             1234567,{T},service_principal,,0f747967-84c4-4f29-84c2-682fb00390c8,,\n"
        ))
        .unwrap();
        assert_eq!(r.identities[0].account_kind, AccountKind::Personal);
        assert_eq!(r.identities[1].account_kind, AccountKind::ServiceAccount);
    }

    #[test]
    fn account_kind_column_is_read() {
        let r = Roster::parse(
            format!(
                "{HEADER_WITH_KIND}\
                 1234567,{T},user,,,pat@fabrikam.com,Pat,\n\
                 1234567,{T},user,,,svc-fabrikam@contoso.com,Svc, Service_Account \n\
                 1234567,{T},user,,,jo@fabrikam.com,Jo,personal\n\
                 1234567,{T},service_principal,,0f747967-84c4-4f29-84c2-682fb00390c8,,App,\n\
                 1234567,{T},service_principal,,8333da6b-aeb0-43be-8514-a43ca431d962,,App2,service_account\n"
            )
            .as_bytes(),
        )
        .unwrap();
        let kinds: Vec<AccountKind> = r.identities.iter().map(|i| i.account_kind).collect();
        assert_eq!(
            kinds,
            [
                AccountKind::Personal,
                AccountKind::ServiceAccount,
                AccountKind::Personal,
                AccountKind::ServiceAccount,
                AccountKind::ServiceAccount,
            ]
        );
    }

    #[test]
    fn bad_account_kinds_are_reported_with_their_lines() {
        let errs = Roster::parse(
            format!(
                "{HEADER_WITH_KIND}\
                 1234567,{T},user,,,pat@fabrikam.com,Pat,contractor\n\
                 1234567,{T},user,,,jo@fabrikam.com,Jo,personal\n\
                 1234567,{T},service_principal,,0f747967-84c4-4f29-84c2-682fb00390c8,,App,personal\n"
            )
            .as_bytes(),
        )
        .unwrap_err();
        let lines: Vec<u64> = errs.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![2, 4]);
        assert!(
            errs[0].message.contains("`contractor`"),
            "{}",
            errs[0].message
        );
        assert!(
            errs[1].message.contains("service_principal"),
            "{}",
            errs[1].message
        );
    }

    #[test]
    fn roster_errors_name_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pal.csv");
        std::fs::write(
            &path,
            format!(
                "{HEADER_WITH_KIND}1234567,{T},service_principal,,0f747967-84c4-4f29-84c2-682fb00390c8,,App,personal\n"
            ),
        )
        .unwrap();
        let err = Roster::load(&path).unwrap_err().to_string();
        assert!(
            err.contains(&format!("{}:2: account_kind `personal`", path.display())),
            "{err}"
        );
    }

    #[test]
    fn non_utf8_is_an_error_not_a_panic() {
        let errs = Roster::parse(b"partner_id\n\xff\xfe").unwrap_err();
        assert_eq!(errs[0].line, 2);
    }

    /// The same file as LF, CRLF, lone-CR and BOM+CRLF text.
    fn line_end_variants(lf: &str) -> Vec<(&'static str, Vec<u8>)> {
        vec![
            ("lf", lf.as_bytes().to_vec()),
            ("crlf", lf.replace('\n', "\r\n").into_bytes()),
            ("cr", lf.replace('\n', "\r").into_bytes()),
            (
                "bom+crlf",
                [
                    b"\xEF\xBB\xBF".as_slice(),
                    lf.replace('\n', "\r\n").as_bytes(),
                ]
                .concat(),
            ),
        ]
    }

    #[test]
    fn identities_bad_guid_on_line_3_is_line_3_for_every_line_end() {
        let file = format!(
            "{HEADER}1234567,{T},user,,,pat@fabrikam.com,Pat\n\
             1234567,{T},user,not-a-guid,,jo@fabrikam.com,Jo\n\
             1234567,{T},user\n"
        );
        for (name, bytes) in line_end_variants(&file) {
            let errs = Roster::parse(&bytes).unwrap_err();
            let lines: Vec<u64> = errs.iter().map(|p| p.line).collect();
            assert_eq!(lines, vec![3, 4], "{name}: {errs:?}");
            assert!(errs[0].message.contains("not-a-guid"), "{name}");
        }
    }

    #[test]
    fn identities_rows_keep_their_lines_for_every_line_end() {
        let file = format!(
            "{HEADER}1234567,{T},user,,,pat@fabrikam.com,Pat\n\n\
             1234567,{T},user,,,jo@fabrikam.com,\"Jo\nSmith\"\n\
             1234567,{T},user,,,al@fabrikam.com,Al\n"
        );
        for (name, bytes) in line_end_variants(&file) {
            let r = Roster::parse(&bytes).unwrap();
            let lines: Vec<u64> = r.identities.iter().map(|i| i.line).collect();
            assert_eq!(lines, vec![2, 4, 6], "{name}");
        }
    }

    #[test]
    fn a_misspelt_optional_column_is_a_warning_with_the_closest_name() {
        let file = format!(
            "partner_id,tenant_id,principal_type,object_id,app_id,upn,display_name,acount_kind\n\
             1234567,{T},user,,,svc@fabrikam.com,Svc,service_account\n"
        );
        for (name, bytes) in line_end_variants(&file) {
            let r = Roster::parse(&bytes).unwrap();
            assert_eq!(r.warnings.len(), 1, "{name}");
            assert_eq!(r.warnings[0].line, 1);
            assert!(
                r.warnings[0].message.contains("`acount_kind`")
                    && r.warnings[0]
                        .message
                        .contains("did you mean `account_kind`"),
                "{}",
                r.warnings[0].message
            );
            // Ignored, so the row keeps the default.
            assert_eq!(r.identities[0].account_kind, AccountKind::Personal);
        }
    }

    #[test]
    fn an_unrelated_extra_column_names_the_known_columns() {
        let r = Roster::parse((HEADER.trim_end().to_owned() + ",notes\n").as_bytes()).unwrap();
        assert!(
            r.warnings[0].message.contains("known columns"),
            "{:?}",
            r.warnings
        );
        assert!(parse("").unwrap().warnings.is_empty());
    }
}
