//! Coverage arithmetic and grouping shared by every format.

use palaudit_model::{AuditSummary, Counts, OtherTenants, ResourceType, Verdict};
use std::cmp::Ordering;

/// Coverage in tenths of a percent (`615` is 61.5%), rounded half up, except that it is
/// never rounded up to 100.0% while something is unattributed, nor down to 0.0% while
/// something is attributed: 1999 of 2000 shows as 99.9%, not 100.0%.
///
/// An empty set is 100.0%, as [`Counts::coverage_pct`] defines it. Integer arithmetic
/// keeps the displayed figure independent of floating-point rounding.
pub fn coverage_tenths(counts: &Counts) -> u64 {
    let total = counts.total();
    if total == 0 {
        return 1000;
    }
    let attributed = counts.attributed.min(total);
    // Round half up: (a * 1000 / t) + 0.5, in integers. u128 rules out overflow.
    let tenths = ((attributed as u128 * 2000 + total as u128) / (2 * total as u128)) as u64;
    if attributed < total && tenths >= 1000 {
        999
    } else if attributed > 0 && tenths == 0 {
        1
    } else {
        tenths
    }
}

/// Coverage with one decimal place and a percent sign: `61.5%`.
pub fn format_coverage(counts: &Counts) -> String {
    let t = coverage_tenths(counts);
    format!("{}.{}%", t / 10, t % 10)
}

/// The one-line verdict summary used by the terminal and the checklist.
pub(crate) fn summary_sentence(counts: &Counts) -> String {
    let total = counts.total();
    format!(
        "Coverage {} — {} of {} resource{} attributed; {} unattributed, {} unknown",
        format_coverage(counts),
        counts.attributed,
        total,
        if total == 1 { "" } else { "s" },
        counts.unattributed,
        counts.unknown
    )
}

/// The line saying how many findings are suppressed and the coverage `--fail-under`
/// compares without them; `None` when nothing is suppressed.
pub(crate) fn suppressed_sentence(counts: &Counts, suppressed: &Counts) -> Option<String> {
    let n = suppressed.total();
    (n > 0).then(|| {
        format!(
            "{n} suppressed finding{} accepted in the suppressions file and left out of --fail-under: coverage without {} {}.",
            if n == 1 { " is" } else { "s are" },
            if n == 1 { "it" } else { "them" },
            format_coverage(&counts.without(suppressed))
        )
    })
}

/// The leaver-risk count line used by the terminal and the checklist.
pub(crate) fn leaver_risk_sentence(risky: u64, attributed: u64) -> String {
    if risky == 0 {
        return "Leaver risk: none — every attributed resource is credited through a service account or a service principal.".to_owned();
    }
    format!(
        "Leaver risk: the credit for {risky} of {attributed} attributed resource{} rests on personal user accounts; \
         move {} to a dedicated service account or a service principal so the credit survives staff changes.",
        if attributed == 1 { "" } else { "s" },
        if risky == 1 { "it" } else { "them" }
    )
}

/// The line counting the roster's rows for other tenants, when there are any.
pub(crate) fn other_tenants_sentence(other: &OtherTenants) -> Option<String> {
    (other.identities > 0).then(|| {
        format!(
            "{} more identit{} on the roster {} for {} other tenant{} and never credit this one.",
            other.identities,
            if other.identities == 1 { "y" } else { "ies" },
            if other.identities == 1 { "is" } else { "are" },
            other.tenants,
            if other.tenants == 1 { "" } else { "s" },
        )
    })
}

/// One environment × resource type line of a coverage table.
pub(crate) struct CoverageRow<'a> {
    pub environment_id: &'a str,
    pub environment_name: &'a str,
    pub environment_type: &'a str,
    pub resource_type: ResourceType,
    pub counts: Counts,
}

/// Orders environments the way a reader looks for them: by name (case-insensitively),
/// then by id so that equal names stay apart and the order is total. Environments
/// without a name (missing from the snapshot) come last.
pub(crate) fn cmp_environment(a: (&str, &str), b: (&str, &str)) -> Ordering {
    environment_key(a.0, a.1).cmp(&environment_key(b.0, b.1))
}

/// The key [`cmp_environment`] orders by.
fn environment_key<'a>(name: &'a str, id: &'a str) -> (bool, String, &'a str, &'a str) {
    (name.trim().is_empty(), name.to_lowercase(), name, id)
}

/// Orders verdicts by environment (as [`cmp_environment`]), resource type, name (case
/// folded, then as written), then id: the sort key, built once per verdict.
/// Owned, so a sort can cache it beside the verdicts it orders.
pub(crate) fn verdict_key(v: &Verdict) -> impl Ord + use<> {
    let (unnamed, folded, name, id) = environment_key(&v.environment_name, &v.environment_id);
    (
        (unnamed, folded, name.to_owned(), id.to_owned()),
        v.resource_type,
        v.resource_name.to_lowercase(),
        v.resource_name.clone(),
        v.resource_id.clone(),
    )
}

/// Coverage per environment × resource type, in [`cmp_environment`] then type order.
pub(crate) fn coverage_rows(summary: &AuditSummary) -> Vec<CoverageRow<'_>> {
    // Keyed by environment id, so an environment counts once even if verdicts disagree
    // on its name; the first verdict's name and type are shown.
    let mut rows: Vec<CoverageRow<'_>> = summary
        .by_environment_and_type
        .iter()
        .map(|((environment_id, resource_type), counts)| {
            let (name, kind) = summary
                .environments
                .get(environment_id)
                .map_or(("", ""), |(n, t)| (n.as_str(), t.as_str()));
            CoverageRow {
                environment_id,
                environment_name: name,
                environment_type: kind,
                resource_type: *resource_type,
                counts: *counts,
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        cmp_environment(
            (a.environment_name, a.environment_id),
            (b.environment_name, b.environment_id),
        )
        .then_with(|| a.resource_type.cmp(&b.resource_type))
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(attributed: u64, unattributed: u64, unknown: u64) -> Counts {
        Counts {
            attributed,
            unattributed,
            unknown,
        }
    }

    #[test]
    fn one_decimal_rounded_half_up() {
        assert_eq!(format_coverage(&counts(24, 12, 3)), "61.5%");
        assert_eq!(format_coverage(&counts(2, 1, 0)), "66.7%");
        assert_eq!(format_coverage(&counts(1, 1, 0)), "50.0%");
        assert_eq!(format_coverage(&counts(1, 0, 0)), "100.0%");
        assert_eq!(format_coverage(&counts(0, 3, 1)), "0.0%");
        assert_eq!(format_coverage(&counts(0, 0, 0)), "100.0%");
    }

    #[test]
    fn never_rounds_to_full_or_zero_coverage_falsely() {
        assert_eq!(format_coverage(&counts(1999, 1, 0)), "99.9%");
        assert_eq!(format_coverage(&counts(99_999, 0, 1)), "99.9%");
        assert_eq!(format_coverage(&counts(1, 99_999, 0)), "0.1%");
    }

    #[test]
    fn huge_counts_do_not_overflow() {
        assert_eq!(
            format_coverage(&counts(u64::MAX / 2, u64::MAX / 2, 0)),
            "50.0%"
        );
    }
}
