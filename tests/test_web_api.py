"""The explorer's HTTP API: results, errors, request limits, time limits and concurrency."""

from __future__ import annotations

import json
import math
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

import httpx
import pytest

from chainrule.errors import InvalidArgumentError
from chainrule.web.compute import explain_payload, json_safe
from chainrule.web.server import (
    MAX_BODY_BYTES,
    HostCheck,
    bind_socket,
    create_app,
    host_name,
    is_loopback,
    serve_in_background,
    url_of,
)


def sleepy_explain(text: str, values: dict[str, float]) -> dict:
    """The real computation, after sleeping ``values["sleep"]`` seconds (a slow request)."""
    time.sleep(values.get("sleep", 0.0))
    return explain_payload(text, values)


def strict_json(text: str) -> object:
    """Parse JSON as a browser does: NaN and Infinity are not numbers there."""

    def refuse(name: str) -> None:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def client():
    """An HTTP client of a real explorer server on a free loopback port."""
    with serve_in_background(create_app()) as url, httpx.Client(base_url=url, timeout=30) as http:
        yield http


def explain(client: httpx.Client, expr: str, **values: float) -> httpx.Response:
    return client.post("/api/explain", json={"expr": expr, "values": values})


def nodes_by_name(answer: dict) -> dict[str, dict]:
    return {node["name"]: node for node in answer["nodes"]}


# -- results -------------------------------------------------------------------------------------
def test_seed_expression_value_gradient_and_path(client):
    response = explain(client, "(4*x+1)^2", x=1.0)
    assert response.status_code == 200
    answer = strict_json(response.text)
    assert answer["value"] == 25.0
    assert answer["variable_info"] == [{"name": "x", "node": "x", "value": 1.0, "gradient": 40.0}]
    nodes = nodes_by_name(answer)
    assert nodes["Mul"]["value"] == 4.0 and nodes["Add"]["value"] == 5.0
    assert nodes["Add"]["gradient"] == 10.0 and nodes["Mul"]["gradient"] == 10.0
    assert answer["forward_order"][-1] == answer["output"] == "Pow"
    local = {(e["src"], e["dst"]): e["local_derivative"] for e in answer["edges"]}
    assert local[("Add", "Pow")] == 10.0 and local[("x", "Mul")] == 4.0
    paths = answer["paths"]["x"]
    assert paths["count"] == 1
    assert paths["paths"][0]["nodes"] == ["x", "Mul", "Add", "Pow"]
    assert paths["paths"][0]["factors"] == [4.0, 1.0, 10.0]
    assert paths["paths"][0]["product"] == 40.0


def test_gradient_is_the_sum_of_path_products(client):
    x, y = 0.5, 2.0
    answer = explain(client, "x*y + sin(x)*x", x=x, y=y).json()
    info = {v["name"]: v for v in answer["variable_info"]}
    expected = y + math.cos(x) * x + math.sin(x)
    assert info["x"]["gradient"] == pytest.approx(expected)
    assert info["y"]["gradient"] == pytest.approx(x)
    products = [path["product"] for path in answer["paths"]["x"]["paths"]]
    assert len(products) == 3
    assert sum(products) == pytest.approx(expected)


def test_missing_values_default_to_one_and_unused_ones_are_ignored(client):
    answer = explain(client, "x*y + 3", y=4.0, z=7.0).json()
    assert answer["value"] == 7.0
    assert [(v["name"], v["value"]) for v in answer["variable_info"]] == [("x", 1.0), ("y", 4.0)]


def test_non_finite_results_are_sent_as_strict_json(client):
    response = explain(client, "log(x) + 0*x", x=0.0)
    assert response.status_code == 200
    answer = strict_json(response.text)
    assert answer["value"] == "-Infinity"
    assert answer["variable_info"][0]["gradient"] in ("Infinity", "NaN")


def test_json_safe_converts_numpy_and_non_finite_numbers():
    np = pytest.importorskip("numpy")
    data = {"a": np.float64(2.5), "b": [float("nan"), -math.inf], "c": np.arange(2)}
    assert json_safe(data) == {"a": 2.5, "b": ["NaN", "-Infinity"], "c": [0, 1]}


# -- errors --------------------------------------------------------------------------------------
def test_syntax_error_gives_message_and_position(client):
    response = explain(client, "(4*x+1))^2", x=1.0)
    assert response.status_code == 400
    body = response.json()
    assert body["position"] == 7
    assert "')'" in body["error"] and "\n" not in body["error"]


def test_unfinished_expression_points_at_its_end(client):
    body = explain(client, "(4*x+1", x=1.0).json()
    assert body["position"] == len("(4*x+1")
    assert "')'" in body["error"]


def test_python_is_never_evaluated(client):
    response = explain(client, "__import__('os').system('echo hacked')")
    assert response.status_code == 400
    assert response.json()["position"] == 0


