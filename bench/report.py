"""Figures with their baselines: printed as a table and written to bench/results.json."""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results.json"


@dataclass
class Figure:
    """One measured value beside the baseline measured in the same run."""

    name: str
    value: float
    unit: str
    baseline: float
    baseline_is: str
    target: str = ""

    @property
    def ratio(self) -> float:
        return self.value / self.baseline if self.baseline else float("nan")


@dataclass
class Report:
    figures: list[Figure] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)
    """Parts whose check failed, so they give no figure (the run then exits non-zero)."""

    def add(self, figure: Figure) -> None:
        self.figures.append(figure)
        print(_row(figure), flush=True)

    def write(self, seconds: float) -> None:
        data = {
            "machine": {
                "python": sys.version.split()[0],
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
            },
            "bench_seconds": round(seconds, 1),
            "figures": {f.name: {**asdict(f), "ratio": round(f.ratio, 4)} for f in self.figures},
            "details": self.details,
        }
        RESULTS.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


HEADER = f"{'figure':<36} {'value':>14} {'baseline':>14}  {'ratio':>8}  baseline is / target"


def _number(value: float, unit: str) -> str:
    digits = 0 if abs(value) >= 100 else 2 if abs(value) >= 1 else 3
    return f"{value:,.{digits}f} {unit}".strip()


def _row(f: Figure) -> str:
    target = f" (target {f.target})" if f.target else ""
    return (
        f"{f.name:<36} {_number(f.value, f.unit):>14} {_number(f.baseline, f.unit):>14}"
        f"  {f.ratio:>7.3f}x  {f.baseline_is}{target}"
    )
