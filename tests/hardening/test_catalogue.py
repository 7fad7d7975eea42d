"""The catalogue of bad inputs and faults: every entry is tried here, its outcome
asserted, and the table in docs/hardening.md is generated from these outcomes.

Regenerate the document after changing an entry:
``ARCHMOTIF_UPDATE_CATALOGUE=1 .venv/bin/python -m pytest tests/hardening``.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import archmotif
from archmotif import FormatError, GraphError, LimitError, OpGraph, synthetic

sys.path.insert(0, str(Path(__file__).parent))
import untrusted_cases

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "hardening.md"


@dataclass(frozen=True)
class Case:
    id: str
    layer: str
    what: str
    run: Callable[[Path], object]
    expect: type[BaseException] | None  # None: must succeed
    match: str = ""  # a regex the message (or the success summary) must contain


_toy, _corpus = untrusted_cases.toy, untrusted_cases.good_corpus


def _rewrite_member(src: Path, dst: Path, name: str, data: bytes) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            zout.writestr(item, data if item.filename == name else zin.read(item.filename))
    return dst


def _npy(a: np.ndarray, allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=allow_pickle)
    return buf.getvalue()


def _flip_byte(tmp: Path) -> Path:
    src = _corpus(tmp)
    raw = bytearray(src.read_bytes())
    with zipfile.ZipFile(src) as z:
        info = z.getinfo("ops.npy")
    at = info.header_offset  # the local header's name and extra lengths (not the directory's)
    data = at + 30 + int.from_bytes(raw[at + 26 : at + 28], "little")
    data += int.from_bytes(raw[at + 28 : at + 30], "little")
    raw[data + info.file_size - 3] ^= 0xFF  # inside the last element
    dst = tmp / "flipped.npz"
    dst.write_bytes(bytes(raw))
    return dst


def _encrypted_flag(tmp: Path) -> Path:
    """A corpus whose central directory marks ops.npy as encrypted (one bit)."""
    raw = bytearray(_corpus(tmp).read_bytes())
    at = raw.find(b"PK\x01\x02")  # central directory entries: name length at 28, name at 46
    while raw[at + 46 : at + 46 + int.from_bytes(raw[at + 28 : at + 30], "little")] != b"ops.npy":
        at = raw.find(b"PK\x01\x02", at + 4)
    raw[at + 8] |= 0x01  # general-purpose flag bit 0: encrypted
    dst = tmp / "encrypted.npz"
    dst.write_bytes(bytes(raw))
    return dst


def _header(tmp: Path, **changes: object) -> Path:
    src = _corpus(tmp)
    with zipfile.ZipFile(src) as z:
        h = json.loads(np.load(io.BytesIO(z.read("header.npy"))).tobytes())
    h.update(changes)
    blob = np.frombuffer(json.dumps(h).encode(), dtype=np.uint8)
    return _rewrite_member(src, tmp / "edited.npz", "header.npy", _npy(blob))


def _record(tmp: Path, **changes: object) -> Path:
    """A corpus whose first graph's record (name, labels, node names) has ``changes``."""
    with np.load(_corpus(tmp), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    off, blob = arrays["record_offsets"], arrays["records"].tobytes()
    records = [json.loads(blob[off[i] : off[i + 1]]) for i in range(len(off) - 1)]
    records[0].update(changes)
    encoded = [json.dumps(r).encode() for r in records]
    arrays["records"] = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    arrays["record_offsets"] = np.cumsum([0] + [len(e) for e in encoded]).astype(np.int64)
    dst = tmp / "edited.npz"
    np.savez(dst, **arrays)
    return dst


def _arrays(tmp: Path, **edit: Callable[[np.ndarray], np.ndarray]) -> Path:
    """A corpus with some arrays edited (``name=function of the old array``)."""
    with np.load(_corpus(tmp), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays.update({k: f(arrays[k].copy()) for k, f in edit.items()})
    dst = tmp / "edited.npz"
    np.savez(dst, **arrays)
    return dst


def _pickle_bomb(tmp: Path) -> Path:
    class Boom:
        def __reduce__(self):  # would run on unpickling
            return (os.system, ("touch pwned",))

    obj = np.array([Boom()], dtype=object)
    return _rewrite_member(_corpus(tmp), tmp / "pickled.npz", "ops.npy", _npy(obj, True))


def _shape_script(body: str, limit_gb: int = 8) -> Callable[[Path], object]:
    """Runs ``body`` in a fresh interpreter under an address-space limit, so an
    unbounded allocation fails there (and shows here) instead of taking the machine."""

    def run(tmp: Path) -> object:
        code = textwrap.dedent(
            f"""
            import resource, numpy as np, archmotif
            from archmotif import OpGraph
            lim = {limit_gb} << 30
            resource.setrlimit(resource.RLIMIT_AS, (lim, lim))
            """
        ) + textwrap.dedent(body)
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=tmp
        )
        if out.returncode != 0:
            raise RuntimeError(f"exit {out.returncode}: {out.stderr.strip()[-500:]}")
        return out.stdout.strip()

    return run


def _sigint_during_mine(tmp: Path) -> object:
    code = textwrap.dedent(
        """
        import numpy as np, archmotif
        n = 10**7
        e = np.stack([np.arange(n - 1), np.arange(1, n)]).astype(np.int64)
        g = archmotif.OpGraph(np.zeros(n, np.int32), e, op_names=["relu"])
        print("ready", flush=True)
        try:
            archmotif.mine([g], progress=False)
            print("finished")
        except KeyboardInterrupt:
            print("interrupted")
        """
    )
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None
    assert p.stdout.readline().strip() == "ready"
    threading.Event().wait(1.0)
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=60)
    if "interrupted" not in out:
        raise RuntimeError(f"not interrupted: {out!r}")
    return "KeyboardInterrupt raised in the caller, the core stopped"


