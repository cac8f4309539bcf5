"""Writes THIRD-PARTY-NOTICES.txt: the notices of everything a release binary
statically links, for one target.

    python3 .github/scripts/notices.py TARGET OUT_FILE
    python3 .github/scripts/notices.py --check TARGET

`--check` does parts 2 and 3's checks only (no cargo-about, seconds instead of
minutes) and lists the parts the notices would hold: CI runs it for every
target.

Three parts, each complete or the script fails (a missing notice is never
shipped quietly):

1. The Rust crates: `cargo about generate` (about.toml, about.hbs) for TARGET,
   with `--fail` (a crate whose licence cannot be read stops it).
2. C code compiled from a crate's own source tree, which cargo's metadata does
   not describe (libgit2 and what it bundles: llhttp, xdiff, PCRE2, SHA-1 DC,
   …; zlib; jemalloc): the licence file of the vendored tree, by its SHA-256.
   Every crate in TARGET's graph that links native code (`links` in its
   manifest) must be listed in BUNDLED: a new one stops the script until
   someone reads its tree and adds its notice.
3. What the toolchain links: the Rust standard library (the notices file the
   toolchain ships, share/doc/rust/COPYRIGHT-library.html) and, for musl
   targets, musl libc (licenses/musl-COPYRIGHT).

cargo metadata and cargo about run with --locked: CI and the release read the
crates of Cargo.lock only.
"""

import hashlib
import html.parser
import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]

# Crate → (licence file in its source tree, SHA-256 of that file, what it is).
# The hash pins the text that was read: a version that changes it stops the
# script until the new text is read and its hash written here.
BUNDLED = {
    "libgit2-sys": (
        "libgit2/COPYING",
        "e0938121c0554985fe17196ac38fc590d149268e9c46e0c0e7a2eae1354fae71",
        "libgit2 (GPL-2.0 with the linking exception) and the code it bundles, "
        "each under its own licence below: llhttp, xdiff, PCRE2, SHA-1 collision "
        "detection, wildmatch, RFC 6234 SHA-256, ntlmclient, …",
    ),
    "libz-sys": (
        "src/zlib/LICENSE",
        "e32ff4e00d9d94930537635291da39e7e612703334bf6fde8c7f1686fe8a45a2",
        "zlib (built from libz-sys's bundled source, linked statically)",
    ),
    "tikv-jemalloc-sys": (
        "jemalloc/COPYING",
        "94aa2caa98c25d942f58b956c71dba6a99ff98fc3a31cbc669fe2a4cd0268b53",
        "jemalloc (the allocator of the musl builds)",
    ),
}
# Crates that link native code whose notice the crate's own licence already
# carries (part 1 prints it).
COVERED_BY_CRATE_LICENCE = {
    "ring": "ring's C and assembly code is under the licences of its LICENSE file",
}


def run(args: list[str]) -> str:
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"`{' '.join(args)}` failed:\n{done.stderr}")
    return done.stdout


def shipped_packages(target: str) -> list[dict]:
    """The packages in TARGET's binary: what `cargo tree` resolves for a build
    of git-policy (normal dependencies, features as built; cargo metadata's
    resolve also holds optional crates no build enables)."""
    tree = run(
        ["cargo", "tree", "--locked", "-e", "normal", "--target", target,
         "--prefix", "none", "--no-dedupe", "--format", "{p}"]
    )
    built = set()
    for line in tree.splitlines():
        words = line.split()
        if len(words) >= 2 and words[1].startswith("v"):
            built.add((words[0], words[1][1:]))
    if not built:
        sys.exit(f"cargo tree listed no crate for {target}")
    metadata = json.loads(run(["cargo", "metadata", "--format-version", "1", "--locked"]))
    packages = [p for p in metadata["packages"] if (p["name"], p["version"]) in built]
    missing = built - {(p["name"], p["version"]) for p in packages}
    if missing:
        sys.exit(f"cargo metadata lacks crates cargo tree lists: {sorted(missing)}")
    return sorted(packages, key=lambda p: (p["name"], p["version"]))


