#![no_main]
//! `rules`: see `palaudit_fuzzing::Target`.
use libfuzzer_sys::fuzz_target;
use palaudit_fuzzing::Target;

fuzz_target!(|data: &[u8]| {
    if let Some(target) = Target::by_name("rules") {
        target.run(data);
    }
});
