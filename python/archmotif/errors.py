"""archmotif's exception hierarchy.

Every error archmotif raises on purpose is an :class:`ArchmotifError`. Each
subclass also derives from the builtin a caller would catch without knowing
archmotif (``GraphError`` is a ``ValueError``, ``FormatError`` a ``ValueError``,
``TraceError`` a ``RuntimeError``), so ``except ValueError`` keeps working.

The Rust core raises these classes too: the glue imports this module and maps
each core error kind to one class here.
"""

from __future__ import annotations

__all__ = [
    "ArchmotifError",
    "FormatError",
    "GraphError",
    "InternalError",
    "InvalidArgument",
    "LearnError",
    "LimitError",
    "RetrievalError",
    "SpecError",
    "TraceError",
    "VizError",
    "check_format",
]


class ArchmotifError(Exception):
    """Base class of every error archmotif raises on purpose."""


class GraphError(ArchmotifError, ValueError):
    """Malformed graph data: a cycle, an edge to a missing node, a bad op id,
    arrays of the wrong dtype or shape. The message names the offending node,
    edge or array."""


class InvalidArgument(ArchmotifError, ValueError):
    """An argument no call accepts: a count below its minimum or past its documented
    maximum (``threads`` beyond :data:`archmotif.mining.MAX_THREADS`, an integer wider
    than 64 bits), a strategy that does not exist. The message names the argument,
    what it got and what is allowed."""


class FormatError(ArchmotifError, ValueError):
    """A file that is not what it claims: corrupt, truncated, of a foreign
    format or of a newer format version. The message names the file."""


class TraceError(ArchmotifError, RuntimeError):
    """A model could not be turned into an operator graph. The message names
    the model and the underlying reason; ``__cause__`` holds the original error."""


class LimitError(ArchmotifError, MemoryError):
    """A documented size limit would be exceeded (e.g. more than 2**32 - 2 nodes)."""


class RetrievalError(ArchmotifError, ValueError):
    """Bad input to retrieval or evaluation: a relevance list that is not 0/1, a
    ``k`` below 1, embeddings of the wrong shape, an index queried with vectors of
    another dimension. The message names the argument and what was wrong."""


class LearnError(ArchmotifError, ValueError):
    """Bad input to learning: embedding with an encoder that was never fitted, fitting
    on no graphs, a ``Mined`` or checkpoint that does not match the encoder's settings.
    The message names what was wrong."""


class SpecError(ArchmotifError, ValueError):
    """An architecture specification that does not describe a network of its space:
    a DARTS genotype with an unknown op or an input index out of range, a malformed
    NAS-Bench-201 arch string, an architecture index out of range. The message names
    the specification and what was wrong."""


class VizError(ArchmotifError, ValueError):
    """Bad input to the viewer or a plot: an object that cannot be drawn, a graph
    index out of range, embeddings that are not an [n, d] array or labels of another
    length. The message names the argument and what was wrong."""


class InternalError(ArchmotifError, RuntimeError):
    """A bug in archmotif itself: the Rust core panicked. The panic is caught where the
    core is called, so it never crosses into Python as anything but this error; the
    message carries the panic's text. Please report it."""


def check_format(
    source: str, d: object, *, fmt: str, newest: int, kind: str, versioned: str | None = None
) -> int:
    """The version of a file's (or JSON document's) header ``d``: raises
    :class:`FormatError` naming ``source`` unless ``d`` says it is ``fmt`` at an integer
    version this archmotif reads (at most ``newest``). ``kind`` names the thing in the
    foreign-file message, ``versioned`` (default ``kind``) in the too-new one."""
    from collections.abc import Mapping

    if not isinstance(d, Mapping) or d.get("format") != fmt:
        raise FormatError(f"{source}: not an archmotif {kind} (format != {fmt!r})")
    v = d.get("version")
    if not isinstance(v, int) or isinstance(v, bool) or v < 1:
        shown = repr(v) if len(repr(v)) <= 40 else repr(v)[:40] + "..."
        raise FormatError(
            f"{source}: {versioned or kind} version {shown} is not a version (a positive integer)"
        )
    if v > newest:
        shown = str(v) if v < 10**12 else f"of {len(str(v))} digits"
        raise FormatError(
            f"{source}: {versioned or kind} version {shown} is newer than this archmotif "
            f"reads ({newest}); upgrade archmotif"
        )
    return v
