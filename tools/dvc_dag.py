"""The pipeline's DAG as a narrow list: `dvc dag` draws it ~1,500 columns wide, because every
stage hangs off check-params and studies/dvc.yaml's stages are drawn in the same picture. This
prints DVC's own graph (Repo.index.graph) one stage a line, in run order, each with the stages
it reads from, check-params left out (every stage follows it), each dvc.yaml apart.

    python tools/dvc_dag.py             # `make dag`
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import networkx as nx
from dvc.repo import Repo

REPO = Path(__file__).resolve().parent.parent
FIRST = "check-params"
WIDTH = 96


def short(stage) -> str:
    return stage.addressing.split(":")[-1]


def main() -> int:
    with Repo(str(REPO)) as repo:
        graph = repo.index.graph  # edges: stage -> the stages it depends on
        order = list(reversed(list(nx.topological_sort(graph))))
        files = sorted({s.dvcfile.relpath for s in order}, key=lambda f: (f != "dvc.yaml", f))
        for name in files:
            stages = [s for s in order if s.dvcfile.relpath == name]
            print(f"{name}:" + ("  (every stage after check-params)" if name == "dvc.yaml"
                                else ""))
            width = max(len(short(s)) for s in stages)
            for stage in stages:
                ups = [u for u in graph.successors(stage) if short(u) != FIRST]
                here = [short(u) for u in ups if u.dvcfile.relpath == name]
                there = [f"{short(u)} ({u.dvcfile.relpath})" for u in ups
                         if u.dvcfile.relpath != name]
                head = f"  {short(stage):<{width}}  <- " if ups else f"  {short(stage)}"
                print(textwrap.fill(", ".join(sorted(here) + sorted(there)), WIDTH,
                                    initial_indent=head, subsequent_indent=" " * (width + 7),
                                    break_on_hyphens=False)
                      if ups else head)
    return 0


if __name__ == "__main__":
    sys.exit(main())
