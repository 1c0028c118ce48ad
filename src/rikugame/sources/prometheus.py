"""An async Prometheus HTTP API client: POST queries, auth, TLS, bounded concurrency, retries.

Only ``/api/v1/query`` and ``/api/v1/query_range`` are used, always with a POST form body (long pod
selectors break GET URLs; robusta-dev/krr#60). 5xx answers, timeouts and refused or reset connections are
retried with exponential backoff; what cannot succeed on a retry fails at once: a URL without an
``http://``/``https://`` scheme or host (checked before any request), a host name that does not resolve,
and a 4xx answer (bad PromQL, refused auth), with Prometheus' own error text. An HTML answer (a UI, a
login page, a proxy's error page) says so and asks whether the URL is Prometheus'. Results are parsed
into numpy arrays per series, so nothing keeps Python objects per sample.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, overload

import httpx
import numpy as np
import numpy.typing as npt
import orjson

from rikugame.errors import PrometheusError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Form = dict[str, str | list[str]]
"""A POST form: ``match[]`` repeats."""

RETRYABLE_STATUS = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class Series:
    """One series of a query result: its labels and its samples (one sample for an instant vector)."""

    labels: dict[str, str]
    timestamps: IntArray
    values: FloatArray


@dataclass(frozen=True)
class PrometheusSettings:
    """How to reach Prometheus (or Thanos / Mimir / VictoriaMetrics, which speak the same API)."""

    url: str
    bearer_token: str | None = None
    basic_auth: tuple[str, str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    verify: bool | str = True
    """False to skip TLS verification, or a CA bundle path."""
    client_cert: str | tuple[str, str] | None = None
    """A client certificate file, or (certificate, key) files, for mutual TLS."""
    timeout_seconds: float = 120.0
    concurrency: int = 3
    retries: int = 4
    backoff_seconds: float = 0.5


@dataclass
class QueryStats:
    """What the client did, for the report's footer and the bench."""

    queries: int = 0
    retries: int = 0
    samples: int = 0
    response_bytes: int = 0


def _ssl_context(settings: PrometheusSettings) -> ssl.SSLContext | bool:
    if settings.verify is False:
        if settings.client_cert is None:
            return False
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif isinstance(settings.verify, str):
        ctx = ssl.create_default_context(cafile=settings.verify)
    else:
        ctx = ssl.create_default_context()
    if settings.client_cert is not None:
        if isinstance(settings.client_cert, str):
            ctx.load_cert_chain(settings.client_cert)
        else:
            ctx.load_cert_chain(*settings.client_cert)
    return ctx


def check_url(url: str) -> str:
    """``url`` if it is an absolute http(s) URL with a host; PrometheusError (one line) otherwise."""
    example = "e.g. http://prometheus.monitoring:9090"
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise PrometheusError(f"Prometheus URL {url!r} is not a URL ({example})") from exc
    if parsed.scheme not in ("http", "https"):
        raise PrometheusError(f"Prometheus URL {url!r} needs an http:// or https:// scheme ({example})")
    if not parsed.host:
        raise PrometheusError(f"Prometheus URL {url!r} has no host ({example})")
    return url


