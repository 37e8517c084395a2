"""The Fingertips API client against a real HTTP server on 127.0.0.1 serving answers in the API's format.

The server (``FakeFingertips``) runs in a thread on a free loopback port and answers from
``tests/fixtures/fingertips_api`` (see its README): data CSV rows filtered by the ids asked for,
JSON files named after the request. Each test can script misbehaviour per path (an HTTP status
with a body, a slow answer, a dropped connection) and read back every request the server saw.
Back-off pauses are recorded instead of slept, so the file runs in a few seconds.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import threading
import time
from collections import defaultdict, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pandas as pd
import pytest
import requests

from jsna_lib import fetch_cli
from jsna_lib.sources import fingertips_api as ft
from jsna_lib.sources.base import IndicatorSource
from jsna_lib.sources.fingertips_api import (
    FingertipsAPIError,
    FingertipsBadRequestError,
    FingertipsCertificateError,
    FingertipsClient,
    FingertipsConnectionError,
    FingertipsLookupError,
    FingertipsNoDataError,
    FingertipsNotFoundError,
    FingertipsOfflineError,
    FingertipsResponseError,
    FingertipsServerError,
    FingertipsSource,
    RetryPolicy,
)

FIXTURES = Path(__file__).parent / "fixtures" / "fingertips_api"
COSMMH = [1730, 10101, 11202, 11501, 90402, 91126, 91872, 92863]  # profile 90 (illustrative id)
CAMPYLOBACTER = 93356  # profile 32
PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY",
              "no_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "FINGERTIPS_API_URL")


# ------------------------------------------------------------------------------ test server
class FakeFingertips:
    """A loopback HTTP server answering like the Fingertips API, with scripted misbehaviour."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.plans: dict[str, deque] = defaultdict(deque)
        self.uploaded: dict[int, str] = {}  # LastUploadedAt overrides
        self.lock = threading.Lock()
        with (FIXTURES / "all_data.csv").open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            self.header = next(reader)
            self.rows = [r for r in reader if r]
        self.metadata = json.loads((FIXTURES / "indicator_metadata.json").read_text("utf-8"))
        self.groups = json.loads((FIXTURES / "group_metadata.json").read_text("utf-8"))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.fake = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.running = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/api/"

    def start(self) -> FakeFingertips:
        self.thread.start()
        self.running = True
        return self

    def stop(self) -> None:
        if self.running:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.running = False

    def plan(self, path: str, *behaviours: tuple) -> None:
        """Misbehave on the next requests to ``path``: ("status", code, body, type[, headers]), ("sleep", s), ("drop",)."""
        self.plans[path].extend(behaviours)

    def seen(self, path: str) -> list[dict[str, str]]:
        with self.lock:
            return [p for rel, p in self.requests if rel == path]

    # -- answers
    def csv_for(self, ids: set[int]) -> bytes:
        buf = io.StringIO(newline="")
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(self.header)
        writer.writerows(r for r in self.rows if int(r[0]) in ids)
        return buf.getvalue().encode("utf-8")

    def respond(self, rel: str, params: dict[str, str]) -> tuple[int, str, bytes]:
        ids = {int(i) for i in params.get("indicator_ids", "").split(",") if i.strip().isdigit()}
        if rel == "all_data/csv/by_indicator_id":
            return 200, "application/octet-stream", self.csv_for(ids)
        if rel == "all_data/csv/by_profile_id":
            wanted = set(COSMMH) if params.get("profile_id") == "90" else set()
            return 200, "application/octet-stream", self.csv_for(wanted)
        if rel == "all_data/csv/by_group_id":
            roots = FIXTURES / (f"profile_group_roots__area_type_id={params.get('child_area_type_id')}"
                                f"__group_id={params.get('group_id')}.json")
            if not roots.exists():  # an unknown group id: a 500, as the live API gives
                return 500, "application/json", json.dumps({"Message": "An error has occurred."}).encode()
            return 200, "application/octet-stream", self.csv_for({r["IID"] for r in json.loads(roots.read_text())})
        if rel == "all_data/csv/for_one_indicator":
            return 200, "application/octet-stream", self.csv_for({int(params.get("indicator_id", "0"))})
        if rel == "indicator_metadata/by_indicator_id":
            out = {}
            for key, meta in self.metadata.items():
                if int(key) in ids:
                    meta = json.loads(json.dumps(meta))
                    if int(key) in self.uploaded:
                        meta["DataChange"]["LastUploadedAt"] = self.uploaded[int(key)]
                    out[key] = meta
            return 200, "application/json", json.dumps(out).encode()
        if rel == "indicator_metadata/csv/by_indicator_id":
            lines = (FIXTURES / "indicator_metadata.csv").read_text("utf-8").splitlines()
            keep = [lines[0]] + [ln for ln in lines[1:] if int(ln.split(",")[0]) in ids]
            return 200, "application/octet-stream", ("\r\n".join(keep) + "\r\n").encode()
        if rel == "group_metadata":
            wanted = {int(g) for g in params.get("group_ids", "").split(",") if g}
            return 200, "application/json", json.dumps([g for g in self.groups if g["Id"] in wanted]).encode()
        name = rel.replace("/", "__") + "".join(f"__{k}={v}" for k, v in sorted(params.items())) + ".json"
        path = FIXTURES / name
        if path.exists():
            return 200, "application/json", path.read_bytes()
        if rel == "profile_group_roots":  # the live API gives a 500 for an unknown group id, every time
            return 500, "application/json", json.dumps({"Message": "An error has occurred."}).encode()
        return 404, "application/json", json.dumps(
            {"Message": f"No HTTP resource was found that matches the request URI '/api/{rel}'."}).encode()


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format, *args):
        pass

    def do_GET(self) -> None:
        fake: FakeFingertips = self.server.fake  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        rel = parts.path[len("/api/"):] if parts.path.startswith("/api/") else parts.path
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        with fake.lock:
            fake.requests.append((rel, params))
            behaviour = fake.plans[rel].popleft() if fake.plans[rel] else None
        try:
            if behaviour is not None:
                if behaviour[0] == "drop":  # close the socket without any answer
                    self.close_connection = True
                    return
                if behaviour[0] == "sleep":
                    time.sleep(behaviour[1])
                elif behaviour[0] == "status":
                    _, code, body, ctype, *rest = behaviour
                    self._send(code, ctype, body.encode() if isinstance(body, str) else body, rest[0] if rest else {})
                    return
            code, ctype, body = fake.respond(rel, params)
            self._send(code, ctype, body, {})
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (read timeout)
            pass

    def _send(self, code: int, ctype: str, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)


