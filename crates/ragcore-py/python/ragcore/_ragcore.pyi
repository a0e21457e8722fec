"""Type stubs of the native module ``ragcore._ragcore`` (use the ``ragcore`` package instead)."""

import os
import pathlib
from typing import Any, Awaitable, Dict, List, Mapping, Optional, Sequence, Union

__version__: str
ERROR_KINDS: List[str]

_Path = Union[str, os.PathLike[str]]

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
    def retrieve_async(
        self, question: str, tenant: str, principals: Optional[Sequence[str]]
    ) -> Awaitable[List[Dict[str, Any]]]: ...
    def retrieve_blocking(
        self, question: str, tenant: str, principals: Optional[Sequence[str]]
    ) -> List[Dict[str, Any]]: ...
    @property
    def path(self) -> pathlib.Path: ...
    @property
    def model(self) -> str: ...
    @property
    def embedder(self) -> Dict[str, Any]: ...

def _quiesce(max_seconds: float) -> None: ...
