"""A critic-free learned dispatcher: OSPO and GRPO (Zhao & Li 2025), side by side with V1D3.

A small MLP scores each candidate (driver, order) pair (:mod:`v1d3.ospo.net`, features in
:mod:`v1d3.ospo.features`); a driver's probabilities over its orders are the softmax of the
scores and the round's matching maximises their sum (:mod:`v1d3.ospo.policy`). It is learned on
simulated days without a value function: each round's assigned drivers form a group whose
rewards — one-step (OSPO) or a bounded reward-to-go (GRPO) — are normalised across it
(:mod:`v1d3.ospo.loss`), with PPO-clip, a KL term and an entropy bonus (:mod:`v1d3.ospo.train`,
rollouts in :mod:`v1d3.ospo.rollout`). docs/method.md §13 says what carries over from the
authors' ride-pooling setting and what does not.
"""
