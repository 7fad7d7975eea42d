"""The real-world zoo: every architecture timm, torchvision and transformers can
build from code, traced on the meta device (no weights, no download).

- timm: every name in ``timm.list_models()``, ``pretrained=False``;
- torchvision: classification, segmentation and detection (``weights_backbone=None``),
  video and optical flow;
- transformers: every ``model_type`` whose default ``Config()`` builds through an
  ``AutoModel*`` class (the bare ``AutoModel`` when it can), ``use_cache=False``,
  example inputs chosen by modality.

Labels on every graph (see :func:`family_of` and :func:`coarse_of`):

- ``source``: ``timm``, ``torchvision`` or ``transformers``; ``model``: the name built;
- ``family`` (fine): the name's architecture prefix with ``tf_``/``gluon_``-style
  prefixes and size/variant suffixes stripped (``tf_efficientnet_b3`` → ``efficientnet``,
  ``mobilenet_v3_large`` → ``mobilenetv3``), transformers' ``model_type``;
- ``coarse``: one of :data:`COARSE`;
- ``params``, ``flops``, ``memory``: the costs ``trace`` records (parameters, forward
  FLOPs at the example input, peak activation bytes; see
  :mod:`archmotif.frontends.costs`); ``task`` for torchvision.

:func:`build` traces a catalogue in worker processes with a progress bar, a
per-model timeout and a journal next to the output, so an interrupted build resumes
where it stopped (nothing traced twice, nothing lost). Failures are recorded with
their reason in the corpus metadata, never dropped.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from archmotif.corpus import save_corpus
from archmotif.errors import TraceError
from archmotif.graph import OpGraph

__all__ = [
    "COARSE",
    "SOURCES",
    "ZooSummary",
    "build",
    "catalogue",
    "coarse_of",
    "family_of",
    "spread",
    "trace_one",
]

SOURCES = ("timm", "torchvision", "transformers")

#: The coarse labels, with what they mean.
COARSE = {
    "cnn": "convolutional network (no attention)",
    "vision-transformer": "attention, at most a patch-embedding convolution or two",
    "hybrid": "attention and convolutions beyond the stem",
    "mlp": "no attention, at most two convolutions (MLP-Mixer, ResMLP, gMLP)",
    "text-encoder": "bidirectional text model (BERT-like)",
    "decoder-only": "causal language model (GPT-like)",
    "encoder-decoder": "sequence-to-sequence model (T5-like)",
    "speech": "audio input (log-mel features or waveforms)",
    "multimodal": "several input modalities (CLIP-like, vision-language)",
}

_ATTENTION_OPS = frozenset(
    {"scaled_dot_product_attention", "softmax", "_softmax", "_safe_softmax", "log_softmax"}
)
# Name prefixes that mark a training recipe or port, not an architecture.
_RECIPE_PREFIXES = ("tf_", "gluon_", "legacy_", "tv_", "hf_", "timm_", "test_")
# First name tokens that modify the next one (nf_resnet50, wide_resnet50_2, tiny_vit_5m).
_JOINING_TOKENS = frozenset({"nf", "ese", "wide", "tiny", "eca", "gc", "ig", "ssl", "swsl"})
_FAMILY_RE = re.compile(r"([a-z0-9]*?[a-z](?:v\d+)?)(\d+[a-z]?)?")


def family_of(source: str, name: str) -> str:
    """The fine family of a model name (see the module docstring).

    >>> family_of("timm", "tf_efficientnet_b3"), family_of("timm", "resnet50d")
    ('efficientnet', 'resnet')
    >>> family_of("torchvision", "mobilenet_v3_large"), family_of("timm", "res2net50_26w_4s")
    ('mobilenetv3', 'res2net')
    """
    if source == "transformers":
        return name
    n = name.lower()
    stripped = True
    while stripped:
        stripped = False
        for p in _RECIPE_PREFIXES:
            if n.startswith(p) and len(n) > len(p):
                n, stripped = n[len(p) :], True
    tokens = n.split("_")
    # "mobilenet_v3_large" -> "mobilenetv3": a version token belongs to the name.
    if len(tokens) > 1 and re.fullmatch(r"v\d+", tokens[1]):
        tokens = [tokens[0] + tokens[1], *tokens[2:]]

    def stem(token: str) -> str:
        m = _FAMILY_RE.fullmatch(token)
        return m.group(1) if m else token

    if tokens[0] in _JOINING_TOKENS and len(tokens) > 1:
        return f"{tokens[0]}_{stem(tokens[1])}"
    return stem(tokens[0])


def coarse_of(graph: OpGraph, *, main_input: str | None = None, kind: str | None = None) -> str:
    """The coarse label of a traced model.

    ``main_input`` is a transformers model's ``main_input_name`` and ``kind`` one of
    ``"encoder-decoder"``, ``"decoder-only"``, ``"multimodal"`` or ``None``. Audio
    inputs give ``speech``; text gives ``kind`` or ``text-encoder``; vision models
    (and every timm/torchvision model) are told apart by their operators: attention
    (softmax or scaled dot-product attention) and the number of convolutions.
    """
    if main_input in ("input_features", "input_values"):
        return "speech"
    if kind in ("multimodal", "encoder-decoder", "decoder-only"):
        return kind
    if main_input == "input_ids":
        return "text-encoder"
    counts = graph.op_counts()
    attention = any(op in counts for op in _ATTENTION_OPS)
    convs = counts.get("convolution", 0)
    if attention:
        return "hybrid" if convs > 2 else "vision-transformer"
    return "cnn" if convs > 2 else "mlp"


def _torchvision_task(name: str) -> str:
    import torchvision.models as tv

    for task, module in (
        ("segmentation", tv.segmentation),
        ("detection", tv.detection),
        ("video", tv.video),
        ("optical-flow", tv.optical_flow),
    ):
        if name in tv.list_models(module=module):
            return task
    return "classification"


def spread(specs: Sequence[str], n: int) -> list[str]:
    """``n`` of ``specs`` taken across families: one model of each family in turn
    (families alphabetically, models in their catalogue order), so a small sample
    covers many designs rather than ten variants of the first name."""
    by_family: dict[str, list[str]] = {}
    for spec in specs:
        source, _, name = spec.partition(":")
        by_family.setdefault(family_of(source, name.partition("@")[0]), []).append(spec)
    queues = [by_family[f] for f in sorted(by_family)]
    out: list[str] = []
    depth = 0
    while len(out) < n and any(depth < len(q) for q in queues):
        out += [q[depth] for q in queues if depth < len(q)][: n - len(out)]
        depth += 1
    return out


def catalogue(sources: Iterable[str] = SOURCES) -> list[str]:
    """Every model spec (``"source:name"``) of ``sources`` that the zoo tries to trace,
    in a deterministic order."""
    sources = list(sources)
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise ValueError(f"unknown zoo source(s) {unknown}; use some of {list(SOURCES)}")
    specs: list[str] = []
    for source in SOURCES:
        if source not in sources:
            continue
        if source == "timm":
            import timm

            specs += [f"timm:{n}" for n in sorted(timm.list_models())]
        elif source == "torchvision":
            import torchvision.models as tv

            names: set[str] = set(tv.list_models(module=tv))
            for module in (tv.segmentation, tv.detection, tv.video, tv.optical_flow):
                names |= set(tv.list_models(module=module))
            specs += [f"torchvision:{n}" for n in sorted(names)]
        else:
            from transformers.models.auto import configuration_auto

            from archmotif.frontends.builders import auto_class_for

            specs += [
                f"transformers:{t}"
                for t in sorted(configuration_auto.CONFIG_MAPPING_NAMES)
                if auto_class_for(t) is not None
            ]
    return specs


def _transformers_kind(module: Any) -> tuple[str | None, str | None]:
    from transformers.models.auto import modeling_auto as ma

    cfg = module.config
    main = getattr(module, "main_input_name", None)
    mt = cfg.model_type
    if any(hasattr(cfg, k) for k in ("text_config",)) and any(
        hasattr(cfg, k) for k in ("vision_config", "audio_config")
    ):
        return main, "multimodal"
    if getattr(cfg, "is_encoder_decoder", False):
        return main, "encoder-decoder"
    causal, masked = ma.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES, ma.MODEL_FOR_MASKED_LM_MAPPING_NAMES
    if mt in causal and mt not in masked:
        return main, "decoder-only"
    return main, None


def trace_one(spec: str, *, normalize: bool = True) -> OpGraph:
    """Builds ``spec`` on the meta device and traces it, with the zoo's labels.

    ``normalize=False`` gives the trace as ``torch.export`` spells it (see
    :func:`archmotif.trace`); the labels are the same either way, read from the
    normalised graph, since they describe the model, not its spelling."""
    from archmotif.frontends.builders import build as build_model
    from archmotif.frontends.torch_export import trace
    from archmotif.normalize import normalize as normalize_graph

    source, _, name = spec.partition(":")
    arch = name.partition("@")[0]  # "bert@num_hidden_layers=4" is a bert
    built = build_model(spec)
    module = built.module
    raw = trace(module, built.inputs, name=name, labels=built.labels, normalize=False)
    g = normalize_graph(raw)
    labels = dict(g.labels)
    labels.update(source=source, model=name, family=family_of(source, arch))
    main, kind = (None, None)
    if source == "transformers":
        main, kind = _transformers_kind(module)
    elif source == "torchvision":
        labels["task"] = _torchvision_task(arch)
    labels["coarse"] = coarse_of(g, main_input=main, kind=kind)
    out = g if normalize else raw
    out.labels = labels
    return out


# -- the parallel, resumable build ------------------------------------------------


@dataclass
class ZooSummary:
    """What a build traced and what failed, per source."""

    path: str
    traced: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    failures: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    log: str = ""  # the workers' output (torch's messages), when they printed any

    @property
    def total(self) -> int:
        return sum(self.traced.values())

    def reasons(self, top: int = 10) -> list[tuple[str, int]]:
        """The commonest failure reasons (exception type and message head)."""
        return Counter(f["reason"] for f in self.failures).most_common(top)

    def __str__(self) -> str:
        lines = [f"{self.path}: {self.total} architectures traced in {self.seconds:.0f} s"]
        for s in sorted(set(self.traced) | set(self.failed)):
            t, f = self.traced.get(s, 0), self.failed.get(s, 0)
            lines.append(f"  {s:<13} {t:>5} traced, {f:>4} failed of {t + f}")
        if self.failures:
            lines.append("failures by reason:")
            lines += [f"  {n:>4}  {r}" for r, n in self.reasons()]
            lines.append("every failure is in the corpus metadata (archmotif dataset info)")
        if self.log:
            lines.append(f"messages printed while tracing: {self.log}")
        return "\n".join(lines)


def _reason(error: str) -> str:
    """A failure message reduced to a groupable reason: the exception type and the
    head of its message, numbers blanked."""
    msg = re.sub(r"^could not (?:trace|build) \S+(?: with \w+)?: ", "", error)
    msg = re.sub(r"\d+", "N", msg)
    return msg[:90]


def _worker(conn: Connection, log_path: str | None = None) -> None:
    """A worker process: traces the specs it is sent, one at a time. Whatever model code
    and torch print (graph dumps, log lines) goes to ``log_path``, not the terminal."""
    import warnings

    if log_path is not None:
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    warnings.simplefilter("ignore")
    import torch

    torch.set_num_threads(1)
    while True:
        try:
            spec = conn.recv()
        except EOFError:
            return
        if spec is None:
            return
        t = time.perf_counter()
        try:  # the journal keeps the trace as spelt; build() normalises at the end
            g = trace_one(spec, normalize=False)
            rec: dict[str, Any] = {"spec": spec, "ok": True, "raw": True, "graph": g.to_dict()}
        except Exception as e:
            err = str(e) if isinstance(e, TraceError) else f"{type(e).__name__}: {e}"
            err = (err.strip().splitlines() or [""])[0][:400]
            rec = {"spec": spec, "ok": False, "error": err}
        rec["seconds"] = round(time.perf_counter() - t, 3)
        conn.send(rec)


class _Journal:
    """Append-only JSON lines, one per finished spec. A torn last line (the build was
    killed while writing it) is cut off on open, so that spec is simply redone."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: dict[str, dict[str, Any]] = {}
        good = 0
        if path.exists():
            with open(path, "rb") as f:
                for line in f:
                    try:
                        rec = json.loads(line)
                        self.records[rec["spec"]] = rec
                    except (ValueError, KeyError, TypeError):
                        break
                    good += len(line)
            if good != path.stat().st_size:
                with open(path, "r+b") as f:
                    f.truncate(good)
        self._f = open(path, "a", encoding="utf-8")  # noqa: SIM115 (closed in close())

    def add(self, rec: dict[str, Any]) -> None:
        self._f.write(json.dumps(rec, separators=(",", ":")) + "\n")
        self._f.flush()
        os.fsync(self._f.fileno())
        self.records[rec["spec"]] = rec

    def close(self) -> None:
        self._f.close()


