"""What the infrastructure checks read: the SAM template (with its CloudFormation short-form tags) and the Rust
workspace it deploys (crates, binaries, the TRIBUTARY_* variables their code reads)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"
CONFIG_DOC = ROOT / "README.md"

ENV_NAME = re.compile(r'"(TRIBUTARY_[A-Z0-9_]+)"')
REQUIRED_CALL = re.compile(r'required\(\s*"(TRIBUTARY_[A-Z0-9_]+)"')


class _CfnLoader(yaml.SafeLoader):
    """Reads `!Ref X` as `{"Ref": "X"}`, `!GetAtt A.B` as `{"Fn::GetAtt": ["A", "B"]}`, and so on."""


def _construct(tag: str):
    name = tag if tag in ("Ref", "Condition") else f"Fn::{tag}"

    def construct(loader: yaml.SafeLoader, node: yaml.Node):
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if tag == "GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    return construct


for _tag in ("Ref", "Condition", "GetAtt", "Sub", "If", "Equals", "Not", "Or", "And", "Join", "Split",
             "Select", "FindInMap", "ImportValue", "Base64", "GetAZs", "Cidr"):
    _CfnLoader.add_constructor(f"!{_tag}", _construct(_tag))


def load_template(path: Path = TEMPLATE) -> dict:
    return yaml.load(path.read_text(), Loader=_CfnLoader)


@dataclass
class Crate:
    name: str
    path: Path
    binaries: list[str]
    lib: bool

    def sources(self) -> list[Path]:
        return sorted((self.path / "src").rglob("*.rs"))


def workspace_crates() -> dict[str, Crate]:
    """Every workspace member, keyed by package name, with the names of its binaries."""
    root = tomllib.loads((ROOT / "Cargo.toml").read_text())
    crates = {}
    for member in root["workspace"]["members"]:
        manifest_path = ROOT / member / "Cargo.toml"
        if not manifest_path.exists():
            continue
        manifest = tomllib.loads(manifest_path.read_text())
        name = manifest["package"]["name"]
        crate_dir = manifest_path.parent
        binaries = [b["name"] for b in manifest.get("bin", [])]
        if (crate_dir / "src" / "main.rs").exists() and not any(
            b.get("path", "src/main.rs") == "src/main.rs" for b in manifest.get("bin", [])
        ):
            binaries.append(name)  # cargo's implicit binary
        crates[name] = Crate(name, crate_dir, binaries, (crate_dir / "src" / "lib.rs").exists())
    return crates


def strip_test_modules(source: str) -> str:
    """Drops `#[cfg(test)]` modules: variables that only tests set are not configuration."""
    out, depth, skipping, pending = [], 0, False, False
    for line in source.splitlines():
        stripped = line.strip()
        if not skipping and stripped.startswith("#[cfg(test)]"):
            pending = True
            continue
        if pending and not skipping:
            if stripped.startswith("mod ") or stripped.startswith("pub mod "):
                if stripped.endswith(";"):
                    pending = False
                    continue
                skipping, depth = True, 0
            else:
                pending = False
        if skipping:
            depth += line.count("{") - line.count("}")
            if depth <= 0 and "}" in line:
                skipping, pending = False, False
            continue
        out.append(line)
    return "\n".join(out)


@dataclass
class EnvReads:
    """The TRIBUTARY_* variables some code reads, and which of them it requires."""

    names: set[str] = field(default_factory=set)
    required: set[str] = field(default_factory=set)
    where: dict[str, str] = field(default_factory=dict)

    def add_file(self, path: Path) -> None:
        text = strip_test_modules(path.read_text())
        for name in ENV_NAME.findall(text):
            self.names.add(name)
            self.where.setdefault(name, str(path.relative_to(ROOT)))
        self.required.update(REQUIRED_CALL.findall(text))


SHARED_PATH = re.compile(r"\b(?:tributary_shared|crate)::([a-z_]+(?:::[a-z_]+)*)")


def _shared_module_files(shared: Crate) -> dict[str, Path]:
    """`landing` -> shared/src/landing.rs, `landing::streaming` -> shared/src/landing/streaming.rs, ..."""
    src = shared.path / "src"
    modules = {}
    for path in src.rglob("*.rs"):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts == ["lib"]:
            continue
        if parts[-1] == "mod":
            parts = parts[:-1]
        modules["::".join(parts)] = path
    return modules


def _referenced(text: str, modules: dict[str, Path]) -> set[str]:
    """The shared modules a text names, with their parents (`landing::streaming::X` -> both)."""
    found = set()
    for path in SHARED_PATH.findall(text):
        parts = path.split("::")
        for i in range(1, len(parts) + 1):
            name = "::".join(parts[:i])
            if name in modules:
                found.add(name)
    return found


def shared_modules_used(crate: Crate, shared: Crate) -> list[Path]:
    """The shared library's module files a crate reaches: the ones its sources name (`tributary_shared::x`, or
    `tributary_shared::x::y` for a submodule), and the ones those name in turn. A static approximation of the
    shared code a function can run; a submodule counts only when something names it."""
    modules = _shared_module_files(shared)
    frontier = set()
    for path in crate.sources():
        frontier |= _referenced(path.read_text(), modules)
    reached: set[str] = set()
    while frontier:
        module = frontier.pop()
        if module in reached:
            continue
        reached.add(module)
        text = strip_test_modules(modules[module].read_text())
        frontier |= (_referenced(text, modules) | _children_used(module, text, modules)) - reached
    return [modules[m] for m in sorted(reached)]


CHILD_MODULE = re.compile(r"^\s*(pub(?:\([a-z]+\))?\s+)?mod\s+([a-z_0-9]+)\s*;", re.M)


def _children_used(module: str, text: str, modules: dict[str, Path]) -> set[str]:
    """The submodules a module's own code runs: every private one (`mod x;`, part of its implementation), and a
    public one (`pub mod x;`) when the parent names it (`x::`)."""
    found = set()
    for visibility, child in CHILD_MODULE.findall(text):
        name = f"{module}::{child}"
        if name in modules and (not visibility or re.search(rf"\b{child}::", text)):
            found.add(name)
    return found


def reached_sources(crate: Crate, shared: Crate | None) -> list[Path]:
    """A function's own sources plus the shared module files it reaches."""
    return crate.sources() + (shared_modules_used(crate, shared) if shared else [])


