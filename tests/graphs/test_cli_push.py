"""``python -m codegen import … --push URL --token T [--graph ID]`` against a running server (``live_server``).

The CLI runs in-process (``codegen.cli.main``) and talks HTTP to the test server like any script would.
"""

from __future__ import annotations

import http.server
import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from codegen import push as push_module
from codegen.cli import main
from codegen.templates import load_template
from graphs import services, version_diff
from graphs.models import Graph
from tests.codegen.test_importer import write_package

KERNEL_3 = "self.block1_conv2 = nn.Conv2d(32, 32, kernel_size=3, padding=1"
KERNEL_5 = "self.block1_conv2 = nn.Conv2d(32, 32, kernel_size=5, padding=2"


@pytest.fixture
def token(alice) -> str:
    return Token.objects.create(user=alice).key


@pytest.fixture
def designed(alice):
    """alice's graph designed in the platform: the se_resnet_tiny template as version 1."""
    return services.create_graph(alice, name="Tiny SE-ResNet", document=load_template("se_resnet_tiny"))


def package_of(document: dict, folder: Path) -> Path:
    return write_package(document, folder, "SEResNetTiny")


def push(capsys, package: Path, url: str, token: str, *extra: str) -> tuple[int, str, str]:
    status = main(["import", "--generated", str(package), "--push", url, "--token", token, *extra])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_it_pushes_an_import_as_a_new_graph(live_server, token, alice, tmp_path, capsys):
    package = package_of(load_template("se_resnet_tiny"), tmp_path)
    status, out, err = push(capsys, package, live_server.url, token)
    graph = Graph.objects.get()
    assert (status, err) == (0, "")
    assert out == f"created graph {graph.pk}: {live_server.url}/graphs/{graph.pk}/\n"
    assert (graph.owner, graph.name, graph.head.number) == (alice, "SEResNetTiny", 1)
    assert len(graph.head.document["nodes"]) == len(load_template("se_resnet_tiny")["nodes"])


def test_the_token_may_come_from_the_environment_and_the_json_from_standard_output(
    live_server, token, monkeypatch, tmp_path, capsys
):
    monkeypatch.setenv("TORCHCANVAS_TOKEN", token)
    package = package_of(load_template("se_resnet_tiny"), tmp_path)
    status = main(["import", "--generated", str(package), "--push", live_server.url, "--out", "-"])
    captured = capsys.readouterr()
    graph = Graph.objects.get()
    assert status == 0 and json.loads(captured.out)["metadata"]["name"] == "SEResNetTiny"
    assert captured.err == f"created graph {graph.pk}: {live_server.url}/graphs/{graph.pk}/\n"


def test_out_still_writes_the_graph_file_when_pushing(live_server, token, tmp_path, capsys):
    package = package_of(load_template("se_resnet_tiny"), tmp_path)
    status, out, _ = push(capsys, package, live_server.url, token, "--out", str(tmp_path / "g.json"))
    assert status == 0 and out.startswith("created graph ")
    assert (tmp_path / "g.json").read_text().startswith("{")


