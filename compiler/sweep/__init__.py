"""Sweeps: one spec over a grid of parameter values, backends (and standard formats) and
seeds, each cell one compile-and-verify or one simulation, on local worker processes or
on Ray; one results table (Parquet and CSV), a comparison table and figures.

``grid`` (what the command line asks for), ``cell`` (one cell, where a worker runs it),
``local`` and ``ray_executor`` (who runs the cells), ``table`` (the results table),
``runner`` (the driver), ``summary`` and ``figures`` (what a sweep ends with),
``anchors`` (published figures the figures draw in), ``estimate`` (``--dry-run``) and
``llm_cache`` (model replies shared with workers on other machines).
"""

from __future__ import annotations

from .runner import SweepConfig, SweepRun, dry_run, run_sweep

__all__ = ["SweepConfig", "SweepRun", "dry_run", "run_sweep"]
