"""Each model's code/ is shipped alone in model.tar.gz, so the shared modules exist once per model.

These tests keep the copies identical: only features.py (the featurization) may differ.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest

DIFFERING = {"features.py"}


def _files(code_dir: Path) -> dict[str, bytes]:
    return {
        path.name: path.read_bytes()
        for path in sorted(code_dir.iterdir())
        if path.is_file() and not path.name.endswith(".pyc")
    }


def test_code_dirs_hold_the_same_files(models_dir: Path) -> None:
    a, b = _files(models_dir / "model-a" / "code"), _files(models_dir / "model-b" / "code")
    assert sorted(a) == sorted(b)
    assert {"inference.py", "model.py", "requirements.txt", "features.py"} <= set(a)


@pytest.mark.parametrize("name", sorted(_files(Path(__file__).resolve().parents[1] / "model-a" / "code")))
def test_shared_files_are_byte_identical(models_dir: Path, name: str) -> None:
    a = (models_dir / "model-a" / "code" / name).read_bytes()
    b = (models_dir / "model-b" / "code" / name).read_bytes()
    if name in DIFFERING:
        assert a != b, f"{name} is meant to differ between the models"
    else:
        assert a == b, (
            f"code/{name} differs between model-a and model-b; it is a shared module copied into each model "
            f"(edit one, then copy it: cp models/model-a/code/{name} models/model-b/code/{name})"
        )


@pytest.mark.parametrize("name", ["model-a", "model-b"])
def test_model_json_ngrams_matches_the_featurizer(models_dir: Path, name: str) -> None:
    from training.codeload import load_code

    document = json.loads((models_dir / name / "model.json").read_text(encoding="utf-8"))
    assert document["name"] == name
    assert document["ngrams"] == load_code(models_dir / name / "code").features.NGRAMS


def test_models_differ_only_where_intended(models_dir: Path) -> None:
    a = json.loads((models_dir / "model-a" / "model.json").read_text(encoding="utf-8"))
    b = json.loads((models_dir / "model-b" / "model.json").read_text(encoding="utf-8"))
    assert (a["ngrams"], b["ngrams"]) == (1, 2)
    assert a["labels"] == b["labels"] == ["World", "Sports", "Business", "Sci/Tech"]
    assert a["embed_dim"] == b["embed_dim"] == 32


@pytest.mark.parametrize("name", ["model-a", "model-b"])
def test_requirements_install_nothing(models_dir: Path, name: str) -> None:
    lines = (models_dir / name / "code" / "requirements.txt").read_text(encoding="utf-8").splitlines()
    requirements = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    assert requirements == [], "torch comes with the serving image and torchtext is not used"


@pytest.mark.parametrize("name", ["model-a", "model-b"])
def test_code_imports_only_stdlib_torch_and_itself(models_dir: Path, name: str) -> None:
    code_dir = models_dir / name / "code"
    local = {path.stem for path in code_dir.glob("*.py")}
    allowed = local | set(sys.stdlib_module_names) | {"torch", "sagemaker_inference"}
    for path in code_dir.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                roots = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                roots = [(node.module or "").split(".")[0]]
            else:
                continue
            assert set(roots) <= allowed - {"pickle"}, f"{path.name} imports {roots}"
        assert "weights_only=False" not in path.read_text(encoding="utf-8")
