"""API plumbing shared by every app: the capped JSON parser and the exception handler.

Contract: every error under ``/api/`` is a JSON object with a ``detail`` sentence, never an HTML page.
"""

from __future__ import annotations

import io
import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError, ValidationError
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

import codegen
from codegen.document import YAML, load_document
from torchcanvas_site.bodylimit import body_limit_message

logger = logging.getLogger("torchcanvas.api")


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "request_too_large"


def capped_body(stream, parser_context) -> bytes:
    """The whole body, refused (413) over ``TORCHCANVAS_LIMITS["max_body_bytes"]`` before it is decoded."""
    limit = settings.TORCHCANVAS_LIMITS["max_body_bytes"]
    declared = content_length((parser_context or {}).get("request"))
    if declared is not None and declared > limit:
        raise RequestTooLarge(body_limit_message(declared, limit))
    body = stream.read(limit + 1)
    if len(body) > limit:
        raise RequestTooLarge(body_limit_message(None, limit))
    return body


class CappedJSONParser(JSONParser):
    """JSON parser that refuses bodies over the body cap before decoding them."""

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        body = capped_body(stream, parser_context)
        try:
            return super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the document nests too deeply.") from None


class CappedYAMLParser(BaseParser):
    """A YAML body (``application/yaml``) read as the JSON body it stands for, under the same cap.

    The engine's one reader (:func:`codegen.document.load_document`) refuses what JSON could not hold.
    """

    media_type = "application/yaml"

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        try:
            return load_document(capped_body(stream, parser_context), YAML)
        except codegen.GraphError as exc:
            raise ParseError(f"YAML parse error - {exc.diagnostics[0].message}.") from None


class TextYAMLParser(CappedYAMLParser):
    """The same, sent as ``text/yaml``."""

    media_type = "text/yaml"


# Every API route reads JSON, or YAML holding the same values.
BODY_PARSERS = [CappedJSONParser, CappedYAMLParser, TextYAMLParser]


def content_length(request) -> int | None:
    """The request's declared ``Content-Length`` (None: absent, zero or not a number)."""
    if request is None:
        return None
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) or None
    except ValueError:
        return None


def request_limit_error(exc: Exception) -> APIException | None:
    """Django's refusals of a body it will not read (too big, too many fields or files) as API errors."""
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge(body_limit_message(None, settings.TORCHCANVAS_LIMITS["max_body_bytes"]))
    if isinstance(exc, TooManyFieldsSent):
        return ParseError(f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields.")
    if isinstance(exc, TooManyFilesSent):
        return ParseError(f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files.")
    return None


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's handler, plus what the engine and services refuse; validation errors get a ``detail`` summary."""
    exc = request_limit_error(exc) or exc
    response = _refusal(exc) or drf_exception_handler(exc, context)
    if response is None:
        view = context.get("view")
        logger.error("Unhandled error in %s", type(view).__name__, exc_info=exc)
        set_rollback()
        return Response({"detail": "Internal server error."}, status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    if isinstance(exc, ValidationError) and not (isinstance(response.data, dict) and "detail" in response.data):
        response.data = {"detail": _summary(response.data), "errors": response.data}
    return response


def _refusal(exc: Exception) -> Response | None:
    """What the engine and the service layers refuse, as the API answers it: one sentence, and what helps.

    ``codegen.GraphError`` is a 400 with the diagnostics, ``codegen.FigureTooLarge`` a 400 (a figure with too
    much in it to draw), ``graphs.services.ServiceError`` a 400 (with the
    engine's diagnostics when it has them), ``StaleVersion`` a 409 with the head and the diff from the
    edit's base to it, and ``training.dispatch.RunRefused`` a 400 or a 429 (too many runs).
    """
    from graphs.serializers import VersionSerializer  # the apps import this module: not at the top
    from graphs.services import ServiceError, StaleVersion
    from training.dispatch import RunRefused

    if isinstance(exc, codegen.GraphError):
        diagnostics = [diagnostic.to_dict() for diagnostic in exc.diagnostics]
        first = next((d for d in diagnostics if d.get("severity") == "error"), diagnostics[0] if diagnostics else None)
        detail = f"The graph cannot be used: {first['message']}" if first else "The graph cannot be used."
        return Response({"detail": detail, "diagnostics": diagnostics}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, codegen.FigureTooLarge):
        return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ServiceError):
        data = {"detail": exc.message} | ({"diagnostics": exc.diagnostics} if exc.diagnostics else {})
        return Response(data, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, StaleVersion):
        data = {"detail": str(exc), "head": VersionSerializer(exc.head).data, "diff": exc.diff}
        return Response(data, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, RunRefused):
        return Response({"detail": exc.message}, status=exc.status_code)
    return None


def _summary(errors: Any, field: str | None = None) -> str:
    """The first message in a DRF error structure, prefixed by the field it concerns."""
    if isinstance(errors, dict):
        for key, value in errors.items():
            if key == "non_field_errors":
                return _summary(value, field)
            return _summary(value, f"{field}.{key}" if field else str(key))
    elif isinstance(errors, list) and errors:
        return _summary(errors[0], field)
    elif errors:
        return f"{field}: {errors}" if field else str(errors)
    return "Invalid request."
