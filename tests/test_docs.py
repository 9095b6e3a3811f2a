"""The map stays whole: a module nobody can find in docs/architecture.md or the README's layout table
fails here, so a new module comes with its one line."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ("alpha_replay_assets", "resources", "jobs")


def _modules() -> list[tuple[str, str]]:
    """(package, path inside it) of every module; `__init__.py` files and the family modules are left
    out (a family's map is the registry's generated table: copying a module is all a family needs)."""
    return [(package, path.relative_to(ROOT / package).as_posix())
            for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))
            if path.name != "__init__.py" and path.parent.name != "families"]


def test_every_module_is_on_the_map():
    text = (ROOT / "docs" / "architecture.md").read_text() + (ROOT / "README.md").read_text()
    named = set(re.findall(r"`([\w/]+\.py)`", text))
    missing = [f"{package}/{name}" for package, name in _modules()
               if name not in named and f"{package}/{name}" not in named]
    assert len(_modules()) > 60
    assert not missing, f"name these in docs/architecture.md (one line each): {missing}"


def test_map_names_no_module_that_is_gone():
    """A renamed or deleted module leaves no stale row in the architecture's tables."""
    rows = re.findall(r"^\| `([\w/]+\.py)` \|", (ROOT / "docs" / "architecture.md").read_text(), flags=re.M)
    stale = [row for row in rows
             if not any((ROOT / package / row).exists() for package in PACKAGES) and "<" not in row]
    assert len(rows) > 60 and not stale, f"the map names modules that do not exist: {stale}"


def _texts() -> dict[str, str]:
    """path -> text of every Markdown and Python file of the repo's own code, tests and docs."""
    paths = [*ROOT.glob("*.md"), *(p for d in (*PACKAGES, "docs", "tests", "bench", "deploy")
                                   for p in (ROOT / d).rglob("*") if p.suffix in (".py", ".md"))]
    return {path.relative_to(ROOT).as_posix(): path.read_text() for path in paths}


def _check_citations(doc: str, bare: str, must_cite: set[str], must_exist: set[str]) -> None:
    """Every `docs/<doc> §N` names a numbered heading of `docs/<doc>`, and no file cites by the
    `bare` pattern (a document outside the repo)."""
    sections = set(re.findall(r"^#+ (\d+[a-z]?(?:\.\d+)?)\.? ", (ROOT / "docs" / doc).read_text(), flags=re.M))
    cited, bare_in = {}, []
    for name, text in _texts().items():
        for section in re.findall(rf"docs/{re.escape(doc)} §(\d+[a-z]?(?:\.\d+)?)", text):
            cited.setdefault(section, name)
        if name != "tests/test_docs.py" and re.search(bare, text):
            bare_in.append(name)
    assert must_cite <= set(cited) and must_exist <= sections
    assert not set(cited) - sections, {s: cited[s] for s in set(cited) - sections}
    assert not bare_in, f"cite docs/{doc} §N: {bare_in}"


def test_domain_citations_name_sections_that_exist():
    """`docs/domain.md §N` points at a heading of the repo's own contract (a bare "domain §N"
    pointed at a document outside the repo)."""
    _check_citations("domain.md", r"(?<!docs/)domain §", {"1.4", "3b"}, {"1.1", "2.2", "3b", "5"})


def test_real_shape_citations_name_sections_of_the_repos_summary():
    """`docs/real-shapes.md §N` points at a heading of the repo's own summary of the measured
    shapes (a bare "shapes.md §N" pointed at ../shared, outside the repo)."""
    _check_citations("real-shapes.md", r"(?<![-/])shapes\.md §", {"1", "4", "5", "6"}, set("1234567"))
