"""code/requirements.txt is installed before the handler loads, adding to the serving interpreter only
what it lacks. Hermetic: pip sees only a local directory of wheels built here (PIP_NO_INDEX)."""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from dataplane_helpers import endpoint

from orchestrator.dataplane.sagemaker import LocalSageMakerRuntime, model_requirements
from orchestrator.dataplane.sagemaker.model_data import ModelDataError

pytestmark = pytest.mark.timeout(180)


def build_wheel(wheels: Path, name: str, version: str, module_source: str, requires: tuple[str, ...] = ()) -> Path:
    """A pure-Python wheel with one module, written by hand (no build backend needed)."""
    dist_info = f"{name}-{version}.dist-info"
    files = {
        f"{name}.py": module_source.encode(),
        f"{dist_info}/METADATA": "\n".join(
            ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}", *(f"Requires-Dist: {r}" for r in requires), ""]
        ).encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }

    def record_line(path: str, data: bytes) -> str:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        return f"{path},sha256={digest},{len(data)}"

    record = "\n".join([*(record_line(p, d) for p, d in files.items()), f"{dist_info}/RECORD,,", ""])
    wheels.mkdir(parents=True, exist_ok=True)
    path = wheels / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as whl:
        for member, data in files.items():
            whl.writestr(member, data)
        whl.writestr(f"{dist_info}/RECORD", record)
    return path


USES_TINYAPP = """
import json

import tinyapp


def model_fn(model_dir):
    return tinyapp


def transform_fn(model, body, content_type, accept):
    return json.dumps({"value": model.value(), "from": model.__file__}), "application/json"
"""


@pytest.fixture
def wheel_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tinyapp 1.0 needs tinydep (not installed here) and packaging (installed): only the first two are new."""
    wheels = tmp_path / "wheels"
    build_wheel(wheels, "tinydep", "1.0", "VALUE = 42\n")
    build_wheel(wheels, "tinyapp", "1.0", "import tinydep\n\n\ndef value():\n    return tinydep.VALUE\n",
                requires=("tinydep>=1.0", "packaging"))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    return wheels


def model_with(model_factory: Callable[..., Path], name: str, requirements: str) -> Path:
    d = model_factory(USES_TINYAPP, name)
    (d / "code" / "requirements.txt").write_text(requirements)
    return d


def test_only_what_the_interpreter_lacks_is_installed_once(
    wheel_index: Path, model_factory: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = model_with(model_factory, "app", "# the serving image has boto3 already\nboto3\ntinyapp==1.0\n")
    cache = tmp_path / "requirements"
    installed = model_requirements.install_requirements(d, cache)
    assert installed is not None
    assert sorted(p.name for p in installed.iterdir() if p.suffix == ".py") == ["tinyapp.py", "tinydep.py"]
    assert not (installed / "packaging").exists() and not (installed / "boto3").exists()

    def no_pip(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("pip ran again for a file already installed")

    monkeypatch.setattr(model_requirements.subprocess, "run", no_pip)
    again = model_with(model_factory, "app-again", (d / "code" / "requirements.txt").read_text())
    assert model_requirements.install_requirements(again, cache) == installed  # same content: reused
    satisfied = model_with(model_factory, "satisfied", "boto3\n")
    assert model_requirements.install_requirements(satisfied, cache) is None  # nothing to add: no pip


def test_pip_options_and_nested_files_are_left_to_pip(
    wheel_index: Path, model_factory: Callable[..., Path], tmp_path: Path
) -> None:
    """`-r extra.txt` (relative to code/) is read by pip; the interpreter check alone would miss it."""
    d = model_with(model_factory, "nested", "-r extra.txt\n")
    (d / "code" / "extra.txt").write_text("tinyapp==1.0\n")
    installed = model_requirements.install_requirements(d, tmp_path / "requirements")
    assert installed is not None and (installed / "tinyapp.py").is_file() and (installed / "tinydep.py").is_file()
    only_options = model_with(model_factory, "options", f"--find-links {wheel_index}\nboto3\n")
    empty = model_requirements.install_requirements(only_options, tmp_path / "requirements")
    assert empty is not None and not any(empty.iterdir())  # resolved once to nothing: an empty directory


def test_a_requirement_pip_cannot_find_fails_with_pips_words(
    wheel_index: Path, model_factory: Callable[..., Path], tmp_path: Path
) -> None:
    d = model_with(model_factory, "missing", "tinyapp==1.0\nno-such-package-xyz==1.0\n")
    with pytest.raises(ModelDataError, match="no-such-package-xyz") as raised:
        model_requirements.install_requirements(d, tmp_path / "requirements")
    assert "pip could not install code/requirements.txt" in str(raised.value)
    assert not [p for p in (tmp_path / "requirements").iterdir() if p.is_dir()]  # nothing half-installed


def test_the_endpoint_serves_with_its_requirements_and_others_never_see_them(
    wheel_index: Path, runtime: LocalSageMakerRuntime, model_factory: Callable[..., Path], smr: Any
) -> None:
    d = model_with(model_factory, "with-reqs", "tinyapp==1.0\n")
    state = runtime.apply(endpoint("reqs", ("a", d, 1.0, {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"})))
    assert state.status == "InService", state.failure_reason
    answer = json.loads(smr.invoke_endpoint(EndpointName="reqs", Body=b"{}", ContentType="application/json")["Body"].read())
    assert runtime.manager is not None
    assert answer["value"] == 42 and Path(answer["from"]).is_relative_to(runtime.manager.work_dir / "requirements")

    plain = model_factory(USES_TINYAPP, "without-reqs")  # same code, no requirements.txt: no tinyapp
    state = runtime.apply(endpoint("noreqs", ("a", plain, 1.0, {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"})))
    assert state.status == "Failed" and "No module named 'tinyapp'" in (state.failure_reason or "")

    broken = model_with(model_factory, "broken-reqs", "no-such-package-xyz==1.0\n")
    state = runtime.apply(endpoint("broken", ("a", broken, 1.0, {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"})))
    assert state.status == "Failed"
    assert "a-model" in (state.failure_reason or "") and "no-such-package-xyz" in (state.failure_reason or "")
