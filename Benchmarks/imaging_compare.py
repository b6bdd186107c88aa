#!/usr/bin/env python3
"""Puts the Orthanc run (../shared/bench/orthanc, results.json) and the Hygie run
(Benchmarks/imaging.py, results.json) side by side as Markdown: one row per measurement,
both figures, and the ratio in Hygie's favour (throughput: Hygie/Orthanc; latency:
Orthanc/Hygie; above 1 means Hygie is better). The goal column says whether the row meets
issue 5's goal (1.5x the throughput, half the latency).

    imaging_compare.py ORTHANC_RESULTS HYGIE_RESULTS
"""
import json
import sys

orthanc = json.load(open(sys.argv[1]))
hygie = json.load(open(sys.argv[2]))


def rows(results, section, key):
    return {(row[key], row.get("pixels", "")): row for row in results.get(section, [])}


def line(name, theirs, ours, unit, higher_is_better):
    if theirs is None or ours is None:
        print(f"| {name} | {theirs if theirs is not None else '—'} | {ours if ours is not None else '—'} | {unit} | — | — |")
        return
    if higher_is_better:
        ratio = ours / theirs if theirs else float("inf")
        goal = ratio >= 1.5
    else:
        ratio = theirs / ours if ours else float("inf")
        goal = ratio >= 2.0
    print(f"| {name} | {theirs} | {ours} | {unit} | {ratio:.2f}× | {'yes' if goal else 'no'} |")


print("| measurement | Orthanc | Hygie | unit | Hygie vs Orthanc | goal met |")
print("|---|---|---|---|---|---|")
theirs, ours = rows(orthanc, "ingest", "method"), rows(hygie, "ingest", "method")
for key, row in theirs.items():
    if key[0].startswith("[Nagle on]"):
        continue
    mine = ours.get(key)
    line(f"{key[0]} ({key[1]})", row["instances_per_s"], mine and mine["instances_per_s"], "instances/s", True)
for section, label in (("qido_small", "QIDO (10 studies)"), ("qido_large", "QIDO (3 010 studies)")):
    theirs, ours = rows(orthanc, section, "query"), rows(hygie, section, "query")
    for key, row in theirs.items():
        mine = ours.get(key)
        line(f"{label} {key[0]}", row["median_ms"], mine and mine["median_ms"], "ms (median)", False)
theirs, ours = rows(orthanc, "wado", "op"), rows(hygie, "wado", "op")
for key, row in theirs.items():
    mine = ours.get(key)
    if "frames_per_s" in row:
        line(key[0], row["frames_per_s"], mine and mine.get("frames_per_s"), "frames/s", True)
    elif "instances_per_s" in row:
        line(key[0], row["instances_per_s"], mine and mine.get("instances_per_s"), "instances/s", True)
    else:
        line(key[0], row["median_ms"], mine and mine["median_ms"], "ms (median)", False)
theirs, ours = rows(orthanc, "dimse", "op"), rows(hygie, "dimse", "op")
for key, row in theirs.items():
    if key[0].startswith("[Nagle on]"):
        continue
    mine = ours.get(key)
    if "instances_per_s" in row:
        line(key[0], row["instances_per_s"], mine and mine.get("instances_per_s"), "instances/s", True)
    else:
        line(key[0], row["median_ms"], mine and mine["median_ms"], "ms (median)", False)