def _dns_failure(exc: BaseException) -> socket.gaierror | None:
    """The name-resolution error behind a connection failure, if that is what it was."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, socket.gaierror):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    text = str(exc)
    if any(m in text for m in ("Name or service not known", "nodename nor servname", "No address associated",
                               "Temporary failure in name resolution", "getaddrinfo failed")):
        return socket.gaierror(text)
    return None


def _looks_like_html(content: bytes, content_type: str = "") -> bool:
    head = content[:512].lstrip().lower()
    return "text/html" in content_type.lower() or head.startswith((b"<!doctype html", b"<html", b"<head"))


def _seconds(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


class PrometheusClient:
    """Async client; use as ``async with PrometheusClient(settings) as prom: …``."""

    def __init__(self, settings: PrometheusSettings, *, transport: httpx.AsyncBaseTransport | None = None):
        check_url(settings.url)
        self.settings = settings
        self.stats = QueryStats()
        headers = {"Accept": "application/json", **dict(settings.headers)}
        if settings.bearer_token:
            headers["Authorization"] = f"Bearer {settings.bearer_token}"
        auth = httpx.BasicAuth(*settings.basic_auth) if settings.basic_auth else None
        self._http = httpx.AsyncClient(
            base_url=settings.url.rstrip("/"), headers=headers, auth=auth, verify=_ssl_context(settings),
            timeout=httpx.Timeout(settings.timeout_seconds, connect=min(10.0, settings.timeout_seconds)),
            transport=transport, follow_redirects=True)
        self._limit = asyncio.Semaphore(max(1, settings.concurrency))

    async def __aenter__(self) -> PrometheusClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def query(self, promql: str, time: float) -> list[Series]:
        """An instant query evaluated at ``time`` (Unix seconds): one sample per series."""
        data = await self._post("/api/v1/query", {"query": promql, "time": _seconds(time)})
        result = _parse(data, promql)
        self.stats.samples += len(result)
        return result

    async def query_range(self, promql: str, start: float, end: float, step: float) -> list[Series]:
        """A range query from ``start`` to ``end`` (inclusive) every ``step`` seconds."""
        content = await self._post("/api/v1/query_range", {
            "query": promql, "start": _seconds(start), "end": _seconds(end), "step": _seconds(step)},
            raw=True)
        return self._matrix(content, promql)

    async def series(self, selectors: Sequence[str], start: float, end: float) -> list[dict[str, str]]:
        """The label sets of every series matching any of ``selectors`` with a sample in [start, end]
        (``/api/v1/series``: read from the index, no sample is loaded)."""
        data: Any = await self._post("/api/v1/series", {
            "match[]": list(selectors), "start": _seconds(start), "end": _seconds(end)})
        if not isinstance(data, list):
            raise PrometheusError(f"Prometheus at {self.settings.url} answered the series API without a list")
        self.stats.samples += len(data)
        return [dict(labels) for labels in data]

    async def query_history(self, promql: str, time: float) -> list[Series]:
        """An instant query whose answer is a range vector (a subquery or ``metric[5m]``): every sample of
        every series, parsed like a range query's answer."""
        content = await self._post("/api/v1/query", {"query": promql, "time": _seconds(time)}, raw=True)
        return self._matrix(content, promql)

    def _matrix(self, content: bytes, promql: str) -> list[Series]:
        fast = parse_matrix_fast(content)
        if fast is not None:
            self.stats.samples += sum(len(s.values) for s in fast)
            return fast
        return _parse(_decode_bytes(content, self.settings.url), promql)

    @overload
    async def _post(self, path: str, form: Form, raw: Literal[False] = False) -> Any: ...

    @overload
    async def _post(self, path: str, form: Form, raw: Literal[True]) -> bytes: ...

    async def _post(self, path: str, form: Form, raw: bool = False) -> Any:
        s = self.settings
        async with self._limit:
            attempt = 0
            while True:
                if attempt == 0:
                    self.stats.queries += 1
                try:
                    # Streamed so the body is held only by us: a read ``Response`` keeps its content in
                    # reference cycles until a full garbage collection (MBs per range query).
                    async with self._http.stream("POST", path, data=form) as response:
                        if response.status_code < 400:
                            content = b"".join([part async for part in response.aiter_bytes()])
                        else:
                            await response.aread()
                except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
                    raise PrometheusError(f"cannot query Prometheus at {s.url}: {exc}") from exc
                except (httpx.TimeoutException, httpx.TransportError) as exc:
                    dns = _dns_failure(exc) if isinstance(exc, httpx.ConnectError) else None
                    if dns is not None:
                        host = httpx.URL(s.url).host
                        raise PrometheusError(f"cannot reach Prometheus at {s.url}: the host name {host!r} does "
                                              f"not resolve ({dns})") from exc
                    if attempt >= s.retries:
                        raise PrometheusError(
                            f"cannot reach Prometheus at {s.url}: {type(exc).__name__}: {exc or 'no answer'}"
                        ) from exc
                else:
                    if response.status_code < 400:
                        self.stats.response_bytes += len(content)
                        if _looks_like_html(content, response.headers.get("content-type", "")):
                            raise PrometheusError(
                                f"{s.url} answered with an HTML page (HTTP {response.status_code}), not the "
                                "Prometheus API: is this a Prometheus URL? (give the server's root, e.g. "
                                "http://prometheus:9090, not a UI or login page)")
                        return content if raw else _decode_bytes(content, s.url)
                    if response.status_code not in RETRYABLE_STATUS or attempt >= s.retries:
                        what = form.get("query", form.get("match[]", ""))
                        raise PrometheusError(_describe_failure(
                            response, what if isinstance(what, str) else " or ".join(what), s.url))
                attempt += 1
                self.stats.retries += 1
                await asyncio.sleep(s.backoff_seconds * 2 ** (attempt - 1))


_MATRIX_HEAD = b'{"status":"success","data":{"resultType":"matrix","result":['
_TO_SPACES = bytes.maketrans(b'[],"', b"    ")


