#!/usr/bin/env python3
"""Writes a `git fast-import` stream of N commits on refs/heads/main.

About 70% of the messages name a ticket (EPL-n, SCP-n, in the subject or the
body); the rest do not. Deterministic: the same N gives the same history.

    make-history.py N            short messages (~60 bytes): no commit is
                                 worth a delta, even after `git repack -f`
    make-history.py N --real     messages as real projects write them (~700
                                 bytes a commit: paragraphs, authors apart
                                 from committers, trailers), so that `git
                                 repack -adf` stores most commits as deltas,
                                 as servers pack real histories
"""
import random
import sys

args = [a for a in sys.argv[1:] if not a.startswith("--")]
real = "--real" in sys.argv[1:]
n = int(args[0]) if args else 100_000
out = sys.stdout.buffer
words = ["retry", "login", "cache", "invoice", "export", "timeout", "parser", "deploy", "config", "metrics"]
people = [
    ("Ada Lovelace", "ada@example.com"), ("Grace Hopper", "grace@example.com"),
    ("Linus Benedict", "linus@example.org"), ("Margaret Hamilton", "margaret@example.net"),
    ("Ken Thompson", "ken@example.com"), ("Barbara Liskov", "barbara@example.org"),
    ("Dennis Ritchie", "dmr@example.com"), ("Frances Allen", "fran@example.net"),
]
sentences = [
    "The {w} path failed under load; retry with backoff.",
    "When the upstream service answers slowly, the {w} code gave up after the first attempt and reported a failure to the caller.",
    "Keep the old behaviour behind a flag for one release, so that deployments that rely on it can move at their own pace.",
    "This also removes a lock that was held across the network call, which made every other request wait for the slowest one.",
    "Measured on the staging cluster: the 99th percentile latency of the {w} endpoint drops from 840 ms to 120 ms.",
    "No functional change intended for callers that already pass an explicit timeout.",
    "The test suite gains a case for an empty response, which used to panic in the {w} module.",
    "Reported by the on-call engineer after the incident review of last week.",
    "Split the function in two so that the error handling reads top to bottom.",
    "The configuration key keeps its name; only its default changes.",
]


def realistic(i, w, subject, ticket_line):
    rng = random.Random(i)
    author = people[rng.randrange(len(people))]
    body = []
    for _ in range(rng.randrange(1, 4)):
        body.append(" ".join(rng.choice(sentences).format(w=w) for _ in range(rng.randrange(2, 4))))
    trailers = [f"Signed-off-by: {author[0]} <{author[1]}>"]
    if rng.random() < 0.5:
        reviewer = people[rng.randrange(len(people))]
        trailers.append(f"Reviewed-by: {reviewer[0]} <{reviewer[1]}>")
    if ticket_line:
        trailers.insert(0, ticket_line)
    msg = subject + "\n\n" + "\n\n".join(body) + "\n\n" + "\n".join(trailers) + "\n"
    return author, msg


for i in range(1, n + 1):
    w = words[i % len(words)]
    kind = i % 10
    if kind < 5:
        msg = f"EPL-{i} Fix the {w} path\n\nThe {w} path failed under load; retry with backoff.\n"
        subject, ticket_line = f"EPL-{i} Fix the {w} path", None
    elif kind < 7:
        msg = f"Improve {w} handling\n\nRefs SCP-{i}\n"
        subject, ticket_line = f"Improve {w} handling", f"Refs SCP-{i}"
    elif kind == 7:
        msg = f"epl {i}: tune {w}\n"
        subject, ticket_line = f"epl {i}: tune {w}", None
    else:
        msg = f"Tidy up the {w} module\n\nNo functional change.\n"
        subject, ticket_line = f"Tidy up the {w} module", None
    author = None
    if real:
        author, msg = realistic(i, w, subject, ticket_line)
    data = msg.encode()
    content = f"{i}\n".encode()
    out.write(b"commit refs/heads/main\n")
    out.write(f"mark :{i}\n".encode())
    if author:
        out.write(f"author {author[0]} <{author[1]}> {1_600_000_000 + i * 60 - 3600} +0100\n".encode())
    out.write(f"committer Bench <bench@example.com> {1_600_000_000 + i * 60} +0000\n".encode())
    out.write(f"data {len(data)}\n".encode() + data)
    if i > 1:
        out.write(f"from :{i - 1}\n".encode())
    out.write(f"M 644 inline src/{w}.txt\ndata {len(content)}\n".encode() + content + b"\n")
