"""What the Lambda image holds, read from the files that build it, and events to invoke it with.

- ``dockerfile()`` parses functions/Dockerfile (FROM, COPY, ENV, CMD, RUN) and
  ``DockerIgnore`` applies /.dockerignore the way the Docker engine does (last match wins, a
  pattern that matches a folder matches everything in it), so tests can rebuild the image's
  task root from them (``materialize_task_root``) and run the handler there.
- ``sam_http_api_event`` adapts the event SAM CLI generated (tests/events/http-api-proxy.json)
  into the request the HTTP API sends for a route of template.yaml.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import shlex
import shutil
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cfnlint.decode import decode

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = REPO_ROOT / "template.yaml"
DOCKERFILE = REPO_ROOT / "functions" / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
SAM_EVENT = REPO_ROOT / "tests" / "events" / "http-api-proxy.json"
FUNCTION = "RecognizerFunction"
LAMBDA_TASK_ROOT = "/var/task"  # the AWS Lambda base images' ${LAMBDA_TASK_ROOT}


# --- template.yaml --------------------------------------------------------------------------


@lru_cache(maxsize=1)
def template() -> dict:
    """template.yaml as plain dicts (CloudFormation tags decoded by cfn-lint's own loader)."""
    parsed, problems = decode(str(TEMPLATE))
    assert not problems, [str(problem) for problem in problems]
    return parsed


def function_properties() -> dict:
    return template()["Resources"][FUNCTION]["Properties"]


def handler_name() -> str:
    """The dotted handler name the image runs: template.yaml's ImageConfig.Command."""
    command = function_properties()["ImageConfig"]["Command"]
    assert len(command) == 1, command
    return command[0]


# --- the Dockerfile -------------------------------------------------------------------------


@dataclass(frozen=True)
class Copy:
    sources: tuple[str, ...]
    destination: str


@dataclass(frozen=True)
class Dockerfile:
    base_image: str
    copies: tuple[Copy, ...]
    env: dict[str, str]
    runs: tuple[str, ...]
    cmd: tuple[str, ...]


def _logical_lines(text: str) -> list[str]:
    """Instructions with their backslash continuations joined and comments dropped."""
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    return lines


def _expand(value: str, variables: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: variables[m.group(1) or m.group(2)], value)


def _env_pairs(arguments: str) -> dict[str, str]:
    return dict(token.split("=", 1) for token in shlex.split(arguments))


@lru_cache(maxsize=1)
def dockerfile() -> Dockerfile:
    variables = {"LAMBDA_TASK_ROOT": LAMBDA_TASK_ROOT}
    base_image, copies, env, runs, cmd = "", [], {}, [], ()
    for line in _logical_lines(DOCKERFILE.read_text()):
        instruction, _, arguments = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            base_image = arguments.strip()
        elif instruction == "COPY":
            words = [w for w in shlex.split(arguments) if not w.startswith("--")]
            sources = tuple(_expand(word, variables) for word in words[:-1])
            copies.append(Copy(sources, _expand(words[-1], variables)))
        elif instruction == "ENV":
            for name, value in _env_pairs(arguments).items():
                env[name] = variables[name] = _expand(value, variables)
        elif instruction == "RUN":
            runs.append(_expand(arguments, variables))
        elif instruction == "CMD":
            cmd = tuple(json.loads(arguments))
    return Dockerfile(base_image, tuple(copies), env, tuple(runs), cmd)


# --- .dockerignore --------------------------------------------------------------------------


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """Go filepath.Match syntax plus ``**``, as the Docker engine reads .dockerignore."""
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
            if pattern.startswith("/", i):  # "**/" also matches no folder at all
                out = out[:-2] + "(?:.*/)?"
                i += 1
            continue
        char = pattern[i]
        out += {"*": "[^/]*", "?": "[^/]"}.get(char, re.escape(char))
        i += 1
    return re.compile(out)


@dataclass(frozen=True)
class DockerIgnore:
    rules: tuple[tuple[bool, re.Pattern[str]], ...]  # (is an exception "!", pattern)

    @classmethod
    def read(cls, path: Path = DOCKERIGNORE) -> DockerIgnore:
        rules = []
        for line in path.read_text().splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            negated = line.startswith("!")
            pattern = line.lstrip("!").strip().strip("/")
            rules.append((negated, _pattern_regex(pattern)))
        return cls(tuple(rules))

    def excludes(self, relative_path: str) -> bool:
        """Whether the file at this context-relative path stays out of the build context."""
        parts = relative_path.strip("/").split("/")
        prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        excluded = False
        for negated, regex in self.rules:
            if any(regex.fullmatch(prefix) for prefix in prefixes):
                excluded = not negated
        return excluded


# --- the image's task root, rebuilt from the Dockerfile -------------------------------------


def _context_files(source: str, ignore: DockerIgnore) -> list[tuple[Path, str]]:
    """(file, path relative to the copied source) for each file COPY sends from the context."""
    root = REPO_ROOT / source
    candidates = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    return [
        (path, path.relative_to(root).as_posix() if path != root else "")
        for path in candidates
        if not ignore.excludes(path.relative_to(REPO_ROOT).as_posix())
    ]


def image_files(ignore: DockerIgnore | None = None) -> dict[str, Path]:
    """Every file the Dockerfile's COPY lines put in the image: image path -> source file."""
    ignore = ignore or DockerIgnore.read()
    files: dict[str, Path] = {}
    for copy_ in dockerfile().copies:
        for source in copy_.sources:
            for path, relative in _context_files(source, ignore):
                if relative == "" and not copy_.destination.endswith("/"):
                    files[copy_.destination] = path
                else:
                    files[f"{copy_.destination.rstrip('/')}/{relative}".rstrip("/")] = path
    return files


def materialize_task_root(target: Path) -> Path:
    """Copy what the image holds under ${LAMBDA_TASK_ROOT} into ``target``; ``target``."""
    for image_path, source in image_files().items():
        if not image_path.startswith(LAMBDA_TASK_ROOT + "/"):
            continue
        destination = target / image_path.removeprefix(LAMBDA_TASK_ROOT + "/")
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)
    return target


