"""The one list of skipped checkov checks: every entry carries its reason right above it."""

import re

import yaml

from tests.support import REPO_ROOT

CONFIG = REPO_ROOT / ".checkov.yaml"
CHECK_ID = re.compile(r"^CKV2?_[A-Z0-9]+_\d+$")


def test_every_skipped_check_has_a_reason_comment() -> None:
    lines = CONFIG.read_text().splitlines()
    skipped = yaml.safe_load(CONFIG.read_text())["skip-check"]
    assert skipped, "no skips: drop the skip-check key instead"
    for check_id in skipped:
        assert CHECK_ID.match(check_id), f"{check_id!r} is not a checkov check id"
        index = lines.index(f"  - {check_id}")
        reason = lines[index - 1].strip()
        assert reason.startswith("#") and len(reason) > 20, f"{check_id} has no reason above it"


def test_checkov_scans_the_dockerfile_and_the_rendered_manifests() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    assert set(config["directory"]) == {"rendered", "spark_job"}  # spark_job/ has the Dockerfile
    assert set(config["framework"]) == {"dockerfile", "kubernetes"}
