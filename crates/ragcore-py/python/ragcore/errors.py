"""Exceptions raised by ragcore, one class per error kind.

Every exception is a :class:`RagcoreError` with three attributes:

* ``kind`` -- the stable snake_case kind code (``"invalid_input"``, ``"not_found"``, ...),
* ``retryable`` -- whether retrying the same call can help (rate limits, timeouts),
* ``message`` -- what went wrong and what to do.

When a Python callback (embedder, guard, chat model) raised, its exception is the
``__cause__`` of the error you receive.
"""

from __future__ import annotations

from typing import Any, Dict, Tuple, Type

__all__ = [
    "RagcoreError",
    "InvalidInputError",
    "ConfigError",
    "LoadError",
    "StorageError",
    "NotFoundError",
    "ProviderError",
    "BlockedError",
    "BudgetExceededError",
    "RagcoreTimeoutError",
    "IncompatibleError",
    "InternalError",
    "error_class",
]


class RagcoreError(Exception):
    """Base class of every ragcore error."""

    #: The kind code of this class (instances carry their own ``kind``).
    KIND: str = "internal"

    kind: str
    retryable: bool
    message: str

    def __init__(self, message: str, *, kind: str | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind if kind is not None else type(self).KIND
        self.retryable = retryable

    def __reduce__(self) -> Tuple[Any, Tuple[str, str, bool]]:
        return (_from_native, (self.message, self.kind, self.retryable))


class InvalidInputError(RagcoreError, ValueError):
    """The caller passed something invalid (empty question, bad option, bad identifier)."""

    KIND = "invalid_input"


class ConfigError(RagcoreError):
    """A configuration value is missing or wrong."""

    KIND = "config"


class LoadError(RagcoreError):
    """A file could not be loaded (unreadable, empty, binary, bad encoding, malformed row)."""

    KIND = "load"


class StorageError(RagcoreError):
    """The knowledge base on disk could not be read or written."""

    KIND = "storage"


class NotFoundError(RagcoreError, LookupError):
    """Something asked for does not exist (a tenant with no documents, a prompt, ...)."""

    KIND = "not_found"


class ProviderError(RagcoreError):
    """A model or embedding provider failed -- including a Python callback that raised or
    returned something unusable."""

    KIND = "provider"


class BlockedError(RagcoreError):
    """A guardrail blocked the request."""

    KIND = "blocked"


class BudgetExceededError(RagcoreError):
    """A budget or rate limit was exceeded."""

    KIND = "budget_exceeded"


class RagcoreTimeoutError(RagcoreError, TimeoutError):
    """An operation did not finish in time (also a builtin :class:`TimeoutError`)."""

    KIND = "timeout"


class IncompatibleError(RagcoreError):
    """The stored knowledge base does not match the configured embedder or chunker."""

    KIND = "incompatible"


class InternalError(RagcoreError):
    """A bug or an unexpected state inside ragcore."""

    KIND = "internal"


_BY_KIND: Dict[str, Type[RagcoreError]] = {
    cls.KIND: cls
    for cls in (
        InvalidInputError,
        ConfigError,
        LoadError,
        StorageError,
        NotFoundError,
        ProviderError,
        BlockedError,
        BudgetExceededError,
        RagcoreTimeoutError,
        IncompatibleError,
        InternalError,
    )
}


def error_class(kind: str) -> Type[RagcoreError]:
    """The exception class for a kind code (:class:`RagcoreError` for an unknown one)."""
    return _BY_KIND.get(kind, RagcoreError)


def _from_native(message: str, kind: str, retryable: bool) -> RagcoreError:
    """Builds the exception for an error of the native module (called from Rust)."""
    return error_class(kind)(message, kind=kind, retryable=retryable)
