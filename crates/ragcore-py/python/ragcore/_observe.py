"""Prompt registry, event log, metrics and evaluation on a knowledge base: mixins of
:class:`~ragcore.KnowledgeBase` (blocking) and :class:`~ragcore.AsyncKnowledgeBase`. Each method
is one call into Rust (``ragcore::observe::admin``); results are plain dicts."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, cast

from . import _ragcore

__all__ = ["_ObserveMixin", "_AsyncObserveMixin"]


def _save(name: str, system: str, user: str, labels: Optional[Sequence[str]]) -> Dict[str, Any]:
    return {"name": name, "system": system, "user": user, "labels": list(labels or [])}


def _label(
    name: str, label: str, version: int, force: bool, reason: Optional[str]
) -> Dict[str, Any]:
    return {"name": name, "label": label, "version": version, "force": force, "reason": reason}


class _ObserveMixin:
    __slots__ = ()
    _native: _ragcore.NativeKnowledgeBase

    def metrics_text(self) -> str:
        """Metrics of this handle's asks in the Prometheus text format."""
        return self._native.metrics_text()

    def prompts(self) -> List[Dict[str, Any]]:
        """Every version of every prompt: name, version, hash, system, user, labels."""
        return cast(List[Dict[str, Any]], self._native.admin_blocking("prompts"))

    def get_prompt(self, name: str, label: str = "production", version: Optional[int] = None) -> Dict[str, Any]:
        """The version a label points at, or one version by number."""
        args: Dict[str, Any] = {"name": name, "label": label}
        if version is not None:
            args["version"] = version
        return cast(Dict[str, Any], self._native.admin_blocking("get_prompt", args))

    def save_prompt(
        self, name: str, system: str, user: str, labels: Optional[Sequence[str]] = None
    ) -> Dict[str, Any]:
        """Saves a new version (checked before anything is stored); protected labels are refused."""
        return cast(Dict[str, Any], self._native.admin_blocking("save_prompt", _save(name, system, user, labels)))

    def set_prompt_label(
        self, name: str, label: str, version: int, *, force: bool = False, reason: Optional[str] = None
    ) -> Optional[Dict[str, Any]]:
        """Moves a label; a protected one only with ``force=True`` (the explicit override)."""
        return cast(Optional[Dict[str, Any]], self._native.admin_blocking("set_prompt_label", _label(name, label, version, force, reason)))

    def rollback_prompt(self, name: str, label: str) -> Dict[str, Any]:
        """Moves a label back to the version before its last move."""
        return cast(Dict[str, Any], self._native.admin_blocking("rollback_prompt", {"name": name, "label": label}))

    def export_prompts(self, format: str = "yaml") -> str:
        """Every version and label as YAML or JSON text."""
        return cast(str, self._native.admin_blocking("export_prompts", {"format": format}))

    def import_prompts(self, text: str, format: str = "yaml", *, allow_protected: bool = False) -> Dict[str, Any]:
        """Imports exported prompts (same content = same version)."""
        args = {"text": text, "format": format, "allow_protected": allow_protected}
        return cast(Dict[str, Any], self._native.admin_blocking("import_prompts", args))

    def events(self, tenant: Optional[str] = None, limit: Optional[int] = None) -> List[Dict[str, Any]]:
        """The event log, oldest first (one dict per ask, personal data redacted)."""
        return cast(List[Dict[str, Any]], self._native.admin_blocking("events", {"tenant": tenant, "limit": limit}))

    def evaluate(self, golden: str, *, k: int = 5, tenant: str = "default") -> Dict[str, Any]:
        """Runs a golden set (JSONL text, see docs/evaluation.md); returns the report."""
        return cast(Dict[str, Any], self._native.admin_blocking("evaluate", {"golden": golden, "k": k, "tenant": tenant}))


class _AsyncObserveMixin:
    __slots__ = ()
    _native: _ragcore.NativeKnowledgeBase

    def metrics_text(self) -> str:
        """Metrics of this handle's asks in the Prometheus text format."""
        return self._native.metrics_text()

    async def prompts(self) -> List[Dict[str, Any]]:
        """Every version of every prompt."""
        return cast(List[Dict[str, Any]], await self._native.admin_async("prompts"))

    async def save_prompt(
        self, name: str, system: str, user: str, labels: Optional[Sequence[str]] = None
    ) -> Dict[str, Any]:
        """Saves a new version (checked before anything is stored)."""
        return cast(Dict[str, Any], await self._native.admin_async("save_prompt", _save(name, system, user, labels)))

    async def set_prompt_label(
        self, name: str, label: str, version: int, *, force: bool = False, reason: Optional[str] = None
    ) -> Optional[Dict[str, Any]]:
        """Moves a label; a protected one only with ``force=True``."""
        return cast(Optional[Dict[str, Any]], await self._native.admin_async("set_prompt_label", _label(name, label, version, force, reason)))

    async def rollback_prompt(self, name: str, label: str) -> Dict[str, Any]:
        """Moves a label back to the version before its last move."""
        return cast(Dict[str, Any], await self._native.admin_async("rollback_prompt", {"name": name, "label": label}))

    async def export_prompts(self, format: str = "yaml") -> str:
        """Every version and label as YAML or JSON text."""
        return cast(str, await self._native.admin_async("export_prompts", {"format": format}))

    async def events(self, tenant: Optional[str] = None, limit: Optional[int] = None) -> List[Dict[str, Any]]:
        """The event log, oldest first."""
        return cast(List[Dict[str, Any]], await self._native.admin_async("events", {"tenant": tenant, "limit": limit}))

    async def evaluate(self, golden: str, *, k: int = 5, tenant: str = "default") -> Dict[str, Any]:
        """Runs a golden set (JSONL text); returns the report."""
        return cast(Dict[str, Any], await self._native.admin_async("evaluate", {"golden": golden, "k": k, "tenant": tenant}))
