"""A stack's config exactly as the Pulumi CLI hands it to the program (``PULUMI_CONFIG``).

`pulumi up`, `preview` and `refresh --run-program` do not pass the stack file through: they parse it
with gopkg.in/yaml.v3, put un-namespaced keys in the project's namespace, merge every
``Pulumi.yaml`` default the stack does not set, refuse a project key that has neither, type-check
the explicitly typed keys and hand the program every value as a string. ``render``, the mocks
harness (``infra.offline``) and the tests load config here so they see what a real stack receives.
The upstream lines each step follows are cited in docs/decisions.md ("Config loaded as the CLI
loads it").

Every error is one line naming the file (with line and column where the YAML has them) or the
key, and the fix.
"""

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROJECT_FILE = "Pulumi.yaml"
# Stands in for a value the stack holds encrypted (``secure:``): offline runs cannot decrypt it.
ENCRYPTED_PLACEHOLDER = "<secret: encrypted in the stack file>"

# A plain scalar (no quotes, no tag): resolved below as yaml.v3 resolves it, not as PyYAML would.
_PLAIN = "!spark-doks/plain"
_STR = "tag:yaml.org,2002:str"


class StackConfigError(ValueError):
    """Config the Pulumi CLI would refuse (or that it would read differently from how it looks)."""


class _Loader(yaml.SafeLoader):
    """PyYAML's parser and composer only: scalars keep their text and whether they were plain."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode and implicit[0]:
            return _PLAIN
        return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]


# --- yaml.v3's resolver (gopkg.in/yaml.v3 v3.0.1 resolve.go:35-265), for plain scalars ----------

_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}
_NULL = {"", "~", "null", "Null", "NULL"}
_SPECIAL_FLOATS = {
    ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF",
    "-.inf", "-.Inf", "-.INF",
}  # fmt: skip
_YAML_STYLE_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_DOT_FLOAT = re.compile(r"^\.[0-9]+([eE][-+]?[0-9]+)?$")
_TIMESTAMP = re.compile(
    r"^\d{4}-\d{1,2}-\d{1,2}"
    r"([Tt ]\d{1,2}:\d{1,2}:\d{1,2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?)?$"
)
_INT_DIGITS = {16: "0-9a-fA-F", 8: "0-7", 2: "01", 10: "0-9"}
_INT64 = (-(2**63), 2**63 - 1)
_UINT64_MAX = 2**64 - 1


def _go_parse_int(text: str) -> int | None:
    """Go's strconv.ParseInt(text, 0, 64), falling back to ParseUint as yaml.v3 does."""
    sign, digits = (text[0], text[1:]) if text[:1] in "+-" else ("", text)
    base = 10
    lowered = digits.lower()
    if lowered.startswith(("0x", "0o", "0b")):
        base, digits = {"x": 16, "o": 8, "b": 2}[lowered[1]], digits[2:]
    elif len(digits) > 1 and digits.startswith("0"):
        base, digits = 8, digits[1:]
    if not re.fullmatch(f"[{_INT_DIGITS[base]}]+", digits):
        return None
    value = int(digits, base) * (-1 if sign == "-" else 1)
    if _INT64[0] <= value <= _INT64[1] or (sign != "-" and value <= _UINT64_MAX):
        return value
    return None


def resolve_plain(text: str) -> Any:
    """The Go value yaml.v3 gives an unquoted, untagged scalar (bool, int, float, None or str).

    Unlike PyYAML (YAML 1.1), ``yes``/``no``/``on``/``off`` stay strings, ``1e3`` is a number,
    ``0o17`` is octal and ``1:30`` is not sexagesimal.
    """
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if text in _NULL:
        return None
    if text in _SPECIAL_FLOATS:
        return float(text.replace(".", "", 1))  # nan, inf, +inf, -inf
    hint = text[0]
    if hint == ".":
        return float(text) if _DOT_FLOAT.match(text) else text
    if hint.isdigit() or hint in "+-":
        if _TIMESTAMP.match(text):
            return _Timestamp(text)
        plain = text.replace("_", "")
        number = _go_parse_int(plain)
        if number is not None:
            return number
        if _YAML_STYLE_FLOAT.match(plain):
            return float(plain)
    return text


