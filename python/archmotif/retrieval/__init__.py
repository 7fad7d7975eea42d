"""Retrieval: the :class:`~archmotif.retrieval.index.Index` of architecture embeddings,
:func:`~archmotif.retrieval.index.search` from a model to its nearest architectures,
and :func:`~archmotif.retrieval.evaluate.evaluate` (MRR, MAP, NDCG at k under the
transductive and inductive protocols). The report that compares methods is harness:
:mod:`archmotif.experiments.retrieval_report`.
"""