def test_an_edit_of_the_downloaded_package_is_exactly_that_change_on_the_diff_page(
    live_server, token, designed, alice, client, tmp_path, capsys
):
    package = package_of(designed.head.document, tmp_path)
    graph_id = str(designed.pk)
    page = f"{live_server.url}/graphs/{designed.pk}/"

    assert push(capsys, package, live_server.url, token, "--graph", graph_id) == (
        0,
        f"no change: graph {designed.pk} is already this code (version 1): {page}\n",
        "",
    )

    model = package / "model.py"
    model.write_text(model.read_text().replace(KERNEL_3, KERNEL_5))
    status, out, err = push(capsys, package, live_server.url, token, "--graph", graph_id, "--message", "5x5 conv")
    diff_page = f"/graphs/{designed.pk}/diff/?from=1&to=2"
    assert (status, err) == (0, "")
    assert (
        out
        == f"saved version 2 of graph {designed.pk}: {page} (changes from version 1: {live_server.url}{diff_page})\n"
    )

    designed.refresh_from_db()
    old, new = designed.versions.get(number=1), designed.head
    assert (new.number, new.message, new.author) == (2, "5x5 conv", alice)
    diff = version_diff.structural_diff(old, new)
    assert diff["nodes"] == {
        "added": [],
        "removed": [],
        "changed": {"block1_conv2": {"params": {"kernel_size": {"old": 3, "new": 5}, "padding": {"old": 1, "new": 2}}}},
        "moved": [],
    }
    assert diff["edges"] == {"added": [], "removed": []}
    assert not any(diff[key] for key in ("inputs", "outputs", "metadata")) and not any(diff["composites"].values())

    client.force_login(alice)
    html = client.get(diff_page).content.decode()
    assert '<span class="diff-stat diff-stat-chg">~1 changed</span>' in html
    assert "diff-stat-add" not in html and "diff-stat-del" not in html and "Also changed" not in html
    assert "<code>block1_conv2</code>" in html
    assert '<span class="param-name">kernel_size</span> <del>3</del> → <ins>5</ins>' in html
    assert "No edge was added or removed." in html

    status, out, _ = push(capsys, package, live_server.url, token, "--graph", graph_id)
    assert (status, out) == (0, f"no change: graph {designed.pk} is already this code (version 2): {page}\n")


def test_name_renames_the_graph_in_the_new_version(live_server, token, designed, tmp_path, capsys):
    package = package_of(designed.head.document, tmp_path)
    status, out, _ = push(capsys, package, live_server.url, token, "--graph", str(designed.pk), "--name", "SE tiny")
    assert status == 0 and out.startswith(f"saved version 2 of graph {designed.pk}: ")
    designed.refresh_from_db()
    diff = version_diff.structural_diff(designed.versions.get(number=1), designed.head)
    assert diff["metadata"] == {"name": {"old": "SEResNetTiny", "new": "SE tiny"}}
    assert diff["counts"] == dict.fromkeys(diff["counts"], 0)


def test_a_bad_token_is_one_line(live_server, designed, tmp_path, capsys):
    package = package_of(designed.head.document, tmp_path)
    status, out, err = push(capsys, package, live_server.url, "not-a-token", "--graph", str(designed.pk))
    assert (status, out) == (1, "")
    assert err == (
        f"error: {live_server.url} refused the token (401: Invalid token.); get one from {live_server.url}/accounts/token/\n"
    )


def test_a_graph_one_may_not_see_is_not_found(live_server, designed, charlie, tmp_path, capsys):
    package = package_of(designed.head.document, tmp_path)
    key = Token.objects.create(user=charlie).key
    for graph_id in (str(designed.pk), "999999"):
        status, _, err = push(capsys, package, live_server.url, key, "--graph", graph_id)
        assert status == 1
        assert err == (
            f"error: cannot read graph {graph_id}: not found (404: No Graph matches the given query.); "
            "check the graph id and that you may see it\n"
        )


def test_a_graph_one_may_only_read_refuses_the_version(live_server, designed, charlie, tmp_path, capsys):
    designed.visibility = "public"
    designed.save()
    package = package_of(designed.head.document, tmp_path)
    model = package / "model.py"
    model.write_text(model.read_text().replace(KERNEL_3, KERNEL_5))
    status, _, err = push(
        capsys, package, live_server.url, Token.objects.create(user=charlie).key, "--graph", str(designed.pk)
    )
    assert status == 1
    assert err.startswith(f"error: you may not save a new version of graph {designed.pk} (403: ")
    assert err.count("\n") == 1 and designed.versions.count() == 1


def test_a_document_the_server_refuses_shows_its_reason(live_server, token, settings, tmp_path, capsys):
    settings.TORCHCANVAS_LIMITS = {**settings.TORCHCANVAS_LIMITS, "max_nodes": 5}
    package = package_of(load_template("se_resnet_tiny"), tmp_path)
    status, _, err = push(capsys, package, live_server.url, token)
    assert status == 1
    assert err == (
        "error: the server refused to import the graph as a new graph (400): "
        "The graph cannot be saved: nodes: 24 nodes exceed the limit of 5\n"
    )
    assert not Graph.objects.exists()


