"""Client for the Fingertips public API (https://fingertips.phe.org.uk/api/), with an on-disk cache.

Three layers, each usable on its own:

- :class:`FingertipsClient`: one method per endpoint (profiles, domains, area types, areas,
  parent-to-child lookups, nearest neighbours, available data, grouping roots, indicator
  metadata as JSON and CSV, data changes, and the data CSV by indicator, group and profile). It
  speaks HTTPS with connect/read timeouts, retries with exponential back-off on connection
  failures, timeouts, 429 (honouring ``Retry-After``) and 5xx with a cap on attempts, takes
  proxies and CA bundles from the environment (``HTTPS_PROXY``, ``NO_PROXY``,
  ``REQUESTS_CA_BUNDLE``) or an explicit ``ca_bundle`` and never turns certificate checks off.
  Data requests ask for at most 100 indicator ids at a time: the API silently drops everything
  after the first 100.
- :class:`ResponseCache`: every successful answer is kept on disk, keyed by (API root, path,
  parameters), with its download date. JSON answers are re-used for ``metadata_max_age``; a data
  CSV is re-used until the ``DataChange.LastUploadedAt`` of one of its indicators changes (read
  from ``indicator_metadata/by_indicator_id``). ``offline=True`` answers from the cache only.
- :class:`FingertipsSource`: the :class:`~jsna_lib.sources.base.IndicatorSource` adapter that turns
  the answers into canonical frames (the data CSV goes through the Fingertips CSV reader).

Errors are :class:`FingertipsAPIError` subclasses (a ``RuntimeError``) whose one-line message
names the path and parameters of the request and what to do about it.

Facts about the live API this module relies on (see ``FINGERTIPS_API.md`` in the project notes):
area types are chosen by id, never by display name (15 England, 6 regions, 502/501 counties &
UAs / districts & UAs from April 2023); ``profile_id`` is passed to every endpoint that takes it
(``all_data/csv/by_group_id`` and ``for_one_indicator`` do not); a request with no data is a 200
with the CSV header line only; a 400 carries its message as JSON (``Message``/``MessageDetail``)
or as plain text; an unknown group id gives a 500 every time.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import difflib
import email.utils
import hashlib
import io
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
import requests

from .. import schema
from .._atomic import write_bytes_atomic
from .base import DOMAIN_COLUMNS, PROFILE_COLUMNS, SourceValues

DEFAULT_API_URL = "https://fingertips.phe.org.uk/api/"
#: Environment variable that overrides the API root.
API_URL_ENV = "FINGERTIPS_API_URL"
#: The API keeps only the first 100 ids of ``indicator_ids`` (silently): never ask for more.
MAX_IDS_PER_REQUEST = 100

#: Canonical area type -> the Fingertips area type id used by default (latest vintages).
AREA_TYPE_IDS: dict[str, int] = {"england": 15, "region": 6, "utla": 502, "ltla": 501}
#: Fingertips area type id -> canonical area type (the current and earlier LA vintages).
CANONICAL_AREA_TYPES: dict[int, str] = {
    15: "england", 6: "region",
    502: "utla", 402: "utla", 302: "utla", 202: "utla", 102: "utla",
    501: "ltla", 401: "ltla", 301: "ltla", 201: "ltla", 101: "ltla",
}
#: Names of the well-known area type ids, for messages only (names change; ids do not).
AREA_TYPE_NAMES: dict[int, str] = {
    15: "England", 6: "Regions (statistical)",
    502: "Counties & UAs (from Apr 2023)", 501: "Districts & UAs (from Apr 2023)",
    402: "Counties & UAs (2021/22-2022/23)", 401: "Districts & UAs (2021/22-2022/23)",
    302: "Counties & UAs (2020/21)", 301: "Districts & UAs (2020/21)",
    202: "Counties & UAs (2019/20)", 201: "Districts & UAs (2019/20)",
    102: "Counties & UAs (pre 4/19)", 101: "Districts & UAs (pre 4/19)",
}
#: Parent area type used for the comparison columns of the data CSV, per child area type.
DEFAULT_PARENT_AREA_TYPE = 6

#: Fingertips PolarityId -> polarity as :mod:`jsna_lib.schema` spells it.
POLARITIES: dict[int, str] = {
    -1: "Not applicable", 0: "RAG - Low is good", 1: "RAG - High is good", 99: "BOB - Blue orange blue",
}
#: Fingertips comparator method ids we can reproduce (others are read as "none", with a note).
_CI_ONE_LEVEL, _CI_TWO_LEVELS, _CI_SECOND_LEVEL, _QUINTILES, _NO_COMPARISON = 1, 17, 18, 15, -1
_ENGLAND_COMPARATOR = 4

#: Statuses worth another try: rate limiting and server-side failures.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
_DATA_HEADER_FIRST = "Indicator ID"
_MESSAGE_CHARS = 300


# --------------------------------------------------------------------------------------- errors
class FingertipsAPIError(RuntimeError):
    """Any failure talking to the Fingertips API; the message is one line for the user."""


class FingertipsHTTPError(FingertipsAPIError):
    """The API answered with an HTTP error status."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class FingertipsBadRequestError(FingertipsHTTPError):
    """HTTP 400: a parameter the API refused (its message is in ours)."""


class FingertipsNotFoundError(FingertipsHTTPError):
    """HTTP 404: no such endpoint, or a required parameter is missing."""


class FingertipsServerError(FingertipsHTTPError):
    """HTTP 5xx (or 429) that did not go away after the allowed attempts."""


class FingertipsConnectionError(FingertipsAPIError):
    """No answer: connection refused or dropped, timeouts, proxy failure (after the retries)."""


class FingertipsCertificateError(FingertipsConnectionError):
    """The server's TLS certificate could not be verified (never retried, never bypassed)."""


class FingertipsResponseError(FingertipsAPIError):
    """A 200 whose body is not what the endpoint returns (HTML from a proxy, broken JSON...)."""


class FingertipsNoDataError(FingertipsAPIError):
    """A data request answered with the CSV header line only: nothing for those ids/area type/profile."""


class FingertipsOfflineError(FingertipsAPIError):
    """``offline`` was asked for and the request is not in the cache."""


class FingertipsLookupError(FingertipsAPIError):
    """A profile, indicator or area type that the API does not know (or that is ambiguous)."""


