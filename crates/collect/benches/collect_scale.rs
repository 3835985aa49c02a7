//! Collection at scale: the real collectors against a loopback server that makes up a
//! large tenant as it is asked for it — environments, canvas apps and their permissions,
//! flows and their permissions, Dataverse tables, Power BI workspaces and Graph `$batch`
//! — in the real APIs' shapes and page sizes. It measures palaudit's side of a
//! collection (requests, paging, Graph batching, Parquet writing), not the APIs'
//! latency: `PALAUDIT_BENCH_LATENCY_MS` adds a delay to every answer to see how
//! concurrency hides it.
//!
//! `cargo bench -p palaudit-collect --bench collect_scale` (`PALAUDIT_BENCH_RESOURCES`
//! for another size, default 100,000). Numbers are recorded in BENCHMARKS.md.

mod support;

use palaudit_collect::auth::Auth;
use palaudit_collect::config::{Config, PowerBiMode};
use palaudit_collect::{CollectOptions, collect};
use std::time::{Duration, Instant};
use support::{Shape, TENANT, serve};

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

#[allow(clippy::print_stdout)]
fn main() {
    let n: usize = std::env::var("PALAUDIT_BENCH_RESOURCES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let latency = Duration::from_millis(
        std::env::var("PALAUDIT_BENCH_LATENCY_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
    );
    let shape = Shape::for_resources(n);
    let expected = shape.total();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let addr = serve(shape, latency).await;
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::for_replay(TENANT, &format!("http://{addr}"));
        config.collect.powerbi = PowerBiMode::Groups;
        let mut opts = CollectOptions::new(dir.path().join("snap"));
        opts.auth = Some(Auth::static_token("bench"));
        println!(
            "collect_scale: {expected} resources, latency {} ms per answer, concurrency {} per host",
            latency.as_millis(),
            config.collect.concurrency
        );
        let started = Instant::now();
        let report = collect(&config, &opts).await.unwrap();
        let elapsed = started.elapsed();
        let collected = report.summary.total_resources();
        println!(
            "collected {collected} resources in {:.2} s with {} requests ({:.0} requests/s); {} errors; peak RSS {:.0} MiB",
            elapsed.as_secs_f64(),
            report.summary.requests,
            report.summary.requests as f64 / elapsed.as_secs_f64(),
            report.manifest.collection_errors.len(),
            peak_rss_mib()
        );
        assert_eq!(collected as usize, expected, "every resource collected");
        assert!(
            report.manifest.collection_errors.is_empty(),
            "{:?}",
            report.manifest.collection_errors.first()
        );
    });
}
