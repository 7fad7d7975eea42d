"""Query latency and recall of Index.search at 10^4..10^6 rows: exact numpy, exact faiss
(the kept flat index), approximate faiss (IVF), each with and without a cost filter,
and the faiss path as it was before (a new IndexFlatIP filled on every call).

One query per call (what ``archmotif search`` and an interactive user do), ``k=10``,
latency p50 over ``--queries`` calls after one warm-up call; recall@10 against exact
numpy search under the same filter. Rows are 128 wide; ``--data random`` is i.i.d.
Gaussian (the issue's measurement, the worst case for an inverted file: no structure to
exploit), ``clustered`` draws rows around 2,000 centres (as embeddings of architecture
families are). Queries are held-out draws from the same distribution. The cost filter
``params <= P`` keeps ~10% of rows (``params`` is random, independent of the vectors).
Also printed: the IVF's build and load (rebuild from the stored arrays) times, the
filter strategies compared (numpy mask vs gather, faiss IDSelector vs gather) and a
64-query batch, which set the constants of ``archmotif.retrieval.search_plan``.

    .venv/bin/python benches/search.py                      # 1e4,1e5,1e6, both data kinds
    .venv/bin/python benches/search.py --sizes 1e4,1e5 --data clustered --queries 20
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

# one thread per process unless told otherwise: on a shared machine, BLAS and OpenMP
# threads waiting on each other measure the scheduler, not the search
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from archmotif.retrieval.index import Index  # noqa: E402

K = 10
DIM = 128


def _data(n: int, nq: int, kind: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` rows and ``nq`` held-out queries drawn from the same distribution (a new
    architecture from a known family, for ``clustered``)."""
    if kind == "random":
        x = rng.standard_normal((n + nq, DIM), dtype=np.float32)
    else:
        centres = rng.standard_normal((2000, DIM), dtype=np.float32)
        x = centres[rng.integers(2000, size=n + nq)]
        x += 0.6 * rng.standard_normal((n + nq, DIM), dtype=np.float32)
    return x[:n], x[n:]


def _timed(fns: dict[str, Any], queries: np.ndarray) -> dict[str, tuple[float, float, Any]]:
    """Per method: (median ms per call, fastest ms, ids found). The methods take turns on
    each query, in a rotating order, so load from other processes falls on all alike."""
    for fn in fns.values():
        fn(queries[:1])  # warm-up: builds whatever is built on first use
    names = list(fns)
    times: dict[str, list[float]] = {m: [] for m in names}
    ids: dict[str, list[Any]] = {m: [] for m in names}
    for i in range(len(queries)):
        for m in names[i % len(names) :] + names[: i % len(names)]:
            t = time.perf_counter()
            _, got = fns[m](queries[i : i + 1])
            times[m].append(time.perf_counter() - t)
            ids[m].append(got[0])
    return {
        m: (1e3 * float(np.median(times[m])), 1e3 * min(times[m]), np.array(ids[m])) for m in names
    }


def _recall(got: np.ndarray, want: np.ndarray) -> float:
    return float(
        np.mean([len(set(g) & set(w)) / max(1, len(w)) for g, w in zip(got, want, strict=True)])
    )


def _old_faiss(index: Index):
    import faiss

    def run(q):  # what Index.search did before: a new flat index on every call
        flat = faiss.IndexFlatIP(index.dim)
        flat.add(np.ascontiguousarray(index.embeddings))
        return flat.search(q, K)

    return run


