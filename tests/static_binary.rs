//! Static where it matters: the binary loads no zlib, OpenSSL, libgit2, libssh2
//! or curl at run time. On glibc `ldd` may list only the C library (and the
//! loader, vDSO and libgcc_s, which Rust's unwinder uses); the released Linux
//! builds are musl and fully static (checked in the release workflow).

#![cfg(target_os = "linux")]

use std::process::Command;

/// The runtime's own pieces; anything else would have to ship with the binary.
const C_LIBRARY: &[&str] = &[
    "linux-vdso.so",
    "ld-linux",
    "libc.so",
    "libm.so",
    "libpthread.so",
    "libdl.so",
    "librt.so",
    "libutil.so",
    "libgcc_s.so",
];

#[test]
fn the_binary_links_nothing_but_the_c_library() {
    let out = Command::new("ldd")
        .arg(env!("CARGO_BIN_EXE_git-policy"))
        .output()
        .expect("ldd runs");
    let listed = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || listed.contains("not a dynamic executable") {
        // A static build (musl): nothing to load.
        assert!(
            listed.contains("not a dynamic executable")
                || String::from_utf8_lossy(&out.stderr).contains("not a dynamic executable"),
            "{out:?}"
        );
        return;
    }
    let libraries: Vec<&str> = listed
        .lines()
        .map(|line| line.split_whitespace().next().unwrap_or(""))
        .filter(|name| !name.is_empty())
        .collect();
    assert!(
        libraries.iter().any(|l| l.starts_with("libc.so")),
        "{listed}"
    );
    let foreign: Vec<&&str> = libraries
        .iter()
        .filter(|lib| {
            let name = lib.rsplit('/').next().unwrap_or(lib);
            !C_LIBRARY.iter().any(|ok| name.starts_with(ok))
        })
        .collect();
    assert!(
        foreign.is_empty(),
        "dynamically linked beyond the C library: {foreign:?}\n{listed}"
    );
    for never in [
        "libz",
        "libssl",
        "libcrypto",
        "libgit2",
        "libssh2",
        "libcurl",
    ] {
        assert!(!listed.contains(never), "{never} is dynamic:\n{listed}");
    }
}