# ------------------------------------------------------------------------------ fixtures
@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    """No proxy or CA settings from the machine running the tests leak in."""
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def api():
    fake = FakeFingertips().start()
    yield fake
    fake.stop()


def client_for(api: FakeFingertips, tmp_path: Path, *, attempts: int = 3, timeout=(2.0, 2.0), **kwargs):
    sleeps: list[float] = []
    retry = RetryPolicy(attempts=attempts, backoff=0.01, max_backoff=0.04, max_retry_after=60, sleep=sleeps.append)
    client = FingertipsClient(api.url, cache_dir=tmp_path / "cache", timeout=timeout, retry=retry, **kwargs)
    client.sleeps = sleeps  # type: ignore[attr-defined]
    return client


def fetch_args(api_url: str, tmp_path: Path, *extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="jsna")
    sub = parser.add_subparsers(dest="command", required=True)
    fetch_cli.add_parser(sub)
    return parser.parse_args(["fetch", "--api-url", api_url, "--cache-dir", str(tmp_path / "cache"), *extra])


def fast_retries(monkeypatch) -> list[float]:
    """Make the CLI's client record its back-off pauses instead of sleeping."""
    sleeps: list[float] = []
    monkeypatch.setattr(fetch_cli, "RetryPolicy", lambda: RetryPolicy(attempts=3, backoff=0.01, sleep=sleeps.append))
    return sleeps


# ------------------------------------------------------------------------------ addresses
def test_api_root_is_configurable_and_joined_without_losing_api(monkeypatch):
    assert ft.resolve_api_url(None) == "https://fingertips.phe.org.uk/api/"
    monkeypatch.setenv("FINGERTIPS_API_URL", "https://mirror.example.org/fingertips/api")
    assert ft.resolve_api_url(None) == "https://mirror.example.org/fingertips/api/"
    assert ft.resolve_api_url("https://x.example/api//") == "https://x.example/api/"
    assert ft.join_url("https://x.example/api", "profiles") == "https://x.example/api/profiles"
    assert ft.join_url("https://x.example/api/", "/all_data/csv/by_indicator_id") == \
        "https://x.example/api/all_data/csv/by_indicator_id"
    for bad in ("http://fingertips.phe.org.uk/api/", "ftp://x.example/api", "fingertips.phe.org.uk/api",
                "https://x.example/api?x=1"):
        with pytest.raises(FingertipsAPIError):
            ft.resolve_api_url(bad)
    assert ft.resolve_api_url("http://127.0.0.1:8080/api") == "http://127.0.0.1:8080/api/"