def bench_size(n: int, kind: str, nq: int, rng: np.random.Generator) -> list[dict]:
    x, q = _data(n, nq, kind, rng)
    params = rng.integers(1, 1_000_000_000, size=n)
    meta = [{"params": str(p)} for p in params.tolist()]
    index = Index(x, meta)
    del x
    limit = float(np.quantile(params, 0.10))
    where = f"params <= {limit:.0f}"
    import faiss

    faiss.omp_set_num_threads(os.cpu_count() or 1)  # build with every core, query with one
    t = time.perf_counter()
    ivf = index.build_ann()
    build_s = time.perf_counter() - t
    faiss.omp_set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "i.npz")
        index.save(path)
        t = time.perf_counter()
        loaded = Index.load(path)
        load_s = time.perf_counter() - t
        t = time.perf_counter()
        loaded.ann.attach(loaded.embeddings)  # the faiss IVF rebuilt from the stored arrays
        attach_s = time.perf_counter() - t
        del loaded
    print(f"\n{n:,} x {DIM} {kind}: IVF {ivf.nlist} lists, nprobe {ivf.nprobe} "
          f"(recall@10 {ivf.recall:.3f} at build), built in {build_s:.1f} s; the file "
          f"loads in {load_s:.2f} s + {attach_s:.2f} s to rebuild the IVF", flush=True)  # fmt: skip
    rows = []
    labels = {"numpy": "exact numpy", "faiss": "exact faiss", "ann": "approx faiss (IVF)",
              "auto": "auto"}  # fmt: skip
    for filt in (None, where):
        fns = {m: (lambda qq, m=m, f=filt: index.search(qq, K, where=f, method=m)) for m in labels}
        got = _timed(fns, q)
        exact_ms, _, exact = got["numpy"]
        for m, (ms, best, ids) in got.items():
            rows.append(dict(n=n, data=kind, method=labels[m], filter=filt, ms=ms, best=best,
                             recall=_recall(ids, exact), base=exact_ms))  # fmt: skip
        if filt is None:
            few = q[: max(3, nq // 10)]  # the old path is slow: fewer calls
            ms, best, ids = _timed({"old": _old_faiss(index)}, few)["old"]
            rows.append(dict(n=n, data=kind, method="faiss, rebuilt per call (before)",
                             filter=None, ms=ms,
                             best=best, recall=_recall(ids, exact[: len(few)]),
                             base=exact_ms))  # fmt: skip
    for r in rows:
        filt = "params<=p10" if r["filter"] else "no filter"
        print(f"  {r['method']:<34} {filt:<12} p50 {r['ms']:8.2f} ms (best {r['best']:7.2f})  "
              f"x{r['ms'] / r['base']:5.2f} of numpy  recall@10 {r['recall']:.3f}",
              flush=True)  # fmt: skip
    if n >= 100_000:
        _strategies(index, q, params)
    return rows


def _strategies(index: Index, q: np.ndarray, params: np.ndarray) -> None:
    """The filter strategies side by side, and a batch of 64 queries (numpy vs faiss)."""
    import faiss

    from archmotif.retrieval.ann import _selector

    flat = index.exact_faiss()
    print("  filter strategies (p50 ms per query): share kept, numpy mask / gather, "
          "faiss IDSelector / gather")  # fmt: skip
    for share in (0.01, 0.1, 0.5, 0.9):
        mask = params <= np.quantile(params, share)
        keep = np.flatnonzero(mask)

        def np_mask(qq, mask=mask):
            sims = qq @ index.embeddings.T
            sims[:, ~mask] = -np.inf
            return None, np.argpartition(-sims, K, axis=1)[:, :K]

        def np_gather(qq, keep=keep):
            return None, keep[np.argpartition(-(qq @ index.embeddings[keep].T), K, axis=1)[:, :K]]

        def fs_sel(qq, mask=mask):
            sel, _bits = _selector(faiss, mask)
            return flat._flat.search(qq, K, params=faiss.SearchParameters(sel=sel))

        def fs_gather(qq, keep=keep):
            sub = np.ascontiguousarray(index.embeddings[keep])
            return faiss.knn(qq, sub, K, metric=faiss.METRIC_INNER_PRODUCT)

        fns = {"a": np_mask, "b": np_gather, "c": fs_sel, "d": fs_gather}
        t = [v[0] for v in _timed(fns, q[:20]).values()]
        print(f"    {share:4.0%}: {t[0]:7.2f} / {t[1]:7.2f}    {t[2]:7.2f} / {t[3]:7.2f}")
    batch = np.repeat(q, -(-64 // len(q)), axis=0)[:64]
    for method in ("numpy", "faiss"):
        index.search(batch[:2], K, method=method)
        t = time.perf_counter()
        index.search(batch, K, method=method)
        per = 1e3 * (time.perf_counter() - t) / len(batch)
        print(f"  batch of 64, {method}: {per:.2f} ms per query")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="1e4,1e5,1e6")
    p.add_argument("--data", default="random,clustered")
    p.add_argument("--queries", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, {os.cpu_count()} cpus, "
          f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}")  # fmt: skip
    rows = []
    for kind in args.data.split(","):
        for n in (int(float(s)) for s in args.sizes.split(",")):
            rows += bench_size(n, kind, args.queries, rng)
    print("\n| rows | data | method | filter | p50 ms | best ms | p50 / numpy's | recall@10 |")
    print("|---:|---|---|---|---:|---:|---:|---:|")
    for r in rows:
        filt = "params ≤ p10" if r["filter"] else "none"
        print(f"| {r['n']:,} | {r['data']} | {r['method']} | {filt} | {r['ms']:.2f} | "
              f"{r['best']:.2f} | {r['ms'] / r['base']:.2f} | {r['recall']:.3f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
