#!/usr/bin/env python3
"""Writes a `git fast-import` stream of N commits on refs/heads/main.

About 70% of the messages name a ticket (EPL-n, SCP-n, in the subject or the
body); the rest do not. Deterministic: the same N gives the same history.
"""
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
out = sys.stdout.buffer
words = ["retry", "login", "cache", "invoice", "export", "timeout", "parser", "deploy", "config", "metrics"]
for i in range(1, n + 1):
    w = words[i % len(words)]
    kind = i % 10
    if kind < 5:
        msg = f"EPL-{i} Fix the {w} path\n\nThe {w} path failed under load; retry with backoff.\n"
    elif kind < 7:
        msg = f"Improve {w} handling\n\nRefs SCP-{i}\n"
    elif kind == 7:
        msg = f"epl {i}: tune {w}\n"
    else:
        msg = f"Tidy up the {w} module\n\nNo functional change.\n"
    data = msg.encode()
    content = f"{i}\n".encode()
    out.write(b"commit refs/heads/main\n")
    out.write(f"mark :{i}\n".encode())
    out.write(f"committer Bench <bench@example.com> {1_600_000_000 + i * 60} +0000\n".encode())
    out.write(f"data {len(data)}\n".encode() + data)
    if i > 1:
        out.write(f"from :{i - 1}\n".encode())
    out.write(f"M 644 inline src/{w}.txt\ndata {len(content)}\n".encode() + content + b"\n")
