"""Value functions ``V(location, time of day)``: what dispatching and repositioning read.

The interface and the discounted reward (:mod:`~v1d3.value.base`, docs/method.md §2), tables per
cell and time bucket or per cell and the KDD Cup 2020 champion's tile coding
(:mod:`~v1d3.value.tabular`, :mod:`~v1d3.value.tile`, §6–7), the CVNet (:mod:`~v1d3.value.cvnet`,
a coarse-coded neural value, §8), the values that change during a day from an offline start
(:mod:`~v1d3.value.online`, V1D3's residual, §9) and model checkpoints
(:mod:`~v1d3.value.checkpoint`). What updates them (offline and online learners, training
pipelines) lives in :mod:`v1d3.learn`.
"""
