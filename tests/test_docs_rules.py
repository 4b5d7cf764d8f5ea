"""docs/rules.md is generated from Settings.sources() (docs/make_rules.py) and stays in step with it."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from somnomyo.settings import STANDARDS, get_settings

ROOT = Path(__file__).resolve().parents[1]
RULES_MD = ROOT / "docs" / "rules.md"


def _make_rules() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_rules", ROOT / "docs" / "make_rules.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def make_rules() -> ModuleType:
    return _make_rules()


@pytest.fixture(scope="module")
def rules_md() -> str:
    return RULES_MD.read_text(encoding="utf-8")


def _parameter_lines(text: str) -> dict[str, str]:
    """Table line of each parameter, by ``group.name``."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        m = re.match(r"\| `([a-z_]+\.[a-z0-9_]+)` \|", line)
        if m:
            assert m.group(1) not in out, f"{m.group(1)} is listed twice in docs/rules.md"
            out[m.group(1)] = line
    return out


def test_rules_md_is_what_make_rules_writes(make_rules, rules_md):
    assert rules_md == make_rules.render(), (
        "docs/rules.md is out of date with Settings: run .venv/bin/python docs/make_rules.py"
    )


def test_rules_md_lists_every_parameter_with_its_value_per_standard_and_its_source(make_rules, rules_md):
    lines = _parameter_lines(rules_md)
    rows = {std: get_settings(std).sources() for std in STANDARDS}
    names = [f"{r['group']}.{r['name']}" for r in rows[STANDARDS[0]]]
    assert sorted(lines) == sorted(names), "parameters missing from or unknown to docs/rules.md"
    for std in STANDARDS:
        for r in rows[std]:
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", lines[f"{r['group']}.{r['name']}"])[1:-1]]
            value_cell = cells[1 + STANDARDS.index(std)]
            assert value_cell == f"`{make_rules.format_value(r['value'])}`", (std, r["group"], r["name"])
            assert cells[-2] == r["unit"]
            assert cells[-1] == make_rules.format_source(r)
            assert cells[-1].startswith("**[UNCONFIRMED]**") == bool(r["unconfirmed"])


def test_every_settings_group_is_placed_in_a_rules_section(make_rules):
    for r in get_settings().sources():
        make_rules.section_of(r["group"], r["name"])  # raises for a parameter with no section
    with pytest.raises(ValueError, match="no section for settings parameter nonsense.x"):
        make_rules.section_of("nonsense", "x")


def test_rules_md_cites_sources_users_have(rules_md):
    for banned in ("clinical_rules", "../shared", "shared/docs"):
        assert banned not in rules_md
    for cited in (
        "WASM 2016",
        "Sleep Med 2016;26:86-95",
        "AASM Manual",
        "ICSD-3",
        "MATPLM",
        "Ferri 2006",
        "SINBAR",
        "Shibasaki",
    ):
        assert cited in rules_md


def test_docs_rules_md_section_references_in_the_code_exist(rules_md):
    sections = set(re.findall(r"^#{2,4} (\d+(?:\.\d+)*)\. ", rules_md, flags=re.M))
    cited: dict[str, set[str]] = {}
    for folder in ("src", "docs", "tests", "benchmarks"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in (".py", ".md") and path.is_file() and "__pycache__" not in path.parts:
                text = path.read_text(encoding="utf-8", errors="replace")
                for ref in re.findall(r"docs/rules\.md\s+((?:§\d+(?:\.\d+)*(?:[-, ]+(?:and )?)?)+)", text):
                    for number in re.findall(r"§(\d+(?:\.\d+)*)", ref):
                        cited.setdefault(number, set()).add(str(path.relative_to(ROOT)))
    missing = {n: sorted(p) for n, p in cited.items() if n not in sections}
    assert not missing, f"docs/rules.md has no section(s) {missing}"


# References users cannot follow: the private rulebook of the project's authors and internal work items.
_PRIVATE_REFERENCES = re.compile(
    "|".join(
        [
            r"clinical" + r"_rules",
            r"shared/" + r"docs",
            r"shared " + r"docs/",
            r"\b[Ii]ssues? #?\d",
            r"\b[Hh]elpers? \d",
            r"\bchecklist (?:row )?\d",
        ]
    )
)
_SCANNED = (".py", ".md", ".html", ".js", ".css", ".toml", ".txt", ".cfg")


def _private_references() -> list[str]:
    paths = [ROOT / "README.md"]
    for folder in ("src", "docs", "tests", "benchmarks"):
        paths += [
            p
            for p in (ROOT / folder).rglob("*")
            if p.is_file()
            and p.suffix in _SCANNED
            and "__pycache__" not in p.parts
            and "_work" not in p.parts
            and ".min." not in p.name
        ]
    hits = []
    for path in paths:
        if path == Path(__file__).resolve() or not path.exists():
            continue
        for i, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if _PRIVATE_REFERENCES.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()[:100]}")
    return hits


def test_code_and_docs_cite_standards_and_docs_rules_not_the_private_rulebook_or_work_items():
    hits = _private_references()
    assert not hits, "cite the standard or paper and docs/rules.md §N instead of:\n" + "\n".join(hits)


def test_private_reference_scan_catches_the_rulebook_and_work_items():
    for line in (
        "see ../shared/docs/" + "clinical_rules.md §2.1",
        "(issue" + " 5)",
        "Issue" + " 3's evidence",
        "helper" + " 19 measured",
        "checklist" + " row 43",
    ):
        assert _PRIVATE_REFERENCES.search(line), line
    for line in ("WASM 2016 (docs/rules.md §3)", "data in ../shared/data/real", "a known issue with EDF+D"):
        assert not _PRIVATE_REFERENCES.search(line), line
