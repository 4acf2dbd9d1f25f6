"""`make run` installs requirements-run.txt alone (into .venv-run/): the service and the local
stack, no TensorFlow. Checked against what the local stack really loads while it answers."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_REQUIREMENTS = REPO_ROOT / "requirements-run.txt"
DEV_REQUIREMENTS = REPO_ROOT / "requirements-dev.txt"
# Training's packages, and what moto[server] would add for services the local stack never plays.
NOT_FOR_RUN = {"tensorflow", "tensorflow-cpu", "keras", "tf-keras", "scipy", "scikit-image", "matplotlib"} | {
    "cfn-lint",
    "sympy",
    "docker",
    "graphql-core",
}
THIS_PROJECT = "digit-recognizer"

# The local stack as `make run` starts it, in one process (moto's S3 server too, so that its
# modules count), answering the site, the API and its docs over HTTP; then what it loaded.
STACK_AT_WORK = """
import json, sys, threading, urllib.request
import uvicorn
from infra.local_stack import bind_socket, create_local_app, local_recognizer, start_moto_s3
from recognizer.settings import Settings

moto, endpoint = start_moto_s3()
app = create_local_app(local_recognizer(Settings(), endpoint, "run-requirements"))
sock = bind_socket("127.0.0.1", 0)
url = f"http://127.0.0.1:{sock.getsockname()[1]}"
server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]})
thread.start()
while not server.started:
    pass
png = open(sys.argv[1], "rb").read()
for path, body in [("/", None), ("/api/health", None), ("/api/docs", None), ("/api/docs/swagger-ui.css", None), ("/api/predict", png)]:
    request = urllib.request.Request(url + path, data=body, headers={"Content-Type": "image/png"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        assert answer.status == 200, (path, answer.status)
server.should_exit = True
thread.join()
moto.stop()
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""
LOADED = 'import json, sys; print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))'


def requirements(path: Path) -> list[Requirement]:
    """The requirements a pip requirements file names, following its ``-r`` lines."""
    found: list[Requirement] = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            found += requirements(path.parent / line[3:].strip())
        elif line:
            found.append(Requirement(line))
    return found


def closure(roots: list[Requirement]) -> set[str]:
    """Every distribution ``roots`` bring in, with their extras, as installed here (the dev venv
    holds a superset of requirements-run.txt)."""
    done: set[tuple[str, frozenset[str]]] = set()
    names: set[str] = set()
    pending = list(roots)
    while pending:
        requirement = pending.pop()
        name, extras = canonicalize_name(requirement.name), frozenset(requirement.extras)
        if (name, extras) in done:
            continue
        done.add((name, extras))
        names.add(name)
        for text in metadata.distribution(name).requires or []:
            needed = Requirement(text)
            marker = needed.marker
            if marker is None or any(marker.evaluate({"extra": extra}) for extra in extras | {""}):
                pending.append(needed)
    return names


def test_the_run_requirements_are_pinned_and_hold_no_training_or_other_service_package() -> None:
    named = requirements(RUN_REQUIREMENTS)
    assert all(len(r.specifier) == 1 and next(iter(r.specifier)).operator == "==" for r in named), named
    assert not closure(named) & NOT_FOR_RUN
    assert {"fastapi", "moto", "uvicorn", "ai-edge-litert", "flask"} <= {canonicalize_name(r.name) for r in named}


def test_the_dev_requirements_include_the_run_requirements() -> None:
    assert {str(r) for r in requirements(RUN_REQUIREMENTS)} <= {str(r) for r in requirements(DEV_REQUIREMENTS)}


def test_the_local_stack_loads_nothing_the_run_requirements_do_not_install(tmp_path: Path, digit_png) -> None:
    image = tmp_path / "digit.png"
    image.write_bytes(digit_png(7))
    done = subprocess.run(
        [sys.executable, "-c", STACK_AT_WORK, str(image)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # Less what the interpreter loads before any code of ours (a .pth file's import, say).
    bare = subprocess.run([sys.executable, "-c", LOADED], capture_output=True, text=True, check=True)
    modules = set(json.loads(done.stdout.strip().splitlines()[-1])) - set(json.loads(bare.stdout))
    owners = metadata.packages_distributions()
    loaded = {canonicalize_name(dist) for module in modules for dist in owners.get(module, [])}
    loaded.discard(THIS_PROJECT)
    assert {"fastapi", "moto", "uvicorn", "uvloop", "httptools", "ai-edge-litert", "fastapi-swagger"} <= loaded
    missing = loaded - closure(requirements(RUN_REQUIREMENTS))
    assert not missing, f"the local stack loads {sorted(missing)}, which requirements-run.txt does not install"
