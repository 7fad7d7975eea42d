"""Writes ``docs/rewrites.md`` and the raw ``docs/rewrites.json`` beside it from what
:func:`benches.rewrites.harness.run_benchmark` returns, both atomically.

The markdown has the command at its top, one summary table per normalisation setting
(fine family MRR@10 and hit@5, coarse hit@5, per method, against the goal of issue 16:
family in the top 5 for 90% of the queries, coarse class for all), one table of each
query's rank per method, and for every query that ours or the motif bag misses, the
graph it found first and what the query's operators and those of the nearest graph of
its family differ in.
"""

from __future__ import annotations

import json
import os
from typing import Any

from archmotif.atomic import write_atomic

__all__ = ["write"]


_CORPUS_STATE = {
    "as stored": "its graphs as stored (this archmotif has no normalisation pass)",
    "raw": "raw operators (its graphs change under normalisation)",
    "normalised": "normalised operators",
}


def _corpus_origin(dataset: str) -> str:
    """What a corpus file's metadata says of how it was built, when that matters to the
    reader: the zoo written without normalisation. Empty for a dataset name."""
    if not os.path.isfile(dataset):
        return ""
    from archmotif.corpus import corpus_info

    meta = corpus_info(dataset)["meta"]
    if meta.get("dataset") == "zoo" and meta.get("normalized") is False:
        return (", the zoo as `archmotif zoo build --no-normalize` writes it: operators as "
                "`torch.export` spells them")  # fmt: skip
    return ""


def _norm_name(norm: bool | None) -> str:
    return {None: "trace default", False: "normalize=False", True: "normalize=True"}[norm]


