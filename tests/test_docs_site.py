"""The documentation site (docs/, ``make docs``) says what the code does.

Fast checks of the pages generated from the code (docs/_ext/somnomyo_pages.py): every
subcommand and option of the parser on the CLI page, every events.tsv column and event kind on
the outputs page, every context.json key in docs/rescore.md, every page in a toctree. One test
builds the whole site with Sphinx (-W: warnings are errors) where the ``docs`` extra is installed.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from somnomyo.cli import build_parser
from somnomyo.events import COLUMNS, TRIAL_TYPES
from somnomyo.pipeline import EXTRA_COLUMN_DOCS, score_night
from somnomyo.simulate import simulate_short

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
DOCS_EXTRA = ("sphinx", "myst_parser", "sphinxarg", "sphinx_gallery", "pydata_sphinx_theme")


@pytest.fixture(scope="module")
def pages() -> ModuleType:
    spec = importlib.util.spec_from_file_location("somnomyo_pages", DOCS / "_ext" / "somnomyo_pages.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


@pytest.fixture(scope="module")
def scored_night(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("docs-night")
    paths = simulate_short(seed=2, minutes=15).write(out / "sim")
    return score_night(paths["edf"])


# ------------------------------------------------------------------------------ CLI page
def test_cli_page_has_a_section_and_an_argparse_directive_for_every_subcommand(pages: ModuleType) -> None:
    text = pages.render_cli()
    names = list(_subparsers(build_parser()))
    assert len(names) >= 8  # info, simulate, score, cohort, compare, demo, validate, review
    for name in names:
        assert re.search(rf"^somnomyo {name}\n-+$", text, flags=re.M), f"no section for `somnomyo {name}`"
        assert f"   :path: {name}\n" in text, f"no argparse directive for `somnomyo {name}`"
    assert text.count(":path:") == len(names)


def test_cli_page_renders_every_option_of_every_subcommand(pages: ModuleType) -> None:
    """What sphinx-argparse renders (its parse of the escaped parser) lists every option string."""
    pytest.importorskip("sphinxarg", reason="needs sphinx-argparse (the docs extra: pip install -e '.[docs]')")
    from sphinxarg.parser import parse_parser

    rendered = parse_parser(pages.docs_parser())
    by_name = {child["name"]: child for child in rendered.get("children", [])}
    for name, sub in _subparsers(build_parser()).items():
        assert name in by_name, f"`somnomyo {name}` missing from the CLI page"
        shown = {
            opt
            for group in by_name[name].get("action_groups", [])
            for option in group["options"]
            for opt in option["name"]
        }
        wanted = {
            opt
            for a in sub._actions
            if a.help is not argparse.SUPPRESS and not isinstance(a, argparse._HelpAction)
            for opt in (a.option_strings or [a.metavar or a.dest])
        }
        assert wanted <= shown, f"`somnomyo {name}`: options missing from the CLI page: {sorted(wanted - shown)}"


def test_cli_help_text_is_escaped_so_a_glob_is_not_read_as_emphasis(pages: ModuleType) -> None:
    assert pages._escape('a quoted glob such as "data/*.edf"') == 'a quoted glob such as "data/\\*.edf"'
    assert pages._escape("a | b `c` \\d") == "a \\| b \\`c\\` \\\\d"
    helps = [a.help for sub in _subparsers(pages.docs_parser()).values() for a in sub._actions if a.help]
    assert any("data/\\*.edf" in h for h in helps), "the cohort input help (with a glob) is not escaped"
    original = [a.help for sub in _subparsers(build_parser()).values() for a in sub._actions if a.help]
    assert any("data/*.edf" in h for h in original), "escaping must not change `somnomyo --help` itself"


# ------------------------------------------------------------------------------ outputs page
def test_events_page_lists_every_core_column_with_its_dtype_and_every_event_kind(pages: ModuleType) -> None:
    text = pages.render_events_columns()
    for name, (dtype, _desc) in COLUMNS.items():
        assert re.search(rf"^\| `{name}` \| {dtype} \|", text, flags=re.M), f"events.tsv column {name} missing"
    for name in EXTRA_COLUMN_DOCS:
        assert f"| `{name}` |" in text, f"detector column {name} missing"
    for kind in TRIAL_TYPES:
        assert f"- `{kind}`" in text
    core = [m.group(1) for m in re.finditer(r"^\| `(\w+)` \| \w+ \|", text, flags=re.M)]
    assert core[: len(COLUMNS)] == list(COLUMNS), "core columns not in the table's column order"


def test_events_page_documents_every_column_of_a_scored_night_with_units(pages: ModuleType, scored_night) -> None:
    text = pages.render_events_columns()
    missing = [c for c in scored_night.events.columns if f"| `{c}` |" not in text]
    assert not missing, f"events.tsv columns of a scored night not on the outputs page: {missing}"
    assert re.search(r"^\| `onset` \| float64 \| s \|", text, flags=re.M)
    assert re.search(r"^\| `amplitude_uv` \| float64 \| uV \|", text, flags=re.M)


def test_every_context_json_key_has_a_row_in_the_rescore_page(scored_night) -> None:
    rows = set(re.findall(r"^\| `([\w`, ]+)` \|", (DOCS / "rescore.md").read_text(encoding="utf-8"), flags=re.M))
    documented = {k.strip(" `") for row in rows for k in row.split(",")}
    keys = set(scored_night.context().to_json())
    assert keys - documented == set(), f"context.json keys missing from docs/rescore.md: {sorted(keys - documented)}"


def test_outputs_page_includes_the_generated_columns_and_links_every_output_document() -> None:
    text = (DOCS / "outputs.md").read_text(encoding="utf-8")
    assert "```{include} _generated/events_columns.md" in text
    for doc in ("summary", "rescore", "validation", "review"):
        assert f"{{doc}}`{doc}`" in text
    for name in ("events.tsv", "events.json", "summary.json", "context.json", "manifest.json", "report.html"):
        assert f"| `{name}` |" in text


# ------------------------------------------------------------------------------ site structure
def test_every_markdown_page_is_in_a_toctree_of_the_index() -> None:
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    entries = set(
        re.findall(r"^([\w/.-]+)$", "\n".join(re.findall(r"```\{toctree\}(.*?)```", index, flags=re.S)), re.M)
    )
    pages = {p.stem for p in DOCS.glob("*.md")} | {"api"}
    assert pages - {"index"} <= entries, f"pages in no toctree: {sorted(pages - {'index'} - entries)}"
    assert {"_generated/cli", "auto_examples/index"} <= entries
    assert "rules" in entries, "docs/rules.md (generated by docs/make_rules.py) is part of the site"


def test_gallery_examples_run_on_short_nights() -> None:
    """The gallery runs at build time: its scripts simulate at most 2 hours."""
    scripts = sorted((ROOT / "examples").glob("plot_*.py"))
    assert scripts
    for script in scripts:
        text = script.read_text(encoding="utf-8")
        assert "simulate_short(" in text or re.search(r"hours=(\d+(\.\d+)?)", text), script.name
        for hours in re.findall(r"hours=(\d+(?:\.\d+)?)", text):
            assert float(hours) <= 2.0, f"{script.name}: a {hours}-h night makes the docs build slow"


def test_plain_parameters_reads_name_colon_description_as_a_description(pages: ModuleType) -> None:
    lines = [
        "Do it.",
        "",
        "Parameters",
        "----------",
        "path : the EDF recording.",
        "fs : float",
        "mode : ``'a'`` or ``'b'``; default ``'a'``",
        "    continued.",
        "",
        "Prose after the section.",
    ]
    pages.plain_parameters(lines)
    assert lines == [
        "Do it.",
        "",
        "Parameters",
        "----------",
        "path",
        "    the EDF recording.",
        "fs : float",
        "mode",
        "    ``'a'`` or ``'b'``; default ``'a'``",
        "    continued.",
        "",
        "",
        "Prose after the section.",
    ]


# ------------------------------------------------------------------------------ the build
@pytest.mark.slow
@pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in DOCS_EXTRA),
    reason="the docs build needs the docs extra (pip install -e '.[docs]', or make docs): "
    + ", ".join(m for m in DOCS_EXTRA if importlib.util.find_spec(m) is None),
)
def test_the_site_builds_offline_with_warnings_as_errors(tmp_path: Path) -> None:
    out = tmp_path / "html"
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html"]
    cmd += ["-d", str(tmp_path / "doctrees"), str(DOCS), str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-4000:]
    for page in ("index", "getting-started", "outputs", "api", "rules", "summary", "review", "rescore"):
        assert (out / f"{page}.html").is_file(), page
    cli = (out / "_generated" / "cli.html").read_text(encoding="utf-8")
    for name in _subparsers(build_parser()):
        assert f"somnomyo {name}" in cli
    assert "--detectors" in cli and "--standard" in cli
    example = (out / "auto_examples" / "plot_score_simulated_night.html").read_text(encoding="utf-8")
    assert "PLMS index (/h)" in example and "sphx_glr_plot_score_simulated_night_001.png" in example
    for api_page in ("somnomyo.pipeline.score_night", "somnomyo.events", "somnomyo.rescore.ScoringContext"):
        assert (out / "generated" / f"{api_page}.html").is_file(), api_page