class _Pool:
    """Worker processes that can be killed one at a time (a model that hangs or
    exhausts memory costs its worker, not the build). concurrent.futures cannot kill
    a single task, hence this small pool."""

    def __init__(self, workers: int, recycle: int, log_path: str | None = None) -> None:
        self.ctx = mp.get_context("spawn")
        self.recycle = recycle
        self.log_path = log_path
        self.slots: list[dict[str, Any]] = [self._start() for _ in range(workers)]

    def _start(self) -> dict[str, Any]:
        parent, child = self.ctx.Pipe()
        p = self.ctx.Process(target=_worker, args=(child, self.log_path), daemon=True)
        p.start()
        child.close()
        return {"proc": p, "conn": parent, "spec": None, "since": 0.0, "done": 0}

    def _restart(self, i: int) -> None:
        s = self.slots[i]
        s["proc"].kill()
        s["proc"].join()
        s["conn"].close()
        self.slots[i] = self._start()

    def run(
        self, specs: Sequence[str], timeout: float, on_result: Callable[[dict[str, Any]], None]
    ) -> None:
        todo = list(reversed(specs))
        while todo or any(s["spec"] for s in self.slots):
            for s in self.slots:
                if s["spec"] is None and todo:
                    s["spec"], s["since"] = todo.pop(), time.monotonic()
                    s["conn"].send(s["spec"])
            busy = [s for s in self.slots if s["spec"]]
            ready = wait([s["conn"] for s in busy], timeout=1.0)
            now = time.monotonic()
            for i in range(len(self.slots)):
                rec = self._collect(i, ready, now, timeout)
                if rec is not None:
                    on_result(rec)

    def _collect(
        self, i: int, ready: list[Any], now: float, timeout: float
    ) -> dict[str, Any] | None:
        """Slot ``i``'s result if it has one (or has timed out or died), freeing it."""
        s = self.slots[i]
        if s["spec"] is None:
            return None
        spec, since = s["spec"], s["since"]
        if s["conn"] in ready:
            try:
                rec = s["conn"].recv()
            except (EOFError, OSError):
                code = s["proc"].exitcode
                rec = {"spec": spec, "ok": False, "error": f"worker died (exit code {code})"}
                self._restart(i)
        elif now - since > timeout:
            rec = {"spec": spec, "ok": False, "error": f"timed out after {timeout:g} s"}
            self._restart(i)
        else:
            return None
        rec.setdefault("seconds", round(now - since, 3))
        slot = self.slots[i]
        slot["spec"] = None
        slot["done"] += 1
        if slot["done"] >= self.recycle:
            self._restart(i)  # bounds the memory a long-lived worker accumulates
        return rec

    def close(self) -> None:
        for s in self.slots:
            with contextlib.suppress(OSError, BrokenPipeError):
                s["conn"].send(None)
        for s in self.slots:
            s["proc"].join(timeout=5)
            if s["proc"].is_alive():
                s["proc"].kill()


