"""Settlement throughput of the in-process engine, against the target of 20,000 visits/s.

    python bench/bench_engine.py [--visits N] [--seed S] [--repeat R]

Generates a mixed year for all five jurisdictions with `medaid.batch.synth` (N visits in all,
split evenly; persons of 10–30 visits each), then times `settle_year` per person on one
core. Policies are loaded, and every person-year generated, before the clock starts: the
figure is the engine alone (insurance tiers as given, windows, highest benefit, pools,
tilt, trace). The best of R timed passes is reported per jurisdiction and overall.
A second, informational line times the whole case path (JSON text → parse_case →
settle_case → result_json → JSON text) on a sample. Exits 0 whatever the speed; a
settlement error on the synthetic data is a bug and exits 1.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import sys
import time

from medaid.batch import synth
from medaid.engine.case import dumps, parse_case, parse_json, result_json, settle_case
from medaid.engine.settle import settle_year
from medaid.policy import model
from medaid.policy.model import Policy

TARGET = 20_000  # visits (settlements) per second, one core


def population(rng: random.Random, jurisdiction: str, n_visits: int) -> list[synth.PersonYear]:
    """Persons of 10–30 visits until `n_visits` visits are drawn."""
    out: list[synth.PersonYear] = []
    left = n_visits
    while left > 0:
        n = min(left, rng.randint(10, 30))
        out.append(synth.generate(rng, jurisdiction, n_visits=n, pid=f"P{len(out):06d}"))
        left -= n
    return out


def run(versions: list[Policy], people: list[synth.PersonYear]) -> float:
    """Seconds to settle every person-year once."""
    gc.collect()
    start = time.perf_counter()
    for py in people:
        settle_year(versions, py.local, py.person, py.visits)
    return time.perf_counter() - start


def case_path(people: list[synth.PersonYear], limit: int) -> tuple[int, float]:
    """Visits and seconds for the JSON case path over the first `limit` visits."""
    texts = []
    n = 0
    for py in people:
        if n >= limit:
            break
        texts.append(dumps(synth.case_dict(py)))
        n += len(py.visits)
    start = time.perf_counter()
    for text in texts:
        dumps(result_json(settle_case(parse_case(parse_json(text)))))
    return n, time.perf_counter() - start


def pin_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--visits", type=int, default=100_000, help="visits in all (default 100000)")
    ap.add_argument("--seed", type=int, default=20261123, help="generator seed")
    ap.add_argument("--repeat", type=int, default=3, help="timed passes; the best is kept")
    args = ap.parse_args(argv)

    pinned = pin_one_core()
    rng = random.Random(args.seed)
    share = max(1, args.visits // len(synth.JURISDICTIONS))
    versions = {j: model.versions(j) for j in synth.JURISDICTIONS}
    people = {j: population(rng, j, share) for j in synth.JURISDICTIONS}
    total_visits = sum(len(py.visits) for ps in people.values() for py in ps)
    print(f"medaid engine benchmark: {total_visits} visits, seed {args.seed}, best of "
          f"{args.repeat}, Python {platform.python_version()} ({sys.implementation.name}), "
          f"{pinned}")

    best: dict[str, float] = {}
    try:
        for j in synth.JURISDICTIONS:
            run(versions[j], people[j][:20])  # warm-up
        for _ in range(max(1, args.repeat)):
            for j in synth.JURISDICTIONS:
                seconds = run(versions[j], people[j])
                best[j] = min(seconds, best.get(j, seconds))
        sample_n, sample_s = case_path(people["nanjing"], min(5_000, share))
    except Exception as e:  # a bug in the engine or the generator, not a slow run
        print(f"error: settlement failed: {type(e).__name__}: {e}")
        return 1

    print(f"{'jurisdiction':<12} {'persons':>8} {'visits':>8} {'seconds':>8} "
          f"{'visits/s':>10}  vs target {TARGET}/s")
    for j in synth.JURISDICTIONS:
        n = sum(len(py.visits) for py in people[j])
        rate = n / best[j]
        print(f"{j:<12} {len(people[j]):>8} {n:>8} {best[j]:>8.3f} {rate:>10,.0f}  "
              f"{rate / TARGET:.2f}× target")
    seconds = sum(best.values())
    rate = total_visits / seconds
    verdict = "meets" if rate >= TARGET else "BELOW"
    print(f"{'overall':<12} {sum(map(len, people.values())):>8} {total_visits:>8} "
          f"{seconds:>8.3f} {rate:>10,.0f}  {rate / TARGET:.2f}× target ({verdict} target)")
    print(f"case path (JSON → parse → settle → JSON), nanjing sample of {sample_n} visits: "
          f"{sample_n / sample_s:,.0f} visits/s (informational, not the target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
