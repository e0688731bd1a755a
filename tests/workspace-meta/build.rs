//! Records the triple this crate is built for (the machine the tests and xtask run
//! on), so `cargo metadata --filter-platform` resolves only what this platform builds
//! and needs no download of other platforms' packages.

fn main() {
    if let Ok(target) = std::env::var("TARGET") {
        println!("cargo:rustc-env=WORKSPACE_META_TARGET={target}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