def _progress(total: int, initial: int, enabled: bool) -> Any:
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, initial=initial, desc="tracing the zoo", unit="model")


def build(
    path: str | os.PathLike[str] | None = None,
    *,
    sources: Iterable[str] = SOURCES,
    specs: Sequence[str] | None = None,
    workers: int | None = None,
    timeout: float = 300.0,
    progress: bool = True,
    normalize: bool = True,
) -> ZooSummary:
    """Traces the zoo into one corpus file at ``path`` (default
    :func:`archmotif.datasets.default_zoo_path`) and returns the per-source summary.

    With ``normalize`` (the default) the graphs are in the normalised vocabulary, as
    :func:`archmotif.trace` gives them; ``normalize=False`` keeps them as
    ``torch.export`` spells them (what retrieval "before normalisation" searches), and
    normalising that corpus (:func:`archmotif.datasets.load` does it by default) gives
    the normalised one exactly. The labels are the same either way.

    ``specs`` overrides the catalogue of ``sources``. Runs ``workers`` processes
    (default: the CPU count); a model that takes longer than ``timeout`` seconds or
    kills its worker is recorded as a failure. Progress goes to a journal
    ``PATH.journal`` as it is made; running the same build again after an
    interruption resumes from it. The corpus (graphs, plus the failures and the
    summary in its metadata) is written atomically at the end and the journal removed.
    """
    from archmotif.datasets import default_zoo_path

    out = Path(path) if path is not None else default_zoo_path()
    out.parent.mkdir(parents=True, exist_ok=True)
    all_specs = list(specs) if specs is not None else catalogue(sources)
    if len(set(all_specs)) != len(all_specs):
        raise ValueError("the zoo's specs must be distinct")
    journal = _Journal(out.with_name(out.name + ".journal"))
    log = out.with_name(out.name + ".log")  # the workers' output, kept off the terminal
    start = time.perf_counter()
    if not normalize:  # a journal of an earlier archmotif may hold normalised traces
        for spec in [s for s, r in journal.records.items() if r["ok"] and not r.get("raw")]:
            del journal.records[spec]
    todo = [s for s in all_specs if s not in journal.records]
    bar = _progress(len(all_specs), len(all_specs) - len(todo), progress)
    try:
        if todo:
            n = max(1, min(workers or os.cpu_count() or 1, len(todo)))
            pool = _Pool(n, recycle=100, log_path=str(log))
            try:

                def done(rec: dict[str, Any]) -> None:
                    journal.add(rec)
                    if bar is not None:
                        bar.update(1)

                pool.run(todo, timeout, done)
            finally:
                pool.close()
    finally:
        journal.close()
        if bar is not None:
            bar.close()
    summary = ZooSummary(str(out), seconds=time.perf_counter() - start,
                         log=str(log) if log.exists() else "")  # fmt: skip
    graphs = []
    for spec in all_specs:  # catalogue order, whatever order the workers finished in
        rec = journal.records[spec]
        source = spec.partition(":")[0]
        if rec["ok"]:
            graphs.append(OpGraph.from_dict(rec["graph"], source=spec))
            summary.traced[source] = summary.traced.get(source, 0) + 1
        else:
            summary.failed[source] = summary.failed.get(source, 0) + 1
            summary.failures.append(
                {"spec": spec, "error": rec["error"], "reason": _reason(rec["error"])}
            )
    if normalize:
        from archmotif.normalize import normalize_many

        graphs = normalize_many(graphs)  # a no-op on an earlier journal's normalised traces
    from archmotif.datasets import normalized_meta

    meta = {
        "dataset": "zoo",
        **normalized_meta(normalize),
        "traced": summary.traced,
        "failed": summary.failed,
        "failures": summary.failures,
        "build_seconds": round(sum(r.get("seconds", 0.0) for r in journal.records.values()), 1),
    }
    save_corpus(graphs, out, meta=meta)
    journal.path.unlink()
    return summary
