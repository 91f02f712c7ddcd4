"""The hashed dependency locks match pyproject.toml, and make installs only from them.

requirements.lock (runtime, used by the Dockerfile and `make install`) and
requirements-test.lock (runtime plus test tools, used by `make test`) are made by
`make lock`. These checks fail when a dependency is added to pyproject.toml without
refreshing the locks, when a pin falls outside its range, or when a pin has no hash.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parent.parent
RUNTIME_LOCK = REPO / "requirements.lock"
TEST_LOCK = REPO / "requirements-test.lock"
TORCH_CPU_WHEEL = Path("/opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl")

ENTRY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==(\S+)((?:\s*\\\n\s*--hash=sha256:[0-9a-f]{64})*)", re.M)


def read_lock(path: Path) -> dict[str, tuple[Version, list[str]]]:
    """name → (pinned version, sha256 hashes); every requirement line must be a hashed pin."""
    text = path.read_text(encoding="utf-8")
    pins: dict[str, tuple[Version, list[str]]] = {}
    for match in ENTRY.finditer(text):
        hashes = re.findall(r"sha256:([0-9a-f]{64})", match.group(4))
        pins[canonicalize_name(match.group(1))] = (Version(match.group(3)), hashes)
    requirement_lines = [line for line in text.splitlines() if line and not line[0].isspace() and not line.startswith("#")]
    assert len(requirement_lines) == len(pins), f"{path.name} has lines that are not hashed pins"
    return pins


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("lock", "groups"), [(RUNTIME_LOCK, ["runtime"]), (TEST_LOCK, ["runtime", "test"])])
def test_every_dependency_of_pyproject_is_pinned_within_its_range_with_hashes(lock: Path, groups: list[str]) -> None:
    project = pyproject()["project"]
    wanted = list(project["dependencies"]) + (list(project["optional-dependencies"]["test"]) if "test" in groups else [])
    wanted += pyproject()["build-system"]["requires"]  # `pip install --no-build-isolation` uses the locked setuptools
    pins = read_lock(lock)
    problems = []
    for line in wanted:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        if name not in pins:
            problems.append(f"{requirement.name} is not in {lock.name}: run `make lock`")
        elif not requirement.specifier.contains(pins[name][0], prereleases=True):
            problems.append(f"{requirement.name}=={pins[name][0]} in {lock.name} is outside {requirement.specifier}: run `make lock`")
    assert problems == []
    unhashed = sorted(name for name, (_, hashes) in pins.items() if not hashes)
    assert unhashed == [], f"pins without a hash in {lock.name}"


def test_runtime_pins_are_the_test_lock_pins() -> None:
    """`make test` adds test tools to the runtime install; it must not change a runtime pin."""
    runtime, test = read_lock(RUNTIME_LOCK), read_lock(TEST_LOCK)
    differ = {n: (str(v), str(test.get(n, (None,))[0])) for n, (v, _) in runtime.items() if test.get(n, (None,))[0] != v}
    assert differ == {}


def test_torch_is_the_cpu_build_hashed_from_its_wheel() -> None:
    version, hashes = read_lock(RUNTIME_LOCK)["torch"]
    assert version == Version("2.13.0+cpu")
    if not TORCH_CPU_WHEEL.exists():
        pytest.skip(f"{TORCH_CPU_WHEEL} is not on this machine; the hash cannot be compared with the file")
    digest = hashlib.sha256(TORCH_CPU_WHEEL.read_bytes()).hexdigest()
    assert digest in hashes


def test_make_installs_only_from_the_locks() -> None:
    """The pip commands `make test` would run: hashed locks, then the project without dependencies."""
    dry = subprocess.run(["make", "-n", "-B", ".venv/.installed", ".venv/.installed-test"], cwd=REPO,
                         capture_output=True, text=True, timeout=30)
    assert dry.returncode == 0, dry.stderr
    installs = [line for line in dry.stdout.splitlines() if "pip install" in line]
    assert installs, dry.stdout
    for line in installs:
        # A lock is installed as it stands: with resolving, an extra that a locked package asks
        # for (justext's `lxml[html_clean]`) made pip 23 pick the newest lxml and refuse the lock.
        locked = ("--require-hashes" in line and "--no-deps" in line
                  and re.search(r"-r requirements(-test)?\.lock\b", line))
        project_only = "--no-deps" in line and "--no-build-isolation" in line and line.rstrip().endswith("-e .")
        assert locked or project_only, f"unlocked install in the Makefile: {line}"
    # Without resolving, only `pip check` finds a dependency that a lock lacks.
    assert dry.stdout.count("pip check") == 2, dry.stdout
