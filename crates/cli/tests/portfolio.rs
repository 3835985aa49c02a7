//! A portfolio of the two recorded tenants, Contoso and Adatum, collected through the
//! replay server and audited in one run with one identities file for both. The roll-up's
//! numbers are checked against each tenant's `expected.csv` and README, in every format.

mod common;

use common::*;
use polars::prelude::*;
use std::path::Path;

const CONTOSO: &str = "d8d86e5f-13e9-4bb5-bb94-0f99b507cd15";
const ADATUM: &str = "5f0c8a44-2b7e-4c1d-9a3f-6e8b0d2c4a71";
const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.palaudit-portfolio-test-token";

/// Collects the recorded tenant `name` into `dir/customers/<name>`.
fn collect(dir: &Path, name: &str, tenant_id: &str) {
    let served = serve(name);
    let config = write_replay_config(dir, &format!("{name}.toml"), tenant_id, &served);
    let run = palaudit_with_token(dir, TOKEN)
        .args(["collect", "--quiet", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(format!("customers/{name}"))
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
}

/// One identities file for the whole portfolio: both tenants' rosters.
fn write_portfolio_roster(dir: &Path) {
    let contoso =
        std::fs::read_to_string(repo().join("fixtures/tenants/contoso/identities.csv")).unwrap();
    let adatum =
        std::fs::read_to_string(repo().join("fixtures/tenants/adatum/identities.csv")).unwrap();
    let adatum_rows = adatum.split_once('\n').unwrap().1;
    std::fs::write(
        dir.join("pal-identities.csv"),
        format!("{}\n{adatum_rows}", contoso.trim_end()),
    )
    .unwrap();
}

/// Counts of `fixtures/tenants/<name>/expected.csv`: (total, attributed, unattributed, unknown).
fn expected_counts(name: &str) -> (usize, usize, usize, usize) {
    let rows = read_csv(
        &std::fs::read_to_string(
            repo()
                .join("fixtures/tenants")
                .join(name)
                .join("expected.csv"),
        )
        .unwrap(),
    );
    let n = |s: &str| rows.iter().filter(|r| r["status"] == s).count();
    (rows.len(), n("attributed"), n("unattributed"), n("unknown"))
}

#[test]
fn a_two_tenant_rollup_is_right_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    collect(d, "contoso", CONTOSO);
    collect(d, "adatum", ADATUM);
    write_portfolio_roster(d);

    let (code, stdout, stderr) = run_in(
        d,
        TOKEN,
        &[
            "audit",
            "--snapshots",
            "customers",
            "--identities",
            "pal-identities.csv",
            "--csv",
            "all.csv",
            "--json",
            "all.json",
            "--markdown",
            "all.md",
            "--roster-csv",
            "roster.csv",
            "--verdicts-parquet",
            "all.parquet",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    insta::assert_snapshot!("portfolio_stdout", redact_times(&stdout));

    // The same portfolio named snapshot by snapshot gives the same report.
    let (code, again, _) = run_in(
        d,
        TOKEN,
        &[
            "audit",
            "--snapshot",
            "customers/adatum",
            "--snapshot",
            "customers/contoso",
            "--identities",
            "pal-identities.csv",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(again, stdout, "--snapshots sorts by path, as listed here");

    let (c_total, c_attr, c_unattr, c_unknown) = expected_counts("contoso");
    let (a_total, a_attr, a_unattr, a_unknown) = expected_counts("adatum");
    assert_eq!((c_total, a_total), (42, 28));

    // JSON: a portfolio document with each tenant's report, then the roll-up.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("all.json")).unwrap()).unwrap();
    assert_eq!(json["kind"], "portfolio");
    let reports = json["tenants"].as_array().unwrap();
    assert_eq!(reports.len(), 2);
    assert_eq!(
        reports[0]["tenant_id"], ADATUM,
        "path order: adatum, contoso"
    );
    assert_eq!(reports[1]["verdicts"].as_array().unwrap().len(), c_total);
    let lines = json["rollup"]["tenants"].as_array().unwrap();
    let line = |tenant: &str| lines.iter().find(|l| l["tenant_id"] == tenant).unwrap();
    let (contoso, adatum) = (line(CONTOSO), line(ADATUM));
    assert_eq!(contoso["label"], "contoso");
    for (l, (total, attr, unattr, unknown)) in [
        (contoso, (c_total, c_attr, c_unattr, c_unknown)),
        (adatum, (a_total, a_attr, a_unattr, a_unknown)),
    ] {
        assert_eq!(l["total"], total);
        assert_eq!(l["attributed"], attr);
        assert_eq!(l["unattributed"], unattr);
        assert_eq!(l["unknown"], unknown);
    }
    assert_eq!(contoso["coverage_pct"], 42.9);
    assert_eq!(adatum["coverage_pct"], 39.3);
    // Leaver risk: Contoso 12 of 18 (its README); Adatum 11 attributed less the five won
    // by svc-fabrikam and the service principal (its README).
    assert_eq!(contoso["leaver_risk"], 12);
    assert_eq!(adatum["leaver_risk"], 6);
    // Roster gaps: Contoso's Jordan (deleted) and Sam (disabled) of its eight rows plus
    // Mateo, whom Adatum's file lists for Contoso; Adatum's Oskar (disabled) and Liam
    // (invitation pending) of its eight.
    assert_eq!(
        (&contoso["roster_gaps"], &contoso["roster_identities"]),
        (&2.into(), &9.into())
    );
    assert_eq!(
        (&adatum["roster_gaps"], &adatum["roster_identities"]),
        (&2.into(), &8.into())
    );
    let overall = &json["rollup"]["overall"];
    assert_eq!(overall["total"], 70);
    assert_eq!(overall["attributed"], c_attr + a_attr);
    assert_eq!(overall["coverage_pct"], 41.4);
    assert_eq!(overall["leaver_risk"], 18);
    assert_eq!(overall["roster_gaps"], 4);

    // CSV: one table, every tenant, the header once.
    let csv = read_csv(&std::fs::read_to_string(d.join("all.csv")).unwrap());
    assert_eq!(csv.len(), 70);
    assert_eq!(csv.iter().filter(|r| r["tenant_id"] == CONTOSO).count(), 42);
    let roster = read_csv(&std::fs::read_to_string(d.join("roster.csv")).unwrap());
    assert_eq!(roster.len(), 17);

    // Parquet: one table, every tenant.
    let df = ParquetReader::new(std::fs::File::open(d.join("all.parquet")).unwrap())
        .finish()
        .unwrap();
    assert_eq!(df.height(), 70);
    let tenants = df
        .column("tenant_id")
        .unwrap()
        .as_materialized_series()
        .clone();
    let tenants = tenants.str().unwrap();
    assert_eq!(
        (0..70).filter(|i| tenants.get(*i) == Some(ADATUM)).count(),
        28
    );

    // Markdown: the roll-up, then each tenant's checklist.
    let md = redact_times(&std::fs::read_to_string(d.join("all.md")).unwrap());
    let rollup_end = md.find("\n---\n").unwrap();
    insta::assert_snapshot!("portfolio_markdown_rollup", &md[..rollup_end]);
    assert_eq!(
        md.matches("# PAL pre-handover checklist — tenant").count(),
        2
    );
}

#[test]
fn fail_under_holds_for_every_tenant_and_bad_portfolios_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    collect(d, "contoso", CONTOSO);
    collect(d, "adatum", ADATUM);
    write_portfolio_roster(d);
    let audit = |extra: &[&str]| {
        let mut args = vec![
            "audit",
            "--snapshots",
            "customers",
            "--identities",
            "pal-identities.csv",
            "--quiet",
        ];
        args.extend_from_slice(extra);
        run_in(d, TOKEN, &args)
    };

    // Contoso 42.9%, Adatum 39.3%, all 41.4%: 40% fails because of Adatum alone.
    let (code, _, stderr) = audit(&["--fail-under", "40"]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("portfolio_fail_under", stderr);
    let (code, _, stderr) = audit(&["--fail-under", "39.3"]);
    assert_eq!(code, 0, "{stderr}");

    // A second collection of Contoso in the same portfolio.
    let copy = d.join("customers/contoso-again");
    std::fs::create_dir(&copy).unwrap();
    for entry in std::fs::read_dir(d.join("customers/contoso")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, copy.join(path.file_name().unwrap())).unwrap();
    }
    let (code, _, stderr) = audit(&[]);
    assert_eq!(code, 2);
    insta::assert_snapshot!("portfolio_same_tenant_twice", stderr);

    // A directory without snapshots.
    std::fs::create_dir(d.join("empty")).unwrap();
    let (code, _, stderr) = run_in(
        d,
        TOKEN,
        &[
            "audit",
            "--snapshots",
            "empty",
            "--identities",
            "pal-identities.csv",
        ],
    );
    assert_eq!(code, 2);
    insta::assert_snapshot!("portfolio_no_snapshots", stderr);
}
