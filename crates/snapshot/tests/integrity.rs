//! Every way a snapshot can be damaged is refused, naming the file: a changed or
//! truncated table, a missing table, a wrong column type, a malformed or future manifest,
//! another tenant's manifest, and tables that were re-checksummed after being edited
//! (empty required values, unknown words, the same resource twice).

use chrono::{TimeZone, Utc};
use palaudit_model::{
    Environment, Inventory, Principal, PrincipalIdKind, PrincipalType, Resource, ResourceType,
    Role, RoleAssignment, SystemUser,
};
use palaudit_snapshot::{MANIFEST_FILE, Manifest, Snapshot, SnapshotError, write_inventory};
use polars::prelude::*;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::path::{Path, PathBuf};

fn sample(tenant: &str) -> Inventory {
    let t = Utc.with_ymd_and_hms(2026, 3, 1, 9, 30, 0).unwrap();
    let app = |id: &str| Resource {
        resource_type: ResourceType::CanvasApp,
        resource_id: id.into(),
        environment_id: "env1".into(),
        display_name: format!("App {id}"),
        workspace_name: None,
        created_time: Some(t),
        created_by: Some("o1".into()),
        modified_time: None,
        modified_by: None,
        published_time: None,
        published_by: None,
        state: Some("Published".into()),
        app_type: Some("ClassicCanvasApp".into()),
        alm_mode: Some("Environment".into()),
        workflow_entity_id: None,
        is_managed: None,
        solution_id: None,
        unique_name: None,
    };
    Inventory {
        tenant_id: tenant.into(),
        environments: vec![Environment {
            environment_id: "env1".into(),
            display_name: "Contoso Prod".into(),
            environment_type: "Production".into(),
            is_default: false,
            dataverse_url: None,
            region: None,
        }],
        resources: vec![app("a1"), app("a2"), app("a3")],
        role_assignments: vec![RoleAssignment {
            resource_type: ResourceType::CanvasApp,
            resource_id: "a1".into(),
            role: Role::Owner,
            principal_id: "o1".into(),
            principal_id_kind: PrincipalIdKind::EntraObjectId,
            principal_type: PrincipalType::User,
            display_name: Some("Pat".into()),
            assigned_on: Some(t),
        }],
        principals: vec![Principal {
            object_id: "o1".into(),
            app_id: None,
            upn: Some("pat@fabrikam.com".into()),
            mail: None,
            display_name: None,
            principal_type: PrincipalType::User,
            user_type: Some("Guest".into()),
            enabled: Some(true),
            deleted: false,
            external_user_state: None,
        }],
        systemusers: vec![SystemUser {
            environment_id: "env1".into(),
            systemuser_id: "su1".into(),
            azure_ad_object_id: Some("o1".into()),
            application_id: None,
            domain_name: None,
            full_name: None,
            is_disabled: None,
            access_mode: Some(0),
        }],
    }
}

const TENANT: &str = "d8d86e5f-13e9-4bb5-bb94-0f99b507cd15";
const OTHER_TENANT: &str = "0b7e0b9c-5d0e-4a56-9f43-3b7a1c2d4e5f";

fn written(dir: &Path, inv: &Inventory) -> PathBuf {
    let out = dir.join("snap");
    write_inventory(
        inv,
        &out,
        Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap(),
    )
    .unwrap();
    out
}

fn open_err(out: &Path) -> SnapshotError {
    match Snapshot::open(out) {
        Ok(_) => panic!("{} opened, but it is damaged", out.display()),
        Err(e) => e,
    }
}

fn manifest(out: &Path) -> Manifest {
    serde_json::from_slice(&std::fs::read(out.join(MANIFEST_FILE)).unwrap()).unwrap()
}

/// Writes `m` as the snapshot's manifest, sealed again as a writer would seal it.
fn save_sealed(out: &Path, m: Manifest) {
    std::fs::write(
        out.join(MANIFEST_FILE),
        serde_json::to_vec_pretty(&m.sealed()).unwrap(),
    )
    .unwrap();
}

