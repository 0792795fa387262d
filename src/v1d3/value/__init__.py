"""State-value functions ``V(location, time)`` and the learners that fit them.

The interface and the discounted reward (docs/method.md §2), table functions (per cell and time
bucket, per cell, the KDD Cup 2020 champion's tile coding), CVNet (a coarse-coded neural value,
docs/method.md §8) and V1D3's online residual over it (§9); offline learners (the tabular
backward sweep, §6; CVNet training by TD(0) with a target network, §8), online learners run
after every dispatch round (§7, §9) and the ensemble step; driver transitions extracted from
event logs; model checkpoints and the ``v1d3 train`` pipelines.
"""