def test_an_address_that_is_not_the_server_is_one_line(live_server, token, tmp_path, capsys):
    package = package_of(load_template("se_resnet_tiny"), tmp_path)
    status, _, err = push(capsys, package, f"{live_server.url}/nowhere", token)
    assert status == 1
    assert err == (
        f"error: POST {live_server.url}/nowhere/api/graphs/import/ answered 404 with something that is not a JSON "
        "object (is this the address of a TorchCanvas server?)\n"
    )


class _Redirect(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(301)
        self.send_header("Location", "https://torchcanvas.example" + self.path)
        self.end_headers()

    do_POST = do_GET

    def log_message(self, *args) -> None:  # quiet
        pass


def test_a_redirect_is_reported_not_followed(tmp_path, capsys):
    """urllib would resend the POST as a GET without its body; the user is told the address to use."""
    server = http.server.HTTPServer(("127.0.0.1", 0), _Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        package = package_of(load_template("se_resnet_tiny"), tmp_path)
        status, _, err = push(capsys, package, url, "any-token")
    finally:
        server.shutdown()
        server.server_close()
    assert status == 1
    assert err == (
        f"error: {url}/api/graphs/import/ redirects to https://torchcanvas.example/api/graphs/import/; "
        "give --push the server's address as it answers\n"
    )


def test_a_server_that_is_down_is_one_line(tmp_path, capsys):
    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    package = package_of(load_template("se_resnet_tiny"), tmp_path)
    status, out, err = push(capsys, package, f"http://127.0.0.1:{port}", "any-token", "--graph", "1")
    assert (status, out) == (1, "")
    assert err == f"error: cannot reach http://127.0.0.1:{port}: connection refused (is the server running?)\n"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--push", "localhost:8000", "--token", "t"],
            "--push expects the server's address, like http://localhost:8000",
        ),
        (["--push", "http://localhost:8000"], "--push needs --token (or $TORCHCANVAS_TOKEN)"),
        (["--graph", "3"], "--graph and --message go with --push URL"),
        (["--push", "http://localhost:8000", "--token", "t", "--message", "m"], "--message goes with --graph ID"),
    ],
)
def test_bad_push_options_are_usage_errors(extra, message, monkeypatch, capsys):
    monkeypatch.delenv("TORCHCANVAS_TOKEN", raising=False)
    with pytest.raises(SystemExit) as caught:
        main(["import", "--generated", "pkg", *extra])
    assert caught.value.code == 2 and message in capsys.readouterr().err


def test_a_version_saved_meanwhile_is_a_conflict_not_an_overwrite(
    live_server, token, designed, alice, monkeypatch, tmp_path, capsys
):
    package = package_of(designed.head.document, tmp_path)
    model = package / "model.py"
    model.write_text(model.read_text().replace(KERNEL_3, KERNEL_5))
    aligned = push_module.align

    def someone_saves_first(imported, base):  # between reading the head and saving on top of it
        moved = {**base, "metadata": {**base["metadata"], "name": "Renamed meanwhile"}}
        services.save_version(designed, alice, moved, base=1, message="meanwhile")
        return aligned(imported, base)

    monkeypatch.setattr(push_module, "align", someone_saves_first)
    status, out, err = push(capsys, package, live_server.url, token, "--graph", str(designed.pk))
    assert (status, out) == (1, "")
    assert err == (
        f"error: cannot save a new version of graph {designed.pk}: someone saved a version meanwhile "
        "(the head is now version 2); push again\n"
    )
    assert designed.versions.count() == 2


def test_the_push_needs_no_django():
    """The CLI runs where only the engine is installed: pushing imports urllib, not Django."""
    code = "import sys, codegen.cli, codegen.push, codegen.importer_align; print(sorted({m.split('.')[0] for m in sys.modules} & {'django', 'rest_framework', 'requests'}))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).parents[2]
    )
    assert done.stdout == "[]\n"
