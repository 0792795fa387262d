"""Value functions ``V(location, time of day)``: what dispatching and repositioning read.

The interface and the discount (:mod:`~v1d3.value.base`), tables (:mod:`~v1d3.value.tabular`),
tile coding (:mod:`~v1d3.value.tile`), the CVNet (:mod:`~v1d3.value.cvnet`), the values that
change during a day from an offline start (:mod:`~v1d3.value.online`) and model checkpoints
(:mod:`~v1d3.value.checkpoint`). What updates them lives in :mod:`v1d3.learn`.
"""
