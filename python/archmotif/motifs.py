"""``archmotif.motifs`` is :mod:`archmotif.mining.motifs` (the module moved into the
mining package); this name stays so that code importing it keeps working."""

import sys

from archmotif.mining import motifs as _motifs

sys.modules[__name__] = _motifs
