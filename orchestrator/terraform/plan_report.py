"""A pull-request review summary of a plan, in GitHub-flavoured markdown.

Per stack: a table of adds/changes/destroys, the changed resources, and the full plan collapsed
under it. The whole comment stays under GitHub's 65,536-character limit: full plans are cut
(largest first) with a note saying how to see them whole.
"""

from __future__ import annotations

from orchestrator.terraform.progress import StackOutcome

GITHUB_COMMENT_LIMIT = 65_536
# A hidden marker lets the workflow find and update its own comment instead of adding another.
STICKY_MARKER = "<!-- orchestrator-plan -->"
_ACTION_ICON = {"create": "+", "update": "~", "delete": "-", "replace": "-/+", "read": "<="}
_STATUS_TEXT = {
    "planned": "changes pending",
    "no-changes": "no changes",
    "waiting-upstream": "waiting on upstream",
    "failed": "plan failed",
}


def _stack_header(outcome: StackOutcome) -> list[str]:
    status = _STATUS_TEXT.get(outcome.status, outcome.status)
    lines = [f"### `{outcome.stack}`: {status}", ""]
    if outcome.status == "waiting-upstream":
        lines += [f"> {outcome.note}", ""]
        return lines
    if outcome.status == "failed":
        lines += ["```", outcome.error.strip(), "```", ""]
        return lines
    lines += [
        "| add | change | destroy |",
        "| ---: | ---: | ---: |",
        f"| {outcome.add} | {outcome.change} | {outcome.destroy} |",
        "",
    ]
    if outcome.changes:
        lines += [
            f"- `{_ACTION_ICON.get(action, action)}` `{address}` ({action})" for address, action in outcome.changes
        ]
        lines.append("")
    return lines


def _details(plan_text: str) -> str:
    return f"<details><summary>Full plan</summary>\n\n```hcl\n{plan_text.rstrip()}\n```\n\n</details>\n"


def render_markdown(env_name: str, outcomes: list[StackOutcome], limit: int = GITHUB_COMMENT_LIMIT) -> str:
    add = sum(o.add for o in outcomes)
    change = sum(o.change for o in outcomes)
    destroy = sum(o.destroy for o in outcomes)
    head = [
        STICKY_MARKER,
        f"## Terraform plan for environment `{env_name}`",
        "",
        f"**{add} to add, {change} to change, {destroy} to destroy** across {len(outcomes)} stack(s).",
        "",
        "| stack | result | add | change | destroy |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    head += [
        f"| `{o.stack}` | {_STATUS_TEXT.get(o.status, o.status)} | {o.add} | {o.change} | {o.destroy} |"
        for o in outcomes
    ]
    head.append("")
    sections = ["\n".join(_stack_header(o)) for o in outcomes]
    plans = [o.plan_text if o.plan_text.strip() and o.has_changes else "" for o in outcomes]

    def assemble(bodies: list[str]) -> str:
        parts = ["\n".join(head)]
        for section, body in zip(sections, bodies):
            parts.append(section)
            if body:
                parts.append(_details(body))
        return "\n".join(parts)

    text = assemble(plans)
    # Cut the largest plans first until the comment fits; a plan cut to its note alone is final.
    final: set[int] = set()
    while len(text) > limit:
        candidates = [i for i in range(len(plans)) if plans[i] and i not in final]
        if not candidates:
            break
        index = max(candidates, key=lambda i: len(plans[i]))
        stack = outcomes[index].stack
        excess = len(text) - limit
        original = len(plans[index])
        keep = max(0, original - excess - 400)
        note = (
            f"... truncated {original - keep:,} characters to fit GitHub's comment limit; "
            f"run `orchestrator plan --env {env_name} --stack {stack}` for the full plan."
        )
        if keep == 0:
            final.add(index)
            plans[index] = note
        else:
            plans[index] = plans[index][:keep] + "\n" + note
        text = assemble(plans)
    if len(text) > limit:  # pathological: headers alone are too long
        text = text[: limit - 200] + "\n\n... truncated to fit GitHub's comment limit.\n"
    return text
