"""Pulumi.yaml, the stack files and the pieces of the program that need no mocks."""

import base64
import json
from enum import StrEnum
from pathlib import Path

import yaml
from pydantic import SecretStr

from infra import render
from infra.image import context_digest, context_files
from infra.registry import registry_login
from infra.settings import CONFIG_KEYS, Settings, Target, load_settings
from tests.support import REPO_ROOT

PULUMI_TYPES = {
    bool: "boolean",
    int: "integer",
    str: "string",
    float: "string",
    SecretStr: "string",
}


def project() -> dict[str, object]:
    loaded: dict[str, object] = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())
    return loaded


def test_project_runs_python_in_the_makefile_venv() -> None:
    definition = project()
    assert definition["name"] == "spark-doks"
    runtime = definition["runtime"]
    assert isinstance(runtime, dict)
    assert runtime["name"] == "python" and runtime["options"]["virtualenv"] == "venv"


def test_every_setting_is_declared_with_type_default_and_description() -> None:
    declared = project()["config"]
    assert isinstance(declared, dict)
    assert set(declared) == set(CONFIG_KEYS)
    defaults = Settings()
    for name, field in Settings.model_fields.items():
        entry = declared[field.alias or name]
        assert entry["description"]
        default = getattr(defaults, name)
        if isinstance(default, StrEnum):
            default = default.value
        if default is None:  # unset: the account-stack keys, "" in the schema
            assert entry["type"] == "string" and entry["default"] == "", name
            continue
        assert entry["type"] == PULUMI_TYPES[type(default)], name
        assert str(entry["default"]) == str(default), name


def test_dev_stack_is_the_issue_s_digitalocean_setup() -> None:
    settings = load_settings(render.stack_config("dev"))
    assert settings.target is Target.DIGITALOCEAN
    assert (settings.min_nodes, settings.max_nodes, settings.node_size) == (0, 10, "s-2vcpu-4gb")
    assert settings.executor_instances == 4


def test_local_stack_targets_the_current_context() -> None:
    assert load_settings(render.stack_config("local")).target is Target.LOCAL


def test_context_digest_follows_content_and_build_args(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("print('a')\n")
    (tmp_path / ".dockerignore").write_text("**/__pycache__\n")
    first = context_digest(tmp_path, {"SAMPLE_ROWS": "0"})
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "train.cpython-311.pyc").write_bytes(b"\0")
    assert context_digest(tmp_path, {"SAMPLE_ROWS": "0"}) == first
    assert context_digest(tmp_path, {"SAMPLE_ROWS": "10"}) != first
    (tmp_path / "train.py").write_text("print('b')\n")
    assert context_digest(tmp_path, {"SAMPLE_ROWS": "0"}) != first


def test_registry_login_reads_the_docker_config() -> None:
    auth = base64.b64encode(b"token-user:s3cret:with:colons").decode()
    config = json.dumps({"auths": {"registry.digitalocean.com": {"auth": auth}}})
    login = registry_login(config, "registry.digitalocean.com")
    assert (login.username, login.password) == ("token-user", "s3cret:with:colons")


def test_context_files_follow_dockerignore_as_docker_reads_it(tmp_path: Path) -> None:
    for name in ("train.py", "notes.md", "keep.md", "sub/deep/x.pyc", "sub/y.py", "Dockerfile"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    (tmp_path / ".dockerignore").write_text("# comment\n*.md\n!keep.md\n**/*.pyc\n/Dockerfile\n")
    sent = {path.relative_to(tmp_path).as_posix() for path in context_files(tmp_path)}
    assert sent == {".dockerignore", "train.py", "keep.md", "sub/y.py"}
    # The Dockerfile and .dockerignore define the build, so they count although Docker sends
    # neither into the image.
    before = context_digest(tmp_path, {})
    (tmp_path / "Dockerfile").write_text("FROM other")
    assert context_digest(tmp_path, {}) != before
