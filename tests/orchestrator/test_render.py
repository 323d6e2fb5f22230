"""Rendered tfvars: every value is an HCL literal; no config value can inject Terraform syntax."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from orchestrator.terraform.render import HclRenderError, render_tfvars, to_hcl

HOSTILE = [
    'plain "quoted" text',
    "back\\slash and trailing \\",
    "new\nline\r\ttab",
    '${file("/etc/passwd")}',
    "%{ if true }x%{ endif }",
    "$${already escaped} %%{ also }",
    '"\n}\nresource "null_resource" "pwned" {}\nx = {\n',
    "unicode: é ✓ \u0001 \u007f",
    "<<EOF\nheredoc\nEOF",
]


def test_scalars_and_collections() -> None:
    assert to_hcl(None) == "null"
    assert to_hcl(True) == "true"
    assert to_hcl(3) == "3"
    assert to_hcl(2.5) == "2.5"
    assert to_hcl([]) == "[]"
    assert to_hcl({}) == "{}"
    assert to_hcl({"a": [1, "x"]}) == '{\n  "a" = [\n    1,\n    "x",\n  ]\n}'


def test_interpolation_and_directives_are_escaped() -> None:
    assert to_hcl("${var.x}") == '"$${var.x}"'
    assert to_hcl("%{if}") == '"%%{if}"'
    assert to_hcl('a"b') == '"a\\"b"'
    assert to_hcl("a\nb") == '"a\\nb"'


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), object(), {1: "x"}])
def test_values_without_hcl_literal_are_refused(bad: object) -> None:
    with pytest.raises(HclRenderError):
        to_hcl(bad)


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform not on PATH")
def test_terraform_reads_back_exactly_the_hostile_values(tmp_path: Path) -> None:
    """Terraform itself parses the rendered file and returns every string byte for byte."""
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "probe.tfvars.j2").write_text("values = {{ values | hcl }}\nnested = {{ nested | hcl }}\n")
    nested = {'key with "quote" and ${x}': {"list": HOSTILE}}
    (tmp_path / "main.tf").write_text(
        'variable "values" { type = list(string) }\n'
        'variable "nested" { type = any }\n'
        'output "values" { value = var.values }\n'
        'output "nested" { value = var.nested }\n'
    )
    (tmp_path / "terraform.tfvars").write_text(render_tfvars("probe", {"values": HOSTILE, "nested": nested}, templates))
    env = {"PATH": "/usr/bin:/bin:/usr/local/bin", "CHECKPOINT_DISABLE": "1", "HOME": str(tmp_path)}
    subprocess.run(
        ["terraform", "init", "-input=false"], cwd=tmp_path, env=env, check=True, capture_output=True, timeout=60
    )
    subprocess.run(
        ["terraform", "apply", "-auto-approve", "-input=false"],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    out = subprocess.run(
        ["terraform", "output", "-json"], cwd=tmp_path, env=env, check=True, capture_output=True, text=True, timeout=60
    )
    outputs = json.loads(out.stdout)
    assert outputs["values"]["value"] == HOSTILE
    assert outputs["nested"]["value"] == nested
    state = json.loads((tmp_path / "terraform.tfstate").read_text())
    assert state["resources"] == [], "no resource may be injected through a value"
