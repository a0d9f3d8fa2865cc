"""The fault-injecting link itself, against a tiny WSGI app: each fault does what it says."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.faults.conftest import ProxyFactory
from tests.support import ThreadServer, serve

COMMITTED: list[bytes] = []


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    size = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(size) if size else b""
    if environ["REQUEST_METHOD"] == "POST":
        COMMITTED.append(body)
    path = environ["PATH_INFO"]
    out = b"x" * int(path.strip("/") or 0) if path.strip("/").isdigit() else b"ok:" + body
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(out)))])
    return [out]


@pytest.fixture
def server() -> Iterator[ThreadServer]:
    COMMITTED.clear()
    with serve(app) as s:
        yield s


def test_a_clean_link_passes_everything_and_counts_bytes(
    server: ThreadServer, fault_proxy: ProxyFactory
) -> None:
    link = fault_proxy(server.url)
    with requests.Session() as s:
        assert s.post(link.url + "/echo", data=b"hello", timeout=30).content == b"ok:hello"
        assert len(s.get(link.url + "/5000", timeout=30).content) == 5000
    st = link.stats()
    assert st.bytes_up > 5 and st.bytes_down > 5000 and st.connections == 1 and st.faults == 0


def test_latency_delays_each_exchange(server: ThreadServer, fault_proxy: ProxyFactory) -> None:
    link = fault_proxy(server.url)
    link.set_latency(0.2)
    t = time.monotonic()
    requests.get(link.url + "/10", timeout=30)
    assert time.monotonic() - t >= 0.4  # one way and back


def test_bandwidth_is_capped(server: ThreadServer, fault_proxy: ProxyFactory) -> None:
    link = fault_proxy(server.url)
    link.set_bandwidth(64_000)  # 8 kB/s
    t = time.monotonic()
    assert len(requests.get(link.url + "/16000", timeout=30).content) == 16000
    assert time.monotonic() - t >= 1.5


def test_cut_upstream_after_n_bytes_never_reaches_the_server(
    server: ThreadServer, fault_proxy: ProxyFactory
) -> None:
    link = fault_proxy(server.url)
    link.cut_after(up=60)
    with pytest.raises(requests.ConnectionError):
        requests.post(link.url + "/echo", data=b"y" * 1000, timeout=30)
    assert COMMITTED == [] and link.stats().cuts == 1
    assert requests.post(link.url + "/echo", data=b"z", timeout=30).content == b"ok:z"  # one-shot


def test_cut_downstream_after_n_bytes_truncates_the_answer(
    server: ThreadServer, fault_proxy: ProxyFactory
) -> None:
    link = fault_proxy(server.url)
    link.cut_after(down=500, once=False)
    for _ in range(2):
        with pytest.raises(requests.RequestException):
            requests.get(link.url + "/5000", timeout=30).content  # noqa: B018
    assert link.stats().cuts == 2 and link.stats().bytes_down == 1000


def test_stall_accepts_and_never_answers(server: ThreadServer, fault_proxy: ProxyFactory) -> None:
    link = fault_proxy(server.url)
    link.stall()
    with pytest.raises(requests.Timeout):
        requests.post(link.url + "/echo", data=b"a", timeout=(2, 0.5))
    link.clear()
    assert COMMITTED == [] and link.stats().stalls == 1
    link.stall(seconds=0.3)  # closed by the proxy after a while
    with pytest.raises(requests.ConnectionError):
        requests.get(link.url + "/1", timeout=30)


def test_drop_response_after_the_server_committed(
    server: ThreadServer, fault_proxy: ProxyFactory
) -> None:
    link = fault_proxy(server.url)
    link.drop_responses(1, match=b"POST /echo")
    with requests.Session() as s:
        assert s.get(link.url + "/3", timeout=30).content == b"xxx"  # not matched: passes
        with pytest.raises(requests.ConnectionError):
            s.post(link.url + "/echo", data=b"commit me", timeout=30)
        assert COMMITTED == [b"commit me"]  # the server did it; the client never heard
        assert s.post(link.url + "/echo", data=b"again", timeout=30).content == b"ok:again"
    assert link.stats().drops == 1


def test_down_link_refuses_and_the_target_may_move(
    server: ThreadServer, fault_proxy: ProxyFactory
) -> None:
    link = fault_proxy(server.url)
    link.set_down()
    with pytest.raises(requests.ConnectionError):
        requests.get(link.url + "/1", timeout=30)
    link.set_down(False)
    with serve(app) as other:
        link.set_target(("127.0.0.1", other.port))
        assert requests.get(link.url + "/2", timeout=30).content == b"xx"
    assert link.stats().refused == 1
