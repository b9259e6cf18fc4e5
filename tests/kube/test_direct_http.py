"""The direct client's HTTP (kube/direct.py) against a loopback TLS server of our own: client
certificates (files and inline data), tokens, the CA and tls-server-name checks, HTTP errors as
the client's `ApiException`, timeouts, kept-alive connections shared by threads, and watch
streams that arrive line by line. No API server: the real one is tests/kube/test_adapter.py's.
"""

from __future__ import annotations

import concurrent.futures
import http.server
import json
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from commands.kube import direct, endpoints, transport
from commands.values import errors
from tests.support import kubepki, polling

PATH = "/api/v1/namespaces/shop/configmaps/c"


@dataclass
class Seen:
    path: str
    authorization: str | None
    subject: str | None  # the client certificate's CN, when one was presented
    peer: tuple[str, int]  # the client's address: one port per connection


@dataclass
class Server:
    """HTTP/1.1 with keep-alive over TLS (client certificates optional) on a free port."""

    pki: Path
    seen: list[Seen] = field(default_factory=list)
    proceed: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        server = self
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=self.pki / "ca.crt")
        context.load_cert_chain(self.pki / "apiserver.crt", self.pki / "apiserver.key")
        context.verify_mode = ssl.CERT_OPTIONAL

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                cert: Any = self.connection.getpeercert()
                subject = dict(x[0] for x in cert["subject"]).get("commonName") if cert else None
                peer = self.client_address
                server.seen.append(Seen(self.path, self.headers["Authorization"], subject, peer))
                if self.path.startswith("/slow"):
                    time.sleep(1.0)
                if self.path.startswith("/watch"):
                    return self._watch()
                status = 409 if self.path.startswith("/conflict") else 200
                body = {"kind": "Status", "code": status, "message": "changed since read"}
                if status == 200:
                    body = {"path": self.path, "subject": subject}
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.send_header("Retry-After", "2")
                if self.path.startswith("/close"):  # closes after answering, unannounced
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(raw)

            def _watch(self) -> None:
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for event in ({"n": 1}, {"n": 2}):
                    line = json.dumps(event).encode() + b"\n"
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                    self.wfile.flush()
                    server.proceed.wait(5)  # the second only after the client has the first
                self.wfile.write(b"0\r\n\r\n")
                self.close_connection = True

            def log_message(self, *args: Any) -> None:
                pass

        class Quiet(http.server.ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that timed out and left: what the timeout test wants

        self.httpd = Quiet(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pki")
    kubepki.make_pki(path)
    return path


@pytest.fixture
def server(pki: Path) -> Iterator[Server]:
    running = Server(pki)
    running.start()
    yield running
    running.stop()


def _client(server: Server, maxsize: int = 4, **where: Any) -> direct.DirectClient:
    settings: dict[str, Any] = {"ca_file": str(server.pki / "ca.crt"), **where}
    return direct.DirectClient(endpoints.Endpoint(host=server.url, **settings), maxsize)


def _get(api: direct.DirectClient, path: str = PATH, timeout: float = 5.0) -> Any:
    response = api.call_api(path, "GET", _request_timeout=(5.0, timeout))
    try:
        return json.loads(response.data)
    finally:
        response.release_conn()


def test_a_client_certificate_file_is_presented_and_the_server_verified(server: Server) -> None:
    pki = server.pki
    api = _client(server, cert_file=str(pki / "admin.crt"), key_file=str(pki / "admin.key"))
    assert _get(api) == {"path": PATH, "subject": "myctl-admin"}
    api.close()


def test_inline_certificate_data_is_presented_like_files(server: Server) -> None:
    pki = server.pki
    api = _client(
        server,
        ca_file=None,
        ca_pem=(pki / "ca.crt").read_text(),
        cert_pem=(pki / "admin.crt").read_bytes(),
        key_pem=(pki / "admin.key").read_bytes(),
    )
    assert _get(api)["subject"] == "myctl-admin"
    api.close()


def test_a_token_is_sent_as_a_bearer_header_with_the_query(server: Server) -> None:
    api = _client(server, token="t0k3n")
    response = api.call_api(PATH, "GET", query_params=[("limit", "500"), ("continue", "a b")])
    response.release_conn()
    assert server.seen[-1].authorization == "Bearer t0k3n"
    assert server.seen[-1].path == PATH + "?limit=500&continue=a+b"
    assert server.seen[-1].subject is None
    api.close()


def test_a_server_name_other_than_the_address_is_checked(server: Server) -> None:
    # The serving certificate names DNS:kubernetes (tests/support/kubepki.py), not this one.
    good = _client(server, server_name="kubernetes")
    assert _get(good)["path"] == PATH
    good.close()
    with pytest.raises(errors.ClusterUnreachable, match="cannot reach the Kubernetes API"):
        _call(_client(server, server_name="elsewhere.example"))


def test_a_server_the_ca_did_not_sign_is_unreachable(server: Server) -> None:
    with pytest.raises(errors.ClusterUnreachable, match="CERTIFICATE_VERIFY_FAILED"):
        _call(_client(server, ca_file=None))  # Mozilla's roots: they did not sign the test CA


def test_an_unusable_ca_file_is_unreachable_on_each_request(server: Server, tmp_path: Path) -> None:
    empty = tmp_path / "ca.crt"
    empty.write_text("")
    with pytest.raises(errors.ClusterUnreachable, match="TLS settings unusable"):
        _call(_client(server, ca_file=str(empty)))


def test_http_errors_raise_the_clients_api_exception_with_body_and_headers(
    server: Server,
) -> None:
    api = _client(server)
    with pytest.raises(transport.ApiException) as caught:
        api.call_api("/conflict", "GET")
    assert caught.value.status == 409
    assert json.loads(caught.value.body)["message"] == "changed since read"
    assert caught.value.headers.get("Retry-After") == "2"
    # The error's connection went back to the pool: the next request reuses it.
    _get(api)
    assert server.seen[-1].peer == server.seen[-2].peer
    api.close()


def test_an_http_error_is_translated_by_transport_once(server: Server) -> None:
    action = transport.Action("update", "configmaps", "shop", "ConfigMap shop/c", cache=True)
    http = transport.Transport(_client(server), attempts=1)
    with pytest.raises(errors.CacheConflict, match="changed since read"):
        http.call(action, "GET", "/conflict")


def test_threads_share_kept_alive_connections_one_at_a_time(server: Server) -> None:
    api = _client(server, maxsize=4)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda i: _get(api, f"{PATH}?i={i}")["path"], range(40)))
    assert answers == [f"{PATH}?i={i}" for i in range(40)]
    assert len({seen.peer for seen in server.seen}) <= 4
    api.close()


