//! Writes every fuzz target's seeds to `<dir>/<target>/<n>`, the corpus layout of
//! cargo-fuzz: `cargo run -p palaudit-fuzzing --example write_seeds -- fuzz/corpus`.

use palaudit_fuzzing::Target;
use palaudit_fuzzing::seeds::seeds;
use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fuzz/corpus".into()),
    );
    let scratch = std::env::temp_dir().join(format!("palaudit-seeds-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    for target in Target::ALL {
        let out = dir.join(target.name());
        std::fs::create_dir_all(&out)?;
        for (i, (_, bytes)) in seeds(target, &scratch).into_iter().enumerate() {
            std::fs::write(out.join(format!("seed-{i}")), bytes)?;
        }
    }
    std::fs::remove_dir_all(&scratch)
}
