"""The deployment's command lines, read from ``docker-compose.yml``: their one definition.

The README shows the same commands (``tests/site/test_deploy_files.py`` checks it), and the stack tests and
benchmarks start their web server and workers with them, so none of the three can drift from the others.
Only what a test must change is changed: the host and port the web server binds, a worker's ``--hostname``
(unique per test), and the path of the executable (the virtualenv's).
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
BIN = Path(sys.executable).parent


def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def command(service: str) -> list[str]:
    """The service's process as argv; for a ``sh -c "setup && ... && exec server"`` command, the server."""
    raw = compose()["services"][service]["command"]
    argv = raw if isinstance(raw, list) else shlex.split(raw)
    if argv[:2] == ["sh", "-c"]:
        argv = shlex.split(argv[2].split("&&")[-1])
        if argv[0] == "exec":
            argv = argv[1:]
    return argv


def setup_steps(service: str) -> list[list[str]]:
    """What a ``sh -c`` command runs before its server (``migrate``, ``collectstatic``), each as argv."""
    raw = compose()["services"][service]["command"]
    argv = raw if isinstance(raw, list) else shlex.split(raw)
    if argv[:2] != ["sh", "-c"]:
        return []
    return [shlex.split(step) for step in argv[2].split("&&")[:-1]]


def _replace_option(argv: list[str], option: str, value: str) -> list[str]:
    if option not in argv:
        raise ValueError(f"{shlex.join(argv)} has no {option} option")
    index = argv.index(option) + 1
    return [*argv[:index], value, *argv[index + 1 :]]


def _local(argv: list[str]) -> list[str]:
    """The executable from this virtualenv (``python`` is this interpreter)."""
    program = sys.executable if argv[0] == "python" else str(BIN / argv[0])
    return [program, *argv[1:]]


def web_argv(port: int, host: str = "127.0.0.1") -> list[str]:
    """The web service's server, bound to ``host:port``."""
    argv = _replace_option(command("web"), "--host", host)
    return _local(_replace_option(argv, "--port", str(port)))


def worker_argv(service: str, hostname: str) -> list[str]:
    """A worker service's command, named ``hostname`` (``name@%h``)."""
    return _local(_replace_option(command(service), "--hostname", hostname))


def option(argv: list[str], name: str) -> str:
    """The value of option ``name`` in ``argv``."""
    return argv[argv.index(name) + 1]