def image_environment(task_root: Path) -> dict[str, str]:
    """The Dockerfile's ENV, with ${LAMBDA_TASK_ROOT} moved to ``task_root``."""
    return {name: value.replace(LAMBDA_TASK_ROOT, str(task_root)) for name, value in dockerfile().env.items()}


# --- HTTP API events ------------------------------------------------------------------------


def sam_http_api_event(
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    content_type: str | None = None,
    route_key: str = "ANY /api/{proxy+}",
) -> dict:
    """The SAM-generated HTTP API event, turned into ``method path`` on the template's route.

    API Gateway lowercases header names and base64-encodes binary bodies; the rest of SAM's
    sample (query string, cookies, authorizer, stage variables) is kept as it is.
    """
    event = copy.deepcopy(json.loads(SAM_EVENT.read_text()))
    request_id = uuid.uuid4().hex
    event["rawPath"] = path
    event["routeKey"] = route_key
    event["pathParameters"] = {"proxy": path.removeprefix("/api/")}
    context = event["requestContext"]
    context["http"]["method"] = method
    context["http"]["path"] = path
    context["routeKey"] = route_key
    context["requestId"] = request_id
    headers = {name.lower(): value for name, value in event["headers"].items()}
    headers["host"] = context["domainName"]
    if body is None:
        event.pop("body", None)
        event["isBase64Encoded"] = False
    else:
        headers["content-length"] = str(len(body))
        event["body"] = base64.b64encode(body).decode()
        event["isBase64Encoded"] = True
    if content_type is not None:
        headers["content-type"] = content_type
    event["headers"] = headers
    return event