def parse_matrix_fast(content: bytes) -> list[Series] | None:
    """Parse a successful range-query answer without building a Python object per sample.

    Prometheus writes ``{"metric":{…},"values":[[t,"v"],…]}`` per series; the labels are decoded with
    orjson, the points by :func:`_points` (≈10× faster than generic JSON for long histories).
    Returns None for anything else (errors, warnings, native histograms): the caller falls back."""
    if not content.startswith(_MATRIX_HEAD):
        return None
    out: list[Series] = []
    pos = len(_MATRIX_HEAD)
    while True:
        start = content.find(b'{"metric":', pos)
        if start < 0:
            break
        values_at = content.find(b',"values":[', start)
        if values_at < 0:
            return None
        labels = orjson.loads(content[start + 10:values_at])
        if content.startswith(b"]}", values_at + 11):  # a series without samples
            pos = values_at + 13
            continue
        stop = content.find(b"]]}", values_at)
        if stop < 0:
            return None
        points = _points(content[values_at + 10:stop + 2])
        if points is None:
            return None
        out.append(Series(labels, points[:, 0].astype(np.int64), points[:, 1]))
        pos = stop + 3
    tail = content[pos:].strip()
    if not tail.startswith(b"]}"):
        return None
    return out


def _points(values: bytes) -> npt.NDArray[np.float64] | None:
    """``[[t,"v"],…]`` as an (n, 2) float array. Flattened and unquoted (``[t,v,t,v,…]``) it is one JSON
    list of numbers for orjson: 4× faster than numpy's text parser, which takes the few values that are not
    JSON numbers (``"NaN"``, ``"+Inf"``)."""
    flat = b"[" + values[2:-2].replace(b"],[", b",").replace(b'"', b"") + b"]"
    try:
        numbers = np.array(orjson.loads(flat), dtype=np.float64)
    except (orjson.JSONDecodeError, ValueError, TypeError):
        numbers = np.fromstring(values.translate(_TO_SPACES).decode(), sep=" ")
    if numbers.ndim != 1 or len(numbers) % 2:
        return None
    return numbers.reshape(-1, 2)


def _decode_bytes(content: bytes, url: str) -> Any:
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise PrometheusError(
            f"{url} did not answer with Prometheus JSON (is this a Prometheus URL?)") from exc
    if not isinstance(body, dict) or body.get("status") != "success":
        raise PrometheusError(f"Prometheus at {url} answered an error: {body}")
    data = body.get("data")
    if not isinstance(data, dict | list):
        raise PrometheusError(f"Prometheus at {url} answered without data")
    return data


def _describe_failure(response: httpx.Response, promql: str, url: str) -> str:
    if _looks_like_html(response.content, response.headers.get("content-type", "")):
        return (f"{url} answered with an HTML page (HTTP {response.status_code}), not the Prometheus API: "
                "is this a Prometheus URL?")
    detail = ""
    try:
        body = orjson.loads(response.content)
        if isinstance(body, dict):
            detail = f"{body.get('errorType', '')}: {body.get('error', '')}".strip(": ")
    except orjson.JSONDecodeError:
        detail = response.text.strip().splitlines()[0][:200] if response.text.strip() else ""
    what = {400: "rejected the query", 401: "refused the credentials", 403: "forbids this query",
            404: "has no such API (is the URL the Prometheus root?)", 422: "could not run the query"}.get(
        response.status_code, "failed")
    short = " ".join(promql.split())
    if len(short) > 160:
        short = short[:157] + "..."
    return f"Prometheus at {url} {what} (HTTP {response.status_code}{': ' + detail if detail else ''}); " \
           f"query: {short}"


def _parse(data: Any, promql: str) -> list[Series]:
    if not isinstance(data, dict):
        raise PrometheusError(f"unexpected answer to query {promql!r}: {str(data)[:120]}")
    kind = data.get("resultType")
    result = data.get("result", [])
    out: list[Series] = []
    if kind == "vector":
        for item in result:
            ts, value = item["value"]
            out.append(Series(item["metric"], np.array([int(ts)], dtype=np.int64),
                              np.array([float(value)], dtype=np.float64)))
    elif kind == "matrix":
        for item in result:
            values = item["values"]
            if not values:
                continue
            ts, vs = zip(*values, strict=True)
            out.append(Series(item["metric"], np.array(ts, dtype=np.float64).astype(np.int64),
                              np.array(vs, dtype=np.float64)))
    elif kind == "scalar":
        ts, value = result
        out.append(Series({}, np.array([int(ts)], dtype=np.int64),
                          np.array([float(value)], dtype=np.float64)))
    else:
        raise PrometheusError(f"unexpected result type {kind!r} for query {promql!r}")
    return out
