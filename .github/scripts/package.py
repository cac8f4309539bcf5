"""Packs the git-policy binary of a wheel into the release archive, and puts
the third-party notices in both.

    python3 .github/scripts/package.py WHEEL VERSION TARGET NOTICES OUT_DIR

The archive is the wheel's own binary (built once, shipped twice, as uv and ruff
do): git-policy-v<version>-<target>.tar.gz (.zip for Windows) with the binary and
NOTICES (THIRD-PARTY-NOTICES.txt, from notices.py for this target) at its root,
and beside it <archive>.sha256 in `sha256sum` format. Timestamps are fixed so
the same binary always gives the same archive. The wheel gets the same notices
as a licence file (<name>.dist-info/licenses/THIRD-PARTY-NOTICES.txt, listed in
METADATA and RECORD), rewritten in place.

A Linux (musl) binary must be static and built for the target's machine: its ELF
program headers are read, and one that asks for a program interpreter (the
dynamic loader) is refused. Static and static-pie binaries both pass (`file` calls
the second "static-pie linked", not "statically linked").
"""

import base64
import gzip
import hashlib
import io
import pathlib
import struct
import sys
import tarfile
import zipfile


PT_INTERP = 3
NOTICES = "THIRD-PARTY-NOTICES.txt"
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


def read_notices(path: str, target: str) -> bytes:
    """Exits unless `path` holds notices written for `target`."""
    try:
        text = pathlib.Path(path).read_bytes()
    except OSError as e:
        sys.exit(f"cannot read the third-party notices {path}: {e}")
    first = text.split(b"\n", 1)[0].decode("utf-8", "replace")
    if first != f"Third-party notices for git-policy ({target})":
        sys.exit(f"{path} holds no third-party notices for {target} (first line: {first!r})")
    return text


def record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def add_notices_to_wheel(wheel: str, notices: bytes) -> None:
    """Adds the notices to the wheel as a licence file (PEP 639), in place."""
    with zipfile.ZipFile(wheel) as whl:
        entries = [(info, whl.read(info.filename)) for info in whl.infolist()]
    dist_info = {i.filename.split("/", 1)[0] for i, _ in entries if i.filename.endswith(".dist-info/RECORD")}
    if len(dist_info) != 1:
        sys.exit(f"{wheel}: expected one .dist-info/RECORD, found {sorted(dist_info)}")
    (dist_info,) = dist_info
    licence = f"{dist_info}/licenses/{NOTICES}"
    if any(i.filename == licence for i, _ in entries):
        sys.exit(f"{wheel} already holds {licence}")
    metadata_name, record_name = f"{dist_info}/METADATA", f"{dist_info}/RECORD"
    out = []
    for info, data in entries:
        if info.filename == metadata_name:
            # Headers end at the first blank line (the description follows).
            head, sep, body = data.partition(b"\n\n")
            head = head.rstrip(b"\n") + f"\nLicense-File: {NOTICES}".encode()
            data = head + (sep + body if sep else b"\n")
        if info.filename != record_name:
            out.append((info, data))
    stamp = out[0][0].date_time if out else (1980, 1, 1, 0, 0, 0)
    licence_info = zipfile.ZipInfo(licence, date_time=stamp)
    licence_info.external_attr = 0o644 << 16
    out.append((licence_info, notices))
    record = "".join(record_line(i.filename, d) + "\n" for i, d in out) + f"{record_name},,\n"
    out.append((zipfile.ZipInfo(record_name, date_time=stamp), record.encode()))
    rewritten = pathlib.Path(f"{wheel}.tmp")
    with zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED) as whl:
        for info, data in out:
            info.compress_type = zipfile.ZIP_DEFLATED
            whl.writestr(info, data)
    rewritten.replace(wheel)


def main(wheel: str, version: str, target: str, notices_file: str, out_dir: str) -> None:
    notices = read_notices(notices_file, target)
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
            info = zipfile.ZipInfo(NOTICES, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            z.writestr(info, notices, compress_type=zipfile.ZIP_DEFLATED)
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
            info = tarfile.TarInfo(NOTICES)
            info.size = len(notices)
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(notices))
    add_notices_to_wheel(wheel, notices)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    pathlib.Path(f"{archive}.sha256").write_text(f"{digest}  {archive.name}\n")
    print(f"{archive} {digest}")


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    main(*sys.argv[1:])
