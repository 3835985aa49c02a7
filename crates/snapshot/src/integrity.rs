//! What a table must hold beyond its schema before anything is audited.
//!
//! The checksums prove a table is the file collection wrote; these checks catch a file
//! that was written by something else and re-checksummed, or assembled by hand: a value
//! the collectors always write left empty (a null `environment_type` would make every
//! resource of the environment ineligible), a word the audit does not know (`Owner` for
//! `owner` matches no rule, so the role would silently not count), and the same
//! environment or resource on two rows (counted twice, inflating coverage). Each is
//! refused with the row and the value, so a damaged snapshot is never audited quietly.

use palaudit_model::{PrincipalIdKind, PrincipalType, ResourceType, Role};
use polars::prelude::*;
use std::collections::HashSet;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

/// A column whose values must be one of a fixed set of words.
struct EnumColumn {
    name: &'static str,
    is_known: fn(&str) -> bool,
    known: fn() -> Vec<&'static str>,
}

fn parses<T: FromStr>(s: &str) -> bool {
    s.parse::<T>().is_ok()
}

const RESOURCE_TYPE: EnumColumn = EnumColumn {
    name: "resource_type",
    is_known: parses::<ResourceType>,
    known: || ResourceType::ALL.iter().map(|t| t.as_str()).collect(),
};

/// The rules of one table.
struct TableRules {
    /// Columns the collectors always fill.
    required: &'static [&'static str],
    enums: &'static [EnumColumn],
    /// Columns that together name a row; two rows with the same key are one thing twice.
    key: &'static [&'static str],
    /// What a row is, for the duplicate message.
    row_is: &'static str,
}

fn rules_of(table: &str) -> Option<TableRules> {
    Some(match table {
        "environments" => TableRules {
            required: &[
                "environment_id",
                "display_name",
                "environment_type",
                "is_default",
            ],
            enums: &[],
            key: &["environment_id"],
            row_is: "environment",
        },
        "resources" => TableRules {
            required: &[
                "resource_type",
                "resource_id",
                "environment_id",
                "display_name",
            ],
            enums: &[RESOURCE_TYPE],
            key: &["resource_type", "environment_id", "resource_id"],
            row_is: "resource",
        },
        "role_assignments" => TableRules {
            required: &[
                "resource_type",
                "resource_id",
                "role",
                "principal_id",
                "principal_id_kind",
                "principal_type",
            ],
            enums: &[
                RESOURCE_TYPE,
                EnumColumn {
                    name: "role",
                    is_known: parses::<Role>,
                    known: || Role::ALL.iter().map(|r| r.as_str()).collect(),
                },
                EnumColumn {
                    name: "principal_id_kind",
                    is_known: parses::<PrincipalIdKind>,
                    known: || {
                        [
                            PrincipalIdKind::EntraObjectId,
                            PrincipalIdKind::DataverseSystemUser,
                            PrincipalIdKind::Upn,
                            PrincipalIdKind::None,
                        ]
                        .iter()
                        .map(|k| k.as_str())
                        .collect()
                    },
                },
                PRINCIPAL_TYPE,
            ],
            // Exact repeats are merged during collection and change no verdict.
            key: &[],
            row_is: "role assignment",
        },
        "principals" => TableRules {
            required: &["object_id", "principal_type", "deleted"],
            enums: &[PRINCIPAL_TYPE],
            key: &[],
            row_is: "principal",
        },
        "systemusers" => TableRules {
            required: &["environment_id", "systemuser_id"],
            enums: &[],
            key: &["environment_id", "systemuser_id"],
            row_is: "Dataverse user",
        },
        _ => return None,
    })
}

const PRINCIPAL_TYPE: EnumColumn = EnumColumn {
    name: "principal_type",
    is_known: parses::<PrincipalType>,
    known: || PrincipalType::ALL.iter().map(|t| t.as_str()).collect(),
};

/// Checks `df` (table `table`, columns already of the right types) against its rules;
/// the message names the row (counting from 1), the column and the value.
pub(crate) fn check(table: &str, df: &DataFrame) -> Result<(), String> {
    let Some(rules) = rules_of(table) else {
        return Ok(());
    };
    let height = df.height();
    for name in rules.required {
        let Ok(col) = df.column(name) else { continue };
        if col.null_count() == 0 {
            continue;
        }
        let nulls = col.is_null();
        let row = nulls.iter().position(|n| n == Some(true)).unwrap_or(0);
        return Err(format!(
            "row {} of {height}: `{name}` is empty ({} row(s) in all); palaudit always records it, so the table was not written by palaudit collect",
            row + 1,
            col.null_count()
        ));
    }
    for e in rules.enums {
        let Ok(col) = df.column(e.name) else { continue };
        let values = col.str().map_err(|err| err.to_string())?;
        let mut known: HashSet<&str> = HashSet::new();
        for (row, v) in values.iter().enumerate() {
            let Some(v) = v else { continue };
            if known.contains(v) {
                continue;
            }
            if !(e.is_known)(v) {
                return Err(format!(
                    "row {} of {height}: `{}` is `{v}`, which is not one of {} (the words are lower-case)",
                    row + 1,
                    e.name,
                    (e.known)().join(", ")
                ));
            }
            known.insert(v);
        }
    }
    if !rules.key.is_empty() {
        duplicates(df, &rules)?;
    }
    Ok(())
}

/// Two rows with the same key: hashed and sorted rather than kept in a set of strings,
/// so a million-row table costs 16 bytes a row, not a copy of its keys.
fn duplicates(df: &DataFrame, rules: &TableRules) -> Result<(), String> {
    let mut cols = Vec::with_capacity(rules.key.len());
    for name in rules.key {
        let Ok(col) = df.column(name) else {
            return Ok(());
        };
        cols.push(col.str().map_err(|e| e.to_string())?);
    }
    let key = |row: usize| -> Vec<Option<&str>> { cols.iter().map(|c| c.get(row)).collect() };
    let mut hashes: Vec<(u64, usize)> = (0..df.height())
        .map(|row| {
            let mut h = DefaultHasher::new();
            for c in &cols {
                c.get(row).hash(&mut h);
            }
            (h.finish(), row)
        })
        .collect();
    hashes.sort_unstable();
    let mut first: Option<(usize, usize)> = None;
    for pair in hashes.windows(2) {
        let ((ha, a), (hb, b)) = (pair[0], pair[1]);
        if ha == hb && key(a) == key(b) {
            let (a, b) = (a.min(b), a.max(b));
            if first.is_none_or(|(_, fb)| b < fb) {
                first = Some((a, b));
            }
        }
    }
    match first {
        None => Ok(()),
        Some((a, b)) => {
            let named: Vec<String> = rules
                .key
                .iter()
                .zip(key(a))
                .map(|(n, v)| format!("{n} `{}`", v.unwrap_or("")))
                .collect();
            Err(format!(
                "rows {} and {} are the same {} ({}); a snapshot lists each {} once, so it would be counted twice",
                a + 1,
                b + 1,
                rules.row_is,
                named.join(", "),
                rules.row_is
            ))
        }
    }
}
