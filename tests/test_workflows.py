"""The GitHub Actions workflows: valid against the github-workflows schema, and doing their job.

check-jsonschema validates them offline with its vendored schema of GitHub's workflow syntax; a
broken workflow must fail that check, so the check is known to bite.
"""

import subprocess
import sys

import pytest
import yaml
from conftest import REPO

WORKFLOWS = REPO / ".github" / "workflows"


def validate(*paths):
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
               *map(str, paths)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def load(name):
    workflow = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    workflow["on"] = workflow.pop(True)  # YAML 1.1 reads the key `on` as true
    return workflow


def commands(workflow):
    return [step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]]


def test_both_workflows_are_valid():
    done = validate(WORKFLOWS / "ci.yml", WORKFLOWS / "nightly.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_validation_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: {schedule: [{cron: '0 3 * * *'}]}\njobs:\n  night:\n    steps: make nightly\n")
    done = validate(broken)
    assert done.returncode == 1 and "broken.yml" in done.stdout


def test_ci_runs_the_tests_and_the_offline_night_on_pull_requests():
    ci = load("ci.yml")
    assert "pull_request" in ci["on"]
    assert {"make test", "make lint", "make nightly-captures"} <= set(commands(ci))
    assert ci["jobs"]["test"]["env"]["CI"] == "true"


def test_the_nightly_scrapes_tests_commits_and_keeps_the_database_and_archives():
    nightly = load("nightly.yml")
    assert set(nightly["on"]) == {"schedule", "workflow_dispatch"}
    assert nightly["permissions"] == {"contents": "write"}
    steps = nightly["jobs"]["night"]["steps"]
    run = commands(nightly)
    assert run.index("make nightly") < run.index("make test")
    commit = next(step["run"] for step in steps if "git commit" in step.get("run", ""))
    assert "git add data/items data/runs" in commit and "nightly-summary.subject" in commit
    uploaded = " ".join(step["with"]["path"] for step in steps if step.get("uses", "").startswith(
        "actions/upload-artifact"))
    assert "data/evidence.db" in uploaded and "archive/*.wacz" in uploaded
    assert "warc" not in uploaded  # the raw WARC files hold every answer verbatim, redacted names too
    cached = [step["with"]["path"] for step in steps if step.get("uses", "").startswith("actions/cache")]
    assert cached == ["~/.cache/pip", ".scrapy/httpcache", "data/evidence.db"]  # the checks compare with it


@pytest.mark.parametrize("name", ["ci.yml", "nightly.yml"])
def test_actions_are_pinned_to_a_major_version(name):
    uses = [step["uses"] for job in load(name)["jobs"].values() for step in job["steps"] if "uses" in step]
    assert uses and all(use.rsplit("@", 1)[1].startswith("v") for use in uses)
