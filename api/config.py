"""API settings (``PONMODEL_*`` variables): see :class:`ponmodel.settings.Settings`."""

from __future__ import annotations

from functools import lru_cache

from ponmodel.settings import Settings

__all__ = ["Settings", "get_settings"]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()
