//! How an audit hands its verdicts to the reports: as a stream, not as one big list.
//!
//! A million-resource tenant (or a portfolio of a hundred tenants) produces more verdicts
//! than is reasonable to hold at once, so the verdict engine never returns them as a
//! `Vec`. It calls a [`VerdictSink`] once per tenant with [`VerdictSink::begin`] (what
//! is known before the first verdict: the [`AuditHeader`]), with every verdict in report
//! order (in blocks, [`VerdictSink::verdicts`]), and once with [`VerdictSink::end`] (what is known only after the last one: the
//! [`AuditSummary`] — counts, the roster and the verdicts that are not attributed, which
//! the terminal table and the fix plan list).
//!
//! Writers that need something before the verdicts that is known only after them (the
//! JSON report's summary, the checklist's coverage table) keep their verdict part aside
//! and assemble the file in `end`; the contract only promises the order of calls.
//!
//! [`Findings`] is the same information held in memory, for tests and small tenants;
//! [`Findings::replay`] feeds it to a sink exactly as the engine would.

use crate::findings::{Counts, Findings, Status, TypeGuidance, Verdict};
use crate::inventory::ResourceType;
use crate::roster_findings::RosterFindings;
use crate::verdict_list::{ListError, VerdictList, VerdictListBuilder};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What a report knows about a tenant's audit before the first verdict.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditHeader {
    pub tenant_id: String,
    #[serde(default)]
    pub collected_at: Option<DateTime<Utc>>,
    /// Collection errors recorded in the snapshot manifest: the audit is partial.
    #[serde(default)]
    pub collection_errors: Vec<String>,
    /// Per resource type, what reports print next to resources that are not credited.
    #[serde(default)]
    pub guidance: BTreeMap<ResourceType, TypeGuidance>,
    /// How this audit was run (version, snapshot checksum, rules, roster), for reports
    /// that hand evidence over; `None` when the caller did not say (tests, old JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<RunInfo>,
}

/// The facts that let a reader of a report check which run produced it: the evidence
/// workbook's *Run* sheet and the HTML report's footer print them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInfo {
    /// `palaudit <version>` of the build that ran the audit.
    pub palaudit_version: String,
    /// What the partner calls the tenant (a portfolio's snapshot directory name).
    #[serde(default)]
    pub label: Option<String>,
    /// The snapshot directory audited.
    #[serde(default)]
    pub snapshot: Option<String>,
    /// sha256 of the snapshot's `manifest.json`, which holds every table's sha256: one
    /// value that changes when any collected byte does.
    #[serde(default)]
    pub snapshot_checksum: Option<String>,
    /// `palaudit <version>` of the build that collected the snapshot.
    #[serde(default)]
    pub collected_by: Option<String>,
    /// Which rules decided the verdicts: `bundled (palaudit <version>)`, or the rules
    /// directory with a sha256 over its files.
    pub rules: String,
    /// The PAL identities file (path, or `bundled sample roster`).
    pub identities: String,
}

/// What is known of a tenant's audit once every verdict has been seen.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditSummary {
    /// Counts per (environment id, resource type), in environment then type order.
    pub by_environment_and_type: BTreeMap<(String, ResourceType), Counts>,
    /// Environment id → (display name, type), for the environments verdicts mention.
    pub environments: BTreeMap<String, (String, String)>,
    /// Attributed verdicts whose credit rests on a personal user account.
    pub leaver_risk: u64,
    /// Every PAL identity of the roster for this tenant, with its health and credit.
    pub roster: RosterFindings,
    /// The verdicts that are not `attributed`, in report order: held in memory up to a
    /// limit, the rest in a temporary file (see [`VerdictList`]).
    pub not_attributed: VerdictList,
    /// Counts of the suppressed verdicts, by status.
    #[serde(default)]
    pub suppressed: Counts,
    /// The suppressed verdicts that are attributed, in report order: the suppressed
    /// ones that are not are in `not_attributed`, and the terminal lists both.
    #[serde(default)]
    pub suppressed_attributed: Vec<Verdict>,
}

impl AuditSummary {
    /// Counts over the whole tenant.
    pub fn counts(&self) -> Counts {
        let mut total = Counts::default();
        for c in self.by_environment_and_type.values() {
            total.attributed += c.attributed;
            total.unattributed += c.unattributed;
            total.unknown += c.unknown;
        }
        total
    }