@dataclass(frozen=True)
class _Timestamp:
    text: str


def go_json_float(value: float) -> str:
    """A float64 as Go's encoding/json writes it (json/encode.go floatEncoder)."""
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"json: unsupported value: {value}")
    exact = Decimal(repr(value))
    if value == 0 or 1e-6 <= abs(value) < 1e21:
        text = format(exact, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    sign, digits, exponent = exact.normalize().as_tuple()
    assert isinstance(exponent, int)
    mantissa = "".join(map(str, digits))
    power = exponent + len(mantissa) - 1
    mantissa = mantissa[0] + ("." + mantissa[1:] if len(mantissa) > 1 else "")
    return f"{'-' if sign else ''}{mantissa}e{'-' if power < 0 else '+'}{abs(power):02d}".replace(
        "e-0", "e-"
    )


def config_string(value: Any) -> str:
    """A resolved scalar as the CLI stores and passes it (resource/config/object.go:403-419)."""
    if value is None:
        return ""  # loaders.go:379-410: empty values are "" (with a warning)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_json_float(value)
    return str(value)


# --- the files -----------------------------------------------------------------------------------


def _where(path: Path, node: yaml.Node) -> str:
    return f"{path.name}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"


def _compose(path: Path) -> yaml.Node | None:
    try:
        text = path.read_text(encoding="utf-8-sig")  # the CLI strips a UTF-8 BOM too
    except OSError as error:
        raise StackConfigError(f"{path.name}: cannot read it: {error.strerror}") from None
    try:
        node: yaml.Node | None = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{path.name}:{mark.line + 1}:{mark.column + 1}" if mark else path.name
        problem = error.problem or error.context or "invalid YAML"
        raise StackConfigError(f"{where}: invalid YAML: {problem}; fix the syntax there") from None
    except yaml.YAMLError as error:
        raise StackConfigError(f"{path.name}: invalid YAML: {error}") from None
    if node is not None:
        _refuse_duplicates(path, node)
    return node


def _refuse_duplicates(path: Path, node: yaml.Node) -> None:
    """yaml.v3 refuses a mapping key given twice (decode.go:769-776), and so does the CLI."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, yaml.Node] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value == "<<":
                    raise StackConfigError(
                        f"{_where(path, key)}: YAML merge keys (<<) are not supported here; "
                        "write the keys out"
                    )
                if key.value in seen:
                    raise StackConfigError(
                        f"{_where(path, key)}: mapping key {json.dumps(key.value)} already defined "
                        f"at line {seen[key.value].start_mark.line + 1}; the Pulumi CLI refuses "
                        "the file: keep one of them"
                    )
                seen[key.value] = key
            _refuse_duplicates(path, value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _refuse_duplicates(path, item)


def _scalar(path: Path, node: yaml.ScalarNode) -> Any:
    if node.tag == _PLAIN:
        value = resolve_plain(node.value)
        if isinstance(value, _Timestamp):
            raise StackConfigError(
                f"{_where(path, node)}: {value.text} is a YAML timestamp, which the Pulumi CLI "
                f"rewrites; quote it: {json.dumps(value.text)}"
            )
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            raise StackConfigError(
                f"{_where(path, node)}: {node.value} is not a number the Pulumi CLI can store; "
                "quote it or use a finite number"
            )
        return value
    if node.tag == _STR:
        return node.value
    raise StackConfigError(
        f"{_where(path, node)}: the YAML tag {node.tag} is not supported in config; drop the tag "
        "(quote the value to make it a string)"
    )


def _plain_data(path: Path, node: yaml.Node) -> Any:
    """The value the CLI reads for a node (maps and lists of resolved scalars)."""
    if isinstance(node, yaml.ScalarNode):
        return _scalar(path, node)
    if isinstance(node, yaml.SequenceNode):
        return [_plain_data(path, item) for item in node.value]
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key, value in node.value:
            name = _plain_data(path, key)
            if not isinstance(name, str):
                raise StackConfigError(
                    f"{_where(path, key)}: keys must be strings (got {key.value}); quote it"
                )
            result[name] = _plain_data(path, value)
        return result
    raise StackConfigError(f"{_where(path, node)}: unsupported YAML node")


def _mapping(path: Path, node: yaml.Node | None, what: str) -> list[tuple[yaml.Node, yaml.Node]]:
    if node is None or (isinstance(node, yaml.ScalarNode) and resolve_plain(node.value) is None):
        return []
    if not isinstance(node, yaml.MappingNode):
        raise StackConfigError(f"{_where(path, node)}: {what} must be a mapping of keys to values")
    return list(node.value)


@dataclass(frozen=True)
class ProjectKey:
    """One ``Pulumi.yaml`` config declaration."""

    type: str | None
    default: Any = None
    value: Any = None
    secret: bool = False


@dataclass(frozen=True)
class Project:
    name: str
    config: dict[str, ProjectKey]


def load_project(root: Path = PROJECT_ROOT) -> Project:
    """The project name and config schema of ``Pulumi.yaml``."""
    path = root / PROJECT_FILE
    data = _plain_data(path, _compose(path) or yaml.MappingNode("tag:yaml.org,2002:map", []))
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise StackConfigError(f"{path.name}: must be a mapping with a project name")
    name: str = data["name"]
    config: dict[str, ProjectKey] = {}
    for key, entry in (data.get("config") or {}).items():
        namespaced = ":" not in key or key.startswith(f"{name}:")
        if not isinstance(entry, dict):  # project.go:486-516, the shorthand form
            entry = {"default": entry} if namespaced else {"value": entry}
        config[key] = ProjectKey(
            type=entry.get("type"),
            default=entry.get("default"),
            value=entry.get("value"),
            secret=bool(entry.get("secret", False)),
        )
    return Project(name=name, config=config)


def parse_key(project: str, key: str) -> str:
    """``namespace:name`` for a config key (resource/config/key.go:45-70, loaders.go:61-89)."""
    match key.count(":"):
        case 0:
            return f"{project}:{key}"
        case 1:
            return key
        case 2 if key.split(":")[1] == "config":
            namespace, _, name = key.split(":")
            return f"{namespace}:{name}"
    raise StackConfigError(
        f"could not parse {key} as a configuration key (configuration keys should be of the "
        "form `<namespace>:<name>`)"
    )


@dataclass
class StackConfig:
    """What the program receives: every key (``namespace:name``) with its string value."""

    values: dict[str, str] = field(default_factory=dict)
    secret_keys: set[str] = field(default_factory=set)

    def of(self, namespace: str) -> dict[str, str]:
        """The keys of one namespace, without the ``namespace:`` prefix."""
        prefix = f"{namespace}:"
        return {k.removeprefix(prefix): v for k, v in self.values.items() if k.startswith(prefix)}


def read_stack_file(path: Path, project: Project) -> StackConfig:
    """The ``config:`` of a stack file as the CLI stores it, before project defaults."""
    document = _compose(path)
    config = StackConfig()
    origin: dict[str, str] = {}
    for top_key, top_value in _mapping(path, document, "a stack file"):
        if top_key.value == "environment":
            raise StackConfigError(
                f"{_where(path, top_key)}: Pulumi ESC environments cannot be read offline; "
                "render a stack file that sets its config directly"
            )
        if top_key.value != "config":
            continue
        for key_node, value_node in _mapping(path, top_value, "config"):
            raw_key = _plain_data(path, key_node)
            if not isinstance(raw_key, str):
                raise StackConfigError(
                    f"{_where(path, key_node)}: config keys must be strings (got {key_node.value})"
                )
            try:
                key = parse_key(project.name, raw_key)
            except StackConfigError as error:
                raise StackConfigError(f"{_where(path, key_node)}: {error}") from None
            if key in origin:
                raise StackConfigError(
                    f"{_where(path, key_node)}: {raw_key} and {origin[key]} are the same key "
                    f"({key}; a key without a namespace is in the project's); keep one of them"
                )
            origin[key] = raw_key
            value = _plain_data(path, value_node)
            if isinstance(value, dict) and set(value) == {"secure"}:
                config.values[key] = ENCRYPTED_PLACEHOLDER
                config.secret_keys.add(key)
            elif isinstance(value, dict | list):
                config.values[key] = json.dumps(
                    value, sort_keys=True, separators=(",", ":"), ensure_ascii=False
                )
            else:
                config.values[key] = config_string(value)
    return config


def _is_go_int(text: str) -> bool:
    """Go's strconv.Atoi: an optional sign and decimal digits, within int64."""
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        return False
    return _INT64[0] <= int(text) <= _INT64[1]


def _valid(type_name: str, value: str) -> bool:
    """workspace.ValidateConfigValue (sdk/go/common/workspace/project.go:771-831), plain values."""
    if type_name == "string":
        return True
    if type_name == "integer":
        return _is_go_int(value)
    if type_name == "boolean":
        return value in ("true", "false")
    return False


def _missing(keys: list[str], stack: str) -> str:
    keys = sorted(keys)
    quoted = [f"'{key}'" for key in keys]
    listed = quoted[0] if len(keys) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]
    plural = "value" if len(keys) == 1 else "values"
    return f"Stack '{stack}' is missing configuration {plural} {listed}"


