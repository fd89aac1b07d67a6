"""Persons: one head per household, member counts, a person in one household once, sex and birth date against
the ID number and the relation to the head. Planted in a copy of a clean generated delivery, one household each."""
import pytest

import oracle

PLANTS = ["id_in_two_households", "id_in_two_households_other", "duplicate_member", "sex_relation", "age_relation",
          "head_mismatch", "no_members", "no_head", "two_heads", "cbfcysl", "sex_id"]
RULES = {"member.id_in_two_households", "member.duplicate_member", "member.sex_relation", "member.age_relation", "member.head_mismatch",
         "member.no_members", "member.no_head", "member.two_heads", "member.cbfcysl", "code.sex_id"}


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    base, _truth = oracle.generated_base(tmp_path_factory)
    root = oracle.copy_delivery(base, tmp_path_factory.mktemp("persons"))
    hh = oracle.farm_households(root, min_members=3)
    used, P = [], {}

    def take(pred=lambda h: True):
        h = next(x for x in hh if x not in used and pred(x))
        used.append(h)
        return h

    def with_rel(prefix):
        return lambda h: any(r[1].startswith(prefix) for r in oracle.members(root, h)[1:])

    a, b = take(), take()
    zb, _rel, xb = oracle.members(root, b)[-1]
    za, rel_a, _xa = oracle.members(root, a)[-1]
    oracle.sql(root, ("UPDATE CBF_JTCY SET CYZJHM = ?, CYXB = ?, YHZGX = '99' WHERE CYZJHM = ?", (zb, xb, za)))
    P["id_in_two_households"] = ("member.id_in_two_households", a)
    P["id_in_two_households_other"] = ("member.id_in_two_households", b)
    c = take()
    oracle.sql(root, ("INSERT INTO CBF_JTCY SELECT * FROM CBF_JTCY WHERE CBFBM = ? AND YHZGX <> '02' LIMIT 1", (c,)),
               ("UPDATE CBF SET CBFCYSL = CBFCYSL + 1 WHERE CBFBM = ?", (c,)))
    P["duplicate_member"] = ("member.duplicate_member", c)
    d = take(with_rel("2"))
    z = next(r[0] for r in oracle.members(root, d)[1:] if r[1].startswith("2"))
    oracle.sql(root, ("UPDATE CBF_JTCY SET YHZGX = '30' WHERE CYZJHM = ?", (z,)))
    P["sex_relation"] = ("member.sex_relation", d)
    e = take(lambda h: with_rel("2")(h) or with_rel("3")(h))
    head = oracle.members(root, e)[0][0]
    z, _rel, xb = next(r for r in oracle.members(root, e)[1:] if r[1][0] in "23")
    older = oracle.resident_id(z[:6], str(int(head[6:10]) - 2) + z[10:14], xb == "1", seq="77")
    oracle.sql(root, ("UPDATE CBF_JTCY SET CYZJHM = ? WHERE CYZJHM = ?", (older, z)))
    P["age_relation"] = ("member.age_relation", e)
    f = take()
    oracle.sql(root, ("UPDATE CBF SET CBFMC = CBFMC || '某' WHERE CBFBM = ?", (f,)))
    P["head_mismatch"] = ("member.head_mismatch", f)
    g = take()
    oracle.sql(root, ("DELETE FROM CBF_JTCY WHERE CBFBM = ?", (g,)), ("UPDATE CBF SET CBFCYSL = 0 WHERE CBFBM = ?", (g,)))
    P["no_members"] = ("member.no_members", g)
    h = take()
    oracle.sql(root, ("UPDATE CBF_JTCY SET YHZGX = '80' WHERE CBFBM = ? AND YHZGX = '02'", (h,)))
    P["no_head"] = ("member.no_head", h)
    i = take()
    oracle.sql(root, ("UPDATE CBF_JTCY SET YHZGX = '02' WHERE CYZJHM = ?", (oracle.members(root, i)[-1][0],)))
    P["two_heads"] = ("member.two_heads", i)
    j = take()
    oracle.sql(root, ("UPDATE CBF SET CBFCYSL = CBFCYSL + 1 WHERE CBFBM = ?", (j,)))
    P["cbfcysl"] = ("member.cbfcysl", j)
    k = take()
    z, _rel, xb = oracle.members(root, k)[-1]
    oracle.sql(root, ("UPDATE CBF_JTCY SET CYXB = ? WHERE CYZJHM = ?", ("2" if xb == "1" else "1", z)))
    P["sex_id"] = ("code.sex_id", k)
    issues = oracle.run(root)
    return issues, P, oracle.related(root, *used)


@pytest.mark.parametrize("name", PLANTS)
def test_planted_person_defect_is_found_on_its_household(planted, name):
    issues, P, _allowed = planted
    rule, key = P[name]
    assert oracle.has(issues, rule, key), (name, sorted(oracle.keys_of(issues, rule)))


def test_no_error_beyond_the_planted_households(planted):
    issues, _P, allowed = planted
    assert oracle.unexpected_errors(issues, allowed) == []


def test_the_household_a_person_is_shared_with_is_named(planted):
    issues, P, _allowed = planted
    a, b = P["id_in_two_households"][1], P["id_in_two_households_other"][1]
    i = next(i for i in issues if i.rule == "member.id_in_two_households" and i.key == a)
    assert b in i.message and "*" in i.value


def test_age_against_relation_is_a_warning_and_nothing_on_clean_households(planted):
    issues, P, _allowed = planted
    ages = [i for i in issues if i.rule == "member.age_relation"]
    assert {i.key for i in ages} == {P["age_relation"][1]} and all(i.severity == "warning" for i in ages)


def test_covers_its_rules(planted):
    assert RULES <= {i.rule for i in planted[0]} | ({"schema.missing_table"} if "schema.missing_table" in RULES else set())
