"""What ships inside the package: bundled suites found by name, a user's file by path, load
profiles beside a suite's own folder first, and the platform's revision from its content."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from validator.config.suite_file import load_suite_file
from validator.errors import ConfigError
from validator.resources import (
    KINDS,
    bundled,
    bundled_suites,
    load_profile_path,
    platform_revision,
    suite_path,
)


def test_every_kind_is_bundled_inside_the_package() -> None:
    for kind in KINDS:
        path = bundled(kind)
        assert path.is_dir() and "validator" in path.parts and any(path.iterdir()), kind


def test_a_bundled_suite_is_found_by_name_and_loads_its_bundled_experiments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # nowhere near a checkout
    assert {"nightly", "on-demand", "maintenance-rehearsal"} <= set(bundled_suites())
    for name in ("nightly", "nightly.yaml"):
        path = suite_path(name)
        assert path == bundled("suites") / "nightly.yaml"
    suite = load_suite_file(suite_path("nightly"))
    assert all(e.path.is_file() and bundled("experiments") in e.path.parents for e in suite.experiments)


def test_a_path_names_the_users_own_suite_and_a_missing_name_lists_the_bundled_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = tmp_path / "nightly.yaml"
    own.write_text("name: mine\n")
    assert suite_path(own) == own
    monkeypatch.chdir(tmp_path)
    assert suite_path("nightly.yaml") == Path("nightly.yaml")  # the file in the cwd wins
    with pytest.raises(ConfigError) as caught:
        suite_path("nighty")
    assert "nighty" in caught.value.what and "nightly" in caught.value.fix


def test_a_load_profile_beside_the_suites_folder_wins_over_the_bundled_one(tmp_path: Path) -> None:
    (tmp_path / "suites").mkdir()
    (tmp_path / "loadprofiles").mkdir()
    suite = tmp_path / "suites" / "mine.yaml"
    assert load_profile_path("burst", suite) == bundled("loadprofiles") / "burst.py"
    (tmp_path / "loadprofiles" / "burst.py").write_text("# edited\n")
    assert load_profile_path("burst", suite) == (tmp_path / "loadprofiles" / "burst.py").resolve()


def test_the_platform_revision_changes_with_its_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = platform_revision()
    assert len(first) == 12 and first == platform_revision()

    copy = tmp_path / "bundled"
    shutil.copytree(bundled("platform"), copy / "platform")
    monkeypatch.setattr("validator.resources.bundled_dir", lambda: copy)
    assert platform_revision() == first
    (copy / "platform" / "alerts" / "__pycache__").mkdir(exist_ok=True)
    (copy / "platform" / "alerts" / "__pycache__" / "generate.cpython-311.pyc").write_bytes(b"compiled")
    assert platform_revision() == first  # an install's bytecode is not a new revision
    (copy / "platform" / "README.md").write_text("changed\n")
    assert platform_revision() != first
