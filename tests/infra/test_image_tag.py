"""What changes the image tag, and with it the run: the trainer's files, never the laptop tools.

The program runs under mocks on a copy of the code, so the edits never touch the repository.
"""

import shutil
from pathlib import Path
from types import ModuleType

import pytest

import infra.image
import spark_job.train
import spark_runs.application
import spark_runs.cost
import spark_runs.sizing
import spark_runs.standalone
import spark_runs.sweep
import spark_runs.sweep_cluster
import spark_runs.sweep_local
import spark_runs.sweep_report
from infra.offline import DeclaredResource, OfflineRun, run_offline
from tests.support import REPO_ROOT

IMAGE = "docker:index/image:Image"


def trainer_image(run: OfflineRun) -> DeclaredResource:
    """The image the runs use (the other docker.Image pushes the build cache)."""
    (image,) = [resource for resource in run.of_type(IMAGE) if resource.name == "trainer"]
    return image


APPLICATION = "kubernetes:sparkoperator.k8s.io/v1beta2:SparkApplication"

# Laptop and Pulumi-side modules: the sweep, its plot, the cost model, the fit rules, the manifest.
NON_TRAINER_MODULES = (
    spark_runs.sweep,
    spark_runs.sweep_local,
    spark_runs.sweep_cluster,
    spark_runs.sweep_report,
    spark_runs.cost,
    spark_runs.sizing,
    spark_runs.standalone,
    spark_runs.application,
)


@pytest.fixture
def code_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the Python packages; the program builds its image from the same place in it."""
    for package in ("spark_job", "spark_runs"):
        shutil.copytree(REPO_ROOT / package, tmp_path / package)
    for name in ("BUILD_CONTEXT", "DOCKERFILE"):
        original: Path = getattr(infra.image, name)
        monkeypatch.setattr(infra.image, name, tmp_path / original.relative_to(REPO_ROOT))
    monkeypatch.setattr(infra.image, "PROJECT_ROOT", tmp_path)
    return tmp_path


def tag_and_run_name(run: OfflineRun) -> tuple[str, str]:
    tag = str(trainer_image(run).inputs["imageName"]).rsplit(":", 1)[1]
    return tag, str(run.one(APPLICATION).inputs["metadata"]["name"])


def append_comment(copy: Path, module: ModuleType) -> None:
    assert module.__file__ is not None
    source = copy / Path(module.__file__).relative_to(REPO_ROOT)
    source.write_text(source.read_text() + "# an edit that does not change the trainer\n")


def test_editing_laptop_tools_keeps_the_image_tag_and_the_run(code_copy: Path) -> None:
    before = tag_and_run_name(run_offline({}, "dev"))
    for module in NON_TRAINER_MODULES:
        append_comment(code_copy, module)
    assert tag_and_run_name(run_offline({}, "dev")) == before


def test_editing_the_trainer_changes_the_image_tag_and_the_run(code_copy: Path) -> None:
    before_tag, before_name = tag_and_run_name(run_offline({}, "dev"))
    append_comment(code_copy, spark_job.train)
    after_tag, after_name = tag_and_run_name(run_offline({}, "dev"))
    assert after_tag != before_tag
    assert after_name != before_name


def test_caches_in_the_trainer_folder_do_not_count(code_copy: Path) -> None:
    before = tag_and_run_name(run_offline({}, "dev"))
    for cache in ("__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"):
        (code_copy / "spark_job" / cache).mkdir(exist_ok=True)
        (code_copy / "spark_job" / cache / "entry.pyc").write_bytes(b"\0cache")
    assert tag_and_run_name(run_offline({}, "dev")) == before
