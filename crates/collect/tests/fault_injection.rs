//! The property behind every fault an API can throw at palaudit: over many seeded runs
//! against a replay server injecting random 429s, 503s, hangs, resets mid-body,
//! truncated and malformed bodies, looping, foreign and repeating `nextLink`s, the
//! snapshot equals a fault-free run's, or the run reports collection errors that name
//! everything missing. Nothing is invented or counted twice, and no run pages forever.
//!
//! `PALAUDIT_FAULT_RUNS` sets the number of seeds (default 200).

mod common;

use common::*;
use palaudit_collect::config::Config;
use palaudit_collect::{CollectError, collect};
use palaudit_model::{CollectionError, Inventory, ResourceType};
use palaudit_replay::{Fault, FaultPlan, ReplayServer, Tenant};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

fn fast(server: &ReplayServer) -> Config {
    let mut c = config(server);
    c.collect.max_retries = 8;
    c.collect.retry_base_delay = Duration::from_millis(1);
    c.collect.request_timeout = Duration::from_millis(300);
    c.collect.request_budget = Duration::from_secs(20);
    c
}

/// Collectors whose errors can explain a missing resource or holder of `t`.
fn families(t: ResourceType) -> &'static [&'static str] {
    match t {
        ResourceType::CanvasApp => &["canvas_apps", "canvas_app_permissions"],
        ResourceType::Flow => &["flows", "flow_permissions"],
        ResourceType::ModelDrivenApp => &["appmodules", "systemusers"],
        ResourceType::Bot => &["bots", "systemusers"],
        ResourceType::PowerbiDataset => &["powerbi"],
    }
}

fn explained(errors: &[CollectionError], collectors: &[&str], scope: &str) -> bool {
    errors.iter().any(|e| {
        collectors.contains(&e.collector.as_str())
            && e.scope
                .as_deref()
                .is_none_or(|s| s.starts_with("scan of") || s == scope)
    })
}