    /// The counts `--fail-under` compares: every verdict that is not suppressed.
    pub fn gated_counts(&self) -> Counts {
        self.counts().without(&self.suppressed)
    }
}

/// Builds an [`AuditSummary`] from verdicts as they stream past.
#[derive(Debug, Default)]
pub struct SummaryBuilder {
    summary: AuditSummary,
    not_attributed: VerdictListBuilder,
    /// Counts of the (environment id, type) group the last verdict belonged to, not yet
    /// in the summary: verdicts arrive grouped (report order), so a group's key is built
    /// once, not once per verdict.
    group: Option<(Arc<str>, ResourceType, Counts)>,
}

impl SummaryBuilder {
    /// A builder whose not-attributed list holds up to `held` verdicts in memory (the
    /// default is [`crate::verdict_list::HELD_IN_MEMORY`]).
    pub fn holding(held: usize) -> Self {
        SummaryBuilder {
            not_attributed: VerdictListBuilder::new(held),
            ..Self::default()
        }
    }

    pub fn add(&mut self, verdict: &Verdict) {
        if self.count(verdict) {
            self.not_attributed.push_borrowed(verdict);
        }
    }

    /// Counts `verdict`; true when it belongs in the not-attributed list.
    fn count(&mut self, verdict: &Verdict) -> bool {
        let s = &mut self.summary;
        match &mut self.group {
            Some((env, rt, counts))
                if *rt == verdict.resource_type && **env == *verdict.environment_id =>
            {
                counts.add(verdict.status);
            }
            group => {
                let mut counts = Counts::default();
                counts.add(verdict.status);
                let done = group.replace((
                    verdict.environment_id.clone(),
                    verdict.resource_type,
                    counts,
                ));
                Self::close(s, done);
            }
        }
        if !s.environments.contains_key(&*verdict.environment_id) {
            s.environments.insert(
                verdict.environment_id.to_string(),
                (
                    verdict.environment_name.to_string(),
                    verdict.environment_type.to_string(),
                ),
            );
        }
        if verdict.suppression.is_some() {
            s.suppressed.add(verdict.status);
            if verdict.status == Status::Attributed {
                s.suppressed_attributed.push(verdict.clone());
            }
        }
        match verdict.status {
            Status::Attributed => {
                s.leaver_risk += u64::from(verdict.leaver_risk);
                false
            }
            Status::Unattributed | Status::Unknown => true,
        }
    }

    /// The summary; an error only if the not-attributed verdicts could not be kept in
    /// their temporary file.
    pub fn finish(mut self, roster: RosterFindings) -> Result<AuditSummary, ListError> {
        Self::close(&mut self.summary, self.group.take());
        Ok(AuditSummary {
            roster,
            not_attributed: self.not_attributed.finish()?,
            ..self.summary
        })
    }

    /// Adds a finished group's counts to the summary.
    fn close(summary: &mut AuditSummary, group: Option<(Arc<str>, ResourceType, Counts)>) {
        if let Some((env, rt, counts)) = group {
            let total = summary
                .by_environment_and_type
                .entry((env.to_string(), rt))
                .or_default();
            total.attributed += counts.attributed;
            total.unattributed += counts.unattributed;
            total.unknown += counts.unknown;
        }
    }
}

/// An error a sink hit while writing; the sink's own typed error, boxed so that sinks of
/// different crates (text reports, Parquet) can be driven together.
pub type SinkError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A report that consumes verdicts as the audit produces them.
///
/// Calls come in this order, once per tenant: `begin`, `verdict` (or `verdicts`, a block
/// at a time) for every resource in report order (environment name, environment id,
/// resource type, resource name, resource id), then `end`. A portfolio repeats the
/// sequence per tenant, then calls `finish` once; a sink that can hold only one tenant
/// says so in `begin` with an error.
pub trait VerdictSink {
    fn begin(&mut self, header: &AuditHeader) -> Result<(), SinkError>;
    fn verdict(&mut self, verdict: &Verdict) -> Result<(), SinkError>;
    /// The next verdicts of the stream, in order. The audit hands them on in blocks;
    /// a sink that wraps another passes the block on whole.
    fn verdicts(&mut self, block: &[Verdict]) -> Result<(), SinkError> {
        block.iter().try_for_each(|v| self.verdict(v))
    }
    fn end(&mut self, summary: &AuditSummary) -> Result<(), SinkError>;
    /// After the last tenant. Most sinks write everything in `end`.
    fn finish(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
}

/// Several sinks fed from one stream. Each block of verdicts, and each `end` and
/// `finish`, is handed to every sink at once, the sinks running side by side on the
/// shared thread pool: the reports of one audit (CSV, JSON, workbook, …) share nothing,
/// and a large tenant's reports are gigabytes of text. `begin` runs in order. An error
/// is the first sink's, in the order the sinks were pushed.
#[derive(Default)]
pub struct Fanout<'a> {
    sinks: Vec<&'a mut (dyn VerdictSink + Send)>,
}