def test_indicator_ids_are_checked_before_sending():
    assert ft._ids(["93356", 1730, 1730]) == [1730, 93356]
    with pytest.raises(FingertipsLookupError, match="'abc'"):
        ft._ids([1730, "abc"])  # the API would silently skip it
    assert fetch_cli.parse_indicator_ids(["90362", "92901,93014", "90362"]) == [90362, 92901, 93014]
    with pytest.raises(ValueError, match="x1"):
        fetch_cli.parse_indicator_ids(["90362", "x1"])


# ------------------------------------------------------------------------------ endpoints
def test_lookups_profiles_areas_neighbours(api, tmp_path):
    client = client_for(api, tmp_path)
    profiles = client.profiles()
    assert {p["Id"] for p in profiles} == {19, 32, 90, 91}
    assert [t["Id"] for t in client.area_types()] == [15, 6, 502, 501, 102]
    domains = client.group_metadata([1938132971, 1938132972])
    assert [d["Name"] for d in domains] == ["Deprivation and social context", "Crime, homelessness and employment"]
    areas = client.areas_by_area_type(502, profile_id=90)
    assert "E06000015" in {a["Code"] for a in areas}
    mapping = client.parent_to_child_areas(child_area_type_id=502, parent_area_type_id=6, profile_id=90)
    assert "E06000015" in mapping["E12000004"]
    neighbours = client.nearest_neighbours("E06000015", area_type_id=502, profile_id=90)
    assert [n["Code"] for n in neighbours] == ["E06000018", "E06000016"]
    assert api.seen("areas/by_parent_area_code")[-1]["parent_area_code"] == "nn-1-E06000015"
    assert client.nearest_neighbour_types()[0]["NeighbourTypeId"] == 1
    assert {d["AreaTypeId"] for d in client.available_data(indicator_id=CAMPYLOBACTER)} == {6, 15, 502}
    assert client.data_changes(CAMPYLOBACTER)["LastUploadedAt"].startswith("2018-11-06")
    roots = client.profile_group_roots(1938132694, 502)
    assert roots[0]["IID"] == CAMPYLOBACTER and roots[0]["PolarityId"] == 0
    metadata_csv = client.indicator_metadata_csv(indicator_ids=[CAMPYLOBACTER], profile_id=32)
    assert "RAG - Low is good" in metadata_csv
    assert api.seen("indicator_metadata/csv/by_indicator_id")[-1]["profile_id"] == "32"
    # profile_id goes wherever the endpoint takes it
    assert api.seen("areas/by_area_type")[-1] == {"area_type_id": "502", "profile_id": "90"}
    assert api.seen("parent_to_child_areas")[-1]["profile_id"] == "90"


def test_profiles_resolve_by_id_key_or_exact_name_never_a_guess(api, tmp_path):
    client = client_for(api, tmp_path)
    assert client.resolve_profile(90)["Id"] == 90
    assert client.resolve_profile("health-protection")["Id"] == 32
    assert client.resolve_profile("  co-occurring SUBSTANCE misuse and mental health issues ")["Id"] == 90
    with pytest.raises(FingertipsLookupError) as err:
        client.resolve_profile("Co-occuring substance misuse")
    assert "90" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(FingertipsLookupError, match="no Fingertips profile has id 999"):
        client.resolve_profile("999")


def test_metadata_carries_upload_dates(api, tmp_path):
    client = client_for(api, tmp_path)
    metadata = client.indicator_metadata([CAMPYLOBACTER, 1730, 424242])
    assert set(metadata) == {CAMPYLOBACTER, 1730}  # unknown ids are simply absent
    assert metadata[CAMPYLOBACTER]["ValueType"]["Name"] == "Crude rate"
    assert api.seen("indicator_metadata/by_indicator_id")[-1]["include_definition"] == "yes"
    uploaded = client.last_uploaded([CAMPYLOBACTER, 424242])
    assert uploaded[CAMPYLOBACTER] == "2018-11-06T09:00:47.123" and uploaded[424242] is None


