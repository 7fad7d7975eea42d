"""Catalogue entries for files made by an attacker and for arguments past every bound
(the security probe): each builds the bad input in a temporary folder and tries it the
way a user would. :mod:`test_catalogue` runs them with the other entries and writes them
to docs/hardening.md.

Each entry is ``(id, layer, what, run, expect, match)`` as in ``test_catalogue.Case``.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import archmotif
from archmotif import FormatError, GraphError, InvalidArgument, OpGraph

Entry = tuple[str, str, str, Callable[[Path], object], Any, str]


def toy() -> OpGraph:
    """A 5-node chain, the catalogue's good graph."""
    return OpGraph(["input", "conv", "relu", "conv", "relu"], [[0, 1, 2, 3], [1, 2, 3, 4]])


def good_corpus(tmp: Path) -> Path:
    """A valid 2-graph corpus file in ``tmp``."""
    p = tmp / "good.npz"
    archmotif.save_corpus([toy(), toy()], p)
    return p


def _members(src: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(src) as z:
        return {i.filename: z.read(i.filename) for i in z.infolist()}


def _zip(dst: Path, members: list[tuple[str, bytes, int]]) -> Path:
    """A zip of ``(name, data, compression)`` members, duplicates allowed."""
    with warnings.catch_warnings():  # zipfile warns about a duplicate name; we want one
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(dst, "w") as z:
            for name, data, method in members:
                z.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return dst


def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def _npy_claiming(shape: tuple[int, ...], payload: bytes) -> bytes:
    """A .npy member whose header claims ``shape`` (int64) but holds ``payload``."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_2_0(
        buf, {"descr": "<i8", "fortran_order": False, "shape": shape}
    )
    return buf.getvalue() + payload


def _corpus_with(tmp: Path, name: str, data: bytes, method: int = zipfile.ZIP_STORED) -> Path:
    members = _members(good_corpus(tmp))
    members[name] = data
    return _zip(
        tmp / "edited.npz", [(n, d, method if n == name else 0) for n, d in members.items()]
    )


def _header(tmp: Path, raw: bytes) -> Path:
    return _corpus_with(tmp, "header.npy", _npy(np.frombuffer(raw, dtype=np.uint8)))


def _header_json(tmp: Path, **changes: object) -> Path:
    with np.load(good_corpus(tmp)) as z:
        h = json.loads(z["header"].tobytes())
    h.update(changes)
    return _header(tmp, json.dumps(h).encode())


def _record_raw(tmp: Path, raw: bytes) -> Path:
    """A one-graph corpus whose only record is ``raw``."""
    p = tmp / "one.npz"
    archmotif.save_corpus([toy()], p)
    members = _members(p)
    members["records.npy"] = _npy(np.frombuffer(raw, dtype=np.uint8))
    members["record_offsets.npy"] = _npy(np.array([0, len(raw)], dtype=np.int64))
    return _zip(tmp / "edited.npz", [(n, d, 0) for n, d in members.items()])


def _duplicate_member(tmp: Path) -> Path:
    members = list(_members(good_corpus(tmp)).items())
    evil = _npy(np.zeros(5, dtype=np.int32))
    return _zip(tmp / "dup.npz", [(n, d, 0) for n, d in members] + [("ops.npy", evil, 0)])


def _central_directory_moved(tmp: Path) -> Path:
    """A corpus whose end record places the central directory 4 KiB further on than it
    is: zipfile then computes members that start before the file does."""
    raw = bytearray(good_corpus(tmp).read_bytes())
    end = raw.rindex(b"PK\x05\x06")
    offset = int.from_bytes(raw[end + 16 : end + 20], "little")
    raw[end + 16 : end + 20] = (offset + 4096).to_bytes(4, "little")
    return _write(tmp, "moved.npz", bytes(raw))


def _fifo(tmp: Path, name: str) -> Path:
    p = tmp / name
    os.mkfifo(p)
    return p


def _symlink_loop(tmp: Path) -> Path:
    (tmp / "a.npz").symlink_to(tmp / "b.npz")
    (tmp / "b.npz").symlink_to(tmp / "a.npz")
    return tmp / "a.npz"


def _write(tmp: Path, name: str, data: bytes) -> Path:
    p = tmp / name
    p.write_bytes(data)
    return p


def _deep(n: int = 10**5) -> str:
    return "[" * n + "]" * n


# -- index files ----------------------------------------------------------------------


def _index_naming(tmp: Path, encoder: dict[str, str], version: int = 1) -> Path:
    """An index file whose header names ``encoder`` as its encoder (version 1 named a
    class by import path, which is what an attacker writes)."""
    from archmotif.learn.wl import WLBaseline
    from archmotif.retrieval.index import Index

    gs = archmotif.datasets.load("builtin")[:4]
    p = tmp / "index.npz"
    Index.build(gs, WLBaseline(dim=4), fit=True).save(p)
    members = _members(p)
    h = json.loads(np.load(io.BytesIO(members["header.npy"])).tobytes())
    h.update(version=version, encoder=encoder)
    members["header.npy"] = _npy(np.frombuffer(json.dumps(h).encode(), dtype=np.uint8))
    return _zip(tmp / "evil.npz", [(n, d, 0) for n, d in members.items()])


def _index_header(tmp: Path, raw: bytes) -> Path:
    """A valid index file whose header bytes are replaced by ``raw``."""
    members = _members(_index_naming(tmp, {"kind": "wl", "name": "wl"}, version=2))
    members["header.npy"] = _npy(np.frombuffer(raw, dtype=np.uint8))
    return _zip(tmp / "edited.npz", [(n, d, 0) for n, d in members.items()])


def _load_index(p: Path) -> object:
    from archmotif.retrieval.index import Index

    return Index.load(p)


def _search(p: Path) -> object:
    return archmotif.search(toy(), p)


def _cli_search(tmp: Path) -> str:
    """``archmotif search q.json --index evil.npz`` as a user types it."""
    evil = _index_naming(tmp, {"class": "archmotif.learn.encoder_file:torch.export"})
    toy().save(tmp / "q.json")
    exe = Path(sys.executable).with_name("archmotif")
    r = subprocess.run(
        [str(exe), "search", "q.json", "--index", str(evil)],
        cwd=tmp, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    lines = r.stderr.strip().splitlines()
    last = lines[-1].replace(str(tmp), "<tmp>") if lines else ""
    return f"ok: exit {r.returncode}, {len(lines)} line: {last}"


# -- encoder files --------------------------------------------------------------------

_FITTED: dict[str, bytes] = {}


def _fitted_encoder(tmp: Path) -> Path:
    """A real encoder file (tiny, fitted once per session)."""
    if "bytes" not in _FITTED:
        from archmotif.learn.encoder import Encoder

        gs = archmotif.datasets.load("builtin")[:6]
        enc = Encoder(hidden=8, out=8, stage1_epochs=1, stage2_epochs=1, progress=False)
        enc.fit(gs).save(tmp / "fitted.pt")
        _FITTED["bytes"] = (tmp / "fitted.pt").read_bytes()
    p = tmp / "encoder.pt"
    p.write_bytes(_FITTED["bytes"])
    return p


def _encoder_with(tmp: Path, **config: object) -> Path:
    """The fitted encoder file with its settings changed (rewritten with our writer)."""
    from archmotif.learn import encoder_file

    p = _fitted_encoder(tmp)
    d = encoder_file.read(p, encoder_file.ENCODER_FORMAT)
    d["config"] = json.dumps({**json.loads(d["config"]), **config})
    encoder_file.write(p, encoder_file.ENCODER_FORMAT, d)
    return p


def _encoder_op_names_bomb(tmp: Path) -> Path:
    """Settings inside the schema (hidden=4096) with a million op names: built for real,
    the first layer alone would be 16 GB."""
    from archmotif.learn import encoder_file

    p = _encoder_with(tmp, hidden=4096)
    d = encoder_file.read(p, encoder_file.ENCODER_FORMAT)
    d["op_names"] = json.dumps([f"op{i}" for i in range(10**6)])
    encoder_file.write(p, encoder_file.ENCODER_FORMAT, d)
    return p


def _encoder_header(tmp: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    """The fitted encoder file with its JSON header edited by ``edit``."""
    p = _fitted_encoder(tmp)
    members = _members(p)
    h = json.loads(np.load(io.BytesIO(members["header.npy"])).tobytes())
    edit(h)
    members["header.npy"] = _npy(np.frombuffer(json.dumps(h).encode(), dtype=np.uint8))
    return _zip(tmp / "edited.pt", [(n, d, 0) for n, d in members.items()])


def _tag(h: dict[str, Any]) -> None:
    h["tree"] = {"$eval": "__import__('os').system('touch pwned')"}


def _huge_tensor(h: dict[str, Any]) -> None:
    h["tensors"][0]["shape"] = [10**12]


def _load_encoder(p: Path) -> object:
    from archmotif.learn.encoder import Encoder

    e = Encoder.load(p)
    return e.embed([toy()])  # the first embed is where mine_kwargs used to reach mine()


# -- NAR baseline files ----------------------------------------------------------------


def _nar_file(tmp: Path, settings: dict[str, Any] | None = None, **payload: object) -> Path:
    """A real NAR baseline file (tiny, fitted once per session), its settings and
    payload members changed (rewritten with our writer)."""
    from archmotif.learn import encoder_file
    from archmotif.learn.nar import NAR_FORMAT, NARBaseline

    p = tmp / "nar.npz"
    if "nar" not in _FITTED:
        gs = archmotif.datasets.load("builtin")[:6]
        model = NARBaseline(hidden=8, out=8, stage1_epochs=1, stage2_epochs=1, progress=False)
        model.fit(gs).save(p)
        _FITTED["nar"] = p.read_bytes()
    p.write_bytes(_FITTED["nar"])
    d = encoder_file.read(p, NAR_FORMAT)
    d["settings"] = json.dumps({**json.loads(d["settings"]), **(settings or {})})
    encoder_file.write(p, NAR_FORMAT, {**d, **payload})
    return p


def _load_nar(p: Path) -> object:
    from archmotif.learn.nar import NARBaseline

    return NARBaseline.load(p).embed([toy()])


def _nar_op_names_bomb(tmp: Path) -> Path:
    """Settings inside the schema (hidden=4096, a motif table to match) with a million
    op names: built for real, the motif encoder's first layer alone would be 16 GB."""
    import torch

    from archmotif.learn import encoder_file
    from archmotif.learn.nar import NAR_FORMAT

    rows = encoder_file.read(_nar_file(tmp), NAR_FORMAT)["table"].shape[0]
    names = json.dumps([f"op{i}" for i in range(10**6)])
    return _nar_file(tmp, {"hidden": 4096}, op_names=names, table=torch.zeros(rows, 4096))


def _nar_flipped_mined(tmp: Path) -> Path:
    import torch

    from archmotif.learn import encoder_file
    from archmotif.learn.nar import NAR_FORMAT

    d = encoder_file.read(_nar_file(tmp), NAR_FORMAT)
    raw = bytearray(d["mined"].numpy().tobytes())
    raw[len(raw) // 2] ^= 0x40
    return _nar_file(tmp, mined=torch.frombuffer(raw, dtype=torch.uint8))


# -- predictor files --------------------------------------------------------------------


def _fitted_predictor(tmp: Path, head: str = "mlp") -> Path:
    """A real predictor file (tiny, fitted once per session and head) over the fitted
    encoder."""
    key = f"predictor-{head}"
    if key not in _FITTED:
        from archmotif.learn.encoder import Encoder
        from archmotif.learn.predictor import Predictor

        gs = archmotif.datasets.load("builtin")[:6]
        enc = Encoder.load(_fitted_encoder(tmp), progress=False)
        pred = Predictor(enc, head=head, steps=2, members=1)
        pred.fit(gs, [float(g.num_nodes) for g in gs]).save(tmp / "fitted-predictor.npz")
        _FITTED[key] = (tmp / "fitted-predictor.npz").read_bytes()
    p = tmp / "predictor.npz"
    p.write_bytes(_FITTED[key])
    return p


def _predictor_with(tmp: Path, head: str = "mlp", **changes: object) -> Path:
    """The fitted predictor file with settings (``config``), members or a tree array
    (``trees={name: (index, value)}``) changed."""
    from archmotif.learn import encoder_file
    from archmotif.learn.predictor import PREDICTOR_FORMAT

    p = _fitted_predictor(tmp, head)
    d = encoder_file.read(p, PREDICTOR_FORMAT)
    for name, (at, value) in dict(changes.pop("trees", {})).items():  # type: ignore[call-overload]
        arr = d["trees"][name].clone()  # type: ignore[index]
        arr[at] = value
        d["trees"][name] = arr  # type: ignore[index]
    config = changes.pop("config", None)
    if config is not None:
        d["config"] = json.dumps({**json.loads(d["config"]), **config})  # type: ignore[dict-item]
    d.update(changes)
    encoder_file.write(p, PREDICTOR_FORMAT, d)
    return p


def _load_predictor(p: Path) -> object:
    from archmotif.learn.predictor import Predictor

    return Predictor.load(p).predict([toy()])


# -- writes interrupted by kill -9 ------------------------------------------------------

_KILLED = """
import os, signal, sys
import archmotif
from archmotif.atomic import write_atomic
target = sys.argv[1]
if sys.argv[2] == "writer":
    w = archmotif.CorpusWriter(target)
    w.extend([archmotif.OpGraph(["a", "b"], [[0], [1]])])
else:
    def write(f):
        f.write(b"half")
        os.kill(os.getpid(), signal.SIGKILL)
    write_atomic(target, write)
os.kill(os.getpid(), signal.SIGKILL)
"""


def _killed_saves(tmp: Path) -> str:
    """kill -9 inside CorpusWriter leaves its folder; kill -9 inside the next write (which
    removes that folder first) leaves its file; the save after that leaves nothing."""
    target, left = tmp / "zoo.npz", []
    for mode in ("writer", "atomic"):
        r = subprocess.run([sys.executable, "-c", textwrap.dedent(_KILLED), str(target), mode])
        assert r.returncode == -signal.SIGKILL, r.returncode
        left.append(sorted(n for n in os.listdir(tmp) if n.startswith(".tmp-")))
    assert len(left[0]) == 1 and left[0][0].endswith("zoo.npz.d"), left
    assert len(left[1]) == 1 and left[1][0].endswith("zoo.npz"), left
    archmotif.save_corpus([toy()], target)
    after = sorted(n for n in os.listdir(tmp) if n.startswith(".tmp-"))
    return f"ok: kill -9 left a folder, then a file; {len(after)} after the next save"


def _unwritable(tmp: Path) -> object:
    """A target whose folder cannot take files (missing here; read-only is the same call,
    but root, who runs CI, may write anywhere)."""
    archmotif.save_corpus([toy()], tmp / "no" / "such" / "zoo.npz")


# -- ONNX -----------------------------------------------------------------------------


def _onnx_two_producers(tmp: Path) -> Path:
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("t", TensorProto.FLOAT, [1])
    nodes = [helper.make_node("Relu", ["x"], ["t"], name="a"),
             helper.make_node("Sigmoid", ["x"], ["t"], name="b")]  # fmt: skip
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y]))
    p = tmp / "two.onnx"
    onnx.save(model, p)
    return p