impl<'a> Fanout<'a> {
    pub fn push(&mut self, sink: &'a mut (dyn VerdictSink + Send)) {
        self.sinks.push(sink);
    }

    /// Runs `f` on every sink, side by side when there are several.
    fn each(
        &mut self,
        f: impl Fn(&mut (dyn VerdictSink + Send)) -> Result<(), SinkError> + Sync,
    ) -> Result<(), SinkError> {
        use rayon::prelude::*;
        match self.sinks.as_mut_slice() {
            [] => Ok(()),
            [only] => f(&mut **only),
            // On the shared pool rather than a thread per sink: every thread that
            // allocates keeps memory of its own with the allocator, and a thread per
            // report raised a million-resource audit's peak by a tenth.
            sinks => {
                let done: Vec<Result<(), SinkError>> =
                    sinks.par_iter_mut().map(|sink| f(&mut **sink)).collect();
                // Every sink has run its part before the first error is returned.
                done.into_iter().collect()
            }
        }
    }
}

impl VerdictSink for Fanout<'_> {
    fn begin(&mut self, header: &AuditHeader) -> Result<(), SinkError> {
        self.sinks.iter_mut().try_for_each(|s| s.begin(header))
    }
    fn verdict(&mut self, verdict: &Verdict) -> Result<(), SinkError> {
        self.sinks.iter_mut().try_for_each(|s| s.verdict(verdict))
    }
    fn verdicts(&mut self, block: &[Verdict]) -> Result<(), SinkError> {
        self.each(|s| s.verdicts(block))
    }
    fn end(&mut self, summary: &AuditSummary) -> Result<(), SinkError> {
        self.each(|s| s.end(summary))
    }
    fn finish(&mut self) -> Result<(), SinkError> {
        self.each(|s| s.finish())
    }
}

/// Verdicts a replay hands on at a time.
const REPLAY_BLOCK: usize = 4096;

impl Findings {
    /// What a sink's `begin` receives for these findings.
    pub fn header(&self) -> AuditHeader {
        AuditHeader {
            tenant_id: self.tenant_id.clone(),
            collected_at: self.collected_at,
            collection_errors: self.collection_errors.clone(),
            guidance: self.guidance.clone(),
            run: None,
        }
    }

    /// What a sink's `end` receives for these findings.
    pub fn summary(&self) -> AuditSummary {
        // Held findings are in memory already: so is their summary, and nothing is
        // written to disk that could fail.
        let mut b = SummaryBuilder::holding(usize::MAX);
        for v in &self.verdicts {
            b.add(v);
        }
        b.finish(self.roster.clone())
            .expect("a list held in memory is never written to disk")
    }

    /// Feeds these findings to `sink` as the engine would (`begin`, every verdict in the
    /// order held, `end`; not `finish`).
    pub fn replay(&self, sink: &mut dyn VerdictSink) -> Result<(), SinkError> {
        self.replay_with(&self.header(), sink)
    }

