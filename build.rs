//! Records the checkout a binary was built from (`HEXPYLOT_GIT_COMMIT`, empty outside a git
//! checkout), so that every result file names the code that produced it.

use std::process::Command;

fn main() {
    let describe = Command::new("git")
        .args(["describe", "--always", "--dirty", "--abbrev=12"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    println!("cargo:rustc-env=HEXPYLOT_GIT_COMMIT={describe}");
    // A new commit or a checkout moves HEAD; edits to tracked files change the index.
    for path in [".git/HEAD", ".git/index", ".git/refs/heads"] {
        if std::path::Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}
