"""The experiment harness above the library layers: what runs the library on named
datasets and writes up the results.

- :mod:`~archmotif.experiments.retrieval_report`: the retrieval report (``archmotif
  eval``): every method (:data:`~archmotif.experiments.retrieval_report.METHODS`, by
  name) on every dataset under both protocols, written by
  :mod:`~archmotif.experiments.retrieval_markdown`;
- :mod:`~archmotif.experiments.pretrain`: the ``torchrun`` entry point of data-parallel
  pretraining, which loads a dataset by name and fits the encoder
  (:mod:`archmotif.learn.ddp` is the data-parallel machinery it runs).

It imports :mod:`archmotif.datasets` and the library layers (graph, mining, learn,
retrieval); they never import it (``tests/test_layers.py``). The accuracy-prediction
benchmark, :mod:`archmotif.prediction`, is harness of the same kind.
"""