def test_overlong_expression_is_refused_by_the_parser(client):
    text = "+".join(["x"] * 400)
    assert len(text) < MAX_BODY_BYTES
    response = explain(client, text)
    assert response.status_code == 400
    assert "too long" in response.json()["error"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not valid JSON"),
        (b'["(4*x+1)^2"]', "JSON object"),
        (b'{"expr": 3}', '"expr" must be a string'),
        (b'{"expr": "x", "values": [1]}', '"values" must be an object'),
        (b'{"expr": "x", "values": {"x": "1"}}', "must be a number"),
        (b'{"expr": "x", "values": {"x": true}}', "must be a number"),
        (b'{"expr": "x", "values": {"x": NaN}}', "not a number"),
        (b'{"expr": "x", "values": {"x": 1e999}}', "must be finite"),
        (b'{"expr": "x", "values": {"x": 1' + b"0" * 400 + b"}}", "must be finite"),
        (b'{"expr": "x", "values": {"x": 1' + b"0" * 5000 + b"}}", "not valid JSON"),
        (b'{"expr": "x", "values": ' + b"[" * 8000 + b"]" * 8000 + b"}", "nested too deeply"),
        (b'{"expr": "x", "values": {"x": "\xff"}}', "not valid JSON"),
    ],
)
def test_malformed_requests_are_refused(client, body, message):
    response = client.post(
        "/api/explain", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_only_json_is_accepted(client):
    response = client.post(
        "/api/explain", content=b'{"expr": "x"}', headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert client.get("/api/explain").status_code == 405


def test_oversize_body_is_refused(client):
    padding = "x" * (MAX_BODY_BYTES + 1)
    response = client.post("/api/explain", json={"expr": "x", "pad": padding})
    assert response.status_code == 413
    assert str(MAX_BODY_BYTES) in response.json()["error"]


def test_oversize_streamed_body_is_refused(client):
    def chunks():
        for _ in range(40):
            yield b" " * 1024

    response = client.post(
        "/api/explain", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


# -- the page ------------------------------------------------------------------------------------
def test_page_and_static_files_are_served(client):
    page = client.get("/")
    assert page.status_code == 200
    assert 'id="expr"' in page.text and "/static/app.js" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    script = client.get("/static/app.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert client.get("/static/style.css").status_code == 200
    assert client.get("/static/../server.py").status_code == 404


@pytest.mark.parametrize("path", ["/", "/static/app.js", "/static/style.css", "/no-such-page"])
def test_every_answer_forbids_sniffing_and_outside_content(client, path):
    headers = client.get(path).headers
    assert headers["x-content-type-options"] == "nosniff"
    policy = headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy


def test_refusals_carry_the_security_headers_too(client):
    response = client.post("/api/explain", content=b"[", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert response.headers["x-content-type-options"] == "nosniff"


# -- DNS rebinding -------------------------------------------------------------------------------
@pytest.mark.parametrize("host", ["localhost", "LOCALHOST:8000", "127.0.0.1:1", "[::1]:8000"])
def test_loopback_names_are_accepted(client, host):
    assert client.get("/", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "192.168.1.10", "[::]"])
def test_requests_addressed_to_other_names_are_refused(client, host):
    response = client.get("/", headers={"Host": host})
    assert response.status_code == 403
    assert "addressed to this machine" in response.json()["error"]
    assert "chainrule serve" in response.json()["error"]
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "file://", "http://10.0.0.1"])
def test_requests_from_other_sites_pages_are_refused(client, origin):
    response = client.post("/api/explain", json={"expr": "x"}, headers={"Origin": origin})
    assert response.status_code == 403
    assert "other sites" in response.json()["error"] and origin in response.json()["error"]


def test_the_pages_own_origin_is_accepted(client):
    origin = str(client.base_url).rstrip("/")
    response = client.post("/api/explain", json={"expr": "x"}, headers={"Origin": origin})
    assert response.status_code == 200


def test_serving_other_machines_accepts_their_names_and_ip_numbers():
    check = HostCheck(frozenset({"mybox.lan"}), any_ip=True)
    assert check.allows("mybox.lan") and check.allows("192.168.1.10") and check.allows("::1")
    assert not check.allows("evil.example")
    assert not HostCheck().allows("192.168.1.10") and HostCheck().allows("127.0.0.2")
    assert host_name("[::1]:80") == "::1" and host_name("Example.ORG:8000") == "example.org"


# -- time limits, workers and the real server ---------------------------------------------------
def test_slow_computation_is_stopped_and_its_worker_replaced():
    app = create_app(sleepy_explain, workers=1, timeout=0.5)
    with serve_in_background(app) as url, httpx.Client(base_url=url, timeout=30) as http_client:
        assert explain(http_client, "x", x=2.0).json()["value"] == 2.0
        before = app.state.pool.pids
        started = time.monotonic()
        response = explain(http_client, "x", x=2.0, sleep=30.0)
        assert time.monotonic() - started < 10
        assert response.status_code == 503
        assert "longer than 0.5 s" in response.json()["error"]
        after = explain(http_client, "(4*x+1)^2", x=1.0)
        assert after.status_code == 200 and after.json()["value"] == 25.0
        assert app.state.pool.pids != before
    assert app.state.pool.pids == []


def test_workers_stop_with_the_app():
    app = create_app(workers=2)
    with serve_in_background(app) as url, httpx.Client(base_url=url, timeout=30) as http_client:
        assert explain(http_client, "x^2", x=3.0).json()["value"] == 9.0
        pids = app.state.pool.pids
        assert len(pids) == 2
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_slow_request_does_not_block_a_fast_one():
    app = create_app(sleepy_explain, workers=2, timeout=20.0)
    with serve_in_background(app) as url, httpx.Client(base_url=url, timeout=30.0) as http:
        assert urlsplit(url).hostname == "127.0.0.1"
        warm = http.post("/api/explain", json={"expr": "x", "values": {"x": 1.0}})
        assert warm.status_code == 200
        slow_done = threading.Event()
        slow_result: dict[str, httpx.Response] = {}

        def slow_request() -> None:
            with httpx.Client(base_url=url, timeout=30.0) as other:
                slow_result["response"] = other.post(
                    "/api/explain", json={"expr": "x+1", "values": {"x": 1.0, "sleep": 3.0}}
                )
            slow_done.set()

        thread = threading.Thread(target=slow_request, daemon=True)
        thread.start()
        time.sleep(0.5)
        started = time.monotonic()
        fast = http.post("/api/explain", json={"expr": "(4*x+1)^2", "values": {"x": 1.0}})
        page = http.get("/")
        elapsed = time.monotonic() - started
        assert fast.status_code == 200 and fast.json()["value"] == 25.0
        assert page.status_code == 200
        assert not slow_done.is_set(), "the slow request finished before the fast one"
        assert elapsed < 2.0
        thread.join(timeout=30)
        assert slow_done.is_set()
        assert slow_result["response"].status_code == 200
        assert slow_result["response"].json()["value"] == 2.0


def test_declared_oversize_body_is_refused_before_it_is_sent():
    with serve_in_background(create_app(workers=1)) as url:
        parts = urlsplit(url)
        with socket.create_connection((parts.hostname, parts.port), timeout=10) as conn:
            conn.sendall(
                b"POST /api/explain HTTP/1.1\r\nHost: localhost\r\n"
                b"Content-Type: application/json\r\nContent-Length: 50000000\r\n\r\n{"
            )
            reply = conn.recv(4096).decode("latin-1")
        assert reply.startswith("HTTP/1.1 413")


def test_sockets_listen_on_loopback_with_a_free_port():
    sock = bind_socket()
    try:
        host, port = sock.getsockname()[:2]
        assert host == "127.0.0.1" and port > 0
        assert url_of(sock) == f"http://127.0.0.1:{port}/"
    finally:
        sock.close()
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10")


def test_serve_command_prints_its_url_and_serves_the_page(tmp_path):
    command = [sys.executable, "-m", "chainrule", "serve", "--no-browser", "(4*x+1)^2"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path
    )
    try:
        ready, _, _ = select.select([process.stdout], [], [], 60)
        assert ready, "chainrule serve printed nothing within 60 s"
        line = process.stdout.readline()
        assert line.startswith("chainrule explorer: http://127.0.0.1:")
        url = line.split(": ", 1)[1].strip()
        assert url.endswith("?expr=%284%2Ax%2B1%29%5E2")
        page = httpx.get(url, timeout=30)
        assert page.status_code == 200 and 'id="expr"' in page.text
        base = url.split("?")[0]
        answer = httpx.post(
            base + "api/explain", json={"expr": "(4*x+1)^2", "values": {"x": 1}}, timeout=30
        )
        assert answer.json()["value"] == 25.0
    finally:
        process.terminate()
        process.wait(timeout=30)
    errors = process.stderr.read()
    # uvicorn shuts down cleanly, then ends with the signal it was stopped by
    assert process.returncode in (0, -signal.SIGTERM), errors
    assert "Traceback" not in errors


@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), 0.0, -1.0, "soon"])
def test_time_limit_must_be_positive_and_finite(timeout):
    with pytest.raises(InvalidArgumentError, match="positive, finite number of seconds"):
        create_app(timeout=timeout)


@pytest.mark.parametrize("timeout", ["nan", "inf", "-inf", "0", "abc"])
def test_serve_command_refuses_a_bad_timeout(timeout):
    done = subprocess.run(
        [sys.executable, "-m", "chainrule", "serve", "--no-browser", f"--timeout={timeout}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--timeout" in done.stderr and "seconds" in done.stderr
    assert "Traceback" not in done.stderr and "chainrule explorer" not in done.stdout
