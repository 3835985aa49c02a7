//! Collection at the throttle floor: the real collectors against the made-up tenant of
//! `support`, each API on its own loopback port behind its own token bucket (`rate`
//! requests a second, a burst of one second's worth, `429` + `Retry-After` in whole
//! seconds when empty) and a fixed latency on every answer.
//!
//! Per cell (rate × latency) it prints the busiest host's forced requests (answers
//! served, 429s not counted), the floor those need at the rate (forced ÷ rate), the wall
//! time at default settings, wall ÷ floor, and the speed-up over one request at a time
//! per host (`concurrency = 1`, how the admin PowerShell cmdlets work) measured in the
//! same run on the same kind of server. One request at a time would take hours on the
//! full tenant, so it runs on a smaller tenant of the same shape and the speed-up
//! compares the busiest host's requests per second.
//!
//! `cargo bench -p palaudit-collect --bench collect_throttle`. Settings (environment):
//! `PALAUDIT_BENCH_RATES` (default `20,100,500`), `PALAUDIT_BENCH_LATENCIES_MS`
//! (`20,100,300`), `PALAUDIT_BENCH_RESOURCES` (the most resources a cell reads, default
//! 100,000), `PALAUDIT_BENCH_FLOOR_SECS` (a cell's tenant is sized so its floor is about
//! this, default 20; fewer resources at low rates), `PALAUDIT_BENCH_SEQUENTIAL_SECS`
//! (the same for the one-at-a-time run, default 10). Numbers are recorded in
//! BENCHMARKS.md.

mod support;

use palaudit_collect::auth::Auth;
use palaudit_collect::config::Config;
use palaudit_collect::{CollectOptions, CollectReport, collect};
use palaudit_replay::ThrottlePlan;
use std::time::{Duration, Instant};
use support::{PerApi, Shape, serve_per_api};

fn env_list(name: &str, default: &str) -> Vec<f64> {
    std::env::var(name)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect()
}

fn env_num(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One collection against `served`: the report, the wall time, and the busiest host
/// (its API name, answers served, 429s).
struct Run {
    report: CollectReport,
    wall: Duration,
    busiest: &'static str,
    forced: u64,
    throttled: u64,
}

async fn run(served: &PerApi, config: &Config) -> Run {
    served.reset();
    let dir = tempfile::tempdir().unwrap();
    let mut opts = CollectOptions::new(dir.path().join("snap"));
    opts.auth = Some(Auth::static_token("bench"));
    let started = Instant::now();
    let report = collect(config, &opts).await.unwrap();
    let wall = started.elapsed();
    assert!(
        report.manifest.collection_errors.is_empty(),
        "{:?}",
        report.manifest.collection_errors.first()
    );
    let (busiest, s) = served
        .served()
        .into_iter()
        .max_by_key(|(_, s)| s.pages)
        .unwrap();
    Run {
        report,
        wall,
        busiest,
        forced: s.pages,
        throttled: s.throttled,
    }
}

/// A tenant of about `n` resources at `plan`, collected with `config_for`'s settings.
async fn cell(n: usize, plan: ThrottlePlan, concurrency: Option<usize>) -> (Run, usize) {
    let shape = Shape::scaled(n);
    let expected = shape.total();
    let served = serve_per_api(shape, plan).await;
    let mut config = served.config();
    if let Some(c) = concurrency {
        config.collect.concurrency = c;
    }
    let r = run(&served, &config).await;
    assert_eq!(
        r.report.summary.total_resources() as usize,
        expected,
        "every resource collected"
    );
    (r, expected)
}

#[allow(clippy::print_stdout)]
fn main() {
    let rates = env_list("PALAUDIT_BENCH_RATES", "20,100,500");
    let latencies = env_list("PALAUDIT_BENCH_LATENCIES_MS", "20,100,300");
    let max_resources = env_num("PALAUDIT_BENCH_RESOURCES", 100_000.0) as usize;
    let floor_secs = env_num("PALAUDIT_BENCH_FLOOR_SECS", 20.0);
    let sequential_secs = env_num("PALAUDIT_BENCH_SEQUENTIAL_SECS", 10.0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "collect_throttle: token bucket per API host (burst = 1 s of its rate), Retry-After in whole seconds; default [collect] settings (concurrency cap {})",
        Config::for_replay(support::TENANT, "http://127.0.0.1")
            .collect
            .concurrency
    );
    println!(
        "| rate/s | latency | resources | busiest host | forced | floor | wall | wall ÷ floor | 429s | mean in flight | window (peak) | 1-at-a-time resources | 1-at-a-time req/s | req/s | speed-up |"
    );
    println!("|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut ratios = Vec::new();
    rt.block_on(async {
        for &rate in &rates {
            for &latency_ms in &latencies {
                let latency = Duration::from_secs_f64(latency_ms / 1000.0);
                let plan = ThrottlePlan::per_second(rate, latency);
                // Sized so the busiest host (about half the resources) needs the floor.
                let n = ((floor_secs * rate * 2.0) as usize).min(max_resources);
                let (r, resources) = cell(n, plan, None).await;
                let floor = r.forced as f64 / rate;
                let wall = r.wall.as_secs_f64();
                let host = r
                    .report
                    .summary
                    .hosts
                    .first()
                    .cloned()
                    .expect("a host was used");
                // One request at a time serves at most one per round trip (and at most
                // the rate): a tenant it reads in about `sequential_secs`.
                let one_at_a_time_rate = rate.min(1.0 / latency.as_secs_f64().max(1e-3));
                let n_seq = ((sequential_secs * one_at_a_time_rate * 2.0) as usize).clamp(50, n);
                let (s, seq_resources) = cell(n_seq, plan, Some(1)).await;
                let seq_rps = s.forced as f64 / s.wall.as_secs_f64();
                let rps = r.forced as f64 / wall;
                println!(
                    "| {rate:.0} | {latency_ms:.0} ms | {resources} | {} | {} | {floor:.1} s | {wall:.1} s | {:.2} | {} | {:.1} | {} ({}) | {seq_resources} | {seq_rps:.1} | {rps:.1} | {:.1}× |",
                    r.busiest,
                    r.forced,
                    wall / floor,
                    r.throttled,
                    host.mean_in_flight(),
                    host.window,
                    host.peak_window,
                    rps / seq_rps,
                );
                ratios.push(wall / floor);
                if s.busiest != r.busiest {
                    println!(
                        "  (one at a time, the busiest host was {}, not {})",
                        s.busiest, r.busiest
                    );
                }
            }
        }
    });
    ratios.sort_by(f64::total_cmp);
    if let Some(m) = ratios.get(ratios.len() / 2) {
        println!(
            "median wall ÷ floor {m:.2}, worst {:.2}",
            ratios.last().unwrap()
        );
    }
}
