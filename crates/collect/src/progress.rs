//! Progress while collecting, and the summary afterwards.
//!
//! [`Progress`] draws one indicatif spinner per collector on stderr, only when asked to,
//! stderr is a terminal and `CI` is not set; otherwise it does nothing. The library never
//! prints: [`CollectSummary`] is data (with a `Display`) that the CLI prints or not.

use crate::http::HostUsage;
use palaudit_model::{Environment, Resource};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

/// Whether progress bars should be drawn when the caller asks for them.
pub fn should_draw(requested: bool) -> bool {
    requested && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none()
}

/// Per-collector spinners, or nothing.
pub struct Progress {
    multi: Option<indicatif::MultiProgress>,
    bars: Mutex<HashMap<&'static str, indicatif::ProgressBar>>,
}

impl Progress {
    /// Draws only if `draw` (see [`should_draw`]).
    pub fn new(draw: bool) -> Progress {
        Progress {
            multi: draw.then(|| {
                indicatif::MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::stderr())
            }),
            bars: Mutex::new(HashMap::new()),
        }
    }

    /// Silent.
    pub fn hidden() -> Progress {
        Progress::new(false)
    }

    /// Counts `n` more items for `collector` (e.g. `canvas apps`).
    pub fn add(&self, collector: &'static str, n: u64) {
        let Some(multi) = &self.multi else { return };
        let mut bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
        let bar = bars.entry(collector).or_insert_with(|| {
            let bar = multi.add(indicatif::ProgressBar::new_spinner());
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {prefix:>24} {pos}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.set_prefix(collector);
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        bar.inc(n);
    }

    /// Stops every spinner, leaving the final counts on screen.
    pub fn finish(&self) {
        let bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
        for bar in bars.values() {
            bar.finish();
        }
    }
}

/// Resources of one environment or workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentSummary {
    pub environment_id: String,
    pub display_name: String,
    pub environment_type: String,
    /// Resources per resource type (`canvas_app`, …).
    pub resources: BTreeMap<String, u64>,
}

/// What a collection gathered, for the closing lines the CLI prints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CollectSummary {
    pub tenant_id: String,
    /// Resources per resource type, over the tenant.
    pub resources: BTreeMap<String, u64>,
    /// Power Platform environments and Power BI workspaces, in the order collected.
    pub environments: Vec<EnvironmentSummary>,
    pub role_assignments: u64,
    pub principals: u64,
    pub systemusers: u64,
    /// Entries in the manifest's `collection_errors`.
    pub errors: usize,
    /// HTTP attempts sent (retries included).
    pub requests: u64,
    /// HTTP attempts per kind of request (a collector name: `canvas_apps` for the
    /// listing pages, `canvas_app_permissions` for the per-app calls, …).
    pub requests_by_kind: BTreeMap<String, u64>,
    /// What each API host's requests came to, busiest first.
    pub hosts: Vec<HostUsage>,
    pub elapsed: Duration,
    /// `--resume`: answers given from the collection journal instead of the APIs
    /// (not counted in `requests`); `None` for a run that did not resume.
    pub from_journal: Option<u64>,
}

impl CollectSummary {
    pub fn total_resources(&self) -> u64 {
        self.resources.values().sum()
    }

    /// The closing lines on how the APIs were used (the CLI prints them on stderr):
    /// requests per kind, then one line per host — requests, throttles, mean requests
    /// in flight while busy, busy time, the adaptive window at the end and its peak.
    pub fn usage_lines(&self) -> String {
        let mut out = String::new();
        if !self.requests_by_kind.is_empty() {
            out.push_str("Requests: ");
            out.push_str(&counts(&self.requests_by_kind));
            out.push('\n');
        }
        for h in &self.hosts {
            out.push_str(&format!("  host {h}\n"));
        }
        if let Some(n) = self.from_journal {
            out.push_str(&format!(
                "Resumed: {n} answer(s) from the collection journal, not requested again\n"
            ));
        }
        out
    }
}

