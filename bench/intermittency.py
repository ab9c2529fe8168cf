"""What the same Python work costs when it runs now and then instead of back to back (a script,
not a test): docs/performance.md, "The fourth round".

The send benchmark's open-loop rows send 20 messages per second: between two messages every
process involved sleeps. This measures the machine, not Haven: one fixed unit of pure-Python
work (JSON out and back, no I/O, one thread), timed in CPU seconds back to back and at a few
rates. Where a unit at 20 per second costs more CPU than back to back, the difference is the
machine's (caches and cores that went cold while the process slept), and every process of the
send path (the server, PostgreSQL, Redis) pays it.

    .venv/bin/python bench/intermittency.py [--units 200]
"""

from __future__ import annotations

import argparse
import json
import time

RATES = (0.0, 50.0, 20.0, 5.0, 0.0)  # 0 = back to back


def unit() -> None:
    event = {
        "type": "NewMessage",
        "payload": {"id": "x" * 36, "body": "y" * 200, "n": list(range(50))},
    }
    for _ in range(60):
        json.loads(json.dumps(event))


def cpu_per_unit(rate: float, units: int) -> float:
    started_cpu, started = time.process_time(), time.perf_counter()
    for index in range(units):
        if rate:
            time.sleep(max(0.0, started + index / rate - time.perf_counter()))
        unit()
    return (time.process_time() - started_cpu) / units


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=200)
    args = parser.parse_args()
    for rate in RATES:
        units = args.units * 10 if not rate else args.units
        label = f"{rate:g} per second" if rate else "back to back"
        print(f"{label:>15}: {cpu_per_unit(rate, units) * 1000:.3f} ms of CPU per unit")


if __name__ == "__main__":
    main()