/// Rewrites one table through `edit` and then records its checksum and seals the
/// manifest again, as a tool that wrote the table itself would: only the integrity
/// checks, not the checksums, can catch what `edit` did.
fn rewrite_table(out: &Path, table: &str, edit: impl FnOnce(DataFrame) -> DataFrame) {
    let path = out.join(format!("{table}.parquet"));
    let df = ParquetReader::new(File::open(&path).unwrap())
        .finish()
        .unwrap();
    let mut df = edit(df);
    ParquetWriter::new(File::create(&path).unwrap())
        .finish(&mut df)
        .unwrap();
    let mut m = manifest(out);
    let entry = m.tables.get_mut(table).unwrap();
    entry.sha256 = hex::encode(Sha256::digest(std::fs::read(&path).unwrap()));
    entry.rows = df.height() as u64;
    save_sealed(out, m);
}

fn replace_str_column(df: DataFrame, name: &str, values: Vec<Option<&str>>) -> DataFrame {
    let mut df = df;
    df.with_column(Column::new(name.into(), values)).unwrap();
    df
}

#[test]
fn an_untouched_snapshot_opens() {
    let dir = tempfile::tempdir().unwrap();
    let out = written(dir.path(), &sample(TENANT));
    let snap = Snapshot::open(&out).unwrap();
    assert_eq!(snap.resources.height(), 3);
    assert!(snap.manifest.seal.is_some(), "a new manifest is sealed");
}

#[test]
fn a_changed_byte_in_a_table_is_a_checksum_mismatch_naming_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let out = written(dir.path(), &sample(TENANT));
    let f = out.join("role_assignments.parquet");
    let mut bytes = std::fs::read(&f).unwrap();
    let last = bytes.len() - 10;
    bytes[last] ^= 0x01;
    std::fs::write(&f, bytes).unwrap();
    let err = open_err(&out);
    assert!(
        matches!(err, SnapshotError::ChecksumMismatch { .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("role_assignments.parquet"),
        "{err}"
    );
}

#[test]
fn a_truncated_table_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = written(dir.path(), &sample(TENANT));
    let f = out.join("principals.parquet");
    let bytes = std::fs::read(&f).unwrap();
    std::fs::write(&f, &bytes[..bytes.len() / 2]).unwrap();
    let err = open_err(&out);
    assert!(err.to_string().contains("principals.parquet"), "{err}");
    assert!(err.to_string().contains("checksum mismatch"), "{err}");
}

#[test]
fn a_missing_table_file_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = written(dir.path(), &sample(TENANT));
    std::fs::remove_file(out.join("systemusers.parquet")).unwrap();
    let err = open_err(&out);
    assert!(matches!(err, SnapshotError::Io { .. }), "{err}");
    assert!(err.to_string().contains("systemusers.parquet"), "{err}");
}

#[test]
fn a_table_the_manifest_does_not_list_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = written(dir.path(), &sample(TENANT));
    let mut m = manifest(&out);
    m.tables.remove("environments");
    save_sealed(&out, m);
    let err = open_err(&out);
    assert!(
        err.to_string()
            .contains("manifest.json: corrupt manifest: table `environments` is not listed"),
        "{err}"
    );
}

#[test]
fn an_empty_table_file_name_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let out = written(dir.path(), &sample(TENANT));
    let mut m = manifest(&out);
    m.tables.get_mut("resources").unwrap().file = String::new();
    save_sealed(&out, m);
    let err = open_err(&out);
    assert!(
        err.to_string()
            .contains("table `resources` has an empty `file`"),
        "{err}"
    );
}

