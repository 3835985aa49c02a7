//! The driver: resources in report order, each judged and handed on as soon as it is
//! reached.
//!
//! Resources are put in report order first (environment name, environment id, resource
//! type, resource name, resource id) and every role assignment is placed by its
//! resource's position once; then each resource's holders are resolved, decided and
//! emitted in blocks of resources judged on every core, so nothing per resource outlives
//! its verdict's block. A caller streaming to a [`VerdictSink`] holds only the aggregates
//! and the verdicts that are not attributed (the [`AuditSummary`]); [`evaluate`] keeps
//! every verdict, for tests and small tenants.

use super::decide::{Context, Decision, Env, decide};
use super::resolve::{
    self, Assignments, EvalError, LookupColumns, Lookups, Map, Placement, Resources,
};
use super::roster::roster_findings;
use crate::load::RuleSet;
use palaudit_model::{
    AuditHeader, AuditSummary, Findings, Roster, RosterFindings, Status, SummaryBuilder, Verdict,
    VerdictSink, ids,
};
use palaudit_snapshot::Frames;
use rayon::prelude::*;

/// Resources judged together on one core.
const BLOCK: usize = 1024;
/// Resources judged in parallel before their verdicts are handed on.
const WINDOW: usize = 16 * BLOCK;
/// Verdicts handed to the sink at a time.
const SINK_BLOCK: usize = 4 * BLOCK;

/// Evaluates every resource of `frames` for the customer tenant `tenant_id`, holding
/// every verdict.
pub fn evaluate(
    frames: &Frames,
    tenant_id: &str,
    roster: &Roster,
    rules: &RuleSet,
) -> Result<Findings, EvalError> {
    let mut verdicts = Vec::with_capacity(frames.resources.height());
    let roster = run(frames, tenant_id, roster, rules, |v| {
        verdicts.push(v);
        Ok(())
    })?;
    Ok(Findings {
        tenant_id: ids::norm(tenant_id),
        collected_at: None,
        collection_errors: Vec::new(),
        verdicts,
        guidance: rules.guidance(),
        roster,
    })
}

/// Evaluates every resource of `frames` and streams the audit to `sink`: `begin` with
/// `header`, every verdict in report order (in blocks of [`SINK_BLOCK`]), then `end`
/// with the summary, which is also returned. Only the summary and a few blocks of
/// verdicts are held in memory.
pub fn evaluate_into(
    frames: &Frames,
    tenant_id: &str,
    roster: &Roster,
    rules: &RuleSet,
    header: &AuditHeader,
    sink: &mut dyn VerdictSink,
) -> Result<AuditSummary, EvalError> {
    sink.begin(header).map_err(EvalError::Report)?;
    let mut summary = SummaryBuilder::default();
    // Verdicts go on in blocks: the summary counts a block (and keeps the ones not
    // attributed) on another core while the sink writes it.
    let mut block = Vec::with_capacity(SINK_BLOCK);
    let mut hand_on = |block: &mut Vec<Verdict>| {
        let written = {
            let block = &*block;
            let summary = &mut summary;
            rayon::in_place_scope(|scope| {
                scope.spawn(move |_| block.iter().for_each(|v| summary.add(v)));
                sink.verdicts(block)
            })
        };
        block.clear();
        written
    };
    let roster = run(frames, tenant_id, roster, rules, |verdict| {
        block.push(verdict);
        if block.len() == SINK_BLOCK {
            hand_on(&mut block)?;
        }
        Ok(())
    })?;
    hand_on(&mut block).map_err(EvalError::Report)?;
    let summary = summary.finish(roster)?;
    sink.end(&summary).map_err(EvalError::Report)?;
    Ok(summary)
}

