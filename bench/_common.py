"""Helpers shared by the ``bench/bench_*.py`` scripts.

Importing this module puts the repository root on ``sys.path`` (the scripts run as
``.venv/bin/python bench/bench_x.py``), so ``cimic_geo`` imports work after it.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "docs" / "BENCHMARKS.md"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def best_time(fn: Callable[..., Any], *args: Any, repeat: int = 1, **kwargs: Any) -> tuple[float, Any]:
    """Best (minimum) wall time of ``repeat`` calls ``fn(*args, **kwargs)`` and the last result.

    The machine is shared and other jobs only ever add time, so the minimum is the least noisy
    estimate of the cost itself.
    """
    best, result = float("inf"), None
    for _ in range(max(1, int(repeat))):
        t0 = time.perf_counter()
        result = fn(*args, **kwargs)
        best = min(best, time.perf_counter() - t0)
    return best, result


def rss_mb() -> float:
    """Resident set size of this process (MB), from ``/proc/self/status``; NaN where there is none."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def dump_or_check(text: str, *, dump: str | None, check: str | None) -> bool | None:
    """Write ``text`` to ``dump``; with ``check``, whether that earlier dump holds exactly ``text``."""
    if dump:
        Path(dump).write_text(text, encoding="utf-8")
    if check:
        return Path(check).read_text(encoding="utf-8") == text
    return None


def write_section(text: str, heading: str, path: Path = BENCHMARKS) -> None:
    """Replace the ``heading`` section of ``path`` (up to the next ``## `` heading) with ``text``,
    or append it; the other sections are left as they are."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    body = text.rstrip("\n") + "\n"
    match = re.search(rf"^{re.escape(heading)}[ \t]*$", old, flags=re.M)
    if match is None:
        new = old.rstrip("\n") + "\n\n" + body
    else:
        end = old.find("\n## ", match.start() + 1)
        new = old[: match.start()] + body + (old[end:] if end >= 0 else "")
    path.write_text(new, encoding="utf-8")
    print(f"wrote {path}")