def _shape(name: str) -> OpGraph:
    from archmotif.synthetic import interchangeable

    return interchangeable()[name]


def _mine_star(tmp: Path) -> str:
    star = OpGraph(["hub"] + ["op"] * 256, [[0] * 256, list(range(1, 257))])
    m = archmotif.mine([star, star], max_motif_nodes=4096, max_levels=10**4, progress=False)
    sizes = [mg.num_nodes for mg in m.macro_graphs]
    return f"ok: {len(m.vocabulary)} motifs, macro nodes {sizes}"


def _hash_ids(name: str) -> Callable[[Path], str]:
    def run(tmp: Path) -> str:
        g = _shape(name)
        rng = np.random.default_rng(0)
        perm = rng.permutation(g.num_nodes)
        inv = np.argsort(perm)
        shuffled = OpGraph(g.ops[inv], perm[g.edges], op_names=g.op_names)
        same = archmotif.canonical_hash(g) == archmotif.canonical_hash(shuffled)
        return f"ok: an id, {'the same' if same else 'ANOTHER'} after renumbering"

    return run


def _mine(**kw: object) -> Callable[[Path], object]:
    return lambda t: archmotif.mine([toy(), toy()], progress=False, **kw)


def _mined_file(tmp: Path, edit: Callable[[bytes], bytes]) -> Path:
    """A saved ``Mined`` of two toy graphs, its bytes passed through ``edit``."""
    good = tmp / "good.mined"
    archmotif.mine([toy(), toy()], progress=False).save(good)
    return _write(tmp, "edited.mined", edit(good.read_bytes()))


