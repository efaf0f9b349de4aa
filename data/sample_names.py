"""The built-in sample's name, point and population, without the data stack behind it.

:mod:`livingcircle.data.sample` makes the sample's files (and re-exports these); the CLI's
defaults read them here, so ``livingcircle --help`` loads no GeoPandas.
"""

from __future__ import annotations

#: The region the sample is loaded as.
SAMPLE_REGION = "helsinki"
#: A point in front of Helsinki central railway station.
SAMPLE_POINT = (60.1710, 24.9414)
#: Residents of the sample district: about central Helsinki's (Kluuvi, Kamppi, Kruununhaka...).
SAMPLE_POPULATION = 20_000.0
