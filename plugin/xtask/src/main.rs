//! `cargo xtask bundle cochlea-plugin [--release] [cargo build options]`: builds the plugin and
//! writes `target/bundled/Cochlea.clap` and `target/bundled/Cochlea.vst3` (nice-plug-xtask).
//!
//! nice-plug-xtask reads bundle names from `bundler.toml` in the current directory; Cochlea keeps
//! that file in `plugin/` so the workspace root stays as it is. This wrapper builds from the
//! workspace root, then bundles from `plugin/`. Other commands go to nice-plug-xtask unchanged.

use std::path::PathBuf;

use anyhow::{bail, Result};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) != Some("bundle") {
        return nice_plug_xtask::main_with_args("cargo xtask", args);
    }
    let (packages, build_args) = split_bundle_args(&args[1..])?;
    nice_plug_xtask::chdir_workspace_root()?;
    let metadata = cargo_metadata::MetadataCommand::new()
        .manifest_path("./Cargo.toml")
        .no_deps()
        .exec()?;
    let target_dir: PathBuf = metadata.target_directory.into_std_path_buf();
    nice_plug_xtask::build(&packages, &build_args)?;
    std::env::set_current_dir(metadata.workspace_root.as_std_path().join("plugin"))?;
    for package in &packages {
        nice_plug_xtask::bundle(&target_dir, package, &build_args, false)?;
    }
    Ok(())
}

/// `PACKAGE [ARGS]` or `-p PACKAGE [-p PACKAGE ...] [ARGS]`, as nice-plug-xtask accepts them.
fn split_bundle_args(args: &[String]) -> Result<(Vec<String>, Vec<String>)> {
    let usage = "usage: cargo xtask bundle cochlea-plugin [--release] [cargo build options]";
    let mut packages = Vec::new();
    let mut rest = args;
    while rest.first().map(String::as_str) == Some("-p") {
        let Some(package) = rest.get(1) else {
            bail!(usage)
        };
        packages.push(package.clone());
        rest = &rest[2..];
    }
    if packages.is_empty() {
        match rest.first() {
            Some(package) if !package.starts_with('-') => {
                packages.push(package.clone());
                rest = &rest[1..];
            }
            _ => bail!(usage),
        }
    }
    Ok((packages, rest.to_vec()))
}