SDK_CALL = re.compile(r"\.([a-z_0-9]+)\(\)")

# SDK operations and the IAM action each needs.
SDK_ACTIONS = {
    "put_object": "s3:PutObject",
    "create_multipart_upload": "s3:PutObject",
    "upload_part": "s3:PutObject",
    "complete_multipart_upload": "s3:PutObject",
    "abort_multipart_upload": "s3:AbortMultipartUpload",
    "get_object": "s3:GetObject",
    "head_object": "s3:GetObject",
    "list_objects_v2": "s3:ListBucket",
    "delete_object": "s3:DeleteObject",
    "copy_object": "s3:PutObject",
    "get_item": "dynamodb:GetItem",
    "put_item": "dynamodb:PutItem",
    "update_item": "dynamodb:UpdateItem",
    "delete_item": "dynamodb:DeleteItem",
    "query": "dynamodb:Query",
    "scan": "dynamodb:Scan",
    "create_table": "dynamodb:CreateTable",
    "transact_write_items": "dynamodb:PutItem",
    "get_secret_value": "secretsmanager:GetSecretValue",
}


def sdk_actions(paths: list[Path]) -> dict[str, str]:
    """IAM action -> the first file making a call that needs it (test modules left out)."""
    actions: dict[str, str] = {}
    for path in paths:
        for call in SDK_CALL.findall(strip_test_modules(path.read_text())):
            if call in SDK_ACTIONS:
                actions.setdefault(SDK_ACTIONS[call], str(path.relative_to(ROOT)))
    return actions


def env_reads(crate: Crate, shared: Crate | None) -> EnvReads:
    """What a function reads: its own crate's sources (its library and its binaries) plus the shared modules it
    reaches."""
    reads = EnvReads()
    for path in reached_sources(crate, shared):
        reads.add_file(path)
    return reads


def documented_variables(path: Path = CONFIG_DOC) -> dict[str, str]:
    """`| \\`TRIBUTARY_X\\` | default | meaning |` rows of the configuration page: name -> default column."""
    rows = {}
    if not path.exists():
        return rows
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and re.fullmatch(r"`TRIBUTARY_[A-Z0-9_]+`", cells[0]):
            rows[cells[0].strip("`")] = cells[1]
    return rows


def functions(template: dict) -> dict[str, dict]:
    return {
        name: res
        for name, res in template["Resources"].items()
        if res["Type"] == "AWS::Serverless::Function"
    }


def function_env(template: dict, logical_id: str) -> set[str]:
    """Variables the template sets for one function (Globals plus its own)."""
    names = set(
        template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    )
    own = template["Resources"][logical_id]["Properties"].get("Environment", {}).get("Variables", {})
    return names | set(own)


def binary_of(function: dict) -> str:
    return function["Metadata"]["BuildProperties"]["Binary"]


def crate_of_binary(crates: dict[str, Crate], binary: str) -> Crate | None:
    for crate in crates.values():
        if binary in crate.binaries:
            return crate
    return None
