"""Learning value functions: what updates the functions of :mod:`v1d3.value`, offline and online.

- :mod:`~v1d3.learn.config`: the sibling settings, :class:`~v1d3.learn.config.OfflineTrainConfig`
  and :class:`~v1d3.learn.config.OnlineTrainConfig`;
- :mod:`~v1d3.learn.transitions`: driver trajectories (the event log) → ``(s, R, s')`` transitions;
- :mod:`~v1d3.learn.td`: TD targets, the offline tabular fit, the online table learners and the
  ensemble step;
- :mod:`~v1d3.learn.online_neural`: V1D3's online learners over an offline CVNet;
- :mod:`~v1d3.learn.train`, :mod:`~v1d3.learn.train_neural`: the training pipelines of
  ``v1d3 train`` (history → transitions → values → checkpoint).

Acting stays apart: dispatch and repositioning policies only read a value function; the round
types they and the online learners share live in :mod:`v1d3.rounds`.
"""