/// Counts rows as the writer receives them.
#[derive(Debug, Default)]
pub(crate) struct SummaryBuilder {
    summary: CollectSummary,
    index: HashMap<String, usize>,
    environment_rows: usize,
}

impl SummaryBuilder {
    pub(crate) fn environment(&mut self, e: &Environment) {
        self.environment_rows += 1;
        let i = self.slot(&e.environment_id);
        let s = &mut self.summary.environments[i];
        s.display_name = e.display_name.clone();
        s.environment_type = e.environment_type.clone();
    }

    pub(crate) fn resource(&mut self, r: &Resource) {
        let t = r.resource_type.as_str().to_owned();
        *self.summary.resources.entry(t.clone()).or_default() += 1;
        let i = self.slot(&r.environment_id);
        *self.summary.environments[i].resources.entry(t).or_default() += 1;
    }

    pub(crate) fn role_assignment(&mut self) {
        self.summary.role_assignments += 1;
    }

    pub(crate) fn principal(&mut self) {
        self.summary.principals += 1;
    }

    pub(crate) fn systemuser(&mut self) {
        self.summary.systemusers += 1;
    }

    /// Environments (and workspaces) that have an environments row.
    pub(crate) fn environment_rows(&self) -> usize {
        self.environment_rows
    }

    fn slot(&mut self, id: &str) -> usize {
        if let Some(i) = self.index.get(id) {
            return *i;
        }
        self.summary.environments.push(EnvironmentSummary {
            environment_id: id.to_owned(),
            display_name: String::new(),
            environment_type: String::new(),
            resources: BTreeMap::new(),
        });
        let i = self.summary.environments.len() - 1;
        self.index.insert(id.to_owned(), i);
        i
    }

    pub(crate) fn finish(self) -> CollectSummary {
        self.summary
    }
}

fn counts(m: &BTreeMap<String, u64>) -> String {
    if m.is_empty() {
        return "no resources".into();
    }
    m.iter()
        .map(|(t, n)| format!("{t} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for CollectSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let workspaces = self
            .environments
            .iter()
            .filter(|e| e.environment_type.starts_with("PowerBI"))
            .count();
        writeln!(
            f,
            "Collected tenant {} in {:.1} s ({} requests): {} resources ({})",
            self.tenant_id,
            self.elapsed.as_secs_f64(),
            self.requests,
            self.total_resources(),
            counts(&self.resources)
        )?;
        writeln!(
            f,
            "  {} environments, {} Power BI workspaces; {} role assignments, {} principals, {} Dataverse users",
            self.environments.len() - workspaces,
            workspaces,
            self.role_assignments,
            self.principals,
            self.systemusers
        )?;
        // One line per Power Platform environment; Power BI workspaces (a large tenant
        // has tens of thousands) as one total.
        let mut datasets = 0u64;
        for e in &self.environments {
            if e.environment_type.starts_with("PowerBI") {
                datasets += e.resources.values().sum::<u64>();
                continue;
            }
            let name = if e.display_name.is_empty() {
                e.environment_id.as_str()
            } else {
                e.display_name.as_str()
            };
            writeln!(
                f,
                "  {name} ({}): {}",
                if e.environment_type.is_empty() {
                    "?"
                } else {
                    e.environment_type.as_str()
                },
                counts(&e.resources)
            )?;
        }
        if workspaces > 0 {
            writeln!(
                f,
                "  Power BI: {datasets} dataset{} in {workspaces} workspace{}",
                if datasets == 1 { "" } else { "s" },
                if workspaces == 1 { "" } else { "s" }
            )?;
        }
        match self.errors {
            0 => write!(f, "  complete: no collection errors"),
            1 => write!(f, "  1 collection error (listed in manifest.json)"),
            n => write!(f, "  {n} collection errors (listed in manifest.json)"),
        }
    }
}
