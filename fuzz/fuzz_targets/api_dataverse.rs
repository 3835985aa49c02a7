#![no_main]
//! `api_dataverse`: see `palaudit_fuzzing::Target`.
use libfuzzer_sys::fuzz_target;
use palaudit_fuzzing::Target;

fuzz_target!(|data: &[u8]| {
    if let Some(target) = Target::by_name("api_dataverse") {
        target.run(data);
    }
});