def bundled_notices(packages: list[dict]) -> list[tuple[str, str]]:
    sections = []
    for package in packages:
        name = package["name"]
        if not package.get("links") or name in COVERED_BY_CRATE_LICENCE:
            continue
        if name not in BUNDLED:
            sys.exit(
                f"{name} {package['version']} links native code ({package['links']}) that "
                "cargo's licence data does not describe: read its source tree for the "
                "licences of what it compiles and add its notice to BUNDLED in "
                ".github/scripts/notices.py"
            )
        path, sha256, what = BUNDLED[name]
        file = pathlib.Path(package["manifest_path"]).parent / path
        try:
            text = file.read_bytes()
        except OSError as e:
            sys.exit(f"{name}: cannot read its licence file {file}: {e}")
        found = hashlib.sha256(text).hexdigest()
        if found != sha256:
            sys.exit(
                f"{name} {package['version']}: {path} is not the text whose notice was "
                f"reviewed (SHA-256 {found}, expected {sha256}): read it, then update "
                "BUNDLED in .github/scripts/notices.py"
            )
        heading = f"{what}: {name} {package['version']}, {path}"
        sections.append((heading, text.decode("utf-8")))
    return sections


class _Text(html.parser.HTMLParser):
    """The text of an HTML page, one block a paragraph."""

    BLOCKS = {"p", "h1", "h2", "h3", "h4", "li", "pre", "div", "tr", "br", "section"}

    SKIPPED = {"head", "style", "script"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIPPED:
            self.skipping += 1
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)

    def text(self) -> str:
        lines = "".join(self.parts).splitlines()
        out, blank = [], False
        for line in (l.rstrip() for l in lines):
            if line or not blank:
                out.append(line)
            blank = not line
        return "\n".join(out).strip() + "\n"


def toolchain_notices(target: str) -> list[tuple[str, str]]:
    sysroot = pathlib.Path(run(["rustc", "--print", "sysroot"]).strip())
    std = sysroot / "share/doc/rust/COPYRIGHT-library.html"
    try:
        page = std.read_text(encoding="utf-8")
    except OSError as e:
        sys.exit(f"cannot read the Rust standard library's notices {std}: {e}")
    parser = _Text()
    parser.feed(page)
    sections = [("The Rust standard library (from the toolchain's COPYRIGHT-library.html)", parser.text())]
    if target.endswith("-musl"):
        musl = ROOT / "licenses/musl-COPYRIGHT"
        sections.append(("musl libc (linked statically into the musl builds): COPYRIGHT", musl.read_text(encoding="utf-8")))
    return sections


def main(target: str, out_file: str) -> None:
    packages = shipped_packages(target)
    crates = run(
        [
            "cargo", "about", "generate", "--locked", "--fail",
            "--target", target,
            "-c", str(ROOT / "about.toml"),
            str(ROOT / "about.hbs"),
        ]
    )
    if "================" not in crates:
        sys.exit("cargo about listed no licence")
    rule = "#" * 80
    out = [
        f"Third-party notices for git-policy ({target})\n\n"
        "git-policy is MIT OR Apache-2.0. Its binary contains the code of the\n"
        "projects below, whose licences ask that their notices go with it.\n"
        "Generated by .github/scripts/notices.py for this target.\n",
    ]
    for heading, text in bundled_notices(packages) + toolchain_notices(target):
        out.append(f"\n{rule}\n{heading}\n{rule}\n\n{text.rstrip()}\n")
    out.append(f"\n{rule}\nThe Rust crates (cargo about)\n{rule}\n{crates.rstrip()}\n")
    pathlib.Path(out_file).write_text("".join(out), encoding="utf-8")
    print(f"{out_file}: {sum(len(s) for s in out)} characters, {len(packages)} crates")


def check(target: str) -> None:
    for heading, _ in bundled_notices(shipped_packages(target)) + toolchain_notices(target):
        print(heading)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check(sys.argv[2])
    elif len(sys.argv) == 3 and not sys.argv[1].startswith("-"):
        main(*sys.argv[1:])
    else:
        sys.exit(__doc__)
