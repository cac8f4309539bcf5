"""Packs the git-policy binary of a wheel into the release archive.

    python3 .github/scripts/package.py WHEEL VERSION TARGET OUT_DIR

The archive is the wheel's own binary (built once, shipped twice, as uv and ruff
do): git-policy-v<version>-<target>.tar.gz (.zip for Windows) with the binary at
its root, and beside it <archive>.sha256 in `sha256sum` format. Timestamps are
fixed so the same binary always gives the same archive.

A Linux (musl) binary must be static and built for the target's machine: its ELF
program headers are read, and one that asks for a program interpreter (the
dynamic loader) is refused. Static and static-pie binaries both pass (`file` calls
the second "static-pie linked", not "statically linked").
"""

import gzip
import hashlib
import io
import pathlib
import struct
import sys
import tarfile
import zipfile


PT_INTERP = 3
ELF_MACHINES = {"x86_64": 62, "aarch64": 183}


def check_static_elf(binary: bytes, target: str) -> None:
    """Exits with the reason unless `binary` is a static 64-bit ELF for `target`."""
    arch = target.split("-", 1)[0]
    where = f"the {target} binary"
    if binary[:4] != b"\x7fELF" or binary[4:6] != b"\x02\x01":
        sys.exit(f"{where} is not a 64-bit little-endian ELF file")
    try:
        (machine,) = struct.unpack_from("<H", binary, 18)
        (phoff,) = struct.unpack_from("<Q", binary, 32)
        phentsize, phnum = struct.unpack_from("<HH", binary, 54)
        types = [struct.unpack_from("<I", binary, phoff + i * phentsize)[0] for i in range(phnum)]
    except struct.error:
        sys.exit(f"{where} is cut short: its ELF header or program headers are incomplete")
    if machine != ELF_MACHINES.get(arch):
        sys.exit(f"{where} is built for ELF machine {machine}, not {arch} ({ELF_MACHINES.get(arch)})")
    if phnum == 0 or phentsize < 4:
        sys.exit(f"{where} has no program headers")
    if PT_INTERP in types:
        sys.exit(
            f"{where} is dynamically linked (it asks for a program interpreter): "
            "the release's Linux builds must be static (musl)"
        )


def main(wheel: str, version: str, target: str, out_dir: str) -> None:
    windows = "windows" in target
    exe = "git-policy.exe" if windows else "git-policy"
    with zipfile.ZipFile(wheel) as whl:
        members = [n for n in whl.namelist() if n.endswith(".data/scripts/" + exe)]
        if len(members) != 1:
            sys.exit(f"{wheel}: expected one {exe} in the wheel's scripts, found {members}")
        binary = whl.read(members[0])
    if "-linux-musl" in target:
        check_static_elf(binary, target)
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = f"git-policy-v{version}-{target}"
    if windows:
        archive = out / f"{name}.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
            info = zipfile.ZipInfo(exe, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o755 << 16
            z.writestr(info, binary, compress_type=zipfile.ZIP_DEFLATED)
    else:
        archive = out / f"{name}.tar.gz"
        with open(archive, "wb") as raw, gzip.GzipFile(
            filename="", mode="wb", fileobj=raw, mtime=0
        ) as gz, tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
            info = tarfile.TarInfo(exe)
            info.size = len(binary)
            info.mode = 0o755
            info.mtime = 0
            tar.addfile(info, io.BytesIO(binary))
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    pathlib.Path(f"{archive}.sha256").write_text(f"{digest}  {archive.name}\n")
    print(f"{archive} {digest}")


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(*sys.argv[1:])