def apply_project_config(project: Project, stack: str, config: StackConfig) -> StackConfig:
    """pkg/workspace/config.go mergeConfig (255-366) with validation, as up/preview/refresh run it.

    Raises StackConfigError with the CLI's own message ("validating stack config: ...").
    """
    merged = StackConfig(dict(config.values), set(config.secret_keys))
    missing: list[str] = []
    for declared in sorted(project.config):
        entry = project.config[declared]
        key = parse_key(project.name, declared)
        if key in merged.values:
            continue
        default = entry.default if entry.default is not None else entry.value
        if default is None:
            if key.split(":")[0] == project.name:
                missing.append(declared)
            continue
        if isinstance(default, str | int | bool):
            merged.values[key] = config_string(default)
        else:
            merged.values[key] = json.dumps(
                default, sort_keys=True, separators=(",", ":"), ensure_ascii=False
            )
    if missing:
        raise StackConfigError(f"validating stack config: {_missing(missing, stack)}")
    for declared in sorted(project.config):
        entry = project.config[declared]
        if entry.type is None:
            continue
        key = parse_key(project.name, declared)
        if entry.secret and key not in merged.secret_keys:
            raise StackConfigError(
                f"validating stack config: Stack '{stack}' with configuration key '{declared}' "
                "must be encrypted as it's secret"
            )
        if key in merged.secret_keys and merged.values[key] == ENCRYPTED_PLACEHOLDER:
            continue  # cannot be checked without decrypting it
        if not _valid(entry.type, merged.values[key]):
            raise StackConfigError(
                f"validating stack config: Stack '{stack}' with configuration key '{declared}' "
                f"must be of type '{entry.type}'"
            )
    return merged


