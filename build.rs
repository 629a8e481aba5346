//! Tells rustdoc when the library is being built for loom.
//!
//! `RUSTFLAGS="--cfg loom"` reaches rustc but not rustdoc, so doctests would link the
//! loom-instrumented library and panic outside a loom model. Cargo does pass a build
//! script's cfgs to rustdoc, so we re-emit loom as `panama_loom`, which the doc examples
//! use to mark themselves `ignore` in a loom build.
fn main() {
    println!("cargo:rustc-check-cfg=cfg(panama_loom)");
    println!("cargo:rerun-if-env-changed=CARGO_CFG_LOOM");
    if std::env::var_os("CARGO_CFG_LOOM").is_some() {
        println!("cargo:rustc-cfg=panama_loom");
    }
}