def test_data_requests_are_chunked_at_100_ids(api, tmp_path):
    client = client_for(api, tmp_path)
    ids = [*COSMMH, CAMPYLOBACTER, *range(200_000, 200_141)]  # 150 ids
    chunks = client.data_csv_by_indicator_ids(ids, child_area_type_id=502, parent_area_type_id=6, profile_id=90)
    seen = api.seen("all_data/csv/by_indicator_id")
    assert len(seen) == 2  # the server saw two requests
    assert [len(p["indicator_ids"].split(",")) for p in seen] == [100, 50]
    assert all(p["profile_id"] == "90" and p["child_area_type_id"] == "502" and p["parent_area_type_id"] == "6"
               for p in seen)
    assert len(api.seen("indicator_metadata/by_indicator_id")) == 2  # freshness check, chunked too
    assert [c.rows for c in chunks] == [142, 0] and chunks[1].is_empty
    assert set(chunks[0].indicator_ids) == {*COSMMH, CAMPYLOBACTER}
    assert "Campylobacter incidence rate/100,000\n" in chunks[0].text  # line break inside quotes kept


def test_header_only_csv_is_a_clear_one_line_error(api, tmp_path):
    client = client_for(api, tmp_path)
    with pytest.raises(FingertipsNoDataError) as err:
        client.data_csv_by_indicator_ids([999_999], child_area_type_id=502, profile_id=90)
    message = str(err.value)
    assert "\n" not in message
    for part in ("999999", "area type 502", "Counties & UAs", "profile 90", "header line only",
                 "all_data/csv/by_indicator_id"):
        assert part in message
    with pytest.raises(FingertipsNoDataError, match="profile 32 has no data"):
        client.data_csv_by_profile_id(32, child_area_type_id=502)


def test_group_profile_and_one_indicator_csvs(api, tmp_path):
    client = client_for(api, tmp_path)
    whole = client.data_csv_by_profile_id(90, child_area_type_id=502)
    assert whole.rows == 87 and set(whole.indicator_ids) == set(COSMMH)
    assert api.seen("all_data/csv/by_profile_id")[-1]["profile_id"] == "90"
    group = client.data_csv_by_group_id(1938132694, child_area_type_id=502)
    assert group.indicator_ids == [CAMPYLOBACTER]
    assert "profile_id" not in api.seen("all_data/csv/by_group_id")[-1]  # the endpoint takes none
    one = client.data_csv_for_one_indicator(CAMPYLOBACTER)
    assert one.rows == group.rows and api.seen("all_data/csv/for_one_indicator")[-1] == {"indicator_id": "93356"}
    # upload dates are recorded for the ids found in a group CSV, so it is refreshed like the others
    again = client_for(api, tmp_path).data_csv_by_group_id(1938132694, child_area_type_id=502)
    assert again.from_cache and len(api.seen("all_data/csv/by_group_id")) == 1
    api.uploaded[CAMPYLOBACTER] = "2025-02-04T09:30:00"
    fresh = client_for(api, tmp_path, metadata_max_age=dt.timedelta(0))
    assert not fresh.data_csv_by_group_id(1938132694, child_area_type_id=502).from_cache
    with pytest.raises(FingertipsServerError, match="group_id=42"):
        client.data_csv_by_group_id(42, child_area_type_id=502)


# ------------------------------------------------------------------------------ errors and retries
def test_400_with_json_message(api, tmp_path):
    client = client_for(api, tmp_path)
    body = json.dumps({"Message": "The request is invalid.",
                       "MessageDetail": "The parameters dictionary contains a null entry for parameter "
                                        "'child_area_type_id' of non-nullable type 'System.Int32'."})
    api.plan("all_data/csv/by_indicator_id", ("status", 400, body, "application/json; charset=utf-8"))
    with pytest.raises(FingertipsBadRequestError) as err:
        client.data_csv_by_indicator_ids([CAMPYLOBACTER], child_area_type_id=502, profile_id=32)
    message = str(err.value)
    assert "\n" not in message and err.value.status == 400
    assert "The request is invalid." in message and "child_area_type_id' of non-nullable type" in message
    assert "all_data/csv/by_indicator_id?indicator_ids=93356&child_area_type_id=502" in message
    assert len(api.seen("all_data/csv/by_indicator_id")) == 1 and client.sleeps == []  # a 400 is not retried


def test_400_with_plain_text_message(api, tmp_path):
    client = client_for(api, tmp_path)
    api.plan("indicator_metadata/by_indicator_id",
             ("status", 400, "Indicator IDs must be specified\r\n", "text/plain; charset=utf-8"))
    with pytest.raises(FingertipsBadRequestError, match=r"HTTP 400\): Indicator IDs must be specified$"):
        client.indicator_metadata([1730])


def test_500_then_success_is_retried(api, tmp_path):
    client = client_for(api, tmp_path)
    api.plan("profiles", ("status", 500, '{"Message":"An error has occurred."}', "application/json"))
    assert len(client.profiles()) == 4
    assert len(api.seen("profiles")) == 2 and client.sleeps == [0.01]


