"""The deployment files, checked as far as a machine without a container engine allows: ``docker-compose
config`` validates the compose file, the Dockerfile builds the canvas in a Node stage and copies it into the
final image, and the README's production commands are the compose file's (which the stack tests run)."""

from __future__ import annotations

import json
import os
import posixpath
import re
import shlex
import shutil
import subprocess

import deployment
import pytest
import yaml

ROOT = deployment.ROOT
DOCKERFILE = (ROOT / "Dockerfile").read_text()
README = (ROOT / "README.md").read_text()


def compose_config(**env: str) -> subprocess.CompletedProcess:
    binary = shutil.which("docker-compose")
    if binary is None:
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail("docker-compose is not installed; .ci/run installs Debian's package")
        pytest.skip("docker-compose is not installed (apt-get install docker-compose; CI installs it)")
    clean = {key: value for key, value in os.environ.items() if key != "SECRET_KEY"}
    return subprocess.run(
        [binary, "-f", str(deployment.COMPOSE_FILE), "config", *(["-q"] if env.get("quiet") else [])],
        cwd=ROOT,
        env={**clean, **{k: v for k, v in env.items() if k != "quiet"}},
        capture_output=True,
        text=True,
        timeout=60,
    )


# --- docker-compose.yml -----------------------------------------------------------------------------


def test_docker_compose_validates_the_compose_file():
    result = compose_config(SECRET_KEY="x" * 60, quiet="1")
    assert result.returncode == 0, result.stderr


def test_docker_compose_refuses_to_start_without_a_secret_key():
    result = compose_config(quiet="1")
    assert result.returncode != 0 and "set SECRET_KEY to 50+ random characters" in result.stderr


def test_docker_compose_reads_the_commands_the_stack_tests_run():
    resolved = yaml.safe_load(compose_config(SECRET_KEY="x" * 60).stdout)["services"]
    for service in ("web", "worker-cpu", "worker-gpu"):
        raw = resolved[service]["command"]
        argv = raw if isinstance(raw, list) else shlex.split(raw)
        if argv[:2] == ["sh", "-c"]:
            argv = shlex.split(argv[2].split("&&")[-1])[1:]  # after `exec`
        assert argv == deployment.command(service)
    assert resolved["web"]["environment"]["WEB_CONCURRENCY"] == "4"


# --- the README's commands are the compose file's ----------------------------------------------------


def readme_commands() -> list[list[str]]:
    """The README's command lines that run the virtualenv's programs, as argv without ``VAR=value`` prefixes or
    ``.venv/bin/``."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", README, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            if ".venv/bin/" not in line.partition("#")[0]:
                continue
            argv = shlex.split(line, comments=True)
            while argv and re.fullmatch(r"[A-Z_]+=\S*", argv[0]):
                argv = argv[1:]
            if argv:
                commands.append([argv[0].removeprefix(".venv/bin/"), *argv[1:]])
    return commands


@pytest.mark.parametrize("service", ["web", "worker-cpu", "worker-gpu"])
def test_the_readme_starts_each_process_with_the_compose_files_command(service):
    assert deployment.command(service) in readme_commands()


def test_the_readme_runs_the_web_services_set_up_steps_before_the_server():
    commands = readme_commands()
    for step in deployment.setup_steps("web"):
        assert step in commands, f"the README's production start lacks {shlex.join(step)}"


def test_the_readme_starts_as_many_web_processes_as_the_compose_file():
    default = re.fullmatch(
        r"\$\{WEB_CONCURRENCY:-(\d+)\}", deployment.compose()["services"]["web"]["environment"]["WEB_CONCURRENCY"]
    )
    server = shlex.join(deployment.command("web"))
    assert f"WEB_CONCURRENCY={default.group(1)} .venv/bin/{server}" in README


# --- the Dockerfile -----------------------------------------------------------------------------------


def stages() -> list[dict]:
    """Each ``FROM`` of the Dockerfile with its instructions (continuation lines joined)."""
    found: list[dict] = []
    for line in DOCKERFILE.replace("\\\n", " ").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, rest = line.partition(" ")
        if instruction == "FROM":
            image, _, name = rest.partition(" AS ")
            found.append({"image": image, "name": name or None, "steps": []})
        else:
            found[-1]["steps"].append((instruction, rest.strip()))
    return found


def test_the_image_builds_the_canvas_in_a_node_stage_from_the_lock():
    canvas = stages()[0]
    assert canvas["image"].startswith("node:20") and canvas["name"] == "canvas"
    steps = canvas["steps"]
    copies = [rest for instruction, rest in steps if instruction == "COPY"]
    runs = [rest for instruction, rest in steps if instruction == "RUN"]
    assert copies[0].split()[:2] == ["frontend/package.json", "frontend/package-lock.json"]
    assert runs[0].startswith("npm ci") and runs[-1] == "npm run build"
    assert steps.index(("RUN", runs[0])) < steps.index(("COPY", "frontend/ ./")) < steps.index(("RUN", "npm run build"))


def test_the_final_image_copies_the_canvas_from_where_vite_writes_it():
    canvas, final = stages()[0], stages()[-1]
    workdir = [rest for instruction, rest in canvas["steps"] if instruction == "WORKDIR"][-1]
    out_dir = re.search(r'outDir:\s*"([^"]+)"', (ROOT / "frontend" / "vite.config.ts").read_text()).group(1)
    built = posixpath.normpath(posixpath.join(workdir, out_dir))
    copies = [rest.split() for instruction, rest in final["steps"] if instruction == "COPY"]
    assert ["--from=canvas", f"{built}/", "static/dist/"] in copies
    # After the sources, so a stale local build (also kept out by .dockerignore) never wins.
    assert copies.index(["--from=canvas", f"{built}/", "static/dist/"]) > copies.index([".", "."])
    assert "static/dist" in (ROOT / ".dockerignore").read_text().split()


def test_the_final_image_is_python_with_the_lock_and_starts_the_compose_files_web_server():
    final = stages()[-1]
    assert final["image"].startswith("python:3.11")
    runs = [rest for instruction, rest in final["steps"] if instruction == "RUN"]
    assert any("pip install" in run and "-c constraints.txt" in run for run in runs)
    cmd = [json.loads(rest) for instruction, rest in final["steps"] if instruction == "CMD"][-1]
    assert cmd == deployment.command("web")