    /// [`Findings::replay`] with a header the caller completed (its [`RunInfo`]).
    pub fn replay_with(
        &self,
        header: &AuditHeader,
        sink: &mut dyn VerdictSink,
    ) -> Result<(), SinkError> {
        sink.begin(header)?;
        for block in self.verdicts.chunks(REPLAY_BLOCK) {
            sink.verdicts(block)?;
        }
        sink.end(&self.summary())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(env: &str, status: Status, leaver_risk: bool) -> Verdict {
        Verdict {
            environment_id: env.into(),
            environment_name: format!("{env} name").into(),
            environment_type: "Production".into(),
            leaver_risk,
            ..Verdict::new(ResourceType::Flow, "r", "R", status)
        }
    }

    #[derive(Default)]
    struct Recorder(Vec<String>);

    impl VerdictSink for Recorder {
        fn begin(&mut self, header: &AuditHeader) -> Result<(), SinkError> {
            self.0.push(format!("begin {}", header.tenant_id));
            Ok(())
        }
        fn verdict(&mut self, verdict: &Verdict) -> Result<(), SinkError> {
            self.0.push(format!("verdict {}", verdict.environment_id));
            Ok(())
        }
        fn end(&mut self, summary: &AuditSummary) -> Result<(), SinkError> {
            self.0.push(format!(
                "end {} of {}",
                summary.not_attributed.len(),
                summary.counts().total()
            ));
            Ok(())
        }
    }

    #[test]
    fn the_summary_counts_what_streamed_past() {
        let f = Findings {
            tenant_id: "t".into(),
            verdicts: vec![
                verdict("a", Status::Attributed, true),
                verdict("a", Status::Unknown, false),
                verdict("b", Status::Unattributed, true),
                verdict("b", Status::Attributed, false),
            ],
            ..Findings::default()
        };
        let s = f.summary();
        assert_eq!(s.counts().total(), 4);
        assert_eq!(s.counts().attributed, 2);
        // Only attributed verdicts carry leaver risk.
        assert_eq!(s.leaver_risk, 1);
        assert_eq!(s.not_attributed.len(), 2);
        assert_eq!(s.environments["b"].0, "b name");
        assert_eq!(
            s.by_environment_and_type[&("a".into(), ResourceType::Flow)].unknown,
            1
        );
    }

    /// Fails on its `n`th verdict, or never.
    struct FailsAt(usize, usize);

    impl VerdictSink for FailsAt {
        fn begin(&mut self, _: &AuditHeader) -> Result<(), SinkError> {
            Ok(())
        }
        fn verdict(&mut self, _: &Verdict) -> Result<(), SinkError> {
            self.1 += 1;
            if self.1 == self.0 {
                return Err(format!("sink failing at {}", self.0).into());
            }
            Ok(())
        }
        fn end(&mut self, _: &AuditSummary) -> Result<(), SinkError> {
            Ok(())
        }
    }

    #[test]
    fn a_fanout_hands_every_block_to_every_sink_in_order() {
        let f = Findings {
            tenant_id: "t".into(),
            verdicts: (0..3 * REPLAY_BLOCK + 5)
                .map(|i| verdict(&format!("e{i:05}"), Status::Unattributed, false))
                .collect(),
            ..Findings::default()
        };
        let mut sinks: Vec<Recorder> = (0..4).map(|_| Recorder::default()).collect();
        let mut fan = Fanout::default();
        for s in &mut sinks {
            fan.push(s);
        }
        f.replay(&mut fan).unwrap();
        fan.finish().unwrap();
        drop(fan);
        let mut expected = vec!["begin t".to_owned()];
        expected.extend(
            f.verdicts
                .iter()
                .map(|v| format!("verdict {}", v.environment_id)),
        );
        expected.push(format!("end {0} of {0}", f.verdicts.len()));
        for s in &sinks {
            assert_eq!(s.0, expected);
        }

        // Each sink stops at its own failure; the error is the first failing sink's in
        // the order they were pushed, whichever finished first.
        let (mut a, mut b, mut c) = (FailsAt(0, 0), FailsAt(9, 0), FailsAt(3, 0));
        let mut fan = Fanout::default();
        fan.push(&mut a);
        fan.push(&mut b);
        fan.push(&mut c);
        let e = f.replay(&mut fan).unwrap_err();
        assert_eq!(e.to_string(), "sink failing at 9");
        drop(fan);
        assert_eq!((a.1, b.1, c.1), (REPLAY_BLOCK, 9, 3));
    }

    #[test]
    fn replay_calls_begin_every_verdict_then_end() {
        let f = Findings {
            tenant_id: "t".into(),
            verdicts: vec![
                verdict("a", Status::Attributed, false),
                verdict("b", Status::Unknown, false),
            ],
            ..Findings::default()
        };
        let (mut one, mut two) = (Recorder::default(), Recorder::default());
        let mut fan = Fanout::default();
        fan.push(&mut one);
        fan.push(&mut two);
        f.replay(&mut fan).unwrap();
        let expected = ["begin t", "verdict a", "verdict b", "end 1 of 2"];
        assert_eq!(one.0, expected);
        assert_eq!(two.0, expected);
    }
}
