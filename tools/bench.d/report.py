"""tools/bench's report: results.jsonl (one record per measurement) -> results.json + report.md.

Usage: report.py RESULTS.jsonl RESULTS.json REPORT.md

Every figure is the median over the run's repetitions, with the spread (min-max); ratios are
to the same work without Spillway in the same run. The targets are issue 8's.
"""
import json
import statistics
import sys

src, out_json, out_md = sys.argv[1:4]
records = [json.loads(line) for line in open(src) if line.strip()]
meta = next((r for r in records if r["section"] == "meta"), {})


def med(values):
    return statistics.median(values) if values else None


def spread(values):
    return f"{min(values):g}-{max(values):g}" if len(values) > 1 else ""


def fmt(v, digits=1):
    return "n/a" if v is None else f"{v:.{digits}f}"


def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b


targets = []  # (what, figure, limit, met)


def target(what, value, limit, higher_is_better=False):
    if value is None:
        return
    met = value >= limit if higher_is_better else value <= limit
    targets.append((what, value, limit, higher_is_better, met))


md = ["# Spillway benchmark report", ""]
md.append(f"Machine: {meta.get('machine', '?')}. Commit {meta.get('commit', '?')}, {meta.get('date', '?')}.")
md.append(f"Command: `{meta.get('command', 'tools/bench')}`. Figures are medians over {meta.get('reps', '?')} "
          "repetitions (spread min-max); ratios are to the same work without Spillway in the same run.")
md.append("")
summary = {"meta": meta, "hooks": {}, "callgrind": {}, "data": {}, "workloads": {}, "moves": {}, "monitor": {}}

