"""A chunked 500 MB upload against the real servers: refused with 413, and (almost) nothing written to disk.

Each server runs with its own TMPDIR. Temporary files are usually unlinked at once (``O_TMPFILE``), so what
the server holds there is measured through its processes' open files as well as the folder's listing,
while the body is being sent. The client sends like a real one: it stops once the answer has arrived.
"""

from __future__ import annotations

import json
import os
import select
import socket
import sys
from pathlib import Path

import pytest
from stack_helpers import BIN, free_port, stack_env, wait_for

CAP = 2_000_000
CHUNK = 64 * 1024
HUGE = 500 * 2**20
MB = 2**20

SERVERS = {
    "uvicorn": lambda port: [
        str(BIN / "uvicorn"),
        "--port",
        str(port),
        "--workers",
        "2",
        "torchcanvas_site.asgi:application",
    ],
    "daphne": lambda port: [str(BIN / "daphne"), "-p", str(port), "torchcanvas_site.asgi:application"],
    "runserver": lambda port: [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
}


def spooled_bytes(tmpdir: Path, group: int) -> int:
    """Bytes in files under ``tmpdir``: those listed, plus unlinked ones still open by the server's processes."""
    total = sum(path.stat().st_size for path in tmpdir.rglob("*") if path.is_file())
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if os.getpgid(int(proc.name)) != group:
                continue
            for fd in (proc / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith(str(tmpdir)) and target.endswith("(deleted)"):
                    total += fd.stat().st_size
        except (ProcessLookupError, FileNotFoundError, PermissionError):
            continue
    return total


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    while len(body) < int(headers.get("content-length", 0)):
        body += sock.recv(65536)
    return int(lines[0].split()[1]), headers, body


def send_until_answered(port: int, head: bytes, body_chunks, watch) -> tuple[int, dict[str, str], bytes, int]:
    """Send ``head`` then chunks until the server answers (or the body ends); returns the answer and bytes sent."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(head)
    sent = 0
    try:
        for chunk in body_chunks:
            if select.select([sock], [], [], 0)[0]:
                break
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break  # the server closed its side after answering
            sent += len(chunk)
            if sent % (8 * MB) < len(chunk):
                watch()
        status, headers, answer = read_response(sock)
    finally:
        sock.close()
    return status, headers, answer, sent


def chunked(total: int):
    payload = b" " * CHUNK
    frame = f"{CHUNK:x}\r\n".encode() + payload + b"\r\n"
    for _ in range(total // CHUNK):
        yield frame
    yield b"0\r\n\r\n"


@pytest.fixture(params=sorted(SERVERS))
def server(request, processes, tmp_path):
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    port = free_port()
    env = stack_env(
        TMPDIR=str(tmpdir),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        TORCHCANVAS_MAX_BODY_BYTES=str(CAP),
    )
    process = processes.start(request.param, SERVERS[request.param](port), env)

    def up():
        if process.poll() is not None:
            pytest.fail(f"{request.param} exited:\n{processes.logs()}")
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) == 0

    wait_for(up, 60, f"{request.param} to listen")
    return port, tmpdir, process.pid


def test_a_chunked_500_mb_upload_is_refused_with_413_and_not_spooled(server):
    port, tmpdir, group = server
    before = spooled_bytes(tmpdir, group)
    peak = [before]

    def watch():
        peak[0] = max(peak[0], spooled_bytes(tmpdir, group))
        assert peak[0] - before < 5 * MB, f"the server spooled {peak[0] - before} bytes"

    head = (
        b"POST /api/validate/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    status, headers, body, sent = send_until_answered(port, head, chunked(HUGE), watch)
    watch()
    assert status == 413, body
    assert json.loads(body) == {"detail": f"The request body is larger than the limit of {CAP} bytes."}
    assert sent < HUGE / 10  # answered early, not after the whole upload


def test_a_declared_length_over_the_cap_is_refused_with_a_json_413(server):
    port, _, _ = server
    length = 2_100_000
    head = (
        f"POST /api/validate/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()
    status, _, body, sent = send_until_answered(
        port, head, (b"{" * CHUNK for _ in range(length // CHUNK)), lambda: None
    )
    assert status == 413
    assert json.loads(body) == {"detail": f"The request body is {length} bytes; the limit is {CAP} bytes."}


def test_a_chunked_body_under_the_cap_is_validated(server, demo_graph):
    port, _, _ = server
    payload = json.dumps({"graph": demo_graph}).encode()
    head = (
        b"POST /api/validate/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    frames = [f"{len(payload):x}\r\n".encode() + payload + b"\r\n", b"0\r\n\r\n"]
    status, _, body, _ = send_until_answered(port, head, frames, lambda: None)
    assert status == 200, body
    assert json.loads(body)["ok"] is True
