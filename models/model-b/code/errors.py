"""Client errors that carry an HTTP status, in the style of the sagemaker-inference toolkit.

The model server maps ``status_code`` / ``message`` / ``phrase`` to the response instead of a 500.
When the toolkit is installed (SageMaker's framework images) the error also *is* a
``BaseInferenceToolkitError``, so the stock model server honours the status too; the toolkit is
never required.

Shared piece: byte-identical in every model's ``code/`` directory (a test enforces it).
"""

from __future__ import annotations

from http import HTTPStatus

try:  # pragma: no cover - depends on the serving image
    from sagemaker_inference.errors import BaseInferenceToolkitError as _Base
except ImportError:  # pragma: no cover - the usual case outside SageMaker images

    class _Base(Exception):  # type: ignore[no-redef]
        def __init__(self, status_code: int, message: str, phrase: str) -> None:
            self.status_code = status_code
            self.message = message
            self.phrase = phrase
            super().__init__(status_code, message, phrase)


class InferenceError(_Base):
    """A request the model cannot serve; ``status_code`` is a 4xx chosen by the handler."""

    status_code: int
    message: str
    phrase: str

    def __init__(self, status_code: int, message: str, phrase: str | None = None) -> None:
        super().__init__(int(status_code), message, phrase or HTTPStatus(status_code).phrase)

    def __str__(self) -> str:
        return f"{self.status_code} {self.phrase}: {self.message}"


def bad_request(message: str) -> InferenceError:
    return InferenceError(HTTPStatus.BAD_REQUEST, message)


def unsupported_media_type(message: str) -> InferenceError:
    return InferenceError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, message)


def not_acceptable(message: str) -> InferenceError:
    return InferenceError(HTTPStatus.NOT_ACCEPTABLE, message)
