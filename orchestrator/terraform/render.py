"""Render each stack's ``terraform.tfvars`` from a jinja2 template.

Templates live in ``orchestrator/templates/stacks/<stack>.tfvars.j2`` and may only emit values
through the ``hcl`` filter, which turns a Python value into an HCL literal. Strings are escaped so
that no configuration value (quotes, backslashes, newlines, ``${...}``, ``%{...}``) can inject
Terraform syntax: interpolation and template directives become their literal escapes.
The jinja2 environment uses ``StrictUndefined`` so a template that names a missing value fails.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates" / "stacks"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


class HclRenderError(ValueError):
    """A value that has no HCL literal (e.g. NaN, an object of an unknown type)."""


def hcl_string(value: str) -> str:
    """A double-quoted HCL string whose content is exactly ``value``, with no interpolation."""
    out = []
    for char in value:
        if char == "\\":
            out.append("\\\\")
        elif char == '"':
            out.append('\\"')
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    text = "".join(out)
    # "${" and "%{" start interpolation / directives; HCL's literal escapes are "$${" and "%%{".
    text = text.replace("${", "$${").replace("%{", "%%{")
    return f'"{text}"'


def to_hcl(value: Any, indent: int = 0) -> str:
    """Render a JSON-like Python value as an HCL expression."""
    pad = "  " * indent
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise HclRenderError(f"{value!r} has no HCL literal")
        return repr(value)
    if isinstance(value, str):
        return hcl_string(value)
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        lines = []
        for key, item in value.items():
            if not isinstance(key, str):
                raise HclRenderError(f"map key {key!r} is not a string")
            lines.append(f"{pad}  {hcl_string(key)} = {to_hcl(item, indent + 1)}")
        return "{\n" + "\n".join(lines) + f"\n{pad}}}"
    if isinstance(value, Sequence):
        if not value:
            return "[]"
        items = [f"{pad}  {to_hcl(item, indent + 1)}," for item in value]
        return "[\n" + "\n".join(items) + f"\n{pad}]"
    raise HclRenderError(f"cannot render {type(value).__name__} as HCL")


def _environment(templates_dir: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["hcl"] = to_hcl
    env.filters["tojson_compact"] = lambda v: json.dumps(v, sort_keys=True, separators=(",", ":"))
    return env


def render_tfvars(stack: str, context: Mapping[str, Any], templates_dir: Path = TEMPLATES_DIR) -> str:
    """Render ``<stack>.tfvars.j2`` with ``context``; the result is valid HCL."""
    template = _environment(templates_dir).get_template(f"{stack}.tfvars.j2")
    return template.render(**context)


def write_tfvars(stack: str, context: Mapping[str, Any], out_dir: Path, templates_dir: Path = TEMPLATES_DIR) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "terraform.tfvars"
    path.write_text(render_tfvars(stack, context, templates_dir))
    return path
