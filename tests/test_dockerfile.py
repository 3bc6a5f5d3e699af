"""What can be checked of the Dockerfile without a Docker daemon."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_starts_from_a_base_image_and_has_an_entrypoint():
    ins = _instructions()
    assert ins[0][0] == "FROM"
    assert ("ENTRYPOINT", '["unspin"]') in ins
    assert any(k == "USER" and v != "root" for k, v in ins), "the image must not run as root"


def test_every_copied_path_exists():
    for kind, rest in _instructions():
        if kind == "COPY" and not rest.startswith("--from"):
            *sources, _dest = shlex.split(rest)
            for src in sources:
                assert (ROOT / src).exists(), f"Dockerfile copies {src}, which is not in the repository"


def test_installs_the_same_pinned_torch_as_the_setup_script():
    setup = (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    assert "torch==2.13.0" in setup
    assert "pip install torch==2.13.0" in DOCKERFILE
    for pkg in ("wordnet-base", "wordnet-sense-index", "mythes-en-us"):
        assert pkg in setup and pkg in DOCKERFILE
