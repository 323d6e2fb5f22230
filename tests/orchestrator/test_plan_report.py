from __future__ import annotations

from orchestrator.terraform.plan_report import GITHUB_COMMENT_LIMIT, STICKY_MARKER, render_markdown
from orchestrator.terraform.progress import StackOutcome


def _outcome(name: str, plan_chars: int, **kw) -> StackOutcome:
    o = StackOutcome(name, status="planned", add=3, change=1, destroy=0, **kw)
    o.changes = [(f"module.this.aws_s3_bucket.b{i}", "create") for i in range(3)] + [("aws_ssm_parameter.x", "update")]
    o.plan_text = ("  + resource line\n" * (plan_chars // 18 + 1))[:plan_chars]
    return o


def test_summary_tables_and_changed_resources() -> None:
    text = render_markdown("demo", [_outcome("model-archive", 500), StackOutcome("cicd-pipeline", status="no-changes")])
    assert text.startswith(STICKY_MARKER)
    assert "**3 to add, 1 to change, 0 to destroy** across 2 stack(s)." in text
    assert "| `model-archive` | changes pending | 3 | 1 | 0 |" in text
    assert "`module.this.aws_s3_bucket.b0` (create)" in text
    assert "<details><summary>Full plan</summary>" in text
    assert "| `cicd-pipeline` | no changes | 0 | 0 | 0 |" in text


def test_waiting_upstream_and_failures_are_explained() -> None:
    waiting = StackOutcome(
        "api-hosting", status="waiting-upstream", note="upstream stack(s) model-serving not applied yet"
    )
    failed = StackOutcome("monitoring", status="failed", error="Error: boom")
    text = render_markdown("demo", [waiting, failed])
    assert "waiting on upstream" in text and "model-serving not applied yet" in text
    assert "plan failed" in text and "Error: boom" in text


def test_huge_plans_are_truncated_under_githubs_limit_with_a_note() -> None:
    outcomes = [_outcome("model-serving", 200_000), _outcome("api-hosting", 50_000), _outcome("monitoring", 1_000)]
    text = render_markdown("demo", outcomes)
    assert len(text) <= GITHUB_COMMENT_LIMIT
    assert "truncated" in text and "orchestrator plan --env demo --stack model-serving" in text
    # The small plan survives whole; every stack still has its summary.
    assert ("  + resource line\n" * 60)[:1_000].rstrip() in text
    for name in ("model-serving", "api-hosting", "monitoring"):
        assert f"### `{name}`" in text


def test_many_stacks_each_huge_still_fit() -> None:
    outcomes = [_outcome(f"s{i}", 100_000) for i in range(6)]
    assert len(render_markdown("demo", outcomes)) <= GITHUB_COMMENT_LIMIT


def test_progress_counts_changes_not_data_source_reads() -> None:
    import io

    from orchestrator.terraform.progress import ProgressReporter

    out = io.StringIO()
    reporter = ProgressReporter(out)
    reporter.started("s", "apply")
    reporter.planned("s", StackOutcome("s", add=2))

    def event(addr: str, action: str) -> dict:
        return {"type": "apply_complete", "hook": {"resource": {"addr": addr}, "action": action}}

    reporter.on_apply_event("s", event("data.aws_iam_policy_document.x", "read"))
    reporter.on_apply_event("s", event("aws_s3_bucket.a", "create"))
    reporter.on_apply_event("s", event("aws_s3_bucket.b", "create"))
    text = out.getvalue()
    assert "policy_document" not in text
    assert "[s] 1/2 aws_s3_bucket.a created" in text and "[s] 2/2 aws_s3_bucket.b created" in text
