"""KDD Cup 2020 (DiDi's dispatching and repositioning track), in both directions
(docs/method.md §12).

Their data in V1D3: ``grid`` reads and writes the hexagon grid tables, ``kdd_source`` builds
the ``kdd`` scenario's city and day from them. Their agents in V1D3: ``submission`` loads a
submission folder (and checks an exported one's record), ``adapter`` makes its agent a pair of
V1D3 policies with faults contained, ``runner`` runs it for a day (``--agent``), with
``observation`` translating rounds to and from the official observation and answer formats.
V1D3 in their format: ``export`` writes a submission folder that runs V1D3 policies.
"""