def test_a_500_every_time_gives_up_after_the_cap(api, tmp_path):
    client = client_for(api, tmp_path)
    with pytest.raises(FingertipsServerError) as err:  # unknown group id: a 500 every time
        client.profile_group_roots(123, 502)
    assert len(api.seen("profile_group_roots")) == 3  # capped: attempts=3
    assert client.sleeps == [0.01, 0.02]  # exponential back-off
    assert "after 3 attempts" in str(err.value) and "group_id=123" in str(err.value)


def test_429_honours_retry_after(api, tmp_path):
    client = client_for(api, tmp_path)
    api.plan("profiles", ("status", 429, "Too many requests", "text/plain", {"Retry-After": "7"}))
    assert len(client.profiles()) == 4
    assert client.sleeps == [7.0]
    api.plan("area_types", ("status", 503, "busy", "text/plain", {"Retry-After": "3600"}))
    with pytest.raises(FingertipsServerError, match="asks to wait 3600 s"):
        client.area_types()
    assert len(api.seen("area_types")) == 1


def test_slow_answer_times_out_then_retry_succeeds(api, tmp_path):
    client = client_for(api, tmp_path, timeout=(1.0, 0.3))
    api.plan("profiles", ("sleep", 1.0))
    started = time.perf_counter()
    assert len(client.profiles()) == 4
    assert time.perf_counter() - started < 1.0  # gave up on the slow answer, did not wait it out
    assert len(api.seen("profiles")) == 2 and len(client.sleeps) == 1


def test_dropped_connection_then_retry_succeeds(api, tmp_path):
    client = client_for(api, tmp_path)
    api.plan("area_types", ("drop",))
    assert len(client.area_types()) == 5
    assert len(api.seen("area_types")) == 2


def test_no_server_gives_a_connection_error_naming_the_request(api, tmp_path):
    client = client_for(api, tmp_path)
    api.stop()
    with pytest.raises(FingertipsConnectionError) as err:
        client.profiles()
    message = str(err.value)
    assert "after 3 attempts" in message and api.url + "profiles" in message and "\n" not in message


def test_404_and_html_answers(api, tmp_path):
    client = client_for(api, tmp_path)
    with pytest.raises(FingertipsNotFoundError, match="No HTTP resource was found"):
        client._json("no_such_endpoint", {"x": 1})
    page = "<!DOCTYPE html><html><head><title>Access denied</title></head><body>blocked</body></html>"
    api.plan("profiles", ("status", 200, page, "text/html"))
    with pytest.raises(FingertipsResponseError, match="HTML page"):
        client.profiles()
    assert len(client.profiles()) == 4  # the bad answer was not cached
    api.plan("all_data/csv/by_indicator_id", ("status", 200, page, "text/html"))
    with pytest.raises(FingertipsResponseError, match="expected the Fingertips data CSV"):
        client.data_csv_by_indicator_ids([1730], child_area_type_id=502, profile_id=90)


def test_comparator_methods_map_to_the_workbench_methods():
    assert ft.comparator_method(1, 95.0) == ("ci_95", None)
    assert ft.comparator_method(1, 99.8) == ("ci_99_8", None)
    assert ft.comparator_method(17, 95.0) == ("ci_both", None)
    assert ft.comparator_method(15, -1) == ("quintiles", None)
    assert ft.comparator_method(-1, -1) == ("none", None)
    method, note = ft.comparator_method(16, 95.0)  # quartiles: not reproduced
    assert method == "none" and "16" in note


# ------------------------------------------------------------------------------ TLS and proxies
class CaptureAdapter(requests.adapters.BaseAdapter):
    """Records what requests hands to the transport (verify, proxies) and answers ``[]``."""

    def __init__(self, error: Exception | None = None) -> None:
        super().__init__()
        self.calls: list[dict] = []
        self.error = error

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        self.calls.append({"url": request.url, "verify": verify, "proxies": dict(proxies or {}), "timeout": timeout})
        if self.error is not None:
            raise self.error
        response = requests.Response()
        response.status_code, response._content, response.url, response.request = 200, b"[]", request.url, request
        response.headers["Content-Type"] = "application/json"
        return response

    def close(self):
        pass


def capture_client(adapter: CaptureAdapter, **kwargs) -> FingertipsClient:
    session = requests.Session()
    session.mount("https://", adapter)
    return FingertipsClient("https://fingertips.example.org/api", session=session, use_cache=False,
                            retry=RetryPolicy(attempts=2, backoff=0, sleep=lambda s: None), **kwargs)