hooks = [r for r in records if r["section"] == "hooks"]
if hooks:
    ops = list(dict.fromkeys(r["op"] for r in hooks))
    table = {(r["op"], r["config"]): r["ns"] for r in hooks}
    md += ["## Per call (ns)", "",
           "| call | no library | normal | ratio | spilling, path not spilled | ratio | spilling, spilled path | ratio |",
           "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for op in ops:
        base = med(table.get((op, "plain"), []))
        row = [op, f"{fmt(base)} ({spread(table.get((op, 'plain'), []))})"]
        entry = {"plain": base}
        for config in ("normal", "spilling-unspilled", "spilling-spilled"):
            vals = table.get((op, config), [])
            m = med(vals)
            r = ratio(m, base)
            entry[config] = m
            row += [f"{fmt(m)} ({spread(vals)})" if vals else "-", fmt(r, 3) if vals else "-"]
        if op == "create":
            sub = med(table.get((op, "sub-disk"), []))
            entry["sub-disk"] = sub
            row[-2:] = [f"sub disk direct: {fmt(sub)}", "-"]
            target(f"create while spilling / create on the sub disk directly", ratio(entry["spilling-unspilled"], sub), 1.10)
            target(f"create: normal / no library", ratio(entry["normal"], base), 1.02)
        else:
            target(f"{op}: normal / no library", ratio(entry["normal"], base), 1.02)
            target(f"{op}: spilling, path not spilled / no library", ratio(entry["spilling-unspilled"], base), 1.25)
        summary["hooks"][op] = entry
        md.append("| " + " | ".join(row) + " |")
    md.append("")

cg = [r for r in records if r["section"] == "callgrind"]
if cg:
    md += ["## Instructions per call (callgrind, user space)", "",
           "| call | no library | normal | added by the hook | spilling, not spilled |", "| --- | --- | --- | --- | --- |"]
    for op in dict.fromkeys(r["op"] for r in cg):
        by = {r["config"]: r["instructions"] for r in cg if r["op"] == op}
        added = None if "normal" not in by or "plain" not in by else by["normal"] - by["plain"]
        summary["callgrind"][op] = dict(by, added_in_normal=added)
        md.append(f"| {op} | {fmt(by.get('plain'))} | {fmt(by.get('normal'))} | {fmt(added)} | {fmt(by.get('spilling-unspilled'))} |")
    md.append("")

data = [r for r in records if r["section"] == "data"]
if data:
    table = {(r["job"], r["place"]): r["mbps"] for r in data}
    md += ["## Data path (fio, MB/s)", "",
           "| job | main disk | sub disk | library, normal | ratio to main | library, spilling | ratio to sub |",
           "| --- | --- | --- | --- | --- | --- | --- |"]
    for job in dict.fromkeys(r["job"] for r in data):
        m = {p: med(table.get((job, p), [])) for p in ("main-disk", "sub-disk", "library-normal", "library-spilling")}
        summary["data"][job] = m
        rn = ratio(m["library-normal"], m["main-disk"])
        rs = ratio(m["library-spilling"], m["sub-disk"])
        md.append(f"| {job} | {fmt(m['main-disk'])} | {fmt(m['sub-disk'])} | {fmt(m['library-normal'])} | {fmt(rn, 3)} | "
                  f"{fmt(m['library-spilling'])} | {fmt(rs, 3)} |")
        # Throughput: a slowdown ratio is main/library.
        target(f"{job}: normal, time ratio to no library", ratio(m["main-disk"], m["library-normal"]), 1.01)
        target(f"{job}: spilling / sub disk directly", rs, 0.95, higher_is_better=True)
    md.append("")

union = [r for r in records if r["section"] == "union"]
meta = [r for r in records if r["section"] == "union-meta"]
if union or meta:
    summary["union"] = {}
    md += ["## The FUSE union against mergerfs", "",
           "Both as two-branch unions of the same main-disk tree and sub-disk spill area, new files on the "
           "spill area (Spillway's union with its slot `spilling`; mergerfs 2.33 with `category.create=ff`, "
           "`moveonenospc=true`, `cache.files=partial`).", ""]
if union:
    table = {(r["job"], r["place"]): r["mbps"] for r in union}
    md += ["| fio job (MB/s) | sub disk directly | mergerfs | Spillway FUSE union | union / mergerfs |", "| --- | --- | --- | --- | --- |"]
    for job in dict.fromkeys(r["job"] for r in union):
        m = {p: med(table.get((job, p), [])) for p in ("sub-disk", "mergerfs", "spillway-fuse")}
        summary["union"][job] = m
        r = ratio(m["spillway-fuse"], m["mergerfs"])
        md.append(f"| {job} | {fmt(m['sub-disk'])} | {fmt(m['mergerfs'])} ({spread(table.get((job, 'mergerfs'), []))}) | "
                  f"{fmt(m['spillway-fuse'])} ({spread(table.get((job, 'spillway-fuse'), []))}) | {fmt(r, 3)} |")
        target(f"{job}: FUSE union / mergerfs (throughput)", r, 1.0, higher_is_better=True)
    md.append("")
if meta:
    table = {(r["op"], r["place"]): r["ns"] for r in meta}
    md += ["| metadata (ns per call) | sub disk directly | mergerfs | Spillway FUSE union | union / mergerfs (time) |", "| --- | --- | --- | --- | --- |"]
    for op in dict.fromkeys(r["op"] for r in meta):
        m = {p: med(table.get((op, p), [])) for p in ("sub-disk", "mergerfs", "spillway-fuse")}
        summary["union"][op] = m
        r = ratio(m["spillway-fuse"], m["mergerfs"])
        md.append(f"| {op} | {fmt(m['sub-disk'])} | {fmt(m['mergerfs'])} | {fmt(m['spillway-fuse'])} | {fmt(r, 3)} |")
        target(f"{op}: FUSE union / mergerfs (time per call)", r, 1.0)
    md.append("")

wl = [r for r in records if r["section"] == "workloads"]
if wl:
    table = {(r["workload"], r["config"]): r["seconds"] for r in wl}
    md += ["## Real workloads (seconds)", "", "| workload | no library | normal | ratio | spilling | ratio |", "| --- | --- | --- | --- | --- | --- |"]
    for w in dict.fromkeys(r["workload"] for r in wl):
        b, n, s = (med(table.get((w, c), [])) for c in ("plain", "normal", "spilling"))
        summary["workloads"][w] = {"plain": b, "normal": n, "spilling": s}
        md.append(f"| {w} | {fmt(b, 3)} ({spread(table[(w, 'plain')])}) | {fmt(n, 3)} | {fmt(ratio(n, b), 3)} | {fmt(s, 3)} | {fmt(ratio(s, b), 3)} |")
        target(f"{w}: normal / no library", ratio(n, b), 1.01)
    md.append("")

mv = [r for r in records if r["section"] == "moves"]
if mv:
    by = {r["way"]: r for r in mv}
    cp = med(by["cp-a"]["seconds"]) if "cp-a" in by else None
    md += ["## Moves (a file from the main disk to the sub disk)", "", "| how | seconds | MB/s | rate relative to cp -a |", "| --- | --- | --- | --- |"]
    for way, r in by.items():
        s = med(r["seconds"])
        rate = r["mib"] * 1.048576 / s if s else None
        rel = ratio(cp, s)
        summary["moves"][way] = {"seconds": s, "mbps": rate, "relative_to_cp": rel, "mib": r["mib"]}
        md.append(f"| {way} ({r['mib']} MiB) | {fmt(s, 3)} ({spread(r['seconds'])}) | {fmt(rate)} | {fmt(rel, 3)} |")
        if way == "library-move":
            target("the library's move-on-write, rate relative to cp -a", rel, 0.9, higher_is_better=True)
    md.append("")

stall = [r for r in records if r["section"] == "stall"]
for r in stall:
    summary["stall"] = r
    md += ["## A writer's stall while its file is moved", "",
           f"A writer appending 4 KiB every millisecond to a {r['mib']} MiB file when the flag rises; its next write "
           f"moves the file. write() times over {r['writes']} writes: p50 {r['p50_us']} µs, p99 {r['p99_us']} µs, "
           f"max {r['max_us']} µs (the move itself).", ""]

drain = [r for r in records if r["section"] == "drain"]
for r in drain:
    summary["drain"] = r["result"]
    md += ["## The drain", "", "```", json.dumps(r["result"], indent=2), "```", ""]
    rel = r["result"].get("ratio_to_cp_a") if isinstance(r["result"], dict) else None
    if isinstance(rel, (int, float)):
        target("the drain, rate relative to cp -a", rel, 0.9, higher_is_better=True)

mon = [r for r in records if r["section"] == "monitor"]
if mon:
    md += ["## Monitoring: the daemon's CPU at 1 Hz", "", "| containers | % of one core |", "| --- | --- |"]
    for r in mon:
        summary["monitor"][str(r["containers"])] = r["cpu_percent"]
        md.append(f"| {r['containers']} | {r['cpu_percent']:.2f} |")
    md.append("")

if targets:
    md += ["## Targets", "", "| target | figure | limit | met |", "| --- | --- | --- | --- |"]
    for what, value, limit, higher, met in targets:
        md.append(f"| {what} | {value:.3f} | {'>=' if higher else '<='} {limit} | {'**met**' if met else 'not met'} |")
    md.append("")
summary["targets"] = [{"target": t[0], "figure": t[1], "limit": t[2], "higher_is_better": t[3], "met": t[4]} for t in targets]

json.dump(summary, open(out_json, "w"), indent=2)
open(out_md, "w").write("\n".join(md))
