"""What the pipeline's knobs do to publication-to-searchable latency and CPU, one knob at a time.

    nice -n 19 .venv/bin/python bench/knobs_bench.py [--rates 40] [--seconds 60] [--websub | --polled]
                                                     [--knobs NAME=V1,V2 ...] [--out bench/results/knobs.json]

Needs the loopback services (``newswire services up``). Runs ``bench/e2e_bench.py`` (500 feeds, one rate, pushed
through its WebSub hub by default; ``--polled`` polls instead) once with no ``--set`` (the reference: the current
defaults, and the e2e bench's own ``topic_partitions=4``), then once per value of each knob with that one setting
changed, then the reference again: the two references give the run-to-run spread, which a knob's effect must exceed
to count. A knob's value equal to the reference's is skipped (the reference covers it).

Per variant: publication-to-searchable p50, p95, p99 (and fetch-to-searchable, in the JSON), whether the rate was kept
up (everything searchable within the step and 60 s more, no growing latency) and the cores each service used. Writes
``--out`` (``bench/results/knobs.json``) and prints a markdown table.

How long: each e2e run takes about 3 minutes (45 s warm-up, the WebSub subscriptions, the step, up to 60 s of
drain), so the built-in list (two references and 10 variants; 13 with ``--polled``) takes about 40 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.e2e_bench import setting_override

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
E2E_BENCH = REPO / "bench" / "e2e_bench.py"

#: The values tried of each knob; the default of each (or the e2e bench's own choice) is left out, the reference
#: runs with it.
KNOBS: dict[str, list[str]] = {
    "topic_partitions": ["1", "4", "12"],
    "batch_size": ["16", "64", "256"],
    "producer_linger_ms": ["0", "5", "50"],
    "index_refresh_seconds": ["0.5", "1", "5"],
}
#: Only polled mode waits for polls.
POLLED_KNOBS: dict[str, list[str]] = {"poll_interval": ["5", "10", "30"]}
#: What the reference runs with, where a value in the lists above would repeat it.
REFERENCE = {
    "topic_partitions": "4",  # e2e_bench.py's own choice
    "batch_size": "64",
    "producer_linger_ms": "5",
    "index_refresh_seconds": "1",  # unset: Elasticsearch's 1 s (the probe searches often, so it never skips one)
    "poll_interval": "10",  # e2e_bench.py's --poll-interval
}


def knob_values(text: str) -> tuple[str, list[str]]:
    """``NAME=V1,V2`` of ``--knobs``."""
    name, sep, values = text.partition("=")
    listed = [value.strip() for value in values.split(",") if value.strip()]
    for value in listed:
        setting_override(f"{name}={value}")  # the e2e bench's check of --set, before the first run
    if not sep or not listed:
        raise argparse.ArgumentTypeError(f"expected NAME=V1,V2, got {text!r}")
    return name.strip().lower(), listed


def variants(knobs: dict[str, list[str]]) -> list[tuple[str, dict[str, str]]]:
    """(label, overrides) of each run: the reference first and last, one knob value changed in each between."""
    runs: list[tuple[str, dict[str, str]]] = [("reference", {})]
    for name, values in knobs.items():
        for value in values:
            if name in REFERENCE and float(value) == float(REFERENCE[name]):
                continue
            runs.append((f"{name}={value}", {name: value}))
    runs.append(("reference (again)", {}))
    return runs


def run_e2e(args: argparse.Namespace, overrides: dict[str, str]) -> dict[str, Any] | None:
    """One e2e run with ``overrides``; its results, or ``None`` when it failed (its output says why)."""
    with tempfile.TemporaryDirectory(prefix="newswire-knobs-") as scratch:
        out = Path(scratch) / "e2e.json"
        argv = [sys.executable, str(E2E_BENCH), "--feeds", str(args.feeds), "--rates", str(args.rate)]
        argv += ["--seconds", str(args.seconds), "--out", str(out)]
        argv += ["--poll-interval", str(args.poll_interval)] if args.polled else ["--websub"]
        for name, value in overrides.items():
            argv += ["--set", f"{name}={value}"]
        finished = subprocess.run(argv, cwd=REPO, check=False)
        if finished.returncode != 0 or not out.exists():
            return None
        report: dict[str, Any] = json.loads(out.read_text())
        return report


def summary(label: str, overrides: dict[str, str], report: dict[str, Any] | None) -> dict[str, Any]:
    """One row: the variant's latency, whether it kept up, the cores per service."""
    if report is None or not report["steps"]:
        return {"variant": label, "overrides": overrides, "failed": True}
    step = report["steps"][0]
    cores: dict[str, float] = step["cores_used"]
    return {
        "variant": label,
        "overrides": overrides,
        "rate": step["rate"],
        "articles": step["articles"],
        "found": step["found"],
        "kept_up": step["kept_up"],
        "publication_to_searchable": step["publication_to_searchable"],
        "fetch_to_searchable": step.get("fetch_to_searchable") or {},
        "cores_used": cores,
        # The pipeline's own cores: the services, the broker and the node, not the bench's farm, hub and probe.
        "total_cores": round(sum(value for name, value in cores.items() if name != "bench"), 2),
    }


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as a markdown table, the spread of the two references last."""
    lines = [
        "| variant | p50 s | p95 s | p99 s | kept up | processor cores | total cores |",
        "|---|---:|---:|---:|---|---:|---:|",
    ]
    for row in rows:
        if row.get("failed"):
            lines.append(f"| {row['variant']} | failed | | | | | |")
            continue
        latency = row["publication_to_searchable"]
        cells = [latency.get(name, "") for name in ("p50", "p95", "p99")]
        processor = row["cores_used"].get("process", "")
        kept = "yes" if row["kept_up"] else f"no ({row['found']}/{row['articles']})"
        lines.append(
            f"| {row['variant']} | {' | '.join(map(str, cells))} | {kept} | {processor} | {row['total_cores']} |"
        )
    references = [row for row in rows if row["variant"].startswith("reference") and not row.get("failed")]
    if len(references) == 2:
        first, last = (row["publication_to_searchable"] for row in references)
        spread = [abs(first.get(name, 0.0) - last.get(name, 0.0)) for name in ("p50", "p95", "p99")]
        cores = abs(references[0]["total_cores"] - references[1]["total_cores"])
        processor = abs(
            references[0]["cores_used"].get("process", 0.0) - references[1]["cores_used"].get("process", 0.0)
        )
        cells = " | ".join(f"{value:.3f}" for value in spread)
        lines.append(f"| run-to-run spread (the references apart by) | {cells} | | {processor:.2f} | {cores:.2f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", dest="rate", type=float, default=40.0, help="articles a second (one rate)")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--feeds", type=int, default=500)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--websub", action="store_true", help="push articles through the WebSub hub (the default)")
    mode.add_argument("--polled", action="store_true", help="poll the feeds instead, and sweep poll_interval too")
    parser.add_argument("--poll-interval", type=float, default=10.0, help="the reference's poll interval (--polled)")
    parser.add_argument(
        "--knobs", type=knob_values, nargs="+", metavar="NAME=V1,V2", help="the knobs and values to try instead"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "knobs.json")
    args = parser.parse_args()
    REFERENCE["poll_interval"] = str(args.poll_interval)
    knobs = dict(args.knobs) if args.knobs else {**KNOBS, **(POLLED_KNOBS if args.polled else {})}

    rows = []
    for label, overrides in variants(knobs):
        print(f"--- {label}", flush=True)
        rows.append(summary(label, overrides, run_e2e(args, overrides)))
    report = {
        "machine": f"{os.cpu_count()} cores; load {os.getloadavg()[0]:.1f} at the end",
        "mode": "polled" if args.polled else "websub",
        "rate": args.rate,
        "seconds": args.seconds,
        "feeds": args.feeds,
        "knobs": knobs,
        "variants": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(table(rows))
    print(f"results in {args.out}")
    return 0 if not any(row.get("failed") for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