def test_certificate_checks_are_never_off_and_ca_bundle_reaches_verify(tmp_path, monkeypatch):
    bundle = tmp_path / "corporate-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
    env_bundle = tmp_path / "env-ca.pem"
    env_bundle.write_text(bundle.read_text())

    adapter = CaptureAdapter()
    client = capture_client(adapter)
    assert client.session.trust_env is True and client.verify is True
    client.profiles()
    assert adapter.calls[-1]["verify"] is True
    assert adapter.calls[-1]["timeout"] == (10.0, 180.0)

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(env_bundle))  # honoured when no --ca-bundle
    capture_client(adapter).profiles()
    assert adapter.calls[-1]["verify"] == str(env_bundle)

    client = capture_client(adapter, ca_bundle=bundle)  # an explicit --ca-bundle wins over the environment
    client.profiles()
    assert client.verify == str(bundle.resolve()) and adapter.calls[-1]["verify"] == str(bundle.resolve())
    assert all(call["verify"] is not False for call in adapter.calls)

    with pytest.raises(FingertipsCertificateError, match="not a file"):
        capture_client(adapter, ca_bundle=tmp_path / "missing.pem")


def test_certificate_failure_is_explained_and_not_retried(tmp_path, monkeypatch):
    adapter = CaptureAdapter(error=requests.exceptions.SSLError("certificate verify failed: self-signed certificate"))
    with pytest.raises(FingertipsCertificateError) as err:
        capture_client(adapter).profiles()
    assert len(adapter.calls) == 1 and "--ca-bundle" in str(err.value) and "never switched off" in str(err.value)
    # REQUESTS_CA_BUNDLE naming a missing file: requests' own transport refuses before connecting
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "nope.pem"))
    client = FingertipsClient("https://127.0.0.1:9/api", use_cache=False,
                              retry=RetryPolicy(attempts=1, sleep=lambda s: None))
    with pytest.raises(FingertipsCertificateError, match="REQUESTS_CA_BUNDLE"):
        client.profiles()


def test_a_redirect_to_plain_http_is_refused():
    class Downgrading(CaptureAdapter):
        def send(self, request, **kwargs):
            response = super().send(request, **kwargs)
            response.url = "http://fingertips.example.org/api/profiles"
            return response

    with pytest.raises(FingertipsResponseError, match="plain-http"):
        capture_client(Downgrading()).profiles()


def test_messages_never_show_proxy_passwords():
    assert "secret" not in ft._one_line("Cannot connect to proxy http://bob:secret@proxy.example.org:3128")


def test_proxy_settings_come_from_the_environment(monkeypatch):
    adapter = CaptureAdapter()
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.org:3128")
    capture_client(adapter).profiles()
    assert adapter.calls[-1]["proxies"].get("https") == "http://proxy.example.org:3128"
    monkeypatch.setenv("NO_PROXY", "fingertips.example.org")
    capture_client(adapter).profiles()
    assert "https" not in adapter.calls[-1]["proxies"]


# ------------------------------------------------------------------------------ cache
def test_answers_are_cached_with_their_download_date(api, tmp_path):
    client = client_for(api, tmp_path)
    client.profiles()
    again = client_for(api, tmp_path)  # a new client, same cache folder
    assert len(again.profiles()) == 4
    assert len(api.seen("profiles")) == 1 and again.network_requests == 0
    entries = list((tmp_path / "cache").rglob("*.json"))
    meta = json.loads(entries[0].read_text())
    assert meta["path"] == "profiles" and dt.datetime.fromisoformat(meta["downloaded_at"]).tzinfo is not None
    # a damaged body is a miss, not a wrong answer
    body = entries[0].with_suffix(".body")
    body.write_bytes(b"[]")
    assert len(client_for(api, tmp_path).profiles()) == 4 and len(api.seen("profiles")) == 2


def test_offline_answers_from_the_cache_only(api, tmp_path):
    client_for(api, tmp_path).profiles()
    api.stop()
    offline = client_for(api, tmp_path, offline=True)
    assert len(offline.profiles()) == 4 and offline.network_requests == 0
    with pytest.raises(FingertipsOfflineError, match="area_types is not in the cache"):
        offline.area_types()


