"""KDD Cup 2020 compatibility: its cities, its orders and its agents (docs/method.md §12).

Reading and writing the competition's hexagon grid tables; the ``kdd`` scenario (a city on such
a grid with KDD-format orders or synthetic demand, China Standard Time days); the agent API's
observations and answers, both ways; running any submission folder (``agent.py`` with
``Agent().dispatch`` / ``.reposition``) unmodified as a pair of policies, with its faults
contained and counted; and exporting V1D3's own policies as such a folder.
"""
