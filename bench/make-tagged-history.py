#!/usr/bin/env python3
"""Writes a `git fast-import` stream: N commits on refs/heads/main with a
release tag (`release-X.Y.Z`) every N/150 commits, and maintenance branches
whose patch releases are tagged off the main line (not on HEAD's history):
184 tags in all by default, as on apache/zookeeper. Deterministic.

    make-tagged-history.py [COMMITS] [TAGS]
"""
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
want_tags = int(sys.argv[2]) if len(sys.argv) > 2 else 184
out = sys.stdout.buffer
mark = 0
tags = []  # (name, mark)


def commit(ref, message, parent, when):
    global mark
    mark += 1
    data = message.encode()
    out.write(f"commit {ref}\nmark :{mark}\n".encode())
    out.write(f"committer Dev <dev@example.com> {when} +0000\n".encode())
    out.write(f"data {len(data)}\n".encode() + data + b"\n")
    if parent:
        out.write(f"from :{parent}\n".encode())
    out.write(f"M 644 inline file.txt\ndata {len(data)}\n".encode() + data + b"\n\n")
    return mark


main_tags = (want_tags + 1) // 2
every = max(1, n // (main_tags + 1))
parent, when = None, 1_600_000_000
minor = 0
for i in range(n):
    when += 600
    parent = commit("refs/heads/main", f"EPL-{i + 1} change {i}\n", parent, when)
    if (i + 1) % every == 0 and len(tags) < want_tags and minor < main_tags:
        minor += 1
        version = f"3.{minor}.0"
        tags.append((f"release-{version}", parent))
        # A maintenance branch with its own patch release, off HEAD's history.
        if len(tags) < want_tags:
            branch = parent
            for j in range(3):
                branch = commit(f"refs/heads/branch-{version}", f"EPL-{i + 1}{j} backport\n", branch, when + j + 1)
            tags.append((f"release-3.{minor}.1", branch))
for name, at in tags:
    out.write(f"reset refs/tags/{name}\nfrom :{at}\n\n".encode())
