//! `--verdicts-parquet`: the demo's verdicts read back from the Parquet table must be the
//! audit CSV's, cell for cell, with the booleans and timestamps typed.

mod common;

use common::*;
use polars::prelude::*;

fn cell(df: &DataFrame, column: &str, row: usize) -> String {
    let value = df.column(column).unwrap().get(row).unwrap();
    match value {
        AnyValue::Null => String::new(),
        AnyValue::String(s) => s.to_owned(),
        AnyValue::StringOwned(s) => s.to_string(),
        AnyValue::Boolean(b) => b.to_string(),
        other => panic!("{column}: unexpected {other:?}"),
    }
}

#[test]
fn the_parquet_table_holds_the_audit_csv_typed() {
    let dir = tempfile::tempdir().unwrap();
    let out = palaudit_with_token(dir.path(), "unused")
        .args([
            "demo",
            "--quiet",
            "--csv",
            "audit.csv",
            "--verdicts-parquet",
            "verdicts.parquet",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let csv = read_csv(&std::fs::read_to_string(dir.path().join("audit.csv")).unwrap());
    let df = ParquetReader::new(std::fs::File::open(dir.path().join("verdicts.parquet")).unwrap())
        .finish()
        .unwrap();
    assert_eq!(df.height(), csv.len());
    assert_eq!(
        df.column("leaver_risk").unwrap().dtype(),
        &DataType::Boolean
    );
    assert!(matches!(
        df.column("collected_at").unwrap().dtype(),
        DataType::Datetime(_, _)
    ));
    for (i, row) in csv.iter().enumerate() {
        for (column, expected) in row {
            // The CSV guards cells that would read as formulas; Parquet keeps the value.
            let expected = expected.strip_prefix('\'').unwrap_or(expected);
            assert_eq!(cell(&df, column, i), expected, "row {i}, column {column}");
        }
        let id = palaudit_model::finding_id(
            &row["tenant_id"],
            row["resource_type"].parse().unwrap(),
            &row["resource_id"],
        );
        assert_eq!(cell(&df, "finding_id", i), id);
    }
}