# ----------------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry.

    Attempt ``n`` (1-based) that fails is followed by a pause of ``min(max_backoff, backoff *
    2**(n-1))`` seconds, or by the server's ``Retry-After`` when it sends one (429/503). A
    ``Retry-After`` longer than ``max_retry_after`` is not waited for: the request fails with a
    message saying when to try again. ``sleep`` is injectable for tests.
    """

    attempts: int = 4
    backoff: float = 1.0
    max_backoff: float = 30.0
    max_retry_after: float = 300.0
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"RetryPolicy.attempts must be at least 1, not {self.attempts}")

    def delay(self, attempt: int) -> float:
        return min(self.max_backoff, self.backoff * 2 ** (attempt - 1))


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/jsna-workbench/fingertips-api`` (``~/.cache/...`` when unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "jsna-workbench" / "fingertips-api"


def resolve_api_url(api_url: str | None = None) -> str:
    """The API root to use: ``api_url``, else ``$FINGERTIPS_API_URL``, else the public service.

    Returned with exactly one trailing slash. Must be ``https://``; plain ``http://`` is accepted
    only for a server on this machine (127.0.0.1/localhost), e.g. a test double.
    """
    url = (api_url or os.environ.get(API_URL_ENV) or DEFAULT_API_URL).strip()
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise FingertipsAPIError(f"the Fingertips API root {url!r} is not an https:// address "
                                 f"(set --api-url or {API_URL_ENV}, e.g. {DEFAULT_API_URL})")
    if parts.query or parts.fragment:
        raise FingertipsAPIError(f"the Fingertips API root {url!r} must not carry a query or fragment")
    if parts.scheme == "http" and parts.hostname not in _LOCAL_HOSTS:
        raise FingertipsAPIError(f"the Fingertips API root {url!r} must use https:// (plain http is "
                                 "accepted only for a server on this machine)")
    return url.rstrip("/") + "/"


def join_url(root: str, path: str) -> str:
    """``root.rstrip("/") + "/" + path`` (``urljoin`` would drop the ``api`` segment)."""
    return root.rstrip("/") + "/" + path.lstrip("/")


def describe_request(path: str, params: Mapping[str, Any] | None = None) -> str:
    """``path?key=value&...`` for messages, with long id lists shortened."""
    shown = []
    for key, value in (params or {}).items():
        text = str(value)
        ids = text.split(",")
        if len(ids) > 6:
            text = ",".join(ids[:3]) + f",... ({len(ids)} ids)"
        shown.append(f"{key}={text}")
    return path + ("?" + "&".join(shown) if shown else "")


def _one_line(text: Any, limit: int = _MESSAGE_CHARS) -> str:
    """One line, at most ``limit`` characters, with any ``user:password@`` in addresses masked."""
    text = re.sub(r"://[^/@\s]+@", "://***@", " ".join(str(text).split()))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _server_message(response: requests.Response) -> str:
    """The API's own explanation: JSON ``Message``/``MessageDetail``, a JSON string, or plain text."""
    text = (response.content or b"").decode("utf-8-sig", errors="replace").strip()
    if not text:
        return ""
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict):
        parts = [str(body[k]) for k in ("Message", "MessageDetail", "ExceptionMessage", "message", "error")
                 if body.get(k)]
        if parts:
            return _one_line(" - ".join(dict.fromkeys(parts)))
    elif isinstance(body, str):
        return _one_line(body)
    if text.startswith("<"):
        title = re.search(r"<title[^>]*>(.*?)</title>", text, flags=re.I | re.S)
        page = f" titled {_one_line(title.group(1), 80)!r}" if title else ""
        return f"an HTML page{page} instead of an API answer (a proxy or gateway page?)"
    return _one_line(text)


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    with contextlib.suppress(TypeError, ValueError, IndexError):
        when = email.utils.parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())
    return None


def _ids(indicator_ids: Iterable[Any] | int | str) -> list[int]:
    """Unique, sorted integer ids; anything that is not a whole number is an error here.

    (The API silently skips ids that do not parse, so they are caught before they are sent.)
    """
    if isinstance(indicator_ids, int | str):
        indicator_ids = [indicator_ids]
    out, bad = set(), []
    for value in indicator_ids:
        if isinstance(value, bool):
            bad.append(value)
            continue
        try:
            number = int(str(value).strip())
        except ValueError:
            bad.append(value)
            continue
        if number <= 0:
            bad.append(value)
        else:
            out.add(number)
    if bad:
        raise FingertipsLookupError("indicator ids must be positive whole numbers; not: "
                                    + ", ".join(repr(b) for b in bad[:10]))
    if not out:
        raise FingertipsLookupError("no indicator ids given")
    return sorted(out)


def _chunks(ids: Sequence[int], size: int = MAX_IDS_PER_REQUEST) -> list[list[int]]:
    return [list(ids[i: i + size]) for i in range(0, len(ids), size)]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _area_type_text(area_type_id: int) -> str:
    name = AREA_TYPE_NAMES.get(int(area_type_id))
    return f"area type {area_type_id}" + (f" ({name})" if name else "")


# ------------------------------------------------------------------------------------- cache
@dataclass
class CachedResponse:
    """A successful answer: its bytes and what we know about it (``meta``)."""

    body: bytes
    meta: dict[str, Any]
    from_cache: bool = False

    @property
    def downloaded_at(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.meta["downloaded_at"])

    def age(self) -> dt.timedelta:
        return _now() - self.downloaded_at

    @property
    def text(self) -> str:
        return self.body.decode("utf-8-sig", errors="replace")


class ResponseCache:
    """Answers on disk: ``DIR/ab/<sha256>.body`` plus ``<sha256>.json`` (request, download date, checks).

    The key is the SHA-256 of (API root, path, sorted parameters). The body is written first and
    the ``.json`` last, both atomically, and the ``.json`` holds the body's SHA-256: an entry is
    used only when both files are there and agree, so an interrupted write is just a miss.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory).expanduser()

    @staticmethod
    def key(api_url: str, path: str, params: Mapping[str, Any]) -> str:
        blob = json.dumps({"api": api_url.rstrip("/"), "path": path.strip("/"),
                           "params": sorted([str(k), str(v)] for k, v in params.items())})
        return hashlib.sha256(blob.encode()).hexdigest()

    def _files(self, key: str) -> tuple[Path, Path]:
        folder = self.directory / key[:2]
        return folder / f"{key}.body", folder / f"{key}.json"

    def get(self, key: str) -> CachedResponse | None:
        body_path, meta_path = self._files(key)
        try:
            meta = json.loads(meta_path.read_text("utf-8"))
            body = body_path.read_bytes()
        except (OSError, ValueError):
            return None
        if not isinstance(meta, dict) or meta.get("sha256") != hashlib.sha256(body).hexdigest():
            return None
        return CachedResponse(body=body, meta=meta, from_cache=True)

    def put(self, key: str, body: bytes, meta: dict[str, Any]) -> CachedResponse:
        body_path, meta_path = self._files(key)
        meta = {**meta, "sha256": hashlib.sha256(body).hexdigest(), "bytes": len(body)}
        try:
            body_path.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(body_path, body)
            write_bytes_atomic(meta_path, json.dumps(meta, indent=1, sort_keys=True).encode())
        except OSError as exc:
            raise FingertipsAPIError(f"cannot write the Fingertips cache at {self.directory} ({exc}); "
                                     "choose another folder with --cache-dir") from exc
        return CachedResponse(body=body, meta=meta, from_cache=False)


# ----------------------------------------------------------------------------------- data CSV
@dataclass
class DataCSV:
    """One data CSV answer (one request): its text and what is in it."""

    path: str
    params: dict[str, Any]
    text: str
    rows: int
    indicator_ids: list[int]
    requested_ids: list[int]
    from_cache: bool
    downloaded_at: dt.datetime

    @property
    def description(self) -> str:
        return describe_request(self.path, self.params)

    @property
    def is_empty(self) -> bool:
        return self.rows == 0


def _scan_data_csv(text: str, what: str) -> tuple[int, list[int]]:
    """Rows and indicator ids of a data CSV (a real CSV parse: names can hold line breaks)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header or header[0].lstrip("\ufeff").strip() != _DATA_HEADER_FIRST:
        start = text.lstrip()[:60]
        raise FingertipsResponseError(
            f"GET {what}: expected the Fingertips data CSV (first column {_DATA_HEADER_FIRST!r}) but the "
            f"answer starts {start!r}" + (" (an HTML page: a proxy or login page?)" if start.startswith("<") else ""))
    rows, ids = 0, set()
    for record in reader:
        if not any(cell.strip() for cell in record):
            continue
        rows += 1
        with contextlib.suppress(ValueError):
            ids.add(int(record[0]))
    return rows, sorted(ids)