#[test]
fn a_column_of_the_wrong_type_is_refused_naming_table_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let out = written(dir.path(), &sample(TENANT));
    rewrite_table(&out, "environments", |mut df| {
        df.with_column(Column::new("is_default".into(), vec![Some("no")]))
            .unwrap();
        df
    });
    let err = open_err(&out);
    let text = err.to_string();
    assert!(
        text.contains("environments.parquet: corrupt table"),
        "{text}"
    );
    assert!(text.contains("column `is_default` has type str"), "{text}");
}

#[test]
fn a_manifest_that_is_not_json_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = written(dir.path(), &sample(TENANT));
    std::fs::write(out.join(MANIFEST_FILE), "{\"format_version\": 1,").unwrap();
    let err = open_err(&out);
    assert!(
        matches!(err, SnapshotError::CorruptManifest { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("manifest.json"), "{err}");
}

#[test]
fn a_malformed_format_version_is_not_reported_as_missing() {
    let dir = tempfile::tempdir().unwrap();
    let out = written(dir.path(), &sample(TENANT));
    let mut m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join(MANIFEST_FILE)).unwrap()).unwrap();
    for bad in [
        serde_json::json!("1"),
        serde_json::json!(-1),
        serde_json::json!(1.5),
    ] {
        m["format_version"] = bad.clone();
        std::fs::write(out.join(MANIFEST_FILE), serde_json::to_vec(&m).unwrap()).unwrap();
        let text = open_err(&out).to_string();
        assert!(
            text.contains(&format!("`format_version` is {bad}, not a whole number")),
            "{bad}: {text}"
        );
    }
    m.as_object_mut().unwrap().remove("format_version");
    std::fs::write(out.join(MANIFEST_FILE), serde_json::to_vec(&m).unwrap()).unwrap();
    assert!(open_err(&out).to_string().contains("no `format_version`"));
}

#[test]
fn a_future_format_version_is_refused_with_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    let out = written(dir.path(), &sample(TENANT));
    let mut m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join(MANIFEST_FILE)).unwrap()).unwrap();
    m["format_version"] = 2.into();
    m["a_field_from_the_future"] = true.into();
    std::fs::write(out.join(MANIFEST_FILE), serde_json::to_vec(&m).unwrap()).unwrap();
    let err = open_err(&out);
    assert!(
        matches!(err, SnapshotError::UnsupportedVersion { found: 2, .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("snapshot format version 2 is not supported (this palaudit reads version 1)"),
        "{err}"
    );
}

#[test]
fn a_changed_tenant_id_breaks_the_seal() {
    let dir = tempfile::tempdir().unwrap();
    let out = written(dir.path(), &sample(TENANT));
    let text = std::fs::read_to_string(out.join(MANIFEST_FILE)).unwrap();
    assert!(text.contains(TENANT));
    std::fs::write(out.join(MANIFEST_FILE), text.replace(TENANT, OTHER_TENANT)).unwrap();
    let err = open_err(&out).to_string();
    assert!(
        err.contains("manifest.json: corrupt manifest: the manifest was changed after collection"),
        "{err}"
    );
    assert!(err.contains(OTHER_TENANT), "{err}");
}

#[test]
fn a_changed_count_breaks_the_seal() {
    let dir = tempfile::tempdir().unwrap();
    let out = written(dir.path(), &sample(TENANT));
    let mut m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join(MANIFEST_FILE)).unwrap()).unwrap();
    m["counts"]["canvas_app"] = 2.into();
    std::fs::write(out.join(MANIFEST_FILE), serde_json::to_vec(&m).unwrap()).unwrap();
    assert!(
        open_err(&out)
            .to_string()
            .contains("the manifest was changed after collection")
    );
}

#[test]
fn another_tenants_manifest_does_not_fit_the_tables() {
    let dir = tempfile::tempdir().unwrap();
    let ours = written(&dir.path().join("a"), &sample(TENANT));
    let mut other = sample(OTHER_TENANT);
    other.resources.truncate(1);
    let theirs = written(&dir.path().join("b"), &other);
    std::fs::copy(theirs.join(MANIFEST_FILE), ours.join(MANIFEST_FILE)).unwrap();
    let err = open_err(&ours);
    assert!(
        matches!(err, SnapshotError::ChecksumMismatch { .. }),
        "{err}"
    );
}

