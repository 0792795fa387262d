"""V1D3: ride-hailing dispatching and repositioning driven by one learned value function."""

__version__ = "0.1.0"

__all__ = ["__version__"]