def stack_file(stack: str, root: Path = PROJECT_ROOT) -> Path:
    path = root / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        known = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))
        raise StackConfigError(
            f"no stack file {path.name} in {root}; known stacks: {', '.join(known)}"
        )
    return path


def load_stack(
    stack: str,
    root: Path = PROJECT_ROOT,
    secrets: Mapping[str, str] | None = None,
    path: Path | None = None,
) -> StackConfig:
    """The config ``pulumi up`` of ``stack`` hands the program.

    ``secrets`` stand in for values set with ``pulumi config set --secret`` (keys without a
    namespace are the project's): they replace what the file holds encrypted, and supply what
    the file leaves for deploy time.
    """
    project = load_project(root)
    config = read_stack_file(path or stack_file(stack, root), project)
    for key, value in (secrets or {}).items():
        full = parse_key(project.name, key)
        if full not in config.values or full in config.secret_keys:
            config.values[full] = value
            config.secret_keys.add(full)
    return apply_project_config(project, stack, config)


def stack_config_from(
    entries: Mapping[str, str], stack: str, root: Path = PROJECT_ROOT
) -> StackConfig:
    """The config a stack whose file sets exactly ``entries`` (as ``pulumi config set`` writes
    them, keys without a namespace in the project's) hands the program."""
    project = load_project(root)
    config = StackConfig()
    for key, value in entries.items():
        config.values[parse_key(project.name, key)] = value
    return apply_project_config(project, stack, config)