def test_data_is_refreshed_only_when_last_uploaded_changes(api, tmp_path):
    def fetch(**kwargs):
        client = client_for(api, tmp_path, metadata_max_age=dt.timedelta(0), **kwargs)  # always re-check metadata
        return client.data_csv_by_indicator_ids([CAMPYLOBACTER], child_area_type_id=502, profile_id=32)[0]

    first = fetch()
    assert not first.from_cache
    second = fetch()
    assert second.from_cache and len(api.seen("all_data/csv/by_indicator_id")) == 1
    assert len(api.seen("indicator_metadata/by_indicator_id")) == 2  # metadata asked again, data not
    api.uploaded[CAMPYLOBACTER] = "2025-02-04T09:30:00"
    third = fetch()
    assert not third.from_cache and len(api.seen("all_data/csv/by_indicator_id")) == 2


# ------------------------------------------------------------------------------ source and CLI
def test_source_builds_canonical_indicators_from_the_profile(api, tmp_path):
    source = FingertipsSource(client_for(api, tmp_path))
    assert isinstance(source, IndicatorSource)
    assert list(source.domains(90)["name"]) == ["Deprivation and social context", "Crime, homelessness and employment"]
    indicators = source.indicators(90, area_type="utla").set_index("indicator_id")
    assert set(indicators.index) == set(COSMMH)
    assert indicators.loc[91872, "polarity"] == "Not applicable" and indicators.loc[91872, "value_type"] == "Score"
    assert indicators.loc[11501, "polarity"] == "BOB - Blue orange blue"
    assert indicators.loc[11501, "comparator_method"] == "ci_95" and indicators.loc[11202, "comparator_method"] == "none"
    assert indicators.loc[90402, "unit"] == "per 10,000" and indicators.loc[90402, "multiplier"] == 10_000
    assert indicators.loc[1730, "domain"] == "Deprivation and social context"
    hp = source.indicators(32, area_type="utla")
    assert any("92901" in line and "Slope Index of Inequality" in line for line in hp.attrs["report"])
    hp = hp.set_index("indicator_id")
    assert list(hp.index) == [CAMPYLOBACTER]  # the SII indicator cannot be stored: left out, and said so
    assert hp.loc[CAMPYLOBACTER, "polarity"] == "RAG - Low is good"
    assert hp.loc[CAMPYLOBACTER, "last_uploaded_at"] == "2018-11-06T09:00:47.123"
    with pytest.raises(FingertipsLookupError, match="not in profile 32"):
        source.indicators(32, area_type="utla", indicator_ids=[1730])
    with pytest.raises(FingertipsNoDataError, match="no indicators at area type 501"):
        source.indicators(90, area_type="ltla")
    partial = source.values([*COSMMH, 999_999], area_type="utla", profile_id=90)
    assert set(partial.values["indicator_id"]) == set(COSMMH)
    assert any("999999" in line for line in partial.report)
    assert partial.provenance["requests"] == 1 and partial.provenance["area_type_id"] == 502
    areas = source.areas("utla", profile_id=90)
    assert set(areas["region_code"]) == {"E12000004"} and set(areas["area_type"]) == {"utla"}
    assert "profile_id" not in api.seen("profile_group_roots")[-1]  # the endpoint takes none


def test_list_profiles(api, tmp_path, capsys):
    args = fetch_args(api.url, tmp_path, "--list-profiles")
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "   90  co-occurring-substance-misuse" in out and "Public Health Outcomes Framework" in out


def test_fetch_writes_a_store_then_reuses_the_cache_and_works_offline(api, tmp_path, capsys, monkeypatch):
    pytest.importorskip("jsna_lib.sources.fingertips_csv")
    from jsna_lib.store import Store

    fast_retries(monkeypatch)
    store_dir = tmp_path / "store"
    args = fetch_args(api.url, tmp_path, "--profile", "Co-occurring substance misuse and mental health issues",
                      "--area-type", "utla", "--data-dir", str(store_dir))
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "fetched 8 indicator(s)" in out and "profile 90" in out
    store = Store(store_dir)
    values, indicators = store.read("values"), store.read("indicators").set_index("indicator_id")
    assert set(values["indicator_id"]) == set(COSMMH)
    assert {"england", "region", "utla"} <= set(values["area_type"])
    assert indicators.loc[11501, "polarity"] == "BOB - Blue orange blue"
    assert indicators.loc[90402, "value_type"] == "Crude rate"
    manifest = store.manifest["tables"]["values"]
    assert manifest["last_fetch"]["profile_id"] == 90 and "Fingertips API" in manifest["source"]
    assert "90:utla" in store.manifest["info"]["fingertips_fetches"]

    before = len(api.requests)
    assert args.func(args) == 0  # a second fetch: everything from the cache
    assert len(api.requests) == before

    # Health Protection into the same store: upserted next to the first profile
    args = fetch_args(api.url, tmp_path, "--profile", "32", "--data-dir", str(store_dir))
    assert args.func(args) == 0
    store = Store(store_dir)
    assert set(store.read("values")["indicator_id"]) == {*COSMMH, CAMPYLOBACTER}
    assert store.read("indicators").set_index("indicator_id").loc[CAMPYLOBACTER, "polarity"] == "RAG - Low is good"
    expected = store.read("values").sort_values(list(store.read("values").columns[:7])).reset_index(drop=True)

    api.stop()  # the server is gone: --offline still builds the same store
    offline_dir = tmp_path / "offline"
    for profile in ("90", "32"):
        args = fetch_args(api.url, tmp_path, "--profile", profile, "--data-dir", str(offline_dir), "--offline")
        assert args.func(args) == 0
    got = Store(offline_dir).read("values").sort_values(list(expected.columns[:7])).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected)


