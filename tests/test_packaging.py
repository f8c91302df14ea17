"""The wheel carries the product and its models, and nothing of the lab.

Builds the wheel from this checkout (no build isolation, so it works offline) and compares its
listing with the source tree: every module of ``musicapp/``, every weight file with its checksum
and model card, the chord corpus; no ``musicapp_lab``, tests, screenshots or training data.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory) -> set[str]:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(out), str(ROOT)], check=True, capture_output=True, text=True)
    (wheel,) = out.glob("musicapp-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


def test_every_product_module_is_in_the_wheel(wheel_names: set[str]) -> None:
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "musicapp").rglob("*.py")}
    assert modules, "no product modules found"
    assert sorted(modules - wheel_names) == []


def test_the_models_travel_with_the_wheel(wheel_names: set[str]) -> None:
    shipped = {p.relative_to(ROOT / "resources").as_posix()
               for p in (ROOT / "resources").rglob("*")
               if p.is_file() and p.relative_to(ROOT / "resources").parts[0] != "screenshots"}
    inside = {n.removeprefix("musicapp/resources/") for n in wheel_names
              if n.startswith("musicapp/resources/")}
    assert sorted(shipped - inside) == []
    weights = [n for n in inside if n.endswith(".safetensors")]
    assert weights and all(f"{w}.sha256" in inside for w in weights)
    assert any(n.endswith("_MODEL_CARD.md") for n in inside)


def test_nothing_of_the_lab_or_the_tests(wheel_names: set[str]) -> None:
    assert not [n for n in wheel_names if n.startswith(("musicapp_lab/", "tests/", "lab/"))]
    assert not [n for n in wheel_names if "screenshots" in n]


def test_installed_resources_are_found_through_importlib() -> None:
    from musicapp.paths import resource_path

    assert (resource_path("models") / "hashnet.safetensors").is_file()
