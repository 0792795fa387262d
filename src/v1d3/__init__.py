"""V1D3: ride-hailing dispatching and repositioning driven by one learned value function.

Importing the package registers the Gymnasium environment ``v1d3/Dispatch-v0`` (see
:mod:`v1d3.gym`) without importing Gymnasium, numpy or the simulator (:mod:`v1d3.gym_registry`).
"""

from v1d3.gym_registry import register_on_import

__version__ = "0.1.0"

__all__ = ["__version__"]

register_on_import()
