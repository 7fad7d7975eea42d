"""The mining stage, one package: :func:`mine` (:mod:`.api`), its result
:class:`Mined` and that result's file (:mod:`.mined`), the parameters
(:class:`MiningParams`, :mod:`.params`), the vocabulary and macro graphs
(:mod:`.motifs`), the one round coordinator of sharded mining and its shard
interface (:mod:`.rounds`), whose shards are Dask actors (:mod:`.distributed`),
chunks of a file kept on disk between rounds (:mod:`.streaming`) or shards in this
process, what every call does to its input (:mod:`.inputs`), and the ``archmotif mine``
command (:mod:`.cli`).

The package is named ``mining``, not ``mine``: ``archmotif.mine`` is the function, and
a subpackage of the same name would replace it on the ``archmotif`` module the first
time it is imported. Everything public is re-exported here, so ``from archmotif.mining
import mine, Mined`` works as before the package existed.
"""

from __future__ import annotations

from archmotif.mining.api import STRATEGIES, canonical_hash, contract, mine
from archmotif.mining.inputs import global_ops as _global_ops
from archmotif.mining.mined import Mined, load_mined
from archmotif.mining.motifs import MacroGraph, Motif, MotifVocabulary
from archmotif.mining.params import MAX_THREADS, MINING_PARAMS, MiningParams, check_mining_params

__all__ = [
    "MAX_THREADS",
    "MINING_PARAMS",
    "STRATEGIES",
    "MacroGraph",
    "Mined",
    "MiningParams",
    "Motif",
    "MotifVocabulary",
    "_global_ops",
    "canonical_hash",
    "check_mining_params",
    "contract",
    "load_mined",
    "mine",
]
