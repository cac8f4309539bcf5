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

/// `.github/scripts/package.py` refuses a Linux (musl) release binary that is not
/// static, whatever `file` would call it: it reads the ELF program headers.
mod release_archive {
    use std::path::Path;
    use std::process::{Command, Output};

    const ET_EXEC: u16 = 2;
    const ET_DYN: u16 = 3;
    const PT_LOAD: u32 = 1;
    const PT_DYNAMIC: u32 = 2;
    const PT_INTERP: u32 = 3;
    const X86_64: u16 = 62;
    const AARCH64: u16 = 183;

    /// A 64-bit little-endian ELF header with these program header types.
    fn elf(kind: u16, machine: u16, segments: &[u32]) -> Vec<u8> {
        let mut out = vec![0u8; 64];
        out[..4].copy_from_slice(b"\x7fELF");
        out[4] = 2; // 64-bit
        out[5] = 1; // little-endian
        out[6] = 1; // version
        out[16..18].copy_from_slice(&kind.to_le_bytes());
        out[18..20].copy_from_slice(&machine.to_le_bytes());
        out[32..40].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
        out[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
        out[54..56].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
        out[56..58].copy_from_slice(&(segments.len() as u16).to_le_bytes());
        for segment in segments {
            let mut header = vec![0u8; 56];
            header[..4].copy_from_slice(&segment.to_le_bytes());
            out.extend(header);
        }
        out
    }

    /// Packs `binary` as a wheel's script, then runs package.py on it.
    fn package(binary: &[u8], target: &str, dir: &Path) -> Output {
        let exe = dir.join("git-policy");
        std::fs::write(&exe, binary).unwrap();
        let wheel = dir.join("git_policy-1.0.0-py3-none-any.whl");
        let made = Command::new("python3")
            .args([
                "-c",
                "import sys, zipfile\n\
                 with zipfile.ZipFile(sys.argv[1], 'w') as z:\n    \
                 z.write(sys.argv[2], 'git_policy-1.0.0.data/scripts/git-policy')\n    \
                 z.writestr('git_policy-1.0.0.dist-info/METADATA', 'Metadata-Version: 2.4\\nName: git-policy\\n')\n    \
                 z.writestr('git_policy-1.0.0.dist-info/RECORD', '')",
            ])
            .arg(&wheel)
            .arg(&exe)
            .status()
            .unwrap();
        assert!(made.success());
        let notices = dir.join("THIRD-PARTY-NOTICES.txt");
        std::fs::write(
            &notices,
            format!("Third-party notices for git-policy ({target})\n"),
        )
        .unwrap();
        Command::new("python3")
            .arg(crate_root().join(".github/scripts/package.py"))
            .arg(&wheel)
            .args(["1.0.0", target])
            .arg(&notices)
            .arg(dir.join("out"))
            .output()
            .unwrap()
    }

    fn crate_root() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
    }

    fn archived(dir: &Path, target: &str) -> bool {
        dir.join(format!("out/git-policy-v1.0.0-{target}.tar.gz"))
            .exists()
    }

    #[test]
    fn static_and_static_pie_binaries_are_packed() {
        for (what, binary) in [
            ("static", elf(ET_EXEC, X86_64, &[PT_LOAD, PT_LOAD])),
            // What rustc makes for x86_64-unknown-linux-musl by default; `file`
            // says "static-pie linked", which the old `grep 'statically linked'`
            // of the release workflow refused.
            (
                "static-pie",
                elf(ET_DYN, X86_64, &[PT_LOAD, PT_DYNAMIC, PT_LOAD]),
            ),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let out = package(&binary, "x86_64-unknown-linux-musl", dir.path());
            assert!(out.status.success(), "{what}: {out:?}");
            assert!(archived(dir.path(), "x86_64-unknown-linux-musl"), "{what}");
        }
        let dir = tempfile::tempdir().unwrap();
        let out = package(
            &elf(ET_DYN, AARCH64, &[PT_LOAD, PT_DYNAMIC]),
            "aarch64-unknown-linux-musl",
            dir.path(),
        );
        assert!(out.status.success(), "{out:?}");
    }

    #[test]
    fn a_dynamic_or_foreign_linux_binary_is_refused() {
        let this_build = std::fs::read(env!("CARGO_BIN_EXE_git-policy")).unwrap();
        let interp = elf(ET_DYN, X86_64, &[PT_LOAD, PT_INTERP, PT_DYNAMIC]);
        let mut cases = vec![
            (
                "a program interpreter",
                interp.clone(),
                "x86_64-unknown-linux-musl",
                "is dynamically linked (it asks for a program interpreter)",
            ),
            (
                "another machine",
                elf(ET_EXEC, AARCH64, &[PT_LOAD]),
                "x86_64-unknown-linux-musl",
                "is built for ELF machine 183, not x86_64 (62)",
            ),
            (
                "cut short",
                interp[..100].to_vec(),
                "x86_64-unknown-linux-musl",
                "is cut short",
            ),
            (
                "not ELF",
                b"#!/bin/sh\necho hi\n".to_vec(),
                "x86_64-unknown-linux-musl",
                "is not a 64-bit little-endian ELF file",
            ),
        ];
        // This test's own build, on glibc, is dynamic like any cargo build for the
        // gnu target: a real binary with a program interpreter.
        if cfg!(target_env = "gnu") {
            cases.push((
                "this glibc build",
                this_build,
                "x86_64-unknown-linux-musl",
                "is dynamically linked",
            ));
        }
        for (what, binary, target, said) in cases {
            let dir = tempfile::tempdir().unwrap();
            let out = package(&binary, target, dir.path());
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{what} was packed: {out:?}");
            assert!(
                stderr.contains(&format!("the {target} binary {said}")),
                "{what}: {stderr}"
            );
            assert!(
                !archived(dir.path(), target),
                "{what}: an archive was written"
            );
        }
        // Other targets' binaries are not read as ELF (macOS, Windows).
        let dir = tempfile::tempdir().unwrap();
        let out = package(b"MZ not ELF", "x86_64-apple-darwin", dir.path());
        assert!(out.status.success(), "{out:?}");
    }
}