#[test]
fn an_older_unsealed_manifest_still_opens() {
    let dir = tempfile::tempdir().unwrap();
    let out = written(dir.path(), &sample(TENANT));
    let mut m = manifest(&out);
    m.seal = None;
    std::fs::write(out.join(MANIFEST_FILE), serde_json::to_vec(&m).unwrap()).unwrap();
    assert!(Snapshot::open(&out).is_ok());
}

#[test]
fn the_same_resource_on_two_rows_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut inv = sample(TENANT);
    inv.resources.push(inv.resources[1].clone());
    let out = written(dir.path(), &inv);
    let err = open_err(&out).to_string();
    assert!(err.contains("resources.parquet: corrupt table"), "{err}");
    assert!(
        err.contains("rows 2 and 4 are the same resource (resource_type `canvas_app`, environment_id `env1`, resource_id `a2`)"),
        "{err}"
    );
}

#[test]
fn the_same_environment_on_two_rows_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut inv = sample(TENANT);
    let mut twin = inv.environments[0].clone();
    twin.display_name = "Contoso Prod (again)".into();
    inv.environments.push(twin);
    let out = written(dir.path(), &inv);
    let err = open_err(&out).to_string();
    assert!(
        err.contains("rows 1 and 2 are the same environment (environment_id `env1`)"),
        "{err}"
    );
}

#[test]
fn a_null_environment_type_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = written(dir.path(), &sample(TENANT));
    rewrite_table(&out, "environments", |df| {
        replace_str_column(df, "environment_type", vec![None])
    });
    let err = open_err(&out).to_string();
    assert!(
        err.contains(
            "environments.parquet: corrupt table: row 1 of 1: `environment_type` is empty"
        ),
        "{err}"
    );
}

#[test]
fn an_unknown_role_word_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = written(dir.path(), &sample(TENANT));
    rewrite_table(&out, "role_assignments", |df| {
        replace_str_column(df, "role", vec![Some("Owner")])
    });
    let err = open_err(&out).to_string();
    assert!(
        err.contains("role_assignments.parquet: corrupt table: row 1 of 1: `role` is `Owner`, which is not one of owner, co_owner"),
        "{err}"
    );
}

#[test]
fn an_unknown_resource_type_or_principal_type_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = written(dir.path(), &sample(TENANT));
    rewrite_table(&out, "resources", |df| {
        replace_str_column(
            df,
            "resource_type",
            vec![Some("canvas_app"), Some("canvas_app"), Some("CanvasApp")],
        )
    });
    let err = open_err(&out).to_string();
    assert!(
        err.contains("row 3 of 3: `resource_type` is `CanvasApp`"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let out = written(dir.path(), &sample(TENANT));
    rewrite_table(&out, "principals", |df| {
        replace_str_column(df, "principal_type", vec![Some("wizard")])
    });
    let err = open_err(&out).to_string();
    assert!(
        err.contains("principals.parquet: corrupt table: row 1 of 1: `principal_type` is `wizard`"),
        "{err}"
    );
}

/// Found by fuzzing: a table whose page header claims 2^61 values in a one-row row group
/// made the Parquet reader ask for that much memory and abort the process. It is refused
/// before the reader sees it.
#[test]
fn a_page_claiming_more_values_than_its_rows_is_refused_not_a_crash() {
    let input = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fuzzing/regressions/snapshot_table/huge-page-value-count"
    ))
    .unwrap();
    let table = palaudit_snapshot::TABLES[usize::from(input[0]) % 5];
    let err = palaudit_snapshot::read_table_bytes(table, input[1..].to_vec())
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("corrupt table: row group 0: a page of column"),
        "{err}"
    );
    assert!(err.contains("the row group has 1 rows"), "{err}");
}
