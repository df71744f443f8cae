#!/usr/bin/env python3
"""Checks every example of a Markdown page with maskc.

```mask blocks must check cleanly; ```mask-error blocks must fail with exit
status 1. A ```mask block whose first line is `# eval: ARGS` and that is
followed by a ```text block is evaluated (`maskc eval FILE ARGS`) and its
output must equal that block.
Usage: check_examples.py MASKC PAGE WORKDIR [maskc global options...]
"""
import re
import subprocess
import sys
from pathlib import Path


def main():
    maskc, page, work = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    extra = sys.argv[4:]
    work.mkdir(parents=True, exist_ok=True)
    blocks = re.findall(r"```([\w-]*)\n(.*?)```", page.read_text(), re.S)
    failures, checked = [], 0
    for i, (lang, body) in enumerate(blocks):
        if lang not in ("mask", "mask-error"):
            continue
        path = work / f"example_{i}.mask"
        path.write_text(body)
        r = subprocess.run([maskc, "--color", "never", *extra, "check", str(path)],
                           capture_output=True, text=True)
        checked += 1
        if lang == "mask" and r.returncode != 0:
            failures.append(f"example {i} does not check:\n{body}\n{r.stderr}")
            continue
        if lang == "mask-error" and r.returncode != 1:
            failures.append(f"example {i} should fail (status 1), got {r.returncode}")
            continue
        first = body.splitlines()[0] if body else ""
        if lang == "mask" and first.startswith("# eval:"):
            if i + 1 >= len(blocks) or blocks[i + 1][0] != "text":
                failures.append(f"example {i} has `# eval:` but no text block after it")
                continue
            args = first[len("# eval:"):].split()
            r = subprocess.run([maskc, "--color", "never", *extra, "eval", str(path), *args],
                               capture_output=True, text=True)
            if r.returncode != 0 or r.stdout != blocks[i + 1][1]:
                failures.append(f"example {i}: eval {' '.join(args)} printed\n{r.stdout}{r.stderr}"
                                f"expected\n{blocks[i + 1][1]}")
    for f in failures:
        print(f, file=sys.stderr)
    print(f"{checked} examples checked, {len(failures)} failed")
    return 1 if failures or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
