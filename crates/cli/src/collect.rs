//! `palaudit collect`: config → read-only collection → snapshot, with progress, a closing
//! summary and the exit code scripts rely on.

use crate::{CollectArgs, Outcome};
use anyhow::{Context, Result, bail};
use palaudit_collect::config::Config;
use palaudit_collect::{CollectOptions, CollectReport};
use std::io::Write;

pub fn run(args: &CollectArgs) -> Result<Outcome> {
    let config = Config::load(&args.config)?;
    if args.verbose {
        init_request_log();
    }
    let mut opts = CollectOptions::new(&args.out);
    opts.raw = args.raw;
    opts.progress = !args.quiet;
    opts.verbose = args.verbose;
    opts.resume = args.resume;
    let report = runtime()?
        .block_on(palaudit_collect::collect(&config, &opts))
        .with_context(|| format!("collecting tenant {}", config.tenant_id))?;
    // Said even with --quiet: the run did not do what --resume asked.
    for n in &report.notices {
        crate::audit::warn(n);
    }
    if !args.quiet {
        print_summary(&report, &args.out)?;
        // How the APIs were used is about the run, not the tenant: stderr, beside the
        // progress bars, so the summary on stdout stays the tenant's.
        let mut err = std::io::stderr().lock();
        write!(err, "{}", report.summary.usage_lines())?;
    }
    finish(&report, args.allow_partial)
}

/// A multi-threaded runtime: collectors overlap environments and APIs, and Parquet
/// writing runs on a blocking thread beside them.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// `--verbose`: one line per request on stderr (method, URL, status, duration, attempt).
/// The HTTP layer never puts a token or an `Authorization` header into these lines.
fn init_request_log() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PALAUDIT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .try_init();
}

fn print_summary(report: &CollectReport, out: &std::path::Path) -> Result<()> {
    let stdout = std::io::stdout();
    let mut w = stdout.lock();
    writeln!(w, "{}", report.summary)?;
    writeln!(w, "Snapshot written to {}", out.display())?;
    if let Some(raw) = &report.raw_dir {
        writeln!(w, "Raw API pages kept in {}", raw.display())?;
    }
    if let Some(journal) = &report.journal_kept {
        writeln!(
            w,
            "Collection journal kept in {}: collect again with --resume to ask only for what failed",
            journal.display()
        )?;
    }
    Ok(())
}

/// Lists every collection error on stderr; an incomplete snapshot is exit 2 unless
/// `--allow-partial` (the snapshot is written either way, errors in its manifest).
pub fn finish(report: &CollectReport, allow_partial: bool) -> Result<Outcome> {
    let errors = &report.manifest.collection_errors;
    if errors.is_empty() {
        return Ok(Outcome::Done);
    }
    for e in errors {
        crate::audit::warn(&format!("not collected: {e}"));
    }
    if allow_partial {
        return Ok(Outcome::Done);
    }
    bail!(
        "the collection is incomplete: {} collection error(s) (listed above and in manifest.json). \
         The snapshot was written; audit it with --allow-partial, or collect again",
        errors.len()
    )
}