def _threads(tmp: Path) -> object:
    gs = archmotif.datasets.load("builtin")[:30]
    ref = [t.id for t in archmotif.mine(gs, progress=False).vocabulary]
    results: list[list[int]] = []

    def go() -> None:
        results.append([t.id for t in archmotif.mine(gs, progress=False, threads=2).vocabulary])

    ts = [threading.Thread(target=go) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    if len(results) != 4 or any(r != ref for r in results):
        raise RuntimeError("concurrent mine calls disagree")
    return "4 concurrent calls, identical vocabularies"


def _fork(tmp: Path) -> object:
    gs = archmotif.datasets.load("builtin")[:10]
    ref = [t.id for t in archmotif.mine(gs, progress=False).vocabulary]
    pid = os.fork()
    if pid == 0:  # the child: the parent's rayon pool threads do not exist here
        ok = [t.id for t in archmotif.mine(gs, progress=False).vocabulary] == ref
        os._exit(0 if ok else 3)
    for _ in range(600):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        threading.Event().wait(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
        raise RuntimeError("mine in a forked child deadlocked")
    if status != 0:
        raise RuntimeError(f"forked child failed with status {status}")
    return "mine in a forked child after mine in the parent: no deadlock, same result"


# Cheap specs for an interrupted zoo build: one real trace (journaled first, so it must
# survive both interruptions) and failures that each cost a module import in the worker.
_ZOO_SPECS = [
    "torchvision:squeezenet1_1",
    "transformers:no_such_model_type",
    "timm:no_such_model_a",
    "torchvision:no_such_model_b",
]


def _zoo_run_until(out: Path, lines: int, sig: signal.Signals) -> str:
    """Starts a zoo build of ``_ZOO_SPECS`` in a fresh interpreter and sends it ``sig``
    as soon as its journal holds ``lines`` finished specs; returns what it printed."""
    code = textwrap.dedent(
        f"""
        import multiprocessing as mp
        from archmotif.datasets import zoo
        try:
            zoo.build({str(out)!r}, specs={_ZOO_SPECS!r}, workers=1, progress=False)
            print("finished")
        except KeyboardInterrupt:
            print("interrupted", *[c.pid for c in mp.active_children()])
        """
    )
    journal = out.with_name(out.name + ".journal")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    while p.poll() is None:
        if journal.exists() and journal.read_bytes().count(b"\n") >= lines:
            p.send_signal(sig)
            break
        threading.Event().wait(0.01)
    stdout, _ = p.communicate(timeout=120)
    if "finished" in stdout or out.exists():
        raise RuntimeError("the build finished before it could be interrupted")
    return stdout.strip()


def _gone(pid: int, seconds: float = 10.0) -> bool:
    """Whether process ``pid`` has exited (or is a zombie) within ``seconds``."""
    for _ in range(int(seconds / 0.05)):
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rpartition(")")[2].split()[0] in ("Z", "X"):
                    return True
        except FileNotFoundError:
            return True
        threading.Event().wait(0.05)
    return False


def _zoo_interrupted(tmp: Path) -> object:
    from archmotif.datasets import zoo

    out = tmp / "zoo.npz"
    said = _zoo_run_until(out, 1, signal.SIGINT)  # Ctrl-C after the first spec
    if not said.startswith("interrupted"):
        raise RuntimeError(f"Ctrl-C did not raise KeyboardInterrupt in the build: {said!r}")
    for pid in map(int, said.split()[1:]):  # workers killed but not yet reaped then
        if not _gone(pid):
            raise RuntimeError(f"worker {pid} outlived the interrupted build")
    _zoo_run_until(out, 2, signal.SIGKILL)  # kill -9 after the second: no cleanup at all
    journal = out.with_name(out.name + ".journal")
    done = []
    for line in journal.read_text().split("\n")[:-1]:  # the journal's own rule: whole lines
        done.append(json.loads(line)["spec"])
    sent: list[str] = []
    run = zoo._Pool.run

    def record(self: object, specs: list[str], *args: object) -> None:
        sent.extend(specs)
        run(self, specs, *args)

    zoo._Pool.run = record  # type: ignore[method-assign]
    try:
        s = zoo.build(out, specs=_ZOO_SPECS, workers=1, progress=False)
    finally:
        zoo._Pool.run = run  # type: ignore[method-assign]
    if sorted(sent + done) != sorted(_ZOO_SPECS):
        raise RuntimeError(f"resumed {sent} after {done}: a spec was traced twice or lost")
    models = [g.labels["model"] for g in archmotif.load_corpus(out)]
    failed = [f["spec"] for f in s.failures]
    if models != ["squeezenet1_1"] or failed != _ZOO_SPECS[1:] or journal.exists():
        raise RuntimeError(f"resumed build lost work: {models}, failures {failed}")
    # (how many were journaled before the kill depends on timing; the document must not)
    return (
        "specs journaled before the kill were kept, only the others traced on resume; "
        f"{s.total + len(failed)} of {len(_ZOO_SPECS)} in the corpus, none twice"
    )


def _shaped(tmp: Path, drop: str = "", **edit: Callable[[np.ndarray], np.ndarray]) -> Path:
    """A corpus of graphs with output shapes and parameter counts, some arrays edited
    (``name=function of the old array``) and member ``drop`` left out."""
    g = _toy()
    shaped = OpGraph(
        g.ops,
        g.edges,
        op_names=g.op_names,
        node_shapes=["1×3", "1×8", "1×8", "1×4", "1×4"],
        node_params=[0, 24, 0, 32, 0],
    )
    src = tmp / "shaped.npz"
    archmotif.save_corpus([shaped, shaped], src)
    with np.load(src, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if k != drop}
    arrays.update({k: f(arrays[k].copy()) for k, f in edit.items()})
    dst = tmp / "edited.npz"
    np.savez(dst, **arrays)
    return dst


def _cases() -> list[Case]:
    O = OpGraph  # noqa: E741 (keeps the table of cases one line per case)
    return [
        # -- graph validation ---------------------------------------------------------
        Case("cycle", "graph", "a 3-node cycle", lambda t: O(["a", "b", "c"], [[0, 1, 2], [1, 2, 0]]), GraphError, r"cycle through nodes 0 -> 1 -> 2 -> 0"),  # noqa: E501
        Case("self-loop", "graph", "an edge from a node to itself", lambda t: O(["a", "b"], [[1], [1]]), GraphError, "self loop"),  # noqa: E501
        Case("edge-out-of-range", "graph", "an edge to node 2**62 in a 2-node graph", lambda t: O(["a", "b"], [[0], [2**62]]), GraphError, "edge 0 .* missing node"),  # noqa: E501
        Case("negative-id", "graph", "an edge from node -1", lambda t: O(["a", "b"], [[-1], [1]]), GraphError, "negative node id"),  # noqa: E501
        Case("op-out-of-range", "graph", "op id 5 with 2 op names", lambda t: O(np.array([0, 5], np.int32), [[0], [1]], op_names=["a", "b"]), GraphError, "op"),  # noqa: E501
        Case("float-edges", "graph", "float64 edge array", lambda t: O(["a", "b"], np.array([[0.0], [1.0]])), GraphError, "integer node ids"),  # noqa: E501
        Case("edges-3xE", "graph", "edge array of shape (3, 1)", lambda t: O(["a", "b"], np.zeros((3, 1), np.int64)), GraphError, r"shape \[2, E\]"),  # noqa: E501
        Case("nan-ops", "graph", "NaN among op ids", lambda t: O(np.array([np.nan, 0.0]), [[0], [1]], op_names=["a"]), GraphError, "integer op ids"),  # noqa: E501
        Case("mixed-ops", "graph", "op names mixed with numbers", lambda t: O([1.5, "a"], [[0], [1]]), GraphError, "mixes"),  # noqa: E501
        # -- JSON ---------------------------------------------------------------------
        Case("json-garbage", "files", "OpGraph JSON that is not JSON", lambda t: O.from_json("{not json"), FormatError, "not valid JSON"),  # noqa: E501
        Case("json-future", "files", "OpGraph JSON of version 99", lambda t: O.from_json('{"format": "archmotif.opgraph", "version": 99}'), FormatError, "newer"),  # noqa: E501
        Case("json-foreign", "files", "JSON of another format", lambda t: O.from_json('{"nodes": []}'), FormatError, "not an archmotif OpGraph"),  # noqa: E501
        Case("json-wrong-types", "files", "ops given as a string", lambda t: O.from_json('{"format": "archmotif.opgraph", "version": 1, "op_names": ["a"], "ops": "zz", "edges": [[], []]}'), FormatError, "must be lists: ops"),  # noqa: E501
        Case("json-ragged-edges", "files", "edges as a ragged list (found by fuzzing)", lambda t: O.from_json('{"format": "archmotif.opgraph", "version": 1, "op_names": [], "ops": [], "edges": [0, []]}'), GraphError, r"edges must be a \[2, E\] array"),  # noqa: E501
        Case("json-labels-list", "files", "labels given as a list (found by fuzzing)", lambda t: O.from_json('{"format": "archmotif.opgraph", "version": 1, "op_names": [], "ops": [], "edges": [], "labels": [1]}'), GraphError, "labels must map str to str"),  # noqa: E501
        # -- corpus files -------------------------------------------------------------
        Case("corpus-truncated", "files", "a corpus cut in half", lambda t: archmotif.load_corpus(_truncate(_corpus(t))), FormatError, "good.npz"),  # noqa: E501
        Case("corpus-bit-flip", "files", "one byte of the ops array flipped (zip CRC-32)", lambda t: archmotif.load_corpus(_flip_byte(t)), FormatError, "Bad CRC-32"),  # noqa: E501
        Case("corpus-foreign-npz", "files", "an .npz of other arrays", lambda t: archmotif.load_corpus(_foreign(t)), FormatError, "not an archmotif corpus"),  # noqa: E501
        Case("corpus-not-zip", "files", "a text file named .npz", lambda t: archmotif.load_corpus(_text(t)), FormatError, "not a zip"),  # noqa: E501
        Case("corpus-future", "files", "a corpus of format version 99", lambda t: archmotif.load_corpus(_header(t, version=99)), FormatError, "newer"),  # noqa: E501
        Case("corpus-bad-offsets", "files", "a header claiming 5 graphs for 2", lambda t: archmotif.load_corpus(_header(t, num_graphs=5)), FormatError, "wrong dtype or shape"),  # noqa: E501
        Case("corpus-pickle", "untrusted", "an object array whose unpickling would run a command", lambda t: archmotif.load_corpus(_pickle_bomb(t)), FormatError, "not a readable archmotif corpus"),  # noqa: E501
        Case("corpus-directory", "files", "a directory passed as a corpus", lambda t: archmotif.datasets.load(t), FormatError, "directory"),  # noqa: E501
        Case("corpus-encrypted", "files", "a member flagged as encrypted (found by fuzzing)", lambda t: archmotif.load_corpus(_encrypted_flag(t)), FormatError, "encrypted.npz: not a readable archmotif corpus .File 'ops.npy' is encrypted"),  # noqa: E501
        Case("corpus-header-types", "files", "a header whose op names are a string (found by fuzzing)", lambda t: archmotif.load_corpus(_header(t, op_names="x")), FormatError, "corrupt corpus header .op_names"),  # noqa: E501
        Case("corpus-record-types", "files", "a graph record whose labels are a string", lambda t: archmotif.load_corpus(_record(t, labels="x")), FormatError, "corrupt record of graph 0 .labels"),  # noqa: E501
        Case("corpus-node-names", "files", "one node name for a 5-node graph (found by fuzzing)", lambda t: archmotif.load_corpus(_record(t, node_names=["a"])), FormatError, "graph 0 has 1 node names for 5 nodes"),  # noqa: E501
        Case("corpus-record-offsets", "files", "record offsets running backwards", lambda t: archmotif.load_corpus(_arrays(t, record_offsets=lambda o: np.array([0, o[-1] + 5, o[-1]], dtype=np.int64))), FormatError, "record offsets are inconsistent"),  # noqa: E501
        Case("corpus-attr-ids", "files", "attribute ids past the header's attr_names", lambda t: archmotif.load_corpus(_arrays(t, attrs=lambda a: a + 7)), FormatError, "attribute ids are out of range"),  # noqa: E501
        Case("corpus-attr-pairs", "files", "a header listing an (op, attributes) pair out of range", lambda t: archmotif.load_corpus(_header(t, attr_pairs=[[0, 5]]), detail="attrs"), FormatError, "corrupt corpus header .attr_pairs"),  # noqa: E501
        Case("corpus-shape-ids", "files", "output shape ids past the header's shape_names", lambda t: archmotif.load_corpus(_shaped(t, node_shapes=lambda a: a + 7)), FormatError, "shape ids are out of range"),  # noqa: E501
        Case("corpus-shape-names", "files", "a header whose shape_names repeat a string", lambda t: archmotif.load_corpus(_shaped(t, header=lambda h: np.frombuffer(h.tobytes().replace(b'"shape_names": [""', b'"shape_names": ["", ""'), np.uint8))), FormatError, "corrupt corpus header .shape_names must be a list of distinct strings"),  # noqa: E501
        Case("corpus-shapes-missing", "files", "records promising shapes, the node_shapes member gone", lambda t: archmotif.load_corpus(_shaped(t, drop="node_shapes")), FormatError, "missing node_shapes"),  # noqa: E501
        Case("corpus-shapes-dtype", "files", "node_shapes stored as float64", lambda t: archmotif.load_corpus(_shaped(t, node_shapes=lambda a: a.astype(np.float64))), FormatError, "wrong dtype or shape"),  # noqa: E501
        Case("corpus-negative-params", "files", "a negative parameter count", lambda t: archmotif.load_corpus(_shaped(t, node_params=lambda a: a - 30)), FormatError, "graph 0: node 0 has a negative parameter count -30"),  # noqa: E501
        Case("index-truncated", "files", "an index file cut in half", lambda t: _load_index(_truncate(_index(t))), FormatError, "index.npz: not a readable archmotif index"),  # noqa: E501
        Case("index-encrypted", "files", "an index member flagged as encrypted", lambda t: _load_index(_encrypted_member(_index(t), "embeddings.npy")), FormatError, "index.npz: not a readable archmotif index .File 'embeddings.npy' is encrypted"),  # noqa: E501
        Case("index-checksum", "files", "an index whose embeddings were edited (sha256)", lambda t: _load_index(_edited_embeddings(t)), FormatError, "edited.npz"),  # noqa: E501
        Case("encoder-truncated", "files", "an encoder file cut in half", lambda t: _load_encoder(_truncate(_encoder_file(t))), FormatError, "encoder.pt: not a readable archmotif encoder file"),  # noqa: E501
        Case("encoder-future", "files", "an encoder file of format version 99", lambda t: _load_encoder(_encoder_file(t, version=99)), FormatError, "version 99 is newer"),  # noqa: E501
        Case("encoder-pickle", "untrusted", "an encoder file whose unpickling would run a command", lambda t: _load_encoder(_encoder_pickle_bomb(t)), FormatError, "a pickled torch file, not an archmotif encoder file"),  # noqa: E501
        Case("core-panic", "faults", "a panic in the core (a bug) inside the rayon pool of a long call", lambda t: archmotif._core._panic_for_tests(True), archmotif.InternalError, "a bug in archmotif's core"),  # noqa: E501
        Case("onnx-garbage", "untrusted", "an .onnx file of random bytes", lambda t: archmotif.from_onnx(_garbage_onnx(t)), FormatError, "not a readable ONNX model"),  # noqa: E501
        # -- API arguments ------------------------------------------------------------
        Case("mine-not-graphs", "api", "mine([1, 2])", lambda t: archmotif.mine([1, 2]), TypeError, "not OpGraph"),  # noqa: E501
        Case("mine-threads-0", "api", "mine(threads=0)", lambda t: archmotif.mine([_toy()], threads=0, progress=False), archmotif.InvalidArgument, "threads"),  # noqa: E501
        Case("mine-min-count-0", "api", "mine(min_count=0)", lambda t: archmotif.mine([_toy()], min_count=0, progress=False), archmotif.InvalidArgument, "min_count"),  # noqa: E501
        Case("mine-max-memory", "limits", "mine(max_memory=1000) on a 5-node graph", lambda t: archmotif.mine([_toy()], max_memory=1000, progress=False), LimitError, "more than max_memory"),  # noqa: E501
        Case("hash-too-big", "limits", "canonical_hash of a 5,000-node graph", lambda t: archmotif.canonical_hash(O(np.zeros(5000, np.int32), None, op_names=["a"])), LimitError, "more than the supported 4096"),  # noqa: E501
        Case("hash-4096-alike", "shapes", "canonical_hash of 4,096 isolated nodes of one op (was: no answer in minutes, Ctrl-C ignored)", lambda t: archmotif.canonical_hash(O(np.zeros(4096, np.int32), None, op_names=["a"])), None, r"ok: \d+"),  # noqa: E501
        Case("hash-ctrl-c", "faults", "SIGINT 20 ms into a long canonical search (Ctrl-C was ignored)", _sigint_during_hash, None, "KeyboardInterrupt raised"),  # noqa: E501
        Case("hash-past-budget", "limits", "canonical_hash of two automorphic non-twin sources feeding 1,000 identical branches", lambda t: archmotif.canonical_hash(_hidden_branches(1000)), LimitError, "exceeded its budget of 134217728 work units"),  # noqa: E501
        Case("implicit-ops-2**31", "limits", "op id 2**31 - 1 without op_names (found by fuzzing: was 100 GiB)", lambda t: O(np.array([0, 2**31 - 1])), LimitError, "pass op_names"),  # noqa: E501
        Case("contract-wrong-length", "api", "a partition shorter than the graph", lambda t: archmotif.contract(_toy(), [0, 0]), GraphError, "2 entries for 5 nodes"),  # noqa: E501
        Case("contract-not-convex", "api", "a group a path leaves and re-enters", lambda t: archmotif.contract(_toy(), [0, 1, 0, 1, 1]), GraphError, "not convex"),  # noqa: E501
        Case("context-bad-graph", "api", "context of graph 5 of 1", lambda t: archmotif.mine([_toy()], progress=False).context(5, 0), IndexError, "graph index 5 out of range"),  # noqa: E501
        Case("apply-unseen-op", "api", "apply() to a graph of an op never mined", lambda t: _summary(archmotif.mine([_toy()], progress=False).apply([O(["zzz"], None)], progress=False)[0].motifs), None, r"\[-1\]"),  # noqa: E501
        # -- extreme shapes (each in a fresh process under an 8 GiB address-space limit)
        Case("fan-in-1e6", "shapes", "one node with 10^6 predecessors", _shape_script("""
            n = 10**6
            ops = np.zeros(n + 1, np.int32); ops[-1] = 1
            e = np.stack([np.arange(n), np.full(n, n)]).astype(np.int64)
            m = archmotif.mine([OpGraph(ops, e, op_names=["input", "add"])], progress=False)
            print(f"ok: {m.macro_graphs[0].num_nodes} macro nodes")
        """), None, "ok: 1000001 macro nodes"),
        Case("chain-1e7", "shapes", "a chain of 10^7 nodes", _shape_script("""
            n = 10**7
            e = np.stack([np.arange(n - 1), np.arange(1, n)]).astype(np.int64)
            m = archmotif.mine([OpGraph(np.zeros(n, np.int32), e, op_names=["relu"])], progress=False)
            print(f"ok: {m.macro_graphs[0].num_nodes} macro nodes, {len(m.vocabulary)} motifs")
        """), None, "ok: 312500 macro nodes, 6 motifs"),  # noqa: E501
        Case("copies-1e5", "shapes", "10^5 copies of a 3-node graph", _shape_script("""
            g = OpGraph(["input", "conv", "relu"], [[0, 1], [1, 2]])
            m = archmotif.mine([g] * 10**5, progress=False)
            print(f"ok: {sum(x.num_nodes for x in m.macro_graphs)} macro nodes, {len(m.vocabulary)} motifs")
        """), None, "ok: 100000 macro nodes, 5 motifs"),  # noqa: E501
        Case("single-op-1e7", "shapes", "a 10^7-node graph with a single op and no edges", _shape_script("""
            n = 10**7
            g = OpGraph(np.zeros(n, np.int32), np.zeros((2, 0), np.int64), op_names=["relu"])
            m = archmotif.mine([g], progress=False)
            print(f"ok: {m.macro_graphs[0].num_nodes} macro nodes")
        """), None, "ok: 10000000 macro nodes"),  # noqa: E501
        Case("distinct-ops-1e5", "shapes", "a chain of 10^5 nodes with 10^5 distinct ops", _shape_script("""
            n = 10**5
            e = np.stack([np.arange(n - 1), np.arange(1, n)]).astype(np.int64)
            g = OpGraph(np.arange(n, dtype=np.int32), e, op_names=[f"op{i}" for i in range(n)])
            m = archmotif.mine([g], progress=False)
            print(f"ok: {len(m.vocabulary)} motifs, {m.macro_graphs[0].num_nodes} macro nodes")
        """), None, "ok: 100000 motifs, 100000 macro nodes"),  # noqa: E501
        # -- concurrency and faults ---------------------------------------------------
        Case("ctrl-c", "faults", "SIGINT one second into mining a 10^7-node chain", _sigint_during_mine, None, "KeyboardInterrupt raised"),  # noqa: E501
        Case("threads", "concurrency", "mine from 4 Python threads at once", _threads, None, "identical"),  # noqa: E501
        Case("fork", "concurrency", "mine in a fork()ed child (DataLoader workers)", _fork, None, "no deadlock"),  # noqa: E501
        Case("zoo-interrupted", "faults", "a zoo build stopped by Ctrl-C, then by kill -9, then resumed", _zoo_interrupted, None, "none twice"),  # noqa: E501
    ]  # fmt: skip


def _index(tmp: Path) -> Path:
    from archmotif.retrieval.index import Index

    p = tmp / "index.npz"
    Index(np.eye(3, dtype=np.float32), [{"name": f"g{i}"} for i in range(3)]).save(p)
    return p


def _load_index(p: Path) -> object:
    from archmotif.retrieval.index import Index

    return Index.load(p)


def _encrypted_member(src: Path, member: str) -> Path:
    """``src`` with one member marked as encrypted in the central directory (one bit)."""
    raw = bytearray(src.read_bytes())
    name = member.encode()
    at = raw.find(b"PK\x01\x02")
    while raw[at + 46 : at + 46 + int.from_bytes(raw[at + 28 : at + 30], "little")] != name:
        at = raw.find(b"PK\x01\x02", at + 4)
    raw[at + 8] |= 0x01
    src.write_bytes(bytes(raw))
    return src


def _edited_embeddings(tmp: Path) -> Path:
    buf = io.BytesIO()
    np.save(buf, np.eye(3, dtype=np.float32)[::-1].copy())
    return _rewrite_member(_index(tmp), tmp / "edited.npz", "embeddings.npy", buf.getvalue())


def _encoder_file(tmp: Path, version: int | None = None) -> Path:
    from archmotif.learn import encoder_file

    p = tmp / "encoder.pt"
    encoder_file.write(p, encoder_file.ENCODER_FORMAT, {"config": "{}"})
    if version is not None:
        with np.load(p) as z:
            arrays = {k: z[k] for k in z.files}
        h = json.loads(arrays["header"].tobytes())
        h["version"] = version
        arrays["header"] = np.frombuffer(json.dumps(h).encode(), dtype=np.uint8)
        with open(p, "wb") as f:  # np.savez(path) would add ".npz" to the name
            np.savez(f, **arrays)
    return p


def _load_encoder(p: Path) -> object:
    from archmotif.learn.encoder import Encoder

    return Encoder.load(p)


class _Bomb:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def _encoder_pickle_bomb(tmp: Path) -> Path:
    import torch

    p = tmp / "encoder.pt"
    torch.save({"format": "archmotif.encoder", "version": 1, "payload": _Bomb()}, p)
    return p


def _truncate(p: Path) -> Path:
    raw = p.read_bytes()
    p.write_bytes(raw[: len(raw) // 2])
    return p


def _foreign(tmp: Path) -> Path:
    p = tmp / "foreign.npz"
    np.savez(p, weights=np.ones(3))
    return p


def _text(tmp: Path) -> Path:
    p = tmp / "notes.npz"
    p.write_text("hello")
    return p


def _garbage_onnx(tmp: Path) -> Path:
    p = tmp / "model.onnx"
    p.write_bytes(bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)))
    return p


_hidden_branches = synthetic.hidden_symmetry


def _sigint_during_hash(tmp: Path) -> str:
    """Ctrl-C 20 ms into a canonical search that would run ~0.2 s to its budget."""
    g = _hidden_branches(1000)
    timer = threading.Timer(0.02, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        archmotif.canonical_hash(g)
    except KeyboardInterrupt:
        return "ok: KeyboardInterrupt raised inside the canonical search"
    finally:
        timer.join()
    raise RuntimeError("the canonical search was not interrupted")


def _summary(x: object) -> str:
    return str(np.asarray(x).tolist()) if isinstance(x, np.ndarray) else str(x)


CASES = _cases() + [Case(*entry) for entry in untrusted_cases.entries()]
_OUTCOMES: dict[str, str] = {}


def _outcome(case: Case, tmp: Path) -> str:
    if case.id not in _OUTCOMES:
        try:
            result = case.run(tmp)
            text = f"ok: {_summary(result)}" if not str(result).startswith("ok") else str(result)
        except BaseException as e:  # recorded, then asserted
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                raise
            msg = str(e).replace(str(tmp), "<tmp>")
            text = f"{type(e).__name__}: {msg}"
        _OUTCOMES[case.id] = re.sub(r"\s+", " ", text)[:200]
    return _OUTCOMES[case.id]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_catalogue_entry(case: Case, tmp_path: Path) -> None:
    os.chdir(tmp_path)  # a pickle that ran would leave "pwned" here
    out = _outcome(case, tmp_path)
    if case.expect is None:
        assert not re.match(r"\w+(Error|Exception):", out), out
    else:
        assert out.startswith(f"{case.expect.__name__}:"), out
        assert issubclass(
            case.expect, (archmotif.ArchmotifError, TypeError, ValueError, IndexError, OSError)
        )
    assert re.search(case.match, out), out
    assert not (tmp_path / "pwned").exists()


def _render() -> str:
    lines = [
        "# Hardening catalogue",
        "",
        "Generated by `tests/hardening/test_catalogue.py` from the outcomes the test suite",
        "observes; every entry runs in the default test run. Regenerate with",
        "`ARCHMOTIF_UPDATE_CATALOGUE=1 .venv/bin/python -m pytest tests/hardening`.",
        "",
        "| layer | entry | input or fault | outcome |",
        "|---|---|---|---|",
    ]
    for c in CASES:
        out = _OUTCOMES.get(c.id, "(not run)").replace("|", "\\|")
        lines.append(f"| {c.layer} | `{c.id}` | {c.what} | {out} |")
    lines += [
        "",
        "## Fuzzing",
        "",
        "Beyond these fixed entries, `tests/hardening/test_fuzz_readers.py` fuzzes the file",
        "readers and the public API with hypothesis (mutated corpus files and OpGraph JSON,",
        "random bytes, random arrays into `OpGraph`, random partitions into `contract`): every",
        "outcome must be a valid result or a typed error. It is seeded and small in the default",
        "run; `ARCHMOTIF_FUZZ_EXAMPLES=N` runs N random examples per test. The entries marked",
        "*found by fuzzing* above were its findings, fixed. `fuzz/` holds cargo-fuzz targets",
        "for the Rust core (validation, canonical hashing, mining, contraction);",
        "`fuzz/README.md` records how long they ran and what they found.",
    ]
    return "\n".join(lines) + "\n"


def test_catalogue_document_is_current(tmp_path: Path) -> None:
    for c in CASES:
        sub = tmp_path / c.id
        sub.mkdir()
        _outcome(c, sub)
    text = _render()
    if os.environ.get("ARCHMOTIF_UPDATE_CATALOGUE"):
        DOC.parent.mkdir(exist_ok=True)
        DOC.write_text(text)
    assert DOC.exists(), "run with ARCHMOTIF_UPDATE_CATALOGUE=1 to write docs/hardening.md"
    assert DOC.read_text() == text, "docs/hardening.md is stale: regenerate it (see above)"
