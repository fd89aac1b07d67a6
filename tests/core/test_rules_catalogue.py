"""The catalogue as a whole: every rule has a planting test, every rule declares the parameters it reads (and reads
no other), every family names the clause it implements, and docs/rules.md lists all of it."""
import importlib.util

import pytest

import oracle
from land_contract_bridge.core import params as params_mod
from land_contract_bridge.core import validate
from land_contract_bridge.core.issues import FAMILIES, REGISTRY

MODULES = ["test_rules_formats", "test_rules_persons", "test_rules_dates", "test_rules_keys", "test_rules_codes", "test_rules_areas",
           "test_rules_spatial", "test_rules_summary", "test_rules_schema", "test_rules_package"]
# Rules whose planting tests live in tests/core/test_validate.py, and the delivery-integrity rules of
# core/rules/integrity.py, planted by tests/core/test_integrity.py (issue 10).
ELSEWHERE = {"package.missing_folder", "package.unreadable", "package.crs_inconsistent", "package.crs_extent", "encoding.no_cpg",
             "package.dk_not_polygon", "package.dk_incomplete", "package.crs_contradicts", "package.not_attr_db", "package.attr_db_empty",
             "schema.dk_too_long"}


def test_every_rule_has_a_planting_test():
    from pathlib import Path
    covered = set(ELSEWHERE)
    for name in MODULES:
        spec = importlib.util.spec_from_file_location(f"_catalogue_{name}", Path(__file__).with_name(f"{name}.py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        covered |= module.RULES
    assert sorted(set(REGISTRY) - covered) == []
    assert sorted(covered - set(REGISTRY)) == []


class Recording:
    """Stands in for ctx.p and records which parameters a rule function reads."""

    def __init__(self, p):
        self._p, self.read = p, set()

    def __getattr__(self, name):
        self.read.add(name)
        return getattr(self._p, name)


@pytest.fixture(scope="module")
def workspaces(tmp_path_factory):
    from land_contract_bridge.core.workspace import open_workspace
    from conftest import DEMO
    base, _truth = oracle.generated_base(tmp_path_factory)
    out = []
    for root in (DEMO, base):
        ws = open_workspace(root)
        validate._complete_field_defs(ws)
        out.append(ws)
    yield out
    for ws in out:
        ws.close()


def test_every_rule_declares_exactly_the_parameters_it_reads(workspaces):
    funcs = {}
    for r in REGISTRY.values():
        funcs.setdefault(r.func, set()).update(r.params)
    reads = {f: set() for f in funcs}
    for ws in workspaces:
        ctx = validate.ValidationContext(ws, params_mod.Params())
        validate._prepare(ctx)
        for func, declared in funcs.items():
            ctx.p = Recording(params_mod.Params())
            func(ctx)
            assert ctx.p.read <= declared, (func.__name__, ctx.p.read - declared)
            reads[func] |= ctx.p.read
    for func, declared in funcs.items():
        assert declared - {"codelists"} <= reads[func], (func.__name__, declared - reads[func])
    # codelists is read once, when the context loads the code lists, and declared by the code-list rules
    assert {r.id for r in REGISTRY.values() if "codelists" in r.params} == {"code.codelist", "code.codelist_unconfirmed"}


def test_parameters_have_one_definition_and_algorithm_names(workspaces):
    assert set(params_mod.SPECS) == set(params_mod.Params().as_dict())
    for name, spec in params_mod.SPECS.items():
        assert spec.key == name.upper()
    md = validate.catalogue_markdown()
    for r in REGISTRY.values():
        for p in r.params:
            assert f"`{params_mod.SPECS[p].key}`" in md


def test_every_family_names_its_clause_and_has_rules():
    md = validate.catalogue_markdown()
    for fam in FAMILIES.values():
        assert fam.source and (fam.source[:40].replace("|", "/") in md)
        assert any(r.family == fam.key for r in REGISTRY.values()), fam.key
        assert f"## {fam.key}" in md


def test_validate_accepts_params_a_mapping_or_keywords(demo):
    a, _ = validate.validate(demo, params=params_mod.Params(min_area=700.0))
    b, _ = validate.validate(demo, params={"MIN_AREA": 700.0})
    c, _ = validate.validate(demo, min_area=700.0)
    assert [(i.rule, i.key) for i in a] == [(i.rule, i.key) for i in b] == [(i.rule, i.key) for i in c]
    with pytest.raises(KeyError):
        validate.validate(demo, params={"AREA_TOLERANCES": 1})


def test_the_validate_algorithm_offers_every_numeric_parameter_by_its_name():
    """processing/alg_validate.py builds its numeric parameters from core.params (read as text: no qgis here)."""
    import re
    from pathlib import Path
    src = (Path(__file__).resolve().parents[2] / "processing" / "alg_validate.py").read_text("utf-8")
    block = src[src.index("NUMBERS = ["):src.index("]\n", src.index("NUMBERS = ["))]
    offered = set(re.findall(r'\("(\w+)", QT_TRANSLATE_NOOP', block))
    assert offered == {n for n, s in params_mod.SPECS.items() if isinstance(s.default, float)}
    assert "spec.key" in src and "params=params" in src
