"""Type stubs of the native module ``ragcore._ragcore`` (use the ``ragcore`` package instead)."""

import os
import pathlib
from typing import Any, Awaitable, Dict, List, Mapping, Optional, Sequence, Union

__version__: str
ERROR_KINDS: List[str]

_Path = Union[str, os.PathLike[str]]

class NativeAnswerStream:
    """A streamed answer being read: events as dicts, ``None`` at the end."""

    def next_async(self) -> Awaitable[Optional[Dict[str, Any]]]: ...
    def next_blocking(self) -> Optional[Dict[str, Any]]: ...

class NativeKnowledgeBase:
    """An opened knowledge base; results are plain dicts."""

    @staticmethod
    def open_async(
        path: _Path,
        *,
        embedder: Optional[object] = None,
        chat: Optional[object] = None,
        guards: Optional[Sequence[object]] = None,
        config: Optional[Dict[str, Any]] = None,
        rerank: Optional[str] = None,
        budgets: Optional[Dict[str, Any]] = None,
        cache: Optional[Dict[str, Any]] = None,
    ) -> Awaitable[NativeKnowledgeBase]: ...
    @staticmethod
    def open_blocking(
        path: _Path,
        *,
        embedder: Optional[object] = None,
        chat: Optional[object] = None,
        guards: Optional[Sequence[object]] = None,
        config: Optional[Dict[str, Any]] = None,
        rerank: Optional[str] = None,
        budgets: Optional[Dict[str, Any]] = None,
        cache: Optional[Dict[str, Any]] = None,
    ) -> NativeKnowledgeBase: ...
    def ingest_async(
        self,
        paths: Optional[Sequence[_Path]],
        documents: Optional[Sequence[Mapping[str, Any]]],
        tenant: str,
        acl: Optional[Sequence[str]],
    ) -> Awaitable[Dict[str, Any]]: ...
    def ingest_blocking(
        self,
        paths: Optional[Sequence[_Path]],
        documents: Optional[Sequence[Mapping[str, Any]]],
        tenant: str,
        acl: Optional[Sequence[str]],
    ) -> Dict[str, Any]: ...
    def ask_async(
        self, question: str, tenant: str, principals: Optional[Sequence[str]]
    ) -> Awaitable[Dict[str, Any]]: ...
    def ask_blocking(
        self, question: str, tenant: str, principals: Optional[Sequence[str]]
    ) -> Dict[str, Any]: ...
    def ask_stream_async(
        self, question: str, tenant: str, principals: Optional[Sequence[str]]
    ) -> Awaitable[NativeAnswerStream]: ...
    def ask_stream_blocking(
        self, question: str, tenant: str, principals: Optional[Sequence[str]]
    ) -> NativeAnswerStream: ...
    def cost_report_async(
        self, by: str, tenant: Optional[str]
    ) -> Awaitable[List[Dict[str, Any]]]: ...
    def cost_report_blocking(self, by: str, tenant: Optional[str]) -> List[Dict[str, Any]]: ...
    def retrieve_async(
        self, question: str, tenant: str, principals: Optional[Sequence[str]]
    ) -> Awaitable[List[Dict[str, Any]]]: ...
    def retrieve_blocking(
        self, question: str, tenant: str, principals: Optional[Sequence[str]]
    ) -> List[Dict[str, Any]]: ...
    def knowledge_async(self, op: str) -> Awaitable[Any]: ...
    def knowledge_blocking(self, op: str) -> Any: ...
    def pseudonymize_async(self, text: str, tenant: str) -> Awaitable[Dict[str, Any]]: ...
    def pseudonymize_blocking(self, text: str, tenant: str) -> Dict[str, Any]: ...
    def restore_async(self, text: str, tenant: str, vault_id: str) -> Awaitable[str]: ...
    def restore_blocking(self, text: str, tenant: str, vault_id: str) -> str: ...
    def purge_vault_async(self, tenant: Optional[str], expired_only: bool) -> Awaitable[int]: ...
    def purge_vault_blocking(self, tenant: Optional[str], expired_only: bool) -> int: ...
    @property
    def guard_policy(self) -> Dict[str, Any]: ...
    def admin_async(
        self, op: str, args: Optional[Dict[str, Any]] = None
    ) -> Awaitable[Any]: ...
    def admin_blocking(self, op: str, args: Optional[Dict[str, Any]] = None) -> Any: ...
    def metrics_text(self) -> str: ...
    @property
    def path(self) -> pathlib.Path: ...
    @property
    def model(self) -> str: ...
    @property
    def embedder(self) -> Dict[str, Any]: ...

def _quiesce(max_seconds: float) -> None: ...
