"""The accuracy-prediction harness: the NAS-Bench-201 few-label benchmark
(:mod:`~archmotif.prediction.benchmark`, its rows in :mod:`~archmotif.prediction.methods`,
its report in :mod:`~archmotif.prediction.report_markdown`) and the ``archmotif predict``
command. It sits above the library layers: it imports :mod:`archmotif.learn`, never the
reverse."""
