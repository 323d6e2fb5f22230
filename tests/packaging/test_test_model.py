"""`orchestrator test-model` against a tiny pure-Python model folder."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from fakemodels import HANDLERS, make_model

from orchestrator.cli import main
from orchestrator.modeltest import load_handlers, run_model_test
from orchestrator.packaging import build_model_archive

REPO = Path(__file__).resolve().parents[2]


def cases_file(tmp_path: Path, cases: list[dict]) -> Path:
    path = tmp_path / "cases.json"
    path.write_text(json.dumps({"TestData": cases}))
    return path


def test_default_cases_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = make_model(tmp_path)
    assert main(["test-model", str(folder)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines[:4]] == [
        ["PASS", "world"],
        ["PASS", "sports"],
        ["PASS", "business"],
        ["PASS", "scitech"],
    ]
    assert 'expected {"label": 1, "success": "true"}  got {"label": 1, "success": "true"}' in lines[0]
    assert " ms  " in lines[0]
    assert lines[4].startswith(f"4/4 cases passed ({folder}; model_fn ")


def test_failing_case_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = make_model(tmp_path)
    cases = cases_file(
        tmp_path,
        [
            {
                "type": "ApiGateway",
                "resource": "text",
                "request": {"sentence": "Stock prices fell."},
                "response": {"label": 3},
            },
            {
                "type": "ApiGateway",
                "resource": "text",
                "request": {"sentence": "Baseball tonight."},
                "response": {"label": 4, "success": "true"},
            },
        ],
    )
    assert main(["test-model", str(folder), "--cases", str(cases)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("PASS  Stock prices fell.")
    assert lines[1].startswith("FAIL  Baseball tonight. ")
    assert lines[1].endswith('expected {"label": 4, "success": "true"}  got {"label": 2, "success": "true"}')
    assert lines[2].startswith("1/2 cases passed")


def test_handler_error_reports_its_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = make_model(tmp_path)
    cases = cases_file(tmp_path, [{"name": "no-sentence", "request": {"text": "x"}, "response": {"label": 1}}])
    assert main(["test-model", str(folder), "--cases", str(cases)]) == 1
    out, err = capsys.readouterr()
    assert "FAIL  no-sentence" in out and "got status 400: missing field 'sentence'" in out
    assert "Traceback" not in out + err


def test_unexpected_exception_is_status_500(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = make_model(
        tmp_path, handlers=HANDLERS.replace("return classify(data, model)", "raise RuntimeError('boom')")
    )
    assert main(["test-model", str(folder)]) == 1
    assert "got status 500: RuntimeError: boom" in capsys.readouterr().out


def test_transform_fn_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    handlers = (
        "import json\nfrom keywords import classify\n"
        "def model_fn(model_dir):\n    return json.load(open(model_dir + '/keywords.json'))\n"
        "def transform_fn(model, body, content_type, accept):\n"
        "    return json.dumps({'success': 'true', 'label': classify(json.loads(body)['sentence'], model)}).encode()\n"
    )
    folder = make_model(tmp_path, handlers=handlers)
    assert main(["test-model", str(folder)]) == 0


def test_accepts_an_archive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = build_model_archive(make_model(tmp_path), tmp_path / "model.tar.gz").path
    assert main(["test-model", str(archive)]) == 0


def test_two_models_with_same_module_names_in_one_process(tmp_path: Path) -> None:
    first = make_model(tmp_path, "first")
    second = make_model(tmp_path, "second", module="def classify(text, keywords):\n    return 4\n")
    before = set(sys.modules)
    assert run_model_test(first).passed
    report = run_model_test(second)
    assert [r.got["label"] for r in report.results] == [4, 4, 4, 4]  # its own keywords.py, not the first one's
    assert not [m for m in set(sys.modules) - before if m == "keywords" or m.startswith("_modeltest_")]
    assert str(tmp_path) not in " ".join(sys.path)


def test_load_handlers_restores_shadowed_modules(tmp_path: Path) -> None:
    folder = make_model(tmp_path)
    sentinel = type(sys)("keywords")
    sys.modules["keywords"] = sentinel
    try:
        handlers = load_handlers(folder / "code")
        assert handlers.module.classify.__module__ == "keywords"
        assert sys.modules["keywords"] is sentinel
    finally:
        del sys.modules["keywords"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[]", 'expected {"TestData": [{"request": {...}, "response": {...}}, ...]} with at least one case'),
        ('{"TestData": [{"request": "x", "response": {}}]}', "TestData[0].request: must be an object"),
        ('{"TestData": [{"request": {"sentence": "x"}}]}', "TestData[0].response: required but missing"),
        ('{"TestData": [', "invalid JSON at line 1, column 15"),
    ],
)
def test_bad_cases_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    path = tmp_path / "cases.json"
    path.write_text(content)
    assert main(["test-model", str(make_model(tmp_path)), "--cases", str(path)]) == 2
    assert message in capsys.readouterr().err


def test_missing_model_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test-model", str(tmp_path / "nope")]) == 2
    assert "does not exist (expected a model folder or a model.tar.gz)" in capsys.readouterr().err


def test_model_fn_failure_is_one_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = make_model(tmp_path)
    (folder / "artifacts" / "keywords.json").write_text("not json")
    assert main(["test-model", str(folder)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: model_fn failed for {folder}: JSONDecodeError")


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.skipif(not (REPO / "models" / "model-a" / "train.py").is_file(), reason="models/model-a is not there yet")
def test_real_model_a(capsys: pytest.CaptureFixture[str]) -> None:
    """Integration: the real text classifier (trains on first use; torch)."""
    assert main(["test-model", str(REPO / "models" / "model-a")]) == 0, capsys.readouterr().out