def _flip_middle(b: bytes) -> bytes:
    return b[: len(b) // 2] + bytes([b[len(b) // 2] ^ 0x40]) + b[len(b) // 2 + 1 :]


def entries() -> list[Entry]:
    L, F = _load_index, FormatError
    esc = {"class": "archmotif.learn.encoder_file:torch.export"}
    return [
        # -- code execution through a file's choice of class ------------------------------
        ("index-encoder-escape", "untrusted", "an index naming `archmotif.learn.encoder_file:torch.export` (reaches torch.export.load, which unpickles)", lambda t: L(_index_naming(t, esc)), F, "names encoder .* not one of archmotif's"),  # noqa: E501
        ("index-encoder-os-system", "untrusted", "an index naming `archmotif.atomic:os.system` as its encoder", lambda t: L(_index_naming(t, {"class": "archmotif.atomic:os.system"})), F, "not one of archmotif's"),  # noqa: E501
        ("index-encoder-opgraph", "untrusted", "an index naming `archmotif.graph:OpGraph` as its encoder", lambda t: L(_index_naming(t, {"class": "archmotif.graph:OpGraph"})), F, "not one of archmotif's"),  # noqa: E501
        ("index-encoder-kind", "untrusted", "a version-2 index naming an unregistered encoder kind", lambda t: L(_index_naming(t, {"kind": "../os"}, version=2)), F, "names encoder '../os'"),  # noqa: E501
        ("search-evil-index", "untrusted", "archmotif.search(model, evil index)", lambda t: _search(_index_naming(t, esc)), F, "not one of archmotif's"),  # noqa: E501
        ("cli-search-evil-index", "untrusted", "`archmotif search q.json --index evil.npz`", _cli_search, None, "exit 1, 1 line: .*not one of archmotif's"),  # noqa: E501
        ("encoder-mine-client", "untrusted", "an encoder file whose settings hand mine() a Dask scheduler address (network, then pickles)", lambda t: _load_encoder(_encoder_with(t, mine_kwargs={"client": "tcp://127.0.0.1:9"})), F, "unknown mining parameter.*client"),  # noqa: E501
        ("encoder-extra-setting", "untrusted", "an encoder file with a setting the schema lacks", lambda t: _load_encoder(_encoder_with(t, checkpoint="/etc/passwd")), F, "unknown \\['checkpoint'\\]"),  # noqa: E501
        ("encoder-hidden-8192", "limits", "an encoder file declaring hidden=8192 (was 4.1 GB before its error)", lambda t: _load_encoder(_encoder_with(t, hidden=8192)), F, r"hidden must be an integer in \[1, 4096\]"),  # noqa: E501
        ("encoder-op-names-bomb", "limits", "an encoder file with a million op names and hidden=4096 (16 GB if built before checking)", lambda t: _load_encoder(_encoder_op_names_bomb(t)), F, "motif encoder's weights do not match its settings"),  # noqa: E501
        ("encoder-unknown-tag", "untrusted", "an encoder file whose payload holds an object of an unknown kind", lambda t: _load_encoder(_encoder_header(t, _tag)), F, "unknown tag '\\$eval'"),  # noqa: E501
        ("predictor-extra-setting", "untrusted", "a predictor file with a setting the schema lacks", lambda t: _load_predictor(_predictor_with(t, config={"device": "cuda:7"})), F, "unknown \\['device'\\]"),  # noqa: E501
        ("predictor-members-1e6", "limits", "a predictor file declaring a million heads", lambda t: _load_predictor(_predictor_with(t, config={"members": 10**6})), F, r"members must be an integer in \[1, 64\]"),  # noqa: E501
        ("predictor-head-hidden", "limits", "a predictor file declaring hidden=4096 over small head weights", lambda t: _load_predictor(_predictor_with(t, config={"hidden": 4096})), F, "prediction head's weights do not match its settings"),  # noqa: E501
        ("predictor-bag-columns", "untrusted", "a predictor file selecting motif columns past its vocabulary", lambda t: _load_predictor(_predictor_with(t, columns="[1000000000]")), F, "bad bag columns"),  # noqa: E501
        ("predictor-tree-loop", "untrusted", "a predictor file whose tree sends a split back to itself", lambda t: _load_predictor(_predictor_with(t, "trees", trees={"left": (0, 0)})), F, "a child is not after its node"),  # noqa: E501
        ("predictor-tree-feature", "untrusted", "a predictor file whose tree splits on a feature it does not have", lambda t: _load_predictor(_predictor_with(t, "trees", trees={"feature": (0, 10**6)})), F, "a split reads a feature outside"),  # noqa: E501
        ("predictor-tree-share", "untrusted", "a predictor file of MLP heads claiming a tree share", lambda t: _load_predictor(_predictor_with(t, mix=0.5)), F, "tree share 0.5 with head='mlp'"),  # noqa: E501
        ("predictor-is-encoder", "files", "an encoder file passed to Predictor.load", lambda t: _load_predictor(_fitted_encoder(t)), F, "not an archmotif predictor"),  # noqa: E501
        ("encoder-tensor-size", "limits", "an encoder file declaring a 10^12-element tensor over 4 bytes", lambda t: _load_encoder(_encoder_header(t, _huge_tensor)), F, "is not its .* bytes"),  # noqa: E501
        ("nar-mine-client", "untrusted", "a NAR baseline file whose settings hand mine() a Dask scheduler address", lambda t: _load_nar(_nar_file(t, {"mine_kwargs": {"client": "tcp://127.0.0.1:9"}})), F, "malformed NAR baseline file .*outside the schema"),  # noqa: E501
        ("nar-op-names-bomb", "limits", "a NAR baseline file with a million op names and hidden=4096 (16 GB if built before checking)", lambda t: _load_nar(_nar_op_names_bomb(t)), F, "motif encoder's weights do not match its settings"),  # noqa: E501
        ("nar-mined-flipped", "files", "a NAR baseline file whose stored Mined has one byte flipped", lambda t: _load_nar(_nar_flipped_mined(t)), F, "checksum mismatch"),  # noqa: E501
        ("nar-foreign", "files", "an encoder file given to NARBaseline.load", lambda t: _load_nar(_fitted_encoder(t)), F, "not an archmotif nar baseline file"),  # noqa: E501
        # -- saved Mined (the core's checksummed encoding) ----------------------------------
        ("mined-flipped-byte", "files", "a saved Mined with one byte flipped mid-file", lambda t: archmotif.load_mined(_mined_file(t, _flip_middle)), F, "checksum mismatch"),  # noqa: E501
        ("mined-truncated", "files", "a saved Mined cut in half", lambda t: archmotif.load_mined(_mined_file(t, lambda b: b[: len(b) // 2])), F, "checksum mismatch"),  # noqa: E501
        ("mined-foreign", "files", "a corpus file given to load_mined", lambda t: archmotif.load_mined(good_corpus(t)), F, "missing magic bytes"),  # noqa: E501
        ("mined-newer", "files", "a saved Mined claiming format version 2", lambda t: archmotif.load_mined(_mined_file(t, lambda b: b[:8] + b"\x02\0\0\0" + b[12:])), F, "version 2 is newer than this archmotif reads"),  # noqa: E501
        ("mined-empty", "files", "a 0-byte file given to load_mined", lambda t: archmotif.load_mined(_write(t, "e.mined", b"")), F, "missing magic bytes"),  # noqa: E501
        # -- files that are not files -------------------------------------------------------
        ("fifo-corpus", "files", "a FIFO as a corpus (load_corpus hung)", lambda t: archmotif.load_corpus(_fifo(t, "c.npz")), F, "is a FIFO"),  # noqa: E501
        ("fifo-json", "files", "a FIFO as OpGraph JSON", lambda t: OpGraph.load(_fifo(t, "g.json")), F, "is a FIFO"),  # noqa: E501
        ("fifo-dataset", "files", "a FIFO given to datasets.load", lambda t: archmotif.datasets.load(_fifo(t, "d.npz")), F, "is a FIFO"),  # noqa: E501
        ("fifo-onnx", "files", "a FIFO as an ONNX model", lambda t: archmotif.from_onnx(_fifo(t, "m.onnx")), F, "is a FIFO"),  # noqa: E501
        ("fifo-index", "files", "a FIFO as an index", lambda t: L(_fifo(t, "i.npz")), F, "is a FIFO"),  # noqa: E501
        ("corpus-directory-direct", "files", "load_corpus(a directory) (was IsADirectoryError)", lambda t: archmotif.load_corpus(t), F, "is a directory"),  # noqa: E501
        ("corpus-symlink-loop", "files", "a symlink loop as a corpus (was a bare OSError)", lambda t: archmotif.load_corpus(_symlink_loop(t)), F, "symbolic links"),  # noqa: E501
        # -- JSON ---------------------------------------------------------------------------
        ("json-deep", "files", "OpGraph JSON nested 10^5 deep (was RecursionError)", lambda t: OpGraph.from_json(_deep()), F, "nested too deeply"),  # noqa: E501
        ("json-file-deep", "files", "an OpGraph JSON file nested 10^5 deep", lambda t: OpGraph.load(_write(t, "g.json", _deep().encode())), F, "nested too deeply"),  # noqa: E501
        ("corpus-header-deep", "files", "a corpus header nested 10^5 deep", lambda t: archmotif.load_corpus(_header(t, _deep().encode())), F, "corpus header is nested too deeply"),  # noqa: E501
        ("corpus-record-deep", "files", "a graph record nested 10^5 deep", lambda t: archmotif.load_corpus(_record_raw(t, _deep().encode())), F, "record of graph 0 is nested too deeply"),  # noqa: E501
        ("index-header-deep", "files", "an index header nested 10^5 deep", lambda t: L(_index_header(t, _deep().encode())), F, "index header is nested too deeply"),  # noqa: E501
        ("json-not-utf8", "files", "an OpGraph JSON file of non-UTF-8 bytes (was UnicodeDecodeError)", lambda t: OpGraph.load(_write(t, "g.json", b'{"name": "\xff"}')), F, "is not UTF-8"),  # noqa: E501
        ("corpus-header-not-utf8", "files", "a corpus header of non-UTF-8 bytes", lambda t: archmotif.load_corpus(_header(t, b"\xff\xfe")), F, "corpus header is not UTF-8"),  # noqa: E501
        ("json-version-digits", "files", "a 5,000-digit version (was ValueError)", lambda t: OpGraph.from_json('{"format": "archmotif.opgraph", "version": 1' + "0" * 5000 + "}"), F, "not valid JSON"),  # noqa: E501
        ("corpus-version-float", "files", '`"version": 1.0` (said "newer than")', lambda t: archmotif.load_corpus(_header_json(t, version=1.0)), F, "version 1.0 is not a version"),  # noqa: E501
        ("corpus-version-nan", "files", '`"version": NaN`', lambda t: archmotif.load_corpus(_header_json(t, version=float("nan"))), F, "version nan is not a version"),  # noqa: E501
        ("corpus-version-negative", "files", '`"version": -1` (was accepted)', lambda t: archmotif.load_corpus(_header_json(t, version=-1)), F, "version -1 is not a version"),  # noqa: E501
        ("name-lone-surrogate", "graph", "a graph named with a lone surrogate (save_corpus raised UnicodeEncodeError)", lambda t: OpGraph(["a"], None, name="\ud800"), GraphError, "name is not valid Unicode text"),  # noqa: E501
        ("record-lone-surrogate", "files", "a corpus record naming a graph `\\ud800`", lambda t: archmotif.load_corpus(_record_raw(t, b'{"name": "\\ud800", "labels": {}}')), F, "not valid Unicode text"),  # noqa: E501
        # -- archives -----------------------------------------------------------------------
        ("corpus-deflated", "limits", "a corpus with a deflated member (785 KB reached 846 MB)", lambda t: archmotif.load_corpus(_corpus_with(t, "ops.npy", _npy(np.zeros(10**6, np.int32)), zipfile.ZIP_DEFLATED)), F, "'ops.npy' is compressed"),  # noqa: E501
        ("corpus-deflated-claim", "limits", "a deflated member claiming shape (10^12,) (was MemoryError)", lambda t: archmotif.load_corpus(_corpus_with(t, "ops.npy", _npy_claiming((10**12,), b""), zipfile.ZIP_DEFLATED)), F, "is compressed"),  # noqa: E501
        ("corpus-shape-2**64", "limits", "a stored header of shape (2^64,) (was OverflowError)", lambda t: archmotif.load_corpus(_corpus_with(t, "ops.npy", _npy_claiming((2**64,), b"\0" * 8))), F, "'ops.npy' is truncated or mis-sized"),  # noqa: E501
        ("index-deflated", "limits", "an index with a deflated member (1 MB reached 1.09 GB)", lambda t: L(_zip(t / "i.npz", [("embeddings.npy", _npy(np.zeros((64, 64), np.float32)), zipfile.ZIP_DEFLATED)])), F, "'embeddings.npy' is compressed"),  # noqa: E501
        ("corpus-central-directory-moved", "files", "a corpus whose end record misplaces the central directory (was OSError: Invalid argument)", lambda t: archmotif.load_corpus(_central_directory_moved(t)), F, "bad local header offset for 'header.npy'"),  # noqa: E501
        ("corpus-duplicate-member", "untrusted", "a corpus with two `ops.npy` members (the last won silently)", lambda t: archmotif.load_corpus(_duplicate_member(t)), F, "'ops.npy' appears twice"),  # noqa: E501
        # -- ONNX ---------------------------------------------------------------------------
        ("onnx-empty", "files", "a 0-byte .onnx (gave an empty graph)", lambda t: archmotif.from_onnx(_write(t, "m.onnx", b"")), F, "the file is empty"),  # noqa: E501
        ("onnx-two-producers", "files", "two ONNX nodes producing one tensor (the last won silently)", lambda t: archmotif.from_onnx(_onnx_two_producers(t)), F, "tensor 't' is produced twice"),  # noqa: E501
        # -- arguments ----------------------------------------------------------------------
        ("mine-threads-1e4", "api", "mine(threads=10**4) (started 10^4 OS threads)", _mine(threads=10**4), InvalidArgument, "threads must be an integer >= 1 and <="),  # noqa: E501
        ("mine-threads-1e6", "api", "mine(threads=10**6) (was RuntimeError)", _mine(threads=10**6), InvalidArgument, "threads must be"),  # noqa: E501
        ("mine-min-count-2**64", "api", "mine(min_count=2**64) (was OverflowError)", _mine(min_count=2**64), InvalidArgument, "fits in 64 bits"),  # noqa: E501
        ("context-hops-2**64", "api", "context(hops=2**64) (was OverflowError)", lambda t: archmotif.mine([toy(), toy()], progress=False).context(0, 0, hops=2**64), InvalidArgument, "hops must be"),  # noqa: E501
        # -- canonical search on many interchangeable nodes (each was > 60 s, Ctrl-C ignored)
        ("hash-512-isolated", "shapes", "canonical_hash of 512 isolated same-op nodes (was 50 s)", _hash_ids("isolated 512"), None, "the same after renumbering"),  # noqa: E501
        ("hash-1024-diamonds", "shapes", "canonical_hash of 1,024 copies of a 4-node diamond", _hash_ids("diamonds x1024"), None, "the same after renumbering"),  # noqa: E501
        ("hash-64x64-layered", "shapes", "canonical_hash of a 64x64 layered graph, each layer feeding the next", _hash_ids("layered 64x64 dense"), None, "the same after renumbering"),  # noqa: E501
        ("hash-4095-star", "shapes", "canonical_hash of a star with 4,095 identical leaves", _hash_ids("star 4095"), None, "the same after renumbering"),  # noqa: E501
        ("contract-1024-diamonds", "shapes", "contract 1,024 diamonds, one group each", lambda t: archmotif.contract(_shape("diamonds x1024"), np.repeat(np.arange(1024), 4)).num_nodes, None, "ok: 1024"),  # noqa: E501
        ("mine-star-256", "shapes", "mine([star]*2, max_motif_nodes=4096, max_levels=10**4), 256 identical leaves (was > 120 s)", _mine_star, None, r"macro nodes \[1, 1\]"),  # noqa: E501
        # -- writes -------------------------------------------------------------------------
        ("write-unwritable", "files", "save_corpus into a folder that cannot take files (the error named our temporary)", _unwritable, FileNotFoundError, "cannot write .*zoo.npz"),  # noqa: E501
        ("write-killed", "faults", "kill -9 during CorpusWriter and during an atomic write, then a save to the same path", _killed_saves, None, "0 after the next save"),  # noqa: E501
    ]  # fmt: skip