def test_beyond_maxsize_connections_are_closed_not_kept(server: Server) -> None:
    api = _client(server, maxsize=1)
    first = api.call_api(PATH, "GET")
    second = api.call_api(PATH, "GET")  # the first is still checked out: a second connection
    assert first.data and second.data  # read to the end: each could go back to the pool
    first.release_conn()
    second.release_conn()  # the pool is full: closed
    _get(api)
    _get(api)
    peers = [seen.peer for seen in server.seen]
    assert peers[0] != peers[1] and peers[2] == peers[3] == peers[0]
    api.close()


def test_a_response_released_before_its_end_closes_its_connection(server: Server) -> None:
    api = _client(server)
    api.call_api(PATH, "GET").release_conn()  # unread: its bytes would start the next answer
    assert _get(api)["path"] == PATH
    assert server.seen[0].peer != server.seen[1].peer
    api.close()


def test_a_connection_the_server_closed_is_replaced(server: Server) -> None:
    api = _client(server)
    assert _get(api, "/close")["path"] == "/close"
    idle = api._pool._idle[0]  # kept (nothing said it would close), until the close arrives
    polling.wait_until(lambda: direct._dropped(idle), timeout=5, what="the close", interval=0.01)
    assert _get(api)["path"] == PATH
    assert server.seen[0].peer != server.seen[1].peer
    api.close()


def test_a_read_timeout_is_a_server_error(server: Server) -> None:
    action = transport.Action("get", "configmaps", "shop", "ConfigMap shop/c")
    http = transport.Transport(_client(server), attempts=1, request_timeout=(5.0, 0.2))
    with pytest.raises(errors.ServerError, match="did not answer in time"):
        http.call(action, "GET", "/slow")


def test_a_refused_connection_is_unreachable() -> None:
    closed = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    url = f"http://127.0.0.1:{closed.server_address[1]}"
    closed.server_close()  # bound and released: nothing listens
    api = direct.DirectClient(endpoints.Endpoint(host=url), 2)
    with pytest.raises(errors.ClusterUnreachable, match="failed to connect"):
        _call(api)


def test_a_watch_streams_each_line_as_it_arrives(server: Server) -> None:
    api = _client(server)
    response = api.call_api("/watch", "GET")
    events = transport.json_lines(response)
    assert next(events) == {"n": 1}  # before the server sends the second
    server.proceed.set()
    assert list(events) == [{"n": 2}]
    response.release_conn()
    api.close()


def _call(api: direct.DirectClient) -> None:
    action = transport.Action("get", "configmaps", "shop", "ConfigMap shop/c")
    transport.Transport(api, attempts=1).call(action, "GET", PATH)