def test_fetch_refresh_downloads_again_only_what_was_reuploaded(api, tmp_path, monkeypatch):
    pytest.importorskip("jsna_lib.sources.fingertips_csv")
    fast_retries(monkeypatch)
    args = fetch_args(api.url, tmp_path, "--profile", "32", "--data-dir", str(tmp_path / "store"), "--refresh")
    assert args.func(args) == 0
    assert len(api.seen("all_data/csv/by_indicator_id")) == 1
    assert args.func(args) == 0  # --refresh asks for metadata again; data unchanged: not downloaded
    assert len(api.seen("all_data/csv/by_indicator_id")) == 1
    assert len(api.seen("indicator_metadata/by_indicator_id")) >= 2
    api.uploaded[CAMPYLOBACTER] = "2025-02-04T09:30:00"
    assert args.func(args) == 0
    assert len(api.seen("all_data/csv/by_indicator_id")) == 2


def test_fetch_errors_are_one_line(api, tmp_path, monkeypatch):
    fast_retries(monkeypatch)
    cases = [
        (["--profile", "90", "--data-dir", str(tmp_path / "s"), "--indicators", "93356"], "not in profile 90"),
        (["--profile", "90", "--area-type", "ltla", "--data-dir", str(tmp_path / "s")], "no indicators at area type 501"),
        (["--profile", "no such profile", "--data-dir", str(tmp_path / "s")], "no Fingertips profile is called"),
        (["--profile", "90"], "--data-dir"),
        (["--profile", "90", "--data-dir", str(tmp_path / "s"), "--area-type-id", "7"], "--area-type-id 7"),
    ]
    for extra, expected in cases:
        args = fetch_args(api.url, tmp_path, *extra)
        with pytest.raises((FingertipsAPIError, ValueError)) as err:
            args.func(args)
        assert expected in str(err.value) and "\n" not in str(err.value), str(err.value)
    assert not (tmp_path / "s").exists()  # nothing written on failure
    api.stop()
    args = fetch_args(api.url, tmp_path / "empty", "--profile", "90", "--data-dir", str(tmp_path / "s"), "--offline")
    with pytest.raises(FingertipsOfflineError, match="offline: GET profiles is not in the cache"):
        args.func(args)


def test_fetch_only_the_indicators_asked_for(api, tmp_path, monkeypatch):
    pytest.importorskip("jsna_lib.sources.fingertips_csv")
    from jsna_lib.store import Store

    fast_retries(monkeypatch)
    args = fetch_args(api.url, tmp_path, "--profile", "90", "--indicators", "1730,10101", "--data-dir",
                      str(tmp_path / "store"))
    assert args.func(args) == 0
    assert set(Store(tmp_path / "store").read("indicators")["indicator_id"]) == {1730, 10101}
    assert api.seen("all_data/csv/by_indicator_id")[-1]["indicator_ids"] == "1730,10101"


def test_fixture_rows_are_real_export_rows(shared_data):
    """The data CSV fixture holds rows of the real Fingertips exports, with the live 27th column added."""
    def rows(path: Path) -> tuple[list[str], list[list[str]]]:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            return next(reader), [r for r in reader if r]

    real: set[tuple[str, ...]] = set()
    for name in ("indicators-CountyUApre419.data__cosmmh_east_midlands.csv",
                 "indicators-CountyUA.data__campylobacter_2015.csv"):
        header, body = rows(shared_data / "fingertips" / "exports" / name)
        real.update(tuple(r) for r in body)
    fixture_header, fixture = rows(FIXTURES / "all_data.csv")
    assert fixture_header == [*header, "Time period range"]
    assert all(tuple(r[:-1]) in real and r[-1] == "1y" for r in fixture)
