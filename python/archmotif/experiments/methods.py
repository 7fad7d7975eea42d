"""The retrieval methods by name: what ``archmotif eval --methods`` and ``archmotif index
build --method`` accept, each a (module, class, constructor arguments) triple that
:func:`~archmotif.experiments.retrieval_report.make_method` imports only when asked. Data
only, so the CLI's parser reads the names without importing a learner.
"""

from __future__ import annotations

from typing import Any

__all__ = ["METHODS"]

# name -> (module, class, constructor arguments)
METHODS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "ours": ("archmotif.learn.encoder", "Encoder", {}),
    "ours-unsup": ("archmotif.learn.encoder", "Encoder", {"use_labels": False}),
    "ours-dense": ("archmotif.learn.encoder", "Encoder", {"bag_weight": 0.0}),
    # the opt-in rewrite views and hard negatives (issue 16), at the values fixed before
    # any figure was measured (README, "Rewrite views and hard negatives")
    "ours-rewrites": (
        "archmotif.learn.encoder",
        "Encoder",
        {"rewrite_depth": 0.3, "rewrite_swap": 0.1, "hard_negatives": True},
    ),
    # the learnt half distilled from the motif bag's neighbourhoods (issue 16), at the
    # weight fixed before any figure was measured (README, "Distilling the bag")
    "ours-distill": ("archmotif.learn.encoder", "Encoder", {"distill": 1.0}),
    # both at once (views and distillation, without the hard negatives, whose batches of
    # other-class neighbours would replace the bag neighbours distilling needs), each at
    # its value fixed before: the one combination tried (README, "Distilling the bag")
    "ours-rewrites-distill": (
        "archmotif.learn.encoder",
        "Encoder",
        {"rewrite_depth": 0.3, "rewrite_swap": 0.1, "distill": 1.0},
    ),
    # the learnt half told what each motif instance does to tensor sizes (issue 16), the
    # one thing it can see and exact motif ids cannot (README, "Shapes for the learnt half")
    "ours-shapes": ("archmotif.learn.encoder", "Encoder", {"shape_features": True}),
    # with the rewrite views and hard negatives of ours-rewrites: depth and width both
    "ours-rewrites-shapes": (
        "archmotif.learn.encoder",
        "Encoder",
        {"rewrite_depth": 0.3, "rewrite_swap": 0.1, "hard_negatives": True, "shape_features": True},
    ),
    "ours-distill-dense": (
        "archmotif.learn.encoder",
        "Encoder",
        {"distill": 1.0, "bag_weight": 0.0},
    ),
    # the encoder without them, named whatever the default: a study of the two keeps its
    # names when the default changes
    "ours-plain": (
        "archmotif.learn.encoder",
        "Encoder",
        {"rewrite_depth": 0.0, "rewrite_swap": 0.0, "hard_negatives": False, "distill": 0.0},
    ),
    "nar": ("archmotif.learn.baselines", "NARBaseline", {}),
    "gcn": ("archmotif.learn.baselines", "GNNBaseline", {"conv": "gcn"}),
    "gat": ("archmotif.learn.baselines", "GNNBaseline", {"conv": "gat"}),
    "wl": ("archmotif.learn.wl", "WLBaseline", {}),
    "motif-bag": ("archmotif.learn.motif_bag", "MotifBag", {}),
}
