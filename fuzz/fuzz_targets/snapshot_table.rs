#![no_main]
//! `snapshot_table`: see `palaudit_fuzzing::Target`.
use libfuzzer_sys::fuzz_target;
use palaudit_fuzzing::Target;

fuzz_target!(|data: &[u8]| {
    if let Some(target) = Target::by_name("snapshot_table") {
        target.run(data);
    }
});