def _summary(run: dict[str, Any]) -> list[str]:
    lines = [
        "| method | family MRR@10 | family hit@5 | family hit@1 | coarse hit@5 | coarse hit@1 "
        "| family queries | coarse queries | fit s | embed s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in run["methods"]:
        if "error" in r:
            lines.append(f"| {r['method']} | failed: {r['error']} |" + " |" * 8)
            continue
        f, c = r["family"], r["coarse"]
        lines.append(
            f"| {r['method']} | {f['MRR@10']:.3f} | {f['HIT@5']:.3f} | {f['HIT@1']:.3f} "
            f"| {c['HIT@5']:.3f} | {c['HIT@1']:.3f} | {r['family_queries']} "
            f"| {r['coarse_queries']} | {r['fit_seconds']:.1f} | {r['embed_seconds']:.1f} |"
        )
    return lines


def _rank(r: int | None, tied: int = 0) -> str:
    """A rank, bold past 5; ``a–r`` when the first hit scores exactly as the graphs
    ranked ``a`` to ``r - 1`` (the corpus order put them first)."""
    if r is None:
        return "–"
    text = f"{r - tied}–{r}" if tied else str(r)
    return f"**{text}**" if r > 5 else text


def _per_query(raw: dict[str, Any], run: dict[str, Any]) -> list[str]:
    ok = [r for r in run["methods"] if "error" not in r]
    head = "| query | design (what differs) | nodes | fine targets | "
    head += " | ".join(r["method"] for r in ok) + " | coarse (ours) | ours' first hit |"
    lines = [head, "|" + "---|" * (len(ok) + 6)]
    for q in raw["queries"]:
        ranks = [
            _rank(
                r["queries"][q["name"]].get("family"), r["queries"][q["name"]].get("family_tied", 0)
            )
            for r in ok
        ]
        ours = next((r["queries"][q["name"]] for r in ok if r["method"] == "ours"), {})
        top1 = " (".join(ours["top1"]) + ")" if "top1" in ours else ""
        lines.append(
            f"| {q['name']} | {q['note']} | {run['query_nodes'][q['name']]} "
            f"| {', '.join(q['targets']) or '– (not in corpus)'} | "
            + " | ".join(ranks)
            + f" | {_rank(ours.get('coarse'))} | {top1} |"
        )
    return lines


def _misses(raw: dict[str, Any], run: dict[str, Any]) -> list[str]:
    lines = []
    for r in run["methods"]:
        if r.get("method") not in ("ours", "motif-bag") or "error" in r:
            continue
        missed = [(q, r["queries"][q["name"]]) for q in raw["queries"]]
        missed = [(q, row) for q, row in missed if "diff" in row]
        if not missed:
            lines += [f"{r['method']}: every query with its family in the corpus finds it "
                      "in the top 5.", ""]  # fmt: skip
            continue
        lines += [f"**{r['method']}** misses (family not in the top 5):", ""]
        for q, row in missed:
            d = row["diff"]
            only_q = ", ".join(f"{op} ×{n}" for op, n in d["only_query"]) or "none"
            only_o = ", ".join(f"{op} ×{n}" for op, n in d["only_other"]) or "none"
            shares = ", ".join(f"{op} {x:.0%} vs {y:.0%}" for op, x, y in d["shares"])
            lines.append(
                f"- `{q['name']}` (rank {row['family']}; first hit {row['top1'][0]}, "
                f"{row['top1'][1]}): against `{row['nearest']}`, the query alone has "
                f"{only_q}; `{row['nearest']}` alone has {only_o}; {d['shared']:.0%} of the "
                "query's nodes use operators both have; shares that differ most: " + shares + "."
            )
        lines.append("")
    return lines


def write(raw: dict[str, Any], output: str | os.PathLike[str], *, command: str,
          generated: str, machine: str) -> None:  # fmt: skip
    """Writes the markdown report to ``output`` and the raw result to ``<stem>.json``."""
    out = os.fspath(output)
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    left = sorted({n for run in raw["runs"] for r in run["methods"] for n in r.get("left_out", ())})
    lines = [
        "# Hand-written queries: does retrieval survive a rewrite?",
        "",
        f"Generated {generated} on {machine}, in {raw['seconds'] / 60:.1f} min"
        + (" (quick: 2 epochs per training stage)" if raw["quick"] else "")
        + ", by:",
        "",
        "```bash",
        command,
        "```",
        "",
        f"{len(raw['queries'])} models written by hand in plain PyTorch "
        "(`benches/rewrites/models/`, never imported from timm, torchvision or transformers), "
        f"each traced on the meta device and searched against `{raw['dataset']}` "
        f"({raw['corpus_graphs']} graphs{_corpus_origin(raw['dataset'])}). Every method is "
        "fitted on the corpus only "
        f"(seed {raw['seed']}); the queries are embedded afterwards, as a user's model is. "
        "A query is relevant to a corpus graph when the graph's `family` is one of the "
        "query's fine families (the zoo's labels; see `benches/rewrites/queries.py`), or, "
        "for the coarse columns, its `coarse` class. Families the corpus lacks are dropped, "
        "so the fine columns count only queries whose family it holds"
        + (f"; left out here: {', '.join(left)}." if left else "."),
        "",
        "Goal (issue 16): the fine family in the top 5 for at least 90% of the queries, "
        "the coarse class for all of them.",
        "",
    ]
    for run in raw["runs"]:
        detail = run.get("detail", "op")
        lines += [f"## Queries traced with {_norm_name(run['normalize'])}, detail `{detail}`", "",
                  f"The corpus searched: {_CORPUS_STATE[run['corpus']]}.", ""]  # fmt: skip
        lines += [*_summary(run), ""]
        lines += ["Rank of the first graph of the query's family, per method (bold: "
                  "outside the top 5; –: family not in the corpus; `a–b`: ranked b, but "
                  "scored exactly as the graphs at ranks a to b - 1, which the corpus "
                  "order put first: as a rule the same structure under another family's name):",
                  ""]  # fmt: skip
        lines += [*_per_query(raw, run), ""]
        lines += _misses(raw, run)
    lines.append(f"Raw results: [`{os.path.basename(os.path.splitext(out)[0])}.json`]"
                 f"({os.path.basename(os.path.splitext(out)[0])}.json).")  # fmt: skip
    text = ("\n".join(lines) + "\n").encode()
    data = json.dumps({**raw, "command": command, "generated": generated, "machine": machine},
                      indent=1).encode()  # fmt: skip
    write_atomic(os.path.splitext(out)[0] + ".json", lambda f: f.write(data))
    write_atomic(out, lambda f: f.write(text))
