"""Import throughput against the WorkOS emulator enforcing WorkOS's documented write window.

    python bench/import_throughput.py --users 3000 20000 --latency-ms 50 250 [--rate 500/10s]

For every (users, latency) pair: writes a synthetic users export and password export (bench/_gen.py),
starts the WorkOS emulator in a child process (its own interpreter) with the documented limits as
sliding windows (500 writes in any 10 s) and `--latency-ms` added to every answer, then times
`auth0-workos import --users ... --passwords ... --run-dir ... --yes` as a fresh process, from
spawn to exit (interpreter start, reading and planning the export, the import, the run-folder
files). Prints wall time, users/s, the ratio to the budget's rate (50/s) and the ratio of the wall
time to the window's minimum `(N − 500) / 50` seconds, the 429s the emulator answered and the most
writes any 10-second window held.

Aims (issue 17): 3,000 users at 250 ms ≤ 1.08 × the window minimum with 0 × 429; 20,000 users
≥ 0.98 of 50/s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def serve_emulator(latency_ms: float, jitter_ms: float) -> None:
    """Child mode: serve a WorkOS emulator with default (WorkOS) limits until stdin closes."""
    from wizard.sandbox.faults import Faults
    from wizard.sandbox.server import serve
    from wizard.sandbox.workos_emulator import WorkOSEmulator

    emu = WorkOSEmulator(faults=Faults(latency_ms=latency_ms, jitter_ms=jitter_ms))
    arrivals: list[float] = []

    async def timed(scope, receive, send):  # when each write arrives (for the burst figures)
        if scope["type"] == "http" and scope["method"] == "POST":
            arrivals.append(time.monotonic())
        await emu.app(scope, receive, send)

    with serve(timed) as url:
        print(url, flush=True)
        sys.stdin.read()
        limited = sum(1 for _, _, status in emu.requests if status == 429)
        t0 = arrivals[0] if arrivals else 0.0
        cycles = [round(arrivals[i] - t0, 2) for i in range(0, len(arrivals), 500)]
        spread = [round(arrivals[min(i + 499, len(arrivals) - 1)] - arrivals[i], 2)
                  for i in range(0, len(arrivals), 500)]
        print(json.dumps({"users": len(emu.users), "requests": len(emu.requests), "429": limited,
                          "most_writes_in_a_window": emu._writes.max_seen,
                          "cycle_starts_s": cycles, "cycle_spreads_s": spread}), flush=True)


def run_one(n: int, latency_ms: float, jitter_ms: float, rate: str, work: Path) -> dict:
    from _gen import write_exports

    from wizard.core.pacing import parse_budget

    budget = parse_budget(rate)
    exports = work / f"exports-{n}"
    if not (exports / "users.ndjson.gz").exists():
        write_exports(exports, n)
    users, passwords = exports / "users.ndjson.gz", exports / "passwords.ndjson"
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve-emulator", "--latency-ms", str(latency_ms),
         "--jitter-ms", str(jitter_ms)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    run_dir = work / f"run-{n}-{latency_ms:g}-{time.monotonic_ns()}"
    try:
        base_url = child.stdout.readline().strip()
        env = {**os.environ, "WORKOS_API_KEY": "sk_test_sandbox", "WORKOS_CLIENT_ID": "client_sandbox",
               "WORKOS_BASE_URL": base_url}
        cmd = [sys.executable, "-m", "wizard", "import", "--users", str(users), "--passwords", str(passwords),
               "--run-dir", str(run_dir), "--yes", "--rate", rate, "--env-file", str(work / "none.env")]
        started = time.monotonic()
        proc = subprocess.run(cmd, env=env, cwd=work, capture_output=True, text=True)
        wall = time.monotonic() - started
        child.stdin.close()
        server = json.loads(child.stdout.readline() or "{}")
    finally:
        if child.poll() is None:
            if not child.stdin.closed:
                child.stdin.close()
            child.wait(timeout=30)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-2000:] + proc.stderr[-2000:])
    summary = json.loads((run_dir / "summary.json").read_text()) if (run_dir / "summary.json").exists() else {}
    imported = int(summary.get("created", 0)) + int(summary.get("updated", 0))
    window_min = max(0.0, (imported - budget.limit) / budget.per_second)
    # the pacer's own floor: a write counts until `window` after its answer, so each of the bursts
    # after the first waits one window plus one round trip (module docstring of wizard.core.pacing)
    bursts = -(-imported // budget.limit)
    strict_floor = max(0, bursts - 1) * (budget.window + latency_ms / 1000) + latency_ms / 1000
    starts = server.get("cycle_starts_s") or []
    period = (starts[-1] - starts[0]) / (len(starts) - 1) if len(starts) > 1 else None
    rate_achieved = imported / wall if wall else 0.0
    return {
        "users_in_export": n, "imported": imported, "latency_ms": latency_ms, "budget": str(budget),
        "wall_seconds": round(wall, 2), "engine_seconds": summary.get("duration_seconds"),
        "users_per_second": round(rate_achieved, 2),
        "ratio_to_rate": round(rate_achieved / budget.per_second, 3),
        "window_minimum_seconds": round(window_min, 2),
        "ratio_to_window_minimum": round(wall / window_min, 3) if window_min else None,
        "answer_bound_floor_seconds": round(strict_floor, 2),
        "ratio_to_answer_bound_floor": round(wall / strict_floor, 3) if strict_floor else None,
        "cycle_period_s": round(period, 3) if period else None,
        "rate_limited_429": server.get("429"), "most_writes_in_a_window": server.get("most_writes_in_a_window"),
        "exit_code": proc.returncode, "cycle_starts_s": server.get("cycle_starts_s"),
        "cycle_spreads_s": server.get("cycle_spreads_s"),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, nargs="+", default=[3000], help="export sizes (users in the export)")
    ap.add_argument("--latency-ms", type=float, nargs="+", default=[250], help="emulator latencies")
    ap.add_argument("--jitter-ms", type=float, default=0)
    ap.add_argument("--rate", default="500/10s")
    ap.add_argument("--serve-emulator", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_emulator:
        serve_emulator(args.latency_ms[0], args.jitter_ms)
        return 0
    ok = True
    with tempfile.TemporaryDirectory(prefix="import-bench-") as tmp:
        for n in args.users:
            for latency in args.latency_ms:
                r = run_one(n, latency, args.jitter_ms, args.rate, Path(tmp))
                ok = ok and r["exit_code"] == 0 and r["rate_limited_429"] == 0
                ratio_min = r["ratio_to_window_minimum"]
                print(f"{r['imported']:,} users imported (export {n:,}) at {latency:g} ms: wall {r['wall_seconds']:.1f}s "
                      f"(process start included; engine {r['engine_seconds']}s) = {r['users_per_second']:.2f} users/s; "
                      f"ratio to {r['budget']} rate {r['ratio_to_rate']:.3f}; window minimum "
                      f"{r['window_minimum_seconds']:.1f}s -> ratio {ratio_min if ratio_min is not None else 'n/a'}; "
                      f"429s {r['rate_limited_429']}; most writes in a 10 s window {r['most_writes_in_a_window']}",
                      flush=True)
                print(f"  the pacer's floor (each later burst waits one window plus one round trip): "
                      f"{r['answer_bound_floor_seconds']:.1f}s -> wall / floor {r['ratio_to_answer_bound_floor']}; "
                      f"cycle period measured {r['cycle_period_s']} s", flush=True)
                print(json.dumps(r), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