/// A row as text, without the replay server's port (each run has its own server).
fn row<T: std::fmt::Debug>(r: &T) -> String {
    let s = format!("{r:?}");
    let mut out = String::with_capacity(s.len());
    let mut rest = s.as_str();
    while let Some(i) = rest.find("127.0.0.1:") {
        out.push_str(&rest[..i]);
        out.push_str("127.0.0.1:PORT");
        rest = rest[i + 10..].trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

fn rows<T: std::fmt::Debug>(v: &[T]) -> HashSet<String> {
    v.iter().map(row).collect()
}

/// Checks the property for one run; `Err` says what broke it.
fn check(clean: &Inventory, got: &Inventory, errors: &[CollectionError]) -> Result<(), String> {
    let text = || {
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    };
    // Nothing invented, nothing twice.
    for (name, clean_rows, got_rows, n) in [
        (
            "environments",
            rows(&clean.environments),
            rows(&got.environments),
            got.environments.len(),
        ),
        (
            "resources",
            rows(&clean.resources),
            rows(&got.resources),
            got.resources.len(),
        ),
        (
            "systemusers",
            rows(&clean.systemusers),
            rows(&got.systemusers),
            got.systemusers.len(),
        ),
        (
            "principals",
            rows(&clean.principals),
            rows(&got.principals),
            got.principals.len(),
        ),
    ] {
        if got_rows.len() != n {
            return Err(format!("a row of {name} was written twice"));
        }
        if let Some(extra) = got_rows.difference(&clean_rows).next() {
            return Err(format!(
                "{name}: a row the fault-free run does not have: {extra}"
            ));
        }
    }
    let env_of: HashMap<(ResourceType, &str), &str> = clean
        .resources
        .iter()
        .map(|r| {
            (
                (r.resource_type, r.resource_id.as_str()),
                r.environment_id.as_str(),
            )
        })
        .collect();
    let got_envs: HashSet<&str> = got
        .environments
        .iter()
        .map(|e| e.environment_id.as_str())
        .collect();
    let env_missing = |env: &str| !got_envs.contains(env);
    for e in &clean.environments {
        if env_missing(&e.environment_id) {
            let c: &[&str] = if e.environment_type.starts_with("PowerBI") {
                &["powerbi"]
            } else {
                &["environments"]
            };
            if !explained(errors, c, "") {
                return Err(format!(
                    "environment {} is missing and no error says so:\n{}",
                    e.environment_id,
                    text()
                ));
            }
        }
    }
    let got_res = rows(&got.resources);
    for r in &clean.resources {
        if !got_res.contains(&row(r))
            && !env_missing(&r.environment_id)
            && !explained(errors, families(r.resource_type), &r.environment_id)
        {
            return Err(format!(
                "{} {} is missing and no error says so:\n{}",
                r.resource_type,
                r.resource_id,
                text()
            ));
        }
    }
    // Role assignments: none invented (by holder), and any missing or changed one is
    // explained (a holder read without its systemusers is written unresolved).
    let key = |r: &palaudit_model::RoleAssignment| {
        format!(
            "{:?}|{}|{:?}|{}",
            r.resource_type, r.resource_id, r.role, r.principal_id
        )
    };
    let clean_roles = rows(&clean.role_assignments);
    let got_roles = rows(&got.role_assignments);
    let clean_keys: HashSet<String> = clean.role_assignments.iter().map(key).collect();
    for r in &got.role_assignments {
        if !clean_keys.contains(&key(r)) {
            return Err(format!("an invented role assignment: {r:?}"));
        }
    }
    for r in clean.role_assignments.iter().chain(&got.role_assignments) {
        let text_row = row(r);
        if clean_roles.contains(&text_row) && got_roles.contains(&text_row) {
            continue;
        }
        let env = env_of
            .get(&(r.resource_type, r.resource_id.as_str()))
            .copied()
            .unwrap_or("");
        if !env_missing(env) && !explained(errors, families(r.resource_type), env) {
            return Err(format!(
                "role assignment missing or changed, and no error says so: {r:?}\n{}",
                text()
            ));
        }
    }
    let got_users = rows(&got.systemusers);
    for u in &clean.systemusers {
        if !got_users.contains(&row(u))
            && !env_missing(&u.environment_id)
            && !explained(errors, &["systemusers"], &u.environment_id)
        {
            return Err(format!(
                "systemuser {} is missing and no error says so:\n{}",
                u.systemuser_id,
                text()
            ));
        }
    }
    let got_principals = rows(&got.principals);
    let referenced: HashSet<&str> = got
        .role_assignments
        .iter()
        .map(|r| r.principal_id.as_str())
        .collect();
    for p in &clean.principals {
        let held = (!p.object_id.is_empty() && referenced.contains(p.object_id.as_str()))
            || p.upn.as_deref().is_some_and(|u| referenced.contains(u));
        if !got_principals.contains(&row(p)) && held && !explained(errors, &["graph"], "") {
            return Err(format!(
                "principal {} is missing and no error says so:\n{}",
                p.object_id,
                text()
            ));
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_lose_nothing_silently_and_never_page_forever() {
    let runs: u64 = std::env::var("PALAUDIT_FAULT_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let dir = tempfile::tempdir().unwrap();
    let tenant = Tenant::from_dir(&tenant_dir("contoso")).unwrap();
    let clean = {
        let server = ReplayServer::start(tenant.clone()).await.unwrap();
        let out = dir.path().join("clean");
        let report = run(&fast(&server), &out).await;
        assert_complete(&report);
        read(&out)
    };
    let mut injected: HashMap<Fault, usize> = HashMap::new();
    let (mut equal, mut partial, mut nothing) = (0, 0, 0);
    for seed in 0..runs {
        let server = ReplayServer::start_with_faults(
            tenant.clone(),
            FaultPlan {
                hang: Duration::from_secs(1),
                ..FaultPlan::new(seed, 0.04)
            },
        )
        .await
        .unwrap();
        let out = dir.path().join(format!("run-{seed}"));
        let cfg = fast(&server);
        let result = tokio::time::timeout(Duration::from_secs(120), collect(&cfg, &options(&out)))
            .await
            .unwrap_or_else(|_| {
                panic!("seed {seed}: the collection did not end (paging forever?)")
            });
        for r in server.requests() {
            if let Some(f) = r.fault {
                *injected.entry(f).or_default() += 1;
            }
        }
        match result {
            Ok(report) => {
                let got = read(&out);
                let errors = &report.manifest.collection_errors;
                if let Err(why) = check(&clean, &got, errors) {
                    panic!("seed {seed}: {why}");
                }
                if errors.is_empty() {
                    assert_eq!(rows(&got.resources), rows(&clean.resources), "seed {seed}");
                    assert_eq!(
                        rows(&got.role_assignments),
                        rows(&clean.role_assignments),
                        "seed {seed}"
                    );
                    assert_eq!(
                        rows(&got.principals),
                        rows(&clean.principals),
                        "seed {seed}"
                    );
                    equal += 1;
                } else {
                    partial += 1;
                }
            }
            Err(CollectError::NothingCollected { errors }) => {
                assert!(!errors.is_empty(), "seed {seed}");
                nothing += 1;
            }
            Err(e) => panic!("seed {seed}: {e}"),
        }
        let _ = std::fs::remove_dir_all(&out);
    }
    // The tally is what a reader of `cargo test -- --nocapture` wants to see.
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "{runs} runs: {equal} equal to the fault-free snapshot, {partial} partial with errors, {nothing} with nothing collected; faults injected: {injected:?}"
        );
    }
    if runs >= 100 {
        for f in Fault::ALL {
            assert!(
                injected.get(&f).copied().unwrap_or(0) > 0,
                "{f:?} was never injected"
            );
        }
        assert!(
            equal > 0 && partial > 0,
            "both outcomes occur: {equal} equal, {partial} partial"
        );
    }
}