/// Judges every resource, handing each verdict to `emit` in report order; returns the
/// roster section (which needs every verdict's credit first).
fn run(
    frames: &Frames,
    tenant_id: &str,
    roster: &Roster,
    rules: &RuleSet,
    mut emit: impl FnMut(Verdict) -> Result<(), palaudit_model::SinkError>,
) -> Result<RosterFindings, EvalError> {
    let tenant = ids::norm(tenant_id);
    let environments = resolve::environments(&frames.environments)?;
    let resources = Resources::read(&frames.resources)?;
    let ctx = Context::new(rules, roster);
    let env_of: Vec<Option<&Env>> = (0..resources.len())
        .map(|r| environments.get(ids::norm_cow(resources.environment_id(r)).as_ref()))
        .collect();
    let order = report_order(&resources, &env_of);
    let placement = Placement::new(frames, &resources, &order)?;
    let lookup_columns = LookupColumns::read(frames)?;
    let lookups = Lookups::prepare(&lookup_columns, roster, &tenant);
    let assignments = Assignments::read(&frames.role_assignments)?;

    // One resource judged: its holders resolved, the decision taken, and the facts a fix
    // plan acts on attached to every verdict of a known environment that is not
    // attributed. Pure over shared, read-only lookups, so blocks of resources are judged
    // on every core while the verdicts before them are being written.
    let judge = |pos: usize, matched: &mut Vec<(usize, usize)>| -> Decision {
        let r = order[pos] as usize;
        let env_id = ids::norm_cow(resources.environment_id(r));
        let holders: Vec<_> = placement
            .of(pos)
            .iter()
            .map(|&a| lookups.holder(&assignments, a as usize, &env_id, matched))
            .collect();
        let env = env_of[r];
        let actors = resources.actors(r);
        let mut decision = decide(&ctx, &resources.row(r, env, &actors), &holders);
        if let Some(env) = env
            && decision.verdict.status != Status::Attributed
        {
            decision.verdict.facts = Some(Box::new(resources.facts(r, env)));
        }
        decision
    };

    // Resources credited to each roster identity, by roster position.
    let mut credits = vec![0u64; roster.identities.len()];
    let mut written: Result<(), EvalError> = Ok(());
    std::thread::scope(|scope| {
        // A few windows in flight at most, so memory stays bounded; a window is judged
        // in parallel blocks and handed on in report order.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Decision>>(2);
        let judge = &judge;
        let total = order.len();
        scope.spawn(move || {
            for window in (0..total).step_by(WINDOW) {
                let end = (window + WINDOW).min(total);
                let blocks: Vec<Vec<Decision>> = (window..end)
                    .step_by(BLOCK)
                    .collect::<Vec<_>>()
                    .into_par_iter()
                    .map(|start| {
                        let mut matched = Vec::new();
                        (start..(start + BLOCK).min(end))
                            .map(|pos| judge(pos, &mut matched))
                            .collect()
                    })
                    .collect();
                for block in blocks {
                    // The receiver is gone when a report failed: stop judging.
                    if tx.send(block).is_err() {
                        return;
                    }
                }
            }
        });
        for block in rx {
            for decision in block {
                if let Some(slot) = decision.credited.and_then(|i| credits.get_mut(i)) {
                    *slot += 1;
                }
                if let Err(e) = emit(decision.verdict) {
                    written = Err(EvalError::Report(e));
                    return;
                }
            }
        }
    });
    written?;
    roster_findings(&frames.principals, roster, &tenant, &credits)
}

/// The resources' rows in report order: environment name, environment id (as verdicts
/// show them), resource type, resource name, resource id; equal keys keep snapshot order.
fn report_order(resources: &Resources, env_of: &[Option<&Env>]) -> Vec<u32> {
    // Environments (and unknown environment ids) ranked once, so the sort compares
    // numbers for them instead of strings.
    let mut env_keys: Vec<(&str, &str)> = (0..resources.len())
        .map(|r| env_key(resources, env_of, r))
        .collect();
    env_keys.sort_unstable();
    env_keys.dedup();
    let rank: Map<(&str, &str), u32> = env_keys
        .iter()
        .enumerate()
        .map(|(i, k)| (*k, i as u32))
        .collect();
    let env_rank: Vec<u32> = (0..resources.len())
        .map(|r| rank[&env_key(resources, env_of, r)])
        .collect();
    let mut order: Vec<u32> = (0..resources.len() as u32).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (a as usize, b as usize);
        (
            env_rank[a],
            resources.resource_type(a),
            resources.display_name(a),
            resources.resource_id(a),
        )
            .cmp(&(
                env_rank[b],
                resources.resource_type(b),
                resources.display_name(b),
                resources.resource_id(b),
            ))
    });
    order
}

