"""Benchmark the export check: `python bench/scan_export.py --users 1000000`.

Generates N users plus their hash rows into a temporary folder (gzipped users export, plain
password export), runs the same path as `auth0-workos check` in-process (read, verify, join,
classify, duplicates, and a few sample requests), and prints lines per second and peak RSS.
With --save it then checks again as `check --run-dir` does (hash digests and the mapping's
spool taken while reading) and writes every planned user into a journal, and prints the seconds
that adds to the plain check, per 1M users. Yardstick, in the same run: the CPU time of `jq -c .` on the
users file alone (`gzip -dc | jq -c .` when it is gzipped; the CPU of both counted), so the figure
is a ratio that holds on a loaded machine; without `jq` the yardstick is a `python -c` loop of
`json.loads` over the lines, and the output says so.
Aims (issue 17): our check CPU / jq CPU <= 0.5 (1,000,000 users + 750,000 hash rows), peak RSS
< 300 MB, `--save` under 20 s extra per 1M users.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _gen import write_exports  # noqa: E402

from wizard.core.journal import Journal  # noqa: E402
from wizard.core.plan import build_plan, build_run_plan, export_gate, save_plan  # noqa: E402


def peak_rss_mb() -> float:
    """Peak resident set size of this process (Linux reports KiB)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


_PY_YARDSTICK = ("import json,sys\nfor line in sys.stdin.buffer:\n    line.strip() and json.loads(line)")


def yardstick(users: Path) -> tuple[str, float]:
    """(what ran, its CPU seconds): `jq -c .` over the users file, or the stdlib loop without jq."""
    jq = shutil.which("jq")
    tool = [jq, "-c", "."] if jq else [sys.executable, "-c", _PY_YARDSTICK]
    name = "jq -c ." if jq else "python -c json.loads loop (jq is not installed)"
    before = children_cpu()
    if users.suffix == ".gz":
        unzip = subprocess.Popen(["gzip", "-dc", str(users)], stdout=subprocess.PIPE)
        subprocess.run(tool, stdin=unzip.stdout, stdout=subprocess.DEVNULL, check=True)
        unzip.stdout.close()
        unzip.wait()
        name = f"gzip -dc | {name}"
    else:
        with open(users, "rb") as fh:
            subprocess.run(tool, stdin=fh, stdout=subprocess.DEVNULL, check=True)
    return name, children_cpu() - before


def parse_floor(*files: Path) -> float:
    """CPU seconds to decompress and `orjson.loads` every line of `files`, keeping nothing: what
    any Python check must spend before it looks at a single field (the floor under the aim)."""
    import gzip

    import orjson

    before = cpu_seconds()
    for path in files:
        with (gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")) as fh:
            for line in fh:
                if line.strip():
                    orjson.loads(line)
    return cpu_seconds() - before


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=200_000)
    ap.add_argument("--hashes", type=int, default=None,
                    help="hash rows to write (default: as many as users; rows beyond the database "
                         "users belong to users missing from the export)")
    ap.add_argument("--plain", action="store_true", help="write the users export uncompressed")
    ap.add_argument("--save", action="store_true", help="also save the plan into a journal")
    ap.add_argument("--keep", help="generate into this folder and keep it (reused when it already "
                                   "holds exports of the same size)")
    args = ap.parse_args(argv)

    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="scan-bench-"))
    try:
        t0 = time.perf_counter()
        users = tmp / ("users.ndjson" if args.plain else "users.ndjson.gz")
        pw = tmp / "passwords.ndjson"
        stamp = tmp / f".generated-{args.users}-{args.hashes}"
        if not (args.keep and stamp.exists() and users.exists() and pw.exists()):
            users, pw = write_exports(tmp, args.users, gzip_users=not args.plain,
                                      hashes=args.users if args.hashes is None else args.hashes)
            stamp.touch()
        gen = time.perf_counter() - t0
        rss_after_gen = peak_rss_mb()
        print(f"generated {args.users:,} users in {gen:.1f}s: {users.name} {users.stat().st_size / 1e6:.0f} MB, "
              f"{pw.name} {pw.stat().st_size / 1e6:.0f} MB (peak RSS so far {rss_after_gen:.0f} MB)")

        jq_name, jq_cpu = yardstick(users)
        floor_cpu = parse_floor(users, pw)
        t1, c1 = time.perf_counter(), cpu_seconds()
        result = build_plan(users, pw)
        t_plan = time.perf_counter() - t1
        samples = result.planned.sample(3)
        gate = export_gate(result)
        t_check, c_check = time.perf_counter() - t1, cpu_seconds() - c1
        s = result.summary
        lines = s["lines_read"] + s["password_lines_read"]
        print(f"check: {s['users_read']:,} users + {s['hashes']['rows']:,} hash rows in {t_check:.1f}s "
              f"(pass 1 {t_plan:.1f}s) = {lines / t_check:,.0f} lines/s; gate {gate.status.value}; "
              f"{len(samples)} samples; CPU {c_check:.1f}s ({lines / max(c_check, 1e-9):,.0f} lines per CPU-second: "
              "wall time suffers when other work shares the cores)")
        print(f"yardstick `{jq_name}` on {users.name}: CPU {jq_cpu:.1f}s -> our check CPU / yardstick CPU "
              f"= {c_check / max(jq_cpu, 1e-9):.2f} (aim <= 0.5; both measured now, on the same cores)")
        print(f"parse floor (decompress + orjson.loads of both files, nothing kept): CPU {floor_cpu:.1f}s = "
              f"{floor_cpu / max(jq_cpu, 1e-9):.2f} x the yardstick; normalizing, joining and classifying "
              f"cost the other {max(c_check - floor_cpu, 0.0):.1f}s = "
              f"{max(c_check - floor_cpu, 0.0) * 1e6 / max(lines, 1):.1f} us a line")
        print(f"  branches {s['branches']}; join {s['join']}; unmatched hash rows {s['hash_rows_unmatched']:,}; "
              f"merged groups {s['merged_groups']:,}; findings {s['findings']}")
        if args.save:  # `check --run-dir`: the check also digests each hash and spools what mapping needs
            del result, samples
            run = tmp / "run"
            shutil.rmtree(run, ignore_errors=True)
            with Journal.open(run) as journal:
                t2 = time.perf_counter()
                result = build_run_plan(journal, users, pw)
                result.planned.sample(3)
                export_gate(result)
                t_run_check = time.perf_counter() - t2
                n = save_plan(journal, result)
                t_save = time.perf_counter() - t2 - t_run_check
            size = sum(f.stat().st_size for f in run.iterdir() if f.is_file())
            per_m = 1_000_000 / max(n, 1)
            extra = t_run_check + t_save - t_check
            print(f"check --run-dir: the check {t_run_check:.1f}s (hash digests and the mapping's spool "
                  f"included) + the save of {n:,} planned users and {len(result.findings):,} findings "
                  f"{t_save:.1f}s, against the plain check's {t_check:.1f}s: {extra:.1f}s extra = "
                  f"{extra * per_m:.1f}s per 1M users (aim < 20 s); journal {size / 1e6:.0f} MB = "
                  f"{size / max(n, 1):.0f} bytes per user")
        print(f"peak RSS {peak_rss_mb():.0f} MB (includes the generator's {rss_after_gen:.0f} MB)")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
