//! `palaudit demo`: the whole pipeline on the bundled sample tenant "Contoso".
//!
//! The tenant's recorded admin API pages are compiled into the binary. The demo serves
//! them on a loopback port with the replay server, points the real collectors at it
//! (exactly as a config's `[endpoints]` would), writes a real snapshot and audits it, so
//! what a user sees is what `collect` + `audit` would do, without an account or a network.

use crate::{DemoArgs, Outcome};
use anyhow::{Context, Result};
use include_dir::{Dir, include_dir};
use palaudit_collect::CollectOptions;
use palaudit_collect::auth::Auth;
use palaudit_collect::config::Config;
use palaudit_model::{IdentitiesError, Roster};
use palaudit_replay::{ReplayServer, Tenant};
use palaudit_snapshot::Snapshot;
use std::io::Write;

/// The sample tenant: routes, recorded pages, roster, expected verdicts.
static CONTOSO: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../fixtures/tenants/contoso");

/// Contoso's Entra tenant id (fixtures/tenants/contoso/README.md).
pub const CONTOSO_TENANT_ID: &str = "d8d86e5f-13e9-4bb5-bb94-0f99b507cd15";

pub fn run(args: &DemoArgs) -> Result<Outcome> {
    let roster = match &args.identities {
        Some(path) => crate::audit::load_roster(path)?,
        None => {
            let file = CONTOSO
                .get_file("identities.csv")
                .context("the bundled sample roster is missing from this build")?;
            Roster::parse(file.contents()).map_err(|problems| IdentitiesError::Invalid {
                path: "fixtures/tenants/contoso/identities.csv".into(),
                problems,
            })?
        }
    };
    let rules = crate::audit::load_rules(args.report.rules.as_deref())?;

    // The snapshot goes where the user asked, or into a directory removed afterwards.
    let scratch = tempfile::tempdir().context("cannot create a temporary directory")?;
    let out = match &args.snapshot {
        Some(dir) => dir.clone(),
        None => scratch.path().join("contoso"),
    };
    let report = crate::collect::runtime()?.block_on(async {
        let server = ReplayServer::start(bundled_tenant()?).await?;
        let config = Config::for_replay(CONTOSO_TENANT_ID, &server.base_url());
        let mut opts = CollectOptions::new(&out);
        // The replay server accepts any bearer token; a real collection signs in.
        opts.auth = Some(Auth::static_token("palaudit-demo"));
        anyhow::Ok(palaudit_collect::collect(&config, &opts).await?)
    })?;
    crate::collect::finish(&report, false)?;

    if !args.report.quiet {
        let stdout = std::io::stdout();
        let mut w = stdout.lock();
        writeln!(
            w,
            "palaudit demo: sample tenant Contoso ({CONTOSO_TENANT_ID}),\nserved from recorded API pages on a loopback port."
        )?;
        writeln!(
            w,
            "The read-only collectors found {} resources in {} environments\nand Power BI workspaces.",
            report.summary.total_resources(),
            report.summary.environments.len(),
        )?;
        if let Some(dir) = &args.snapshot {
            writeln!(w, "Snapshot kept in {}", dir.display())?;
        }
        writeln!(w)?;
    }
    let snapshot = Snapshot::open(&out)?;
    let identities = match &args.identities {
        Some(path) => path.display().to_string(),
        None => "bundled sample roster (fixtures/tenants/contoso/identities.csv)".to_owned(),
    };
    let run = crate::evidence::run_info(&snapshot, &rules, &identities);
    crate::audit::audit_snapshot(&snapshot, &roster, &rules, None, &run, &args.report)
}

/// The embedded tenant as the replay server's in-memory files.
fn bundled_tenant() -> Result<Tenant> {
    let mut files = Vec::new();
    collect_files(&CONTOSO, &mut files);
    Ok(Tenant::from_files(files)?)
}

fn collect_files(dir: &Dir<'_>, out: &mut Vec<(String, Vec<u8>)>) {
    for f in dir.files() {
        out.push((
            f.path().to_string_lossy().replace('\\', "/"),
            f.contents().to_vec(),
        ));
    }
    for d in dir.dirs() {
        collect_files(d, out);
    }
}
