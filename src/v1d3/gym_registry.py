"""Registering ``v1d3/Dispatch-v0`` with Gymnasium the moment it can be, without importing it.

``import v1d3`` calls :func:`register_on_import`, so ``gymnasium.make("v1d3/Dispatch-v0")`` works
after ``import v1d3`` as it does after importing any environment package. The registry only
holds the entry point string (``v1d3.gym.env:DispatchEnv``); ``make()`` imports the simulator.

Gymnasium itself is not imported for this: it costs more than 100 ms (numpy mostly) against a
couple of ms for ``import v1d3``, and Gymnasium 1.x dropped the entry-point plugins that 0.29
loaded when it was imported. So when Gymnasium is already imported the environment is registered
at once, and otherwise a one-shot finder on :data:`sys.meta_path` registers it right after
Gymnasium's first import, whichever comes first. Where Gymnasium is not installed nothing
happens. This module imports only the standard library and nothing of V1D3.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # importlib.abc (20 ms) and typing (10 ms) would cost more than the rest
if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType
    from typing import Any

__all__ = ["ENV_ID", "ENTRY_POINT", "register_envs", "register_on_import"]

ENV_ID = "v1d3/Dispatch-v0"
ENTRY_POINT = "v1d3.gym.env:DispatchEnv"
_GYMNASIUM = "gymnasium"


def register_envs() -> None:
    """Register V1D3's environments with Gymnasium (idempotent, imports Gymnasium).

    Also the ``gymnasium.envs`` entry point Gymnasium 0.29 calls in the middle of its own import,
    hence the registration module rather than the top-level ``gymnasium.register``.
    """
    from gymnasium.envs.registration import register, registry

    if ENV_ID not in registry:
        register(id=ENV_ID, entry_point=ENTRY_POINT)


def register_on_import() -> None:
    """Register now if Gymnasium is imported, else right after its first import (idempotent)."""
    if _GYMNASIUM in sys.modules:
        register_envs()
        return
    # a finder of an earlier import of this module (importlib.reload) counts too
    if not any(getattr(finder, "v1d3_registers_envs", False) for finder in sys.meta_path):
        sys.meta_path.insert(0, _RegisterAfterImport())


class _RegisterAfterImport:
    """Finds Gymnasium through the finders behind it and wraps its loader in :class:`_Loader`."""

    v1d3_registers_envs = True

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != _GYMNASIUM:
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec = find(fullname, path, target)
            if spec is not None:
                if hasattr(spec.loader, "exec_module"):
                    spec.loader = _Loader(spec.loader, self)
                return spec
        return None


class _Loader:
    """Gymnasium's own loader, then :func:`register_envs` and the finder's removal."""

    def __init__(self, loader: Any, finder: _RegisterAfterImport) -> None:
        self.loader = loader
        self.finder = finder

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        create = getattr(self.loader, "create_module", None)
        return None if create is None else create(spec)

    def exec_module(self, module: ModuleType) -> None:
        # Gymnasium sees its own loader: this wrapper is gone once the module runs
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        if self.finder in sys.meta_path:
            sys.meta_path.remove(self.finder)
        register_envs()
