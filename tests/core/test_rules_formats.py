"""Field formats: dates, 邮政编码, telephone numbers, document numbers by type. Each defect is planted in a copy
of a clean generated delivery (its tables are in .sqlite, which can be edited), on its own household, and must be
found keyed to that record, with no error anywhere else."""
import pytest

import oracle

PLANTS = ["bad_date_calendar", "bad_date_text", "too_early", "future", "postcode", "phone", "id_check_digit",
          "id_month_13", "id_born_after_delivery", "org_code", "passport", "household_register", "military"]
RULES = {"schema.bad_date", "date.too_early", "date.future", "code.postcode", "code.phone", "code.id_number"}


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    base, _truth = oracle.generated_base(tmp_path_factory)
    root = oracle.copy_delivery(base, tmp_path_factory.mktemp("formats"))
    hh = oracle.farm_households(root)
    unit = oracle.sql(root, "SELECT CBFBM, CBFZJHM FROM CBF WHERE CBFLX = '3'")[0]
    fbf = oracle.sql(root, "SELECT FBFBM FROM FBF ORDER BY FBFBM")[0][0]
    P, used = {}, []

    def take():
        h = hh[len(used)]
        used.append(h)
        return h

    def member(h):
        zjhm, _rel, xb = oracle.members(root, h)[-1]
        return zjhm, xb == "1"

    h = take()
    oracle.sql(root, ("UPDATE CBF SET CBFDCRQ = '2015-02-30' WHERE CBFBM = ?", (h,)))
    P["bad_date_calendar"] = ("schema.bad_date", h)
    h = take()
    oracle.sql(root, ("UPDATE CBJYQZ SET FZRQ = '2015年11月' WHERE CBJYQZBM = ?", (h + "J",)))
    P["bad_date_text"] = ("schema.bad_date", h + "J")
    h = take()
    oracle.sql(root, ("UPDATE CBHT SET QDSJ = '1899-12-30' WHERE CBHTBM = ?", (h + "J",)))
    P["too_early"] = ("date.too_early", h + "J")
    h = take()
    oracle.sql(root, ("UPDATE CBJYQZDJB SET DJSJ = '2031-01-01' WHERE CBJYQZBM = ?", (h + "J",)))
    P["future"] = ("date.future", h + "J")
    h = take()  # a contract period ending far ahead is not a date in the future
    oracle.sql(root, ("UPDATE CBHT SET CBQXZ = '2058-11-30' WHERE CBHTBM = ?", (h + "J",)),
               ("UPDATE CBJYQZDJB SET CBQXZ = '2058-11-30', CBQX = '1998年12月01日至2058年11月30日' WHERE CBJYQZBM = ?", (h + "J",)))
    P["_period_end"] = ("date.future", h + "J")
    oracle.sql(root, ("UPDATE FBF SET YZBM = '2528' WHERE FBFBM = ?", (fbf,)))
    P["postcode"] = ("code.postcode", fbf)
    h = take()
    oracle.sql(root, ("UPDATE CBF SET LXDH = '0635-12' WHERE CBFBM = ?", (h,)))
    P["phone"] = ("code.phone", h)
    h = take()  # two valid numbers
    oracle.sql(root, ("UPDATE CBF SET LXDH = '13800138000、0635-8211234' WHERE CBFBM = ?", (h,)))
    P["_two_phones"] = ("code.phone", h)
    h = take()
    z, _m = member(h)
    oracle.sql(root, ("UPDATE CBF_JTCY SET CYZJHM = ? WHERE CYZJHM = ?", (z[:17] + ("0" if z[17] != "0" else "1"), z)))
    P["id_check_digit"] = ("code.id_number", h)
    h = take()
    z, male = member(h)
    oracle.sql(root, ("UPDATE CBF_JTCY SET CYZJHM = ? WHERE CYZJHM = ?", (oracle.resident_id(z[:6], z[6:10] + "1301", male), z)))
    P["id_month_13"] = ("code.id_number", h)
    h = take()
    z, male = member(h)
    oracle.sql(root, ("UPDATE CBF_JTCY SET CYZJHM = ? WHERE CYZJHM = ?", (oracle.resident_id(z[:6], "20190501", male), z)))
    P["id_born_after_delivery"] = ("code.id_number", h)
    cbf, code = unit
    oracle.sql(root, ("UPDATE CBF SET CBFZJHM = ? WHERE CBFBM = ?", (code[:17] + ("0" if code[17] != "0" else "1"), cbf)))
    P["org_code"] = ("code.id_number", cbf)
    h = take()
    oracle.sql(root, ("UPDATE CBJYQZ SET QZLQRZJLX = '5', QZLQRZJHM = 'E1' WHERE CBJYQZBM = ?", (h + "J",)))
    P["passport"] = ("code.id_number", h + "J")
    h = take()  # 户口簿: an 18-digit number is the holder's citizen number and must be valid; other forms pass
    z, _m = member(h)
    oracle.sql(root, ("UPDATE CBF_JTCY SET CYZJLX = '4', CYZJHM = ? WHERE CYZJHM = ?", (z[:17] + ("0" if z[17] != "0" else "1"), z)))
    P["household_register"] = ("code.id_number", h)
    h2 = take()
    z, _m = member(h2)
    oracle.sql(root, ("UPDATE CBF_JTCY SET CYZJLX = '4', CYZJHM = 'HK1234567' WHERE CYZJHM = ?", (z,)))
    P["_household_register_number"] = ("code.id_number", h2)
    h = take()
    z, _m = member(h)
    oracle.sql(root, ("UPDATE CBF_JTCY SET CYZJLX = '2', CYZJHM = '军字第号' WHERE CYZJHM = ?", (z,)))
    P["military"] = ("code.id_number", h)
    issues = oracle.run(root)
    allowed = oracle.related(root, *used) | {fbf, cbf}
    return issues, P, allowed


@pytest.mark.parametrize("name", PLANTS)
def test_planted_format_defect_is_found_on_its_record(planted, name):
    issues, P, _allowed = planted
    rule, key = P[name]
    assert oracle.has(issues, rule, key), (name, rule, key, sorted(oracle.keys_of(issues, rule)))


def test_valid_values_are_not_reported(planted):
    issues, P, _allowed = planted
    for name in ("_period_end", "_two_phones", "_household_register_number"):
        rule, key = P[name]
        assert not oracle.has(issues, rule, key), name
    assert not any(i.rule == "code.id_number" and i.layer == "CBF" and i.key.endswith("8001") for i in issues)  # the 个人's ID


def test_no_error_beyond_the_planted_records(planted):
    issues, _P, allowed = planted
    assert oracle.unexpected_errors(issues, allowed) == []


def test_messages_mask_the_id_numbers(planted):
    issues, P, _allowed = planted
    for i in issues:
        if i.rule == "code.id_number" and i.layer == "CBF_JTCY":
            assert "*" in i.value and "*" in i.message


def test_the_delivery_year_bounds_the_future(planted):
    issues, P, _allowed = planted
    fut = next(i for i in issues if i.rule == "date.future")
    assert "2018-12-31" in fut.message  # the generated delivery is of 2018 (file names)


def test_covers_its_rules(planted):
    assert RULES <= {i.rule for i in planted[0]} | ({"schema.missing_table"} if "schema.missing_table" in RULES else set())
