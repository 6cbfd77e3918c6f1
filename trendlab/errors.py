"""The one error family for everything a user can fix.

Every failure a user can act on (a bad parameter, a bad input file, a service that does not answer)
raises a :class:`TrendlabError`. ``trendlab.cli.main`` catches this family once and prints its
message as one line on stderr with exit status 2; the REST service maps it to ``{"error": …}``;
notebooks show the message. Messages are one line and name the field, file or service and the
value, e.g. ``window (7m) must be a whole multiple of slide (2m)``.

Subclasses say *what kind* of thing is wrong, so callers that can do something about one kind
(retry a service, skip a file) catch just that kind:

- :class:`ConfigError`: a setting, flag or parameter value (environment, params file, grid, request)
- :class:`InputError`: an input file or stream that cannot be read as what it should be
  (:class:`MissingFile` when it does not exist: also a ``FileNotFoundError``)
- :class:`ServiceUnavailable`: Kafka, Flink or MinIO does not answer, or answers with an error
- :class:`StackError`: a part of the local stack cannot be fetched, built or started
- :class:`JobConflict`: a deploy or stop is refused because another is in progress, or because a
  trendlab job of the same topics already runs (the REST service answers 409)

They also subclass ``ValueError``/``RuntimeError`` (``MissingFile``: ``FileNotFoundError``), so a
caller that catches the built-in kind keeps working. Anything outside the family that reaches
``cli.main`` is a bug and shows its traceback.
"""

from __future__ import annotations


class TrendlabError(Exception):
    """An error the user can fix; its message is one line."""


class ConfigError(TrendlabError, ValueError):
    """A setting, flag or parameter is missing or invalid; the message names it and its value."""


class InputError(TrendlabError, ValueError):
    """An input file or stream cannot be read; the message names it and says why."""


class MissingFile(InputError, FileNotFoundError):
    """A file the user named does not exist; the message names what it should be and its path."""


class ServiceUnavailable(TrendlabError, RuntimeError):
    """Kafka, Flink or MinIO does not answer (or refuses); the message names the service and address."""


class StackError(TrendlabError, RuntimeError):
    """A stack part cannot be fetched, built or started; the one-line message names the part."""


class JobConflict(TrendlabError, RuntimeError):
    """A deploy or stop collides with another one in progress or with a running job of the same topics;
    the one-line message names that operation or job."""