/// (environment name, environment id) of resource `r` as its verdict shows them.
fn env_key<'a>(
    resources: &'a Resources,
    env_of: &[Option<&'a Env>],
    r: usize,
) -> (&'a str, &'a str) {
    match env_of[r] {
        Some(e) => (&e.name, &e.id),
        None => ("", resources.environment_id(r)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palaudit_model::SinkError;

    /// Keeps what streamed past.
    #[derive(Default)]
    struct Kept {
        began: bool,
        verdicts: Vec<Verdict>,
        summary: Option<AuditSummary>,
    }

    impl VerdictSink for Kept {
        fn begin(&mut self, _: &AuditHeader) -> Result<(), SinkError> {
            self.began = true;
            Ok(())
        }
        fn verdict(&mut self, verdict: &Verdict) -> Result<(), SinkError> {
            assert!(self.began && self.summary.is_none(), "begin, verdicts, end");
            self.verdicts.push(verdict.clone());
            Ok(())
        }
        fn end(&mut self, summary: &AuditSummary) -> Result<(), SinkError> {
            self.summary = Some(summary.clone());
            Ok(())
        }
    }

    fn case(name: &str) -> (palaudit_model::Inventory, Roster) {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/cases");
        let text = std::fs::read_to_string(format!("{dir}/{name}")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let inv: palaudit_model::Inventory =
            serde_json::from_value(v["inventory"].clone()).unwrap();
        let roster = Roster::parse(v["identities"].as_str().unwrap().as_bytes()).unwrap();
        (inv, roster)
    }

    #[test]
    fn resources_judged_in_parallel_blocks_keep_their_verdicts_and_order() {
        let rules = RuleSet::bundled();
        let (base, roster) = case("latest_partner_wins.pass.json");
        let alone = evaluate(
            &Frames::of(&base).unwrap(),
            &base.tenant_id,
            &roster,
            &rules,
        )
        .unwrap();
        // Copies of every resource, across several blocks and windows.
        let copies = (2 * WINDOW + 7) / base.resources.len() + 1;
        let mut inv = base.clone();
        inv.resources.clear();
        inv.role_assignments.clear();
        for c in 0..copies {
            for r in &base.resources {
                let mut r = r.clone();
                let id = format!("{}-{c:06}", r.resource_id);
                for a in base.role_assignments.iter().filter(|a| {
                    a.resource_id == r.resource_id && a.resource_type == r.resource_type
                }) {
                    let mut a = a.clone();
                    a.resource_id = id.clone();
                    inv.role_assignments.push(a);
                }
                r.resource_id = id;
                r.display_name = format!("{} {c:06}", r.display_name);
                inv.resources.push(r);
            }
        }
        let many = evaluate(&Frames::of(&inv).unwrap(), &inv.tenant_id, &roster, &rules).unwrap();
        assert_eq!(many.verdicts.len(), copies * base.resources.len());
        for v in &many.verdicts {
            let original = alone
                .verdicts
                .iter()
                .find(|o| v.resource_id.starts_with(&format!("{}-", o.resource_id)))
                .expect("every copy has its original");
            assert_eq!(
                (v.status, &v.reasons, &v.partner_id, &v.evidence.candidates),
                (
                    original.status,
                    &original.reasons,
                    &original.partner_id,
                    &original.evidence.candidates
                ),
                "{}",
                v.resource_id
            );
        }
        let key = |v: &Verdict| {
            (
                v.environment_name.clone(),
                v.environment_id.clone(),
                v.resource_type,
                v.resource_name.clone(),
                v.resource_id.clone(),
            )
        };
        assert!(
            many.verdicts.windows(2).all(|w| key(&w[0]) <= key(&w[1])),
            "report order"
        );
    }

    #[test]
    fn streaming_hands_on_the_same_verdicts_in_report_order() {
        let rules = RuleSet::bundled();
        let (inv, roster) = case("latest_partner_wins.pass.json");
        let frames = Frames::of(&inv).unwrap();
        let held = evaluate(&frames, &inv.tenant_id, &roster, &rules).unwrap();
        let mut seen = Kept::default();
        let summary = evaluate_into(
            &frames,
            &inv.tenant_id,
            &roster,
            &rules,
            &held.header(),
            &mut seen,
        )
        .unwrap();
        assert_eq!(seen.verdicts, held.verdicts);
        assert_eq!(summary, held.summary());
        assert_eq!(seen.summary.as_ref(), Some(&summary));
        let mut sorted = held.verdicts.clone();
        sorted.sort_by(|a, b| {
            (
                &a.environment_name,
                &a.environment_id,
                a.resource_type,
                &a.resource_name,
            )
                .cmp(&(
                    &b.environment_name,
                    &b.environment_id,
                    b.resource_type,
                    &b.resource_name,
                ))
        });
        assert_eq!(sorted, held.verdicts, "report order");

        // The streamed CSV is byte for byte the one written from held findings.
        let mut streamed = palaudit_report::CsvSink::new(Vec::new());
        evaluate_into(
            &frames,
            &inv.tenant_id,
            &roster,
            &rules,
            &held.header(),
            &mut streamed,
        )
        .unwrap();
        let mut written = Vec::new();
        palaudit_report::csv(&held, &mut written).unwrap();
        assert_eq!(streamed.into_inner().unwrap(), written);
    }
}
