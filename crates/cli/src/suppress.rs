//! `--suppressions F`: loads the file, marks the verdicts it accepts, and warns about the
//! entries that expired or matched nothing (docs/suppressions.md).

use crate::ReportArgs;
use crate::audit::warn;
use anyhow::Result;
use palaudit_suppressions::{Suppressions, Usage};

/// The suppressions file of `--suppressions`, if given.
pub fn load(report: &ReportArgs) -> Result<Option<Suppressions>> {
    Ok(match &report.suppressions {
        Some(path) => Some(Suppressions::load(path)?),
        None => None,
    })
}

/// Today, in UTC: an entry holds through its `expires` day.
pub fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

/// Warns about every entry that expired (its findings count again) or matched nothing.
pub fn warn_usage(usage: &Usage) {
    for (s, matched) in &usage.expired {
        warn(&format!(
            "{}: expired on {}; {} finding{} it matches count{} again ({})",
            s.source,
            s.expires,
            matched,
            if *matched == 1 { "" } else { "s" },
            if *matched == 1 { "s" } else { "" },
            s.reason
        ));
    }
    for s in &usage.unused {
        warn(&format!(
            "{}: unused suppression: it matches no resource of this audit ({})",
            s.source, s.reason
        ));
    }
}
