"""The locks: compiled from the short lists of direct dependencies, every pin hashed, what the tests
run is what the image installs, and no pin below a release that fixes a known vulnerability."""
import hashlib
import importlib.metadata
import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

APP = Path(__file__).resolve().parent.parent
LOCKS = {"requirements.txt": ("requirements.in",), "requirements-test.txt": ("requirements.in", "requirements-test.in")}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)((?:\s+--hash=sha256:[0-9a-f]{64})*)\s*$")
CVE = re.compile(r"^CVE-\d{4}-\d{4,}$")


def read_lock(name):
    """{canonical name: (name, version, [sha256...])} from a lock, whose entries span continuation lines."""
    text = (APP / name).read_text()
    logical = re.sub(r"\\\n", " ", "\n".join(line.split("#", 1)[0].rstrip() for line in text.splitlines()))
    pins = {}
    for line in logical.splitlines():
        line = line.strip()
        if not line or line == "-r requirements.txt":
            continue
        match = PIN.match(line)
        assert match, f"{name}: {line!r} is not `name==version --hash=sha256:...`"
        hashes = re.findall(r"sha256:([0-9a-f]{64})", match.group(3))
        pins[canonicalize_name(match.group(1))] = (match.group(1), match.group(2), hashes)
    return pins


def read_fixed_versions(text):
    """[(package, fixed version, [CVE ids])] from fixed-versions.txt's lines."""
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        assert len(fields) >= 3, f"fixed-versions.txt:{number}: expected `package version CVE-id...`, got {line!r}"
        package, version, cves = fields[0], fields[1], fields[2:]
        Version(version)  # raises on a malformed version
        bad = [cve for cve in cves if not CVE.match(cve)]
        assert not bad, f"fixed-versions.txt:{number}: {bad} are not CVE ids"
        entries.append((package, version, cves))
    return entries


def pins_below_fixed_versions(pins, fixed):
    """One sentence per pin older than a release that fixes a CVE."""
    problems = []
    for package, version, cves in fixed:
        pinned = pins.get(canonicalize_name(package))
        if pinned and Version(pinned[1]) < Version(version):
            problems.append(f"{pinned[0]}=={pinned[1]} is below {version}, which fixes {', '.join(cves)}")
    return problems


def all_pins():
    return {**read_lock("requirements.txt"), **read_lock("requirements-test.txt")}


def test_every_pin_has_an_exact_version_and_a_hash():
    for lock in LOCKS:
        pins = read_lock(lock)
        assert pins, f"{lock} pins nothing"
        for name, version, hashes in pins.values():
            assert hashes, f"{lock}: {name}=={version} has no --hash"


def test_each_lock_was_compiled_from_the_current_direct_dependencies():
    for lock, sources in LOCKS.items():
        digest = hashlib.sha256(b"".join((APP / source).read_bytes() for source in sources)).hexdigest()
        assert f"(sha256 {digest})" in (APP / lock).read_text().splitlines()[0], (
            f"{lock} is stale: {', '.join(sources)} changed since it was compiled; run python3.11 scripts/app-lock.py")


def test_every_direct_dependency_is_pinned_and_satisfies_its_range():
    pins = all_pins()
    for source in ("requirements.in", "requirements-test.in"):
        for line in (APP / source).read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if not line or line.startswith("-r "):
                continue
            requirement = Requirement(line)
            pinned = pins.get(canonicalize_name(requirement.name))
            assert pinned, f"{source} asks for {requirement.name}, which no lock pins"
            assert requirement.specifier.contains(pinned[1]), f"{source}: {line} but the lock pins {pinned[1]}"


def test_the_tests_run_exactly_the_pinned_versions():
    for name, version, _ in all_pins().values():
        installed = importlib.metadata.version(name)
        assert installed == version, f"the locks pin {name}=={version} but the tests run {installed}"


def test_the_runtime_lock_holds_nothing_only_the_tests_need():
    runtime = read_lock("requirements.txt")
    for name in ("pytest", "requests", "playwright"):
        assert canonicalize_name(name) not in runtime, f"requirements.txt (what the image installs) pins {name}"


def test_no_pin_is_below_a_release_that_fixes_a_known_vulnerability():
    fixed = read_fixed_versions((APP / "fixed-versions.txt").read_text())
    assert not pins_below_fixed_versions(all_pins(), fixed)


@pytest.mark.parametrize("pins, expected", [
    ({"werkzeug": ("Werkzeug", "2.2.2", [])}, ["Werkzeug==2.2.2 is below 3.0.6, which fixes CVE-2024-49767, CVE-2024-49766"]),
    ({"werkzeug": ("Werkzeug", "3.0.6", [])}, []),
    ({"werkzeug": ("Werkzeug", "3.1.0", [])}, []),
    ({"flask": ("Flask", "3.1.0", [])}, []),
])
def test_the_check_names_a_pin_below_a_fixed_version_and_its_cves(pins, expected):
    fixed = [("Werkzeug", "3.0.6", ["CVE-2024-49767", "CVE-2024-49766"]), ("gunicorn", "22.0.0", ["CVE-2024-1135"])]
    assert pins_below_fixed_versions(pins, fixed) == expected


def test_the_check_compares_versions_not_strings():
    fixed = [("gunicorn", "22.0.0", ["CVE-2024-1135"])]
    assert pins_below_fixed_versions({"gunicorn": ("gunicorn", "9.0.0", [])}, fixed)
    assert not pins_below_fixed_versions({"gunicorn": ("gunicorn", "100.0", [])}, fixed)


def test_a_fixed_versions_line_without_a_cve_id_is_refused():
    with pytest.raises(AssertionError, match="fixed-versions.txt:2: expected"):
        read_fixed_versions("# header\nFlask 3.1.1\n")
    with pytest.raises(AssertionError, match=r"\['GHSA-x'\] are not CVE ids"):
        read_fixed_versions("Flask 3.1.1 GHSA-x\n")