# ------------------------------------------------------------------------------------ client
class FingertipsClient:
    """The Fingertips API, one method per endpoint, with retries and an on-disk cache.

    Parameters
    ----------
    api_url:
        API root (default ``$FINGERTIPS_API_URL`` or https://fingertips.phe.org.uk/api/).
    cache_dir:
        Folder of the response cache (default :func:`default_cache_dir`); ``use_cache=False``
        turns the cache off.
    offline:
        Answer only from the cache; a request that is not there raises :class:`FingertipsOfflineError`.
    ca_bundle:
        A PEM file of CA certificates to trust (e.g. an organisation's HTTPS-inspecting proxy).
        Without it, ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` or the bundled CAs are used.
        Certificate checks are never turned off.
    timeout:
        ``(connect, read)`` seconds. The read timeout is the longest silence allowed while an
        answer arrives; profile-wide CSVs are built on demand and can be slow to start.
    metadata_max_age:
        How long JSON answers (profiles, domains, areas, grouping, indicator metadata) are re-used
        without asking again. Data CSVs are re-used until an indicator's ``LastUploadedAt`` changes.
    """

    def __init__(self, api_url: str | None = None, *, cache_dir: str | os.PathLike[str] | None = None,
                 use_cache: bool = True, offline: bool = False, ca_bundle: str | os.PathLike[str] | None = None,
                 timeout: tuple[float, float] = (10.0, 180.0), retry: RetryPolicy | None = None,
                 metadata_max_age: dt.timedelta = dt.timedelta(hours=12),
                 session: requests.Session | None = None) -> None:
        self.api_url = resolve_api_url(api_url)
        self.offline = offline
        self.timeout = (float(timeout[0]), float(timeout[1]))
        self.retry = retry or RetryPolicy()
        self.metadata_max_age = metadata_max_age
        if offline and not use_cache:
            raise FingertipsAPIError("offline use needs the cache (do not turn the cache off with --offline)")
        self.cache = ResponseCache(cache_dir if cache_dir is not None else default_cache_dir()) if use_cache else None
        self.verify: str | bool = True
        if ca_bundle is not None:
            bundle = Path(ca_bundle).expanduser()
            if not bundle.is_file():
                raise FingertipsCertificateError(f"the CA bundle {str(bundle)!r} (--ca-bundle) is not a file; "
                                                 "give the PEM file of your organisation's CA certificates")
            self.verify = str(bundle.resolve())
        self.session = session or requests.Session()
        # Proxies (HTTPS_PROXY, NO_PROXY) and REQUESTS_CA_BUNDLE come from the environment.
        self.session.trust_env = True
        self.session.headers.setdefault("User-Agent", "jsna-workbench (Fingertips API client)")
        #: HTTP attempts made (each retry counts); cache hits make none.
        self.network_requests = 0
        #: cache keys this client downloaded itself (fresh for the rest of its run, whatever the age limit)
        self._downloaded: set[str] = set()

    # ------------------------------------------------------------------ plumbing
    def url(self, path: str) -> str:
        return join_url(self.api_url, path)

    def _send(self, path: str, params: Mapping[str, Any]) -> requests.Response:
        """GET with retries; returns a 2xx/3xx response or raises a :class:`FingertipsAPIError`."""
        what = describe_request(path, params)
        attempts = self.retry.attempts
        problem = "no answer"
        for attempt in range(1, attempts + 1):
            wait: float | None = None
            try:
                self.network_requests += 1
                # verify is passed on every call: an explicit --ca-bundle must win over the
                # environment, and True lets requests pick up REQUESTS_CA_BUNDLE.
                response = self.session.get(self.url(path), params=dict(params), timeout=self.timeout,
                                            verify=self.verify)
            except requests.exceptions.SSLError as exc:
                raise FingertipsCertificateError(
                    f"GET {what}: the server's TLS certificate could not be verified ({_one_line(exc, 160)}); "
                    "if your network inspects HTTPS, give its CA certificate with --ca-bundle PATH or "
                    "REQUESTS_CA_BUNDLE (certificate checks are never switched off)") from exc
            except requests.exceptions.ProxyError as exc:
                problem = f"the proxy failed ({_one_line(exc, 160)}); check HTTPS_PROXY and NO_PROXY"
            except requests.exceptions.ConnectTimeout:
                problem = f"no connection within {self.timeout[0]:g} s"
            except requests.exceptions.ReadTimeout:
                problem = f"no answer within {self.timeout[1]:g} s (read timeout)"
            except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError,
                    requests.exceptions.ContentDecodingError) as exc:
                problem = f"the connection failed or was dropped ({_one_line(exc, 160)})"
            except requests.exceptions.RequestException as exc:
                raise FingertipsAPIError(f"GET {what}: {_one_line(exc)}") from exc
            except OSError as exc:  # e.g. REQUESTS_CA_BUNDLE naming a missing file
                raise FingertipsCertificateError(
                    f"GET {what}: {_one_line(exc, 200)}; check REQUESTS_CA_BUNDLE / --ca-bundle") from exc
            else:
                status = response.status_code
                if status < 400:
                    if self.api_url.startswith("https:") and not str(response.url).startswith("https:"):
                        raise FingertipsResponseError(
                            f"GET {what}: redirected to a plain-http address ({_one_line(response.url, 120)}); "
                            "refused: answers must come over HTTPS")
                    return response
                if status not in RETRY_STATUSES:
                    raise self._http_error(what, response, attempt)
                retry_after = _retry_after(response.headers.get("Retry-After"))
                if retry_after is not None and retry_after > self.retry.max_retry_after:
                    raise FingertipsServerError(
                        f"GET {what}: HTTP {status}; the server asks to wait {retry_after:.0f} s (Retry-After), "
                        "longer than we wait: try again later", status=status)
                if attempt == attempts:
                    raise self._http_error(what, response, attempt)
                problem = f"HTTP {status}"
                wait = retry_after
            if attempt < attempts:
                self.retry.sleep(self.retry.delay(attempt) if wait is None else wait)
        raise FingertipsConnectionError(
            f"GET {self.url(describe_request(path, params))}: {problem}, after {attempts} attempts; "
            "check the network connection and proxy settings (HTTPS_PROXY, NO_PROXY) or try again later")

    def _http_error(self, what: str, response: requests.Response, attempts: int) -> FingertipsHTTPError:
        status = response.status_code
        message = _server_message(response)
        said = f": {message}" if message else ""
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        if status == 400:
            return FingertipsBadRequestError(f"GET {what}: the API refused the request (HTTP 400){said}",
                                             status=status)
        if status == 404:
            return FingertipsNotFoundError(
                f"GET {what}: HTTP 404 - no such endpoint, or a required parameter is missing{said}", status=status)
        if status == 429:
            return FingertipsServerError(f"GET {what}: still rate-limited (HTTP 429){tries}{said}; "
                                         "wait a while and try again", status=status)
        if status >= 500:
            return FingertipsServerError(
                f"GET {what}: HTTP {status} from the server{tries}{said} (an unknown profile, group or "
                "indicator id also gives a 500)", status=status)
        hint = "; a proxy may be refusing the request: check HTTPS_PROXY and NO_PROXY" if status in (
            401, 403, 407) else ""
        return FingertipsHTTPError(f"GET {what}: HTTP {status}{said}{hint}", status=status)

    def _get(self, path: str, params: Mapping[str, Any] | None = None, *,
             fresh: Callable[[CachedResponse], bool] | None = None,
             check: Callable[[bytes], dict[str, Any]] | None = None,
             extra_meta: Callable[[bytes], dict[str, Any]] | None = None) -> CachedResponse:
        """One request through the cache.

        ``fresh(cached)`` decides whether a cached answer may be re-used (default: younger than
        ``metadata_max_age``); ``check(body)`` validates a new answer before it is cached and may
        return facts to keep in its metadata; ``extra_meta(body)`` adds more (e.g. upload dates).
        """
        params = {k: v for k, v in (params or {}).items() if v is not None}
        what = describe_request(path, params)
        key = ResponseCache.key(self.api_url, path, params)
        cached = self.cache.get(key) if self.cache is not None else None
        if self.offline:
            if cached is None:
                raise FingertipsOfflineError(
                    f"offline: GET {what} is not in the cache at {self.cache.directory if self.cache else '-'}; "
                    "run the same command once online (without --offline) to fill it")
            return cached
        if cached is not None:
            if fresh is None:  # JSON: re-used within its age limit, and always within this client's run
                is_fresh = key in self._downloaded or cached.age() < self.metadata_max_age
            else:
                is_fresh = fresh(cached)
            if is_fresh:
                return cached
        response = self._send(path, params)
        body = response.content
        meta: dict[str, Any] = {
            "url": self.url(path), "path": path, "params": {k: str(v) for k, v in params.items()},
            "downloaded_at": _now().isoformat(), "status": response.status_code,
            "content_type": response.headers.get("Content-Type", ""),
        }
        if check is not None:
            meta.update(check(body) or {})
        if extra_meta is not None:
            meta.update(extra_meta(body) or {})
        if self.cache is None:
            return CachedResponse(body=body, meta=meta)
        self._downloaded.add(key)
        return self.cache.put(key, body, meta)

    def _json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        what = describe_request(path, {k: v for k, v in (params or {}).items() if v is not None})

        def check(body: bytes) -> dict[str, Any]:
            _parse_json(body, what)
            return {}

        return _parse_json(self._get(path, params, check=check).body, what)

    def _text(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        return self._get(path, params).text

    # ------------------------------------------------------------------ profiles and domains
    def profiles(self) -> list[dict[str, Any]]:
        """``profiles``: every profile (``Id``, ``Name``, ``Key``, ``GroupIds``, ...)."""
        return _as_list(self._json("profiles"), "profiles")

    def profile(self, profile_id: int) -> dict[str, Any]:
        """``profile?profile_id=``: one profile."""
        body = self._json("profile", {"profile_id": int(profile_id)})
        if not isinstance(body, dict) or not body:
            raise FingertipsLookupError(f"GET profile?profile_id={profile_id}: no such profile; "
                                        "`jsna fetch --list-profiles` lists them")
        return body

    def group_metadata(self, group_ids: Iterable[int]) -> list[dict[str, Any]]:
        """``group_metadata?group_ids=``: domains (``Id``, ``Name``, ``Sequence``, ``ProfileId``)."""
        ids = [int(g) for g in group_ids]
        if not ids:
            return []
        return _as_list(self._json("group_metadata", {"group_ids": ",".join(map(str, ids))}), "group_metadata")

    def resolve_profile(self, profile: int | str, *,
                        profiles: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """A profile by id, URL key or exact name (case and spacing ignored); never a guess.

        Unknown or ambiguous names raise :class:`FingertipsLookupError` with suggestions.
        """
        profiles = self.profiles() if profiles is None else profiles
        text = str(profile).strip()
        if text.isdigit():
            wanted = int(text)
            found = [p for p in profiles if _int(p.get("Id")) == wanted]
            if not found:
                raise FingertipsLookupError(f"no Fingertips profile has id {wanted} (GET profiles); "
                                            "`jsna fetch --list-profiles` lists them")
            return found[0]
        norm = _normalise(text)
        found = [p for p in profiles if norm in (_normalise(p.get("Name", "")), _normalise(p.get("Key", "")))]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            listed = "; ".join(f"{p.get('Id')} {p.get('Name')}" for p in found[:6])
            raise FingertipsLookupError(f"profile name {text!r} matches several profiles ({listed}); give its id")
        names = {str(p.get("Name", "")): p for p in profiles}
        close = difflib.get_close_matches(text, list(names), n=4, cutoff=0.5)
        close += [n for n in names if norm and norm in _normalise(n) and n not in close][: 4 - len(close)]
        hint = ("; did you mean " + "; ".join(f"{names[n].get('Id')} {n!r}" for n in close) + "?") if close else ""
        raise FingertipsLookupError(f"no Fingertips profile is called {text!r}{hint} "
                                    "(`jsna fetch --list-profiles` lists them)")

    # ------------------------------------------------------------------ areas
    def area_types(self, profile_ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
        """``area_types``: all area types, or those used by the profiles (``Id``, ``Name``, ``Short``)."""
        params = {"profile_ids": ",".join(str(int(p)) for p in profile_ids)} if profile_ids else {}
        return _as_list(self._json("area_types", params), "area_types")

    def area_types_with_parents(self, profile_id: int | None = None) -> list[dict[str, Any]]:
        """``area_types/parent_area_types``: each area type with its ``ParentAreaTypes``."""
        params = {"profile_id": int(profile_id)} if profile_id is not None else {}
        return _as_list(self._json("area_types/parent_area_types", params), "area_types/parent_area_types")

    def areas_by_area_type(self, area_type_id: int, *, profile_id: int | None = None) -> list[dict[str, Any]]:
        """``areas/by_area_type``: areas of one type (``Code``, ``Name``, ``Short``, ``AreaTypeId``)."""
        params = {"area_type_id": int(area_type_id), "profile_id": _opt_int(profile_id)}
        return _as_list(self._json("areas/by_area_type", params), "areas/by_area_type")

    def areas_by_parent_area_code(self, area_type_id: int, parent_area_code: str, *,
                                  profile_id: int | None = None) -> list[dict[str, Any]]:
        """``areas/by_parent_area_code``: the areas of a type inside a parent area."""
        params = {"area_type_id": int(area_type_id), "parent_area_code": str(parent_area_code),
                  "profile_id": _opt_int(profile_id)}
        return _as_list(self._json("areas/by_parent_area_code", params), "areas/by_parent_area_code")

    def parent_to_child_areas(self, *, child_area_type_id: int, parent_area_type_id: int, profile_id: int,
                              nearest_neighbour_code: str | None = None) -> dict[str, list[str]]:
        """``parent_to_child_areas``: parent area code -> child area codes."""
        params = {"profile_id": int(profile_id), "child_area_type_id": int(child_area_type_id),
                  "parent_area_type_id": int(parent_area_type_id), "nearest_neighbour_code": nearest_neighbour_code}
        body = self._json("parent_to_child_areas", params)
        if not isinstance(body, dict):
            raise FingertipsResponseError(f"GET {describe_request('parent_to_child_areas', params)}: "
                                          "expected a JSON object of parent code -> child codes")
        return {str(k): [str(c) for c in (v or [])] for k, v in body.items()}

    def nearest_neighbour_types(self) -> list[dict[str, Any]]:
        """``nearest_neighbour_types``: the neighbour models (``NeighbourTypeId``, ``Name``, ...)."""
        return _as_list(self._json("nearest_neighbour_types"), "nearest_neighbour_types")

    def nearest_neighbours(self, area_code: str, *, area_type_id: int, neighbour_type_id: int = 1,
                           profile_id: int | None = None) -> list[dict[str, Any]]:
        """Statistical neighbours of an area (type 1 = CIPFA), in the API's order.

        There is no endpoint of their own: they are the "children" of the pseudo-parent
        ``nn-{neighbour_type_id}-{area_code}``.
        """
        return self.areas_by_parent_area_code(area_type_id, f"nn-{int(neighbour_type_id)}-{area_code}",
                                              profile_id=profile_id)

    # ------------------------------------------------------------------ indicators
    def available_data(self, *, indicator_id: int | None = None,
                       area_type_id: int | None = None) -> list[dict[str, Any]]:
        """``available_data``: (``IndicatorId``, ``AreaTypeId``) pairs that have data."""
        params = {"indicator_id": _opt_int(indicator_id), "area_type_id": _opt_int(area_type_id)}
        return _as_list(self._json("available_data", params), "available_data")

    def profile_group_roots(self, group_id: int, area_type_id: int) -> list[dict[str, Any]]:
        """``profile_group_roots``: the indicators of a domain at an area type, in display order.

        Each root carries ``IID``, ``PolarityId``, ``ComparatorMethodId``, ``SexId``, ``AgeId``
        and ``Grouping`` (per comparator: ``ComparatorId``, ``MethodId``, ``SigLevel``).
        """
        params = {"group_id": int(group_id), "area_type_id": int(area_type_id)}
        return _as_list(self._json("profile_group_roots", params), "profile_group_roots")

    def grouproot_summaries(self, profile_id: int, area_type_id: int) -> list[dict[str, Any]]:
        """``grouproot_summaries/by_profile_id``: one summary per indicator/sex/age of a profile."""
        params = {"profile_id": int(profile_id), "area_type_id": int(area_type_id)}
        return _as_list(self._json("grouproot_summaries/by_profile_id", params), "grouproot_summaries/by_profile_id")

    def indicator_metadata(self, indicator_ids: Iterable[int] | int) -> dict[int, dict[str, Any]]:
        """``indicator_metadata/by_indicator_id`` (100 ids per request): id -> metadata.

        Metadata carries ``Descriptive`` (``Name``, ``Definition``, ``DataSource``...), ``Unit``
        (``Label``, ``Value``), ``ValueType`` (``Name``), ``ConfidenceIntervalMethod`` and
        ``DataChange`` (``LastUploadedAt``). Ids the API does not know are simply absent.
        """
        out: dict[int, dict[str, Any]] = {}
        for chunk in _chunks(_ids(indicator_ids)):
            params = {"indicator_ids": ",".join(map(str, chunk)), "include_definition": "yes"}
            body = self._json("indicator_metadata/by_indicator_id", params)
            if isinstance(body, list):  # tolerate a list of metadata objects
                body = {str(m.get("IID")): m for m in body if isinstance(m, dict)}
            if not isinstance(body, dict):
                raise FingertipsResponseError(
                    f"GET {describe_request('indicator_metadata/by_indicator_id', params)}: expected a JSON object "
                    "of indicator id -> metadata")
            for key, value in body.items():
                iid = _int(key) or _int((value or {}).get("IID"))
                if iid is not None and isinstance(value, dict):
                    out[iid] = value
        return out

    def indicator_metadata_csv(self, *, indicator_ids: Iterable[int] | None = None, group_id: int | None = None,
                               profile_id: int | None = None) -> str:
        """Metadata as the Fingertips metadata CSV (``Indicator ID``, ``Polarity``, ``Value type``...).

        By indicator ids (with ``profile_id`` when given: polarity as that profile shows it), by
        group, or by profile.
        """
        if indicator_ids is not None:
            texts = [self._text("indicator_metadata/csv/by_indicator_id",
                                {"indicator_ids": ",".join(map(str, chunk)), "profile_id": _opt_int(profile_id)})
                     for chunk in _chunks(_ids(indicator_ids))]
            return _concat_csv(texts)
        if group_id is not None:
            return self._text("indicator_metadata/csv/by_group_id", {"group_id": int(group_id)})
        if profile_id is not None:
            return self._text("indicator_metadata/csv/by_profile_id", {"profile_id": int(profile_id)})
        raise FingertipsLookupError("indicator_metadata_csv needs indicator_ids, group_id or profile_id")

    def data_changes(self, indicator_id: int) -> dict[str, Any]:
        """``data_changes?indicator_id=``: ``LastUploadedAt`` / ``LastDeletedAt`` of one indicator."""
        body = self._json("data_changes", {"indicator_id": int(indicator_id)})
        return body if isinstance(body, dict) else {}

    def last_uploaded(self, indicator_ids: Iterable[int]) -> dict[int, str | None]:
        """``DataChange.LastUploadedAt`` per indicator (``None`` when the API gives none)."""
        metadata = self.indicator_metadata(indicator_ids)
        return {iid: _last_uploaded(metadata.get(iid)) for iid in _ids(indicator_ids)}

    # ------------------------------------------------------------------ data CSV
    def data_csv_by_indicator_ids(self, indicator_ids: Iterable[int] | int, *, child_area_type_id: int,
                                  parent_area_type_id: int = DEFAULT_PARENT_AREA_TYPE,
                                  profile_id: int | None = None, progress: bool = False,
                                  allow_empty: bool = False) -> list[DataCSV]:
        """``all_data/csv/by_indicator_id``, 100 ids per request; one :class:`DataCSV` per request.

        Pass ``profile_id`` whenever the indicators are read for a profile. A cached chunk is
        re-used until the ``LastUploadedAt`` of one of its indicators changes. Raises
        :class:`FingertipsNoDataError` when every request came back with the header only (unless
        ``allow_empty``); single empty chunks among others are returned with ``rows == 0``.
        """
        ids = _ids(indicator_ids)
        uploaded = {} if self.offline else self.last_uploaded(ids)
        chunks = _chunks(ids)
        results = []
        for chunk in _progress(chunks, progress, desc="Fingertips data", unit="request"):
            params = {"indicator_ids": ",".join(map(str, chunk)), "child_area_type_id": int(child_area_type_id),
                      "parent_area_type_id": int(parent_area_type_id), "profile_id": _opt_int(profile_id),
                      "include_sortable_time_periods": "yes"}
            expected = {str(i): uploaded.get(i) for i in chunk}
            results.append(self._data_csv("all_data/csv/by_indicator_id", params, requested=chunk,
                                          uploaded=expected))
        if not allow_empty and all(r.is_empty for r in results):
            raise FingertipsNoDataError(
                f"no data: GET {describe_request('all_data/csv/by_indicator_id', _first_params(results))} answered "
                f"with the header line only - indicator(s) {_list_ids(ids)} have no data for "
                f"{_area_type_text(child_area_type_id)} (parent {_area_type_text(parent_area_type_id)})"
                + (f" in profile {profile_id}" if profile_id is not None else "")
                + "; check the ids, the area type and the profile")
        return results

    def data_csv_by_group_id(self, group_id: int, *, child_area_type_id: int,
                             parent_area_type_id: int = DEFAULT_PARENT_AREA_TYPE, allow_empty: bool = False) -> DataCSV:
        """``all_data/csv/by_group_id`` (takes no ``profile_id``: the group belongs to one profile)."""
        params = {"group_id": int(group_id), "child_area_type_id": int(child_area_type_id),
                  "parent_area_type_id": int(parent_area_type_id), "include_sortable_time_periods": "yes"}
        result = self._data_csv("all_data/csv/by_group_id", params)
        if result.is_empty and not allow_empty:
            raise FingertipsNoDataError(f"no data: GET {result.description} answered with the header line only - "
                                        f"domain (group) {group_id} has no data for {_area_type_text(child_area_type_id)}")
        return result

    def data_csv_by_profile_id(self, profile_id: int, *, child_area_type_id: int,
                               parent_area_type_id: int = DEFAULT_PARENT_AREA_TYPE,
                               allow_empty: bool = False) -> DataCSV:
        """``all_data/csv/by_profile_id``: every indicator of a profile in one (large, slow) CSV."""
        params = {"profile_id": int(profile_id), "child_area_type_id": int(child_area_type_id),
                  "parent_area_type_id": int(parent_area_type_id), "include_sortable_time_periods": "yes"}
        result = self._data_csv("all_data/csv/by_profile_id", params)
        if result.is_empty and not allow_empty:
            raise FingertipsNoDataError(f"no data: GET {result.description} answered with the header line only - "
                                        f"profile {profile_id} has no data for {_area_type_text(child_area_type_id)}")
        return result

    def data_csv_for_one_indicator(self, indicator_id: int, *, allow_empty: bool = False) -> DataCSV:
        """``all_data/csv/for_one_indicator``: one indicator at every area type (no ``profile_id``)."""
        iid = _ids([indicator_id])[0]
        uploaded = {} if self.offline else {str(iid): self.last_uploaded([iid])[iid]}
        result = self._data_csv("all_data/csv/for_one_indicator", {"indicator_id": iid}, requested=[iid],
                                uploaded=uploaded)
        if result.is_empty and not allow_empty:
            raise FingertipsNoDataError(f"no data: GET {result.description} answered with the header line only - "
                                        f"indicator {iid} has no data at any area type")
        return result

    def _data_csv(self, path: str, params: dict[str, Any], *, requested: list[int] | None = None,
                  uploaded: dict[str, str | None] | None = None) -> DataCSV:
        what = describe_request(path, {k: v for k, v in params.items() if v is not None})

        def check(body: bytes) -> dict[str, Any]:
            rows, ids = _scan_data_csv(body.decode("utf-8-sig", errors="replace"), what)
            return {"rows": rows, "indicator_ids": ids, "requested_ids": requested or []}

        def upload_dates(body: bytes) -> dict[str, Any]:
            if uploaded is not None:
                return {"last_uploaded": uploaded}
            # by group / by profile: the ids are only known once the CSV is here
            _, ids = _scan_data_csv(body.decode("utf-8-sig", errors="replace"), what)
            dates = self.last_uploaded(ids) if ids else {}
            return {"last_uploaded": {str(k): v for k, v in dates.items()}}

        def fresh(cached: CachedResponse) -> bool:
            recorded = cached.meta.get("last_uploaded")
            if not isinstance(recorded, dict):
                return False
            if uploaded is not None:
                current = uploaded
            else:
                ids = [int(i) for i in recorded] or list(cached.meta.get("indicator_ids") or [])
                current = {str(k): v for k, v in self.last_uploaded(ids).items()} if ids else {}
            if current != recorded:
                return False
            # Without upload dates we cannot tell: fall back to the metadata age limit.
            if not current or any(v is None for v in current.values()):
                return cached.age() < self.metadata_max_age
            return True

        answer = self._get(path, params, fresh=fresh, check=check, extra_meta=upload_dates)
        if "rows" in answer.meta:
            rows, ids = int(answer.meta["rows"]), [int(i) for i in answer.meta.get("indicator_ids", [])]
        else:
            rows, ids = _scan_data_csv(answer.text, what)
        return DataCSV(path=path, params={k: v for k, v in params.items() if v is not None}, text=answer.text,
                       rows=rows, indicator_ids=ids, requested_ids=list(requested or []),
                       from_cache=answer.from_cache, downloaded_at=answer.downloaded_at)


# ----------------------------------------------------------------------------------- helpers
def _parse_json(body: bytes, what: str) -> Any:
    text = body.decode("utf-8-sig", errors="replace").strip()
    try:
        return json.loads(text)
    except ValueError:
        start = text[:60]
        page = " (an HTML page: a proxy or login page?)" if start.startswith("<") else ""
        raise FingertipsResponseError(f"GET {what}: the answer is not JSON{page}; it starts {start!r}") from None


def _as_list(body: Any, path: str) -> list[dict[str, Any]]:
    if body is None:
        return []
    if not isinstance(body, list):
        raise FingertipsResponseError(f"GET {path}: expected a JSON list, got {type(body).__name__}")
    return [item for item in body if isinstance(item, dict)]


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _normalise(text: Any) -> str:
    return " ".join(str(text or "").casefold().replace("&", " and ").split())


def _last_uploaded(metadata: Mapping[str, Any] | None) -> str | None:
    change = (metadata or {}).get("DataChange") or {}
    value = change.get("LastUploadedAt") if isinstance(change, Mapping) else None
    return str(value) if value else None


def _list_ids(ids: Sequence[int], limit: int = 8) -> str:
    shown = ", ".join(map(str, ids[:limit]))
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def _first_params(results: Sequence[DataCSV]) -> dict[str, Any]:
    if not results:
        return {}
    params = dict(results[0].params)
    ids = [i for r in results for i in r.requested_ids]
    params["indicator_ids"] = ",".join(map(str, ids))
    return params


def _concat_csv(texts: Sequence[str]) -> str:
    """Join CSV answers that share a header (keeps the first header only)."""
    if not texts:
        return ""
    out = [texts[0].rstrip("\r\n")]
    for text in texts[1:]:
        lines = text.split("\n", 1)
        if len(lines) == 2 and lines[1].strip():
            out.append(lines[1].rstrip("\r\n"))
    return "\r\n".join(out) + "\r\n"


def _progress(items: Sequence[Any], enabled: bool, **kwargs: Any) -> Iterator[Any]:
    """Iterate with a tqdm bar (on stderr, only on a terminal) when ``enabled`` and there is more than one item."""
    if not enabled or len(items) < 2:
        yield from items
        return
    from tqdm.auto import tqdm

    with tqdm(total=len(items), disable=None, leave=False, **kwargs) as bar:
        for item in items:
            yield item
            bar.update(1)


# --------------------------------------------------------------------------- canonical adapter
def canonical_value_type(name: str) -> str | None:
    """Fingertips value type name -> the canonical one (as the CSV importers map it), or None."""
    from ._common import map_value_type

    mapped = map_value_type(pd.Series([name], dtype="string")).iloc[0]
    return None if pd.isna(mapped) else str(mapped)


def comparator_method(method_id: Any, sig_level: Any) -> tuple[str, str | None]:
    """Canonical comparator method from a Fingertips ``ComparatorMethodId`` and significance level.

    Returns ``(method, note)``; ``note`` explains a method the workbench cannot reproduce (read
    as ``none``: no significance colouring rather than a wrong one).
    """
    method, level = _int(method_id), _float(sig_level)
    if method in (None, _NO_COMPARISON):
        return "none", None
    if method == _CI_TWO_LEVELS:
        return "ci_both", None
    if method == _CI_SECOND_LEVEL:
        return "ci_99_8", None
    if method == _CI_ONE_LEVEL:
        if level is not None and abs(level - 99.8) < 1e-6:
            return "ci_99_8", None
        if level is None or abs(level - 95.0) < 1e-6 or level <= 0:
            return "ci_95", None if level is not None else "significance level missing: read as 95%"
        return "ci_95", f"significance level {level:g} read as 95%"
    if method == _QUINTILES:
        return "quintiles", None
    return "none", f"comparator method {method} is not one the workbench reproduces (read as none)"


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _england_grouping(root: Mapping[str, Any]) -> Mapping[str, Any]:
    groupings = [g for g in (root.get("Grouping") or []) if isinstance(g, Mapping)]
    for g in groupings:
        if _int(g.get("ComparatorId")) == _ENGLAND_COMPARATOR:
            return g
    return groupings[0] if groupings else {}


class FingertipsSource:
    """:class:`~jsna_lib.sources.base.IndicatorSource` over the Fingertips API.

    Polarity and comparator method come from the profile's grouping (``profile_group_roots``),
    value type, unit, CI method, definition and source from ``indicator_metadata``, values from
    the data CSV read by :func:`jsna_lib.sources.fingertips_csv.read_fingertips_csv`.
    """

    def __init__(self, client: FingertipsClient | None = None) -> None:
        self.client = client or FingertipsClient()
        self.name = f"Fingertips API ({self.client.api_url})"
        #: indicators rows built by :meth:`indicators`, by id (metadata for the CSV reader)
        self._known: dict[int, dict[str, Any]] = {}
        self._profiles: list[dict[str, Any]] | None = None

    # -- area types
    @staticmethod
    def area_type_id(area_type: str | int) -> int:
        """Fingertips id of a canonical area type (an int is taken as an id as it is)."""
        if isinstance(area_type, int) or str(area_type).strip().isdigit():
            return int(area_type)
        try:
            return AREA_TYPE_IDS[str(area_type).strip().lower()]
        except KeyError:
            raise FingertipsLookupError(f"unknown area type {area_type!r}; use one of "
                                        f"{', '.join(AREA_TYPE_IDS)} (or a Fingertips area type id)") from None

    @staticmethod
    def canonical_area_type(area_type_id: int) -> str:
        return CANONICAL_AREA_TYPES.get(int(area_type_id), "other")

    # -- profiles and domains
    def profiles(self) -> pd.DataFrame:
        rows = [{"profile_id": _int(p.get("Id")), "name": str(p.get("Name") or ""), "key": str(p.get("Key") or ""),
                 "domain_ids": [int(g) for g in (p.get("GroupIds") or []) if _int(g) is not None]}
                for p in self._all_profiles()]
        frame = pd.DataFrame(rows, columns=[*PROFILE_COLUMNS, "domain_ids"])
        return frame.sort_values("profile_id", kind="stable").reset_index(drop=True)

    def _all_profiles(self) -> list[dict[str, Any]]:
        if self._profiles is None:
            self._profiles = self.client.profiles()
        return self._profiles

    def resolve_profile(self, profile: int | str) -> pd.Series:
        found = self.client.resolve_profile(profile, profiles=self._all_profiles())
        return pd.Series({"profile_id": _int(found.get("Id")), "name": str(found.get("Name") or ""),
                          "key": str(found.get("Key") or ""),
                          "domain_ids": [int(g) for g in (found.get("GroupIds") or []) if _int(g) is not None]})

    def domains(self, profile_id: int | str) -> pd.DataFrame:
        profile = self.resolve_profile(profile_id)
        metadata = {(_int(m.get("Id"))): m for m in self.client.group_metadata(profile["domain_ids"])}
        rows = []
        for position, group_id in enumerate(profile["domain_ids"]):
            m = metadata.get(group_id, {})
            rows.append({"domain_id": group_id, "name": str(m.get("Name") or f"Domain {group_id}"),
                         "sequence": _int(m.get("Sequence")) if _int(m.get("Sequence")) is not None else position,
                         "profile_id": profile["profile_id"]})
        frame = pd.DataFrame(rows, columns=list(DOMAIN_COLUMNS))
        return frame.sort_values("sequence", kind="stable").reset_index(drop=True)

    # -- indicators
    def indicators(self, profile_id: int | str, *, area_type: str | int,
                   indicator_ids: Sequence[int] | None = None) -> pd.DataFrame:
        """Canonical indicators of the profile at ``area_type``; ``.attrs["report"]`` lists what was left out."""
        area_type_id = self.area_type_id(area_type)
        profile = self.resolve_profile(profile_id)
        pid = int(profile["profile_id"])
        report: list[str] = []
        roots: dict[int, dict[str, Any]] = {}
        for domain in self.domains(pid).itertuples(index=False):
            for root in self.client.profile_group_roots(int(domain.domain_id), area_type_id):
                iid = _int(root.get("IID"))
                if iid is None:
                    continue
                if iid in roots:
                    if _int(root.get("PolarityId")) != roots[iid]["polarity_id"]:
                        report.append(f"indicator {iid}: polarity differs between domains of profile {pid}; "
                                      f"kept the one in {roots[iid]['domain']!r}")
                    continue
                grouping = _england_grouping(root)
                roots[iid] = {"domain": str(domain.name), "polarity_id": _int(root.get("PolarityId")),
                              "method_id": root.get("ComparatorMethodId", grouping.get("MethodId")),
                              "sig_level": grouping.get("SigLevel", grouping.get("ComparatorConfidence",
                                                                                  root.get("SigLevel"))),
                              "root_name": str(root.get("IndicatorName") or "")}
        if not roots:
            raise FingertipsNoDataError(f"profile {pid} ({profile['name']}) has no indicators at "
                                        f"{_area_type_text(area_type_id)} (GET profile_group_roots for its "
                                        f"{len(profile['domain_ids'])} domains); try the other area type")
        wanted = list(roots)
        if indicator_ids is not None:
            wanted = _ids(indicator_ids)
            missing = [i for i in wanted if i not in roots]
            if missing:
                raise FingertipsLookupError(
                    f"indicator(s) {_list_ids(missing)} are not in profile {pid} ({profile['name']}) at "
                    f"{_area_type_text(area_type_id)}; leave them out or choose the profile that holds them")
        metadata = self.client.indicator_metadata(wanted)
        rows = []
        for iid in wanted:
            root, meta = roots[iid], metadata.get(iid, {})
            descriptive = meta.get("Descriptive") or {}
            unit = meta.get("Unit") or {}
            value_type_name = str((meta.get("ValueType") or {}).get("Name") or "").strip()
            value_type = canonical_value_type(value_type_name) if value_type_name else None
            name = str(descriptive.get("Name") or root["root_name"] or f"Indicator {iid}")
            if not meta:
                report.append(f"indicator {iid}: no metadata from indicator_metadata/by_indicator_id; left out")
                continue
            if value_type is None:
                report.append(f"indicator {iid} ({_one_line(name, 60)}): value type {value_type_name or 'missing'!r} "
                              "is not one the workbench handles; left out")
                continue
            polarity = POLARITIES.get(root["polarity_id"]) if root["polarity_id"] is not None else None
            if polarity is None:
                report.append(f"indicator {iid}: polarity id {root['polarity_id']} unknown; read as Not applicable")
                polarity = "Not applicable"
            method, note = comparator_method(root["method_id"], root["sig_level"])
            if note:
                report.append(f"indicator {iid}: {note}")
            ci = meta.get("ConfidenceIntervalMethod") or {}
            rows.append({
                "indicator_id": iid, "name": name, "domain": root["domain"], "value_type": value_type,
                "unit": str(unit.get("Label") or ""), "multiplier": _float(unit.get("Value")),
                "polarity": polarity, "comparator_method": method,
                "ci_method": str(ci.get("Name") or "") if isinstance(ci, Mapping) else "",
                "definition": str(descriptive.get("Definition") or ""),
                "source": str(descriptive.get("DataSource") or ""),
                "last_uploaded_at": _last_uploaded(meta) or "",
            })
        frame = pd.DataFrame(rows, columns=[*schema.INDICATORS.columns, "last_uploaded_at"])
        frame = schema.validate(frame, "indicators") if len(frame) else frame
        self._known.update({int(r["indicator_id"]): r for r in rows})
        frame.attrs["report"] = report
        return frame

    def _metadata_frame(self, ids: Sequence[int]) -> pd.DataFrame:
        """Metadata for the CSV reader: rows :meth:`indicators` built, else the metadata JSON."""
        rows = []
        unknown = [i for i in ids if i not in self._known]
        metadata: dict[int, dict[str, Any]] = {}
        if unknown:
            try:
                metadata = self.client.indicator_metadata(unknown)
            except FingertipsOfflineError:
                metadata = {}  # the reader then infers or defaults, and says so in its report
        for iid in ids:
            if iid in self._known:
                rows.append(self._known[iid])
                continue
            meta = metadata.get(iid) or {}
            unit = meta.get("Unit") or {}
            name = str((meta.get("ValueType") or {}).get("Name") or "")
            rows.append({"indicator_id": iid, "name": str((meta.get("Descriptive") or {}).get("Name") or "") or None,
                         "value_type": canonical_value_type(name) if name else None,
                         "unit": str(unit.get("Label") or "") or None, "multiplier": _float(unit.get("Value"))})
        return pd.DataFrame(rows)

    # -- areas
    def areas(self, area_type: str | int, *, parent_code: str | None = None,
              profile_id: int | str | None = None) -> pd.DataFrame:
        """Canonical areas of one type (with parent and region codes for LAs when ``profile_id`` is given)."""
        area_type_id = self.area_type_id(area_type)
        pid = _int(profile_id) if profile_id is not None else None
        if parent_code:
            raw = self.client.areas_by_parent_area_code(area_type_id, parent_code, profile_id=pid)
        else:
            raw = self.client.areas_by_area_type(area_type_id, profile_id=pid)
        canonical = self.canonical_area_type(area_type_id)
        region_of: dict[str, str] = {}
        if pid is not None and canonical in ("utla", "ltla"):
            mapping = self.client.parent_to_child_areas(child_area_type_id=area_type_id,
                                                        parent_area_type_id=AREA_TYPE_IDS["region"], profile_id=pid)
            region_of = {child: parent for parent, children in mapping.items() for child in children}
        rows = []
        for a in raw:
            code = str(a.get("Code") or "").strip()
            if not code:
                continue
            rows.append({"area_code": code, "area_name": str(a.get("Name") or ""),
                         "area_type": self.canonical_area_type(_int(a.get("AreaTypeId")) or area_type_id),
                         "parent_code": parent_code or region_of.get(code, ""),
                         "region_code": region_of.get(code, "")})
        frame = pd.DataFrame(rows, columns=list(schema.AREAS.columns))
        return schema.validate(frame, "areas") if len(frame) else frame

    # -- values
    def values(self, indicator_ids: Sequence[int], *, area_type: str | int, profile_id: int | str | None = None,
               progress: bool = False) -> SourceValues:
        area_type_id = self.area_type_id(area_type)
        pid = _int(profile_id) if profile_id is not None else None
        ids = _ids(indicator_ids)
        chunks = self.client.data_csv_by_indicator_ids(ids, child_area_type_id=area_type_id,
                                                       parent_area_type_id=DEFAULT_PARENT_AREA_TYPE,
                                                       profile_id=pid, progress=progress)
        report: list[str] = []
        frames = []
        for chunk in chunks:
            if chunk.is_empty:
                report.append(f"no data for indicator(s) {_list_ids(chunk.requested_ids)} at "
                              f"{_area_type_text(area_type_id)}" + (f" in profile {pid}" if pid is not None else ""))
                continue
            metadata = self._metadata_frame(chunk.indicator_ids)
            result = read_data_csv(chunk.text, name=f"GET {chunk.description}", metadata=metadata)
            frames.append(result.values)
            report.extend(_report_lines(result))
        values = pd.concat(frames, ignore_index=True) if frames else schema.empty("values")
        present = {int(i) for c in chunks for i in c.indicator_ids}
        absent = [i for i in ids if i not in present]
        if absent and len(absent) < len(ids):
            report.append(f"no data for indicator(s) {_list_ids(absent)} at {_area_type_text(area_type_id)}")
        cached = sum(c.from_cache for c in chunks)
        provenance = {
            "api_url": self.client.api_url, "area_type_id": area_type_id, "profile_id": pid,
            "requests": len(chunks), "from_cache": cached,
            "downloaded_at": {"earliest": min(c.downloaded_at for c in chunks).isoformat(),
                              "latest": max(c.downloaded_at for c in chunks).isoformat()},
        }
        return SourceValues(values=values, report=report, provenance=provenance)


def read_data_csv(text: str, *, name: str, metadata: pd.DataFrame | None = None) -> Any:
    """Hand a data CSV answer to the Fingertips CSV reader (the one path from CSV text to canonical frames).

    Returns its :class:`~jsna_lib.sources.ImportResult` (``values``, ``indicators``, ``report``).
    """
    from .fingertips_csv import read_fingertips_csv

    return read_fingertips_csv(io.StringIO(text, newline=""), metadata=metadata, name=name)


def _report_lines(result: Any) -> list[str]:
    """The reader's report as lines (its summary, without the per-file headline)."""
    report = getattr(result, "report", None)
    if report is None:
        return []
    text = report.summary() if hasattr(report, "summary") else str(report)
    lines = [line.strip() for line in text.splitlines() if line.strip()][1:]
    return [line[len("note: "):] if line.startswith("note: ") else line for line in lines]


__all__ = [
    "AREA_TYPE_IDS", "CANONICAL_AREA_TYPES", "DEFAULT_API_URL", "MAX_IDS_PER_REQUEST", "CachedResponse", "DataCSV",
    "FingertipsAPIError", "FingertipsBadRequestError", "FingertipsCertificateError", "FingertipsClient",
    "FingertipsConnectionError", "FingertipsHTTPError", "FingertipsLookupError", "FingertipsNoDataError",
    "FingertipsNotFoundError", "FingertipsOfflineError", "FingertipsResponseError", "FingertipsServerError",
    "FingertipsSource", "ResponseCache", "RetryPolicy", "comparator_method", "default_cache_dir", "describe_request",
    "join_url", "read_data_csv", "resolve_api_url",
]
