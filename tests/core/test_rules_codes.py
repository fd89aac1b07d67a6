"""Code structures (NY/T 2538), unit and region codes, code lists, feature codes: planted in a copy of a clean
generated delivery, each found on the record that carries it."""
import pytest

import oracle

PLANTS = ["dkbm_format", "dkbm_serial", "county_prefix", "dkbm_prefix", "cbfbm_prefix", "fbfbm_format", "cbfbm_format",
          "cbfbm_serial_range", "contract_code", "contract_code_cbdkxx", "lzhtbm_format", "unit_code_table", "unit_code_region",
          "codelist_table", "codelist_dk", "codelist_unconfirmed", "ysdm", "sfjbnt_jbntbhq"]
RULES = {"code.dkbm_format", "code.dkbm_serial", "code.county_prefix", "code.dkbm_prefix", "code.cbfbm_prefix", "code.fbfbm_format",
         "code.cbfbm_format", "code.cbfbm_serial_range", "code.contract_code", "code.lzhtbm_format", "code.unit_code", "code.codelist",
         "code.codelist_unconfirmed", "code.ysdm", "code.sfjbnt_jbntbhq"}


def set_field(root, prefix, key_field, key, field, value):
    def edit(lyr):
        f = oracle.feature_by(lyr, key_field, key)
        f.SetField(field, value)
        lyr.SetFeature(f)
    oracle.edit_layer(root, prefix, edit)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    base, _truth = oracle.generated_base(tmp_path_factory)
    root = oracle.copy_delivery(base, tmp_path_factory.mktemp("codes"))
    hh = oracle.farm_households(root)
    allowed = oracle.related(root, *hh)
    fbfs = [r[0] for r in oracle.sql(root, "SELECT FBFBM FROM FBF ORDER BY FBFBM")]
    used, P = [], {}

    def take():
        h = next(x for x in hh if x not in used)
        used.append(h)
        return h, h + "J", oracle.sql(root, ("SELECT DKBM FROM CBDKXX WHERE CBFBM = ? ORDER BY DKBM", (h,)))[0][0]

    h, bm, dk = take()
    oracle.sql(root, ("UPDATE CBDKXX SET DKBM = ? WHERE DKBM = ?", (dk[:18], dk)))
    P["dkbm_format"] = ("code.dkbm_format", dk[:18])
    allowed.add(dk[:18])
    h, bm, dk = take()
    zero = dk[:14] + "00000"
    oracle.sql(root, ("UPDATE CBDKXX SET DKBM = ? WHERE DKBM = ?", (zero, dk)))
    P["dkbm_serial"] = ("code.dkbm_serial", zero)
    allowed.add(zero)
    other = "371599" + dk[6:]
    set_field(root, "DK", "DKBM", dk, "DKBM", other)  # the DK feature of the same parcel, from another county
    P["county_prefix"] = ("code.county_prefix", other)
    allowed |= {other, other[:14], other[:12], other[:9], other[:6]}  # no group, village … of another county here
    h, bm, dk = take()
    wrong = next(f for f in fbfs if f != dk[:14])
    oracle.sql(root, ("UPDATE CBDKXX SET FBFBM = ? WHERE DKBM = ?", (wrong, dk)))
    P["dkbm_prefix"] = ("code.dkbm_prefix", dk)
    h, bm, dk = take()
    oracle.sql(root, ("UPDATE CBHT SET FBFBM = ? WHERE CBHTBM = ?", (next(f for f in fbfs if f != h[:14]), bm)))
    P["cbfbm_prefix"] = ("code.cbfbm_prefix", bm)
    h, bm, dk = take()
    oracle.sql(root, ("UPDATE CBJYQZDJB SET FBFBM = ? WHERE CBJYQZBM = ?", (h[:13], bm)))
    P["fbfbm_format"] = ("code.fbfbm_format", bm)
    h, bm, dk = take()
    oracle.sql(root, ("UPDATE CBHT SET CBFBM = ? WHERE CBHTBM = ?", (h[:17] + "A", bm)))
    P["cbfbm_format"] = ("code.cbfbm_format", bm)
    person = oracle.sql(root, "SELECT CBFBM FROM CBF WHERE CBFLX = '2'")[0][0]
    oracle.sql(root, ("UPDATE CBF SET CBFLX = '1' WHERE CBFBM = ?", (person,)))
    P["cbfbm_serial_range"] = ("code.cbfbm_serial_range", person)
    allowed |= oracle.related(root, person)
    h, bm, dk = take()
    oracle.sql(root, ("UPDATE CBHT SET CBFS = '121' WHERE CBHTBM = ?", (bm,)))
    P["contract_code"] = ("code.contract_code", bm)
    h, bm, dk = take()
    oracle.sql(root, ("UPDATE CBDKXX SET CBJYQZBM = ? WHERE DKBM = ?", (h + "Q", dk)))
    P["contract_code_cbdkxx"] = ("code.contract_code", dk)
    lz, lzh = oracle.sql(root, "SELECT LZHTBM, CBFBM FROM LZHT ORDER BY LZHTBM")[0]
    moved = next(f for f in fbfs if f != lz[:14]) + lz[14:]
    oracle.sql(root, ("UPDATE LZHT SET LZHTBM = ? WHERE LZHTBM = ?", (moved, lz)), ("UPDATE CBDKXX SET LZHTBM = ? WHERE LZHTBM = ?", (moved, lz)))
    P["lzhtbm_format"] = ("code.lzhtbm_format", moved)
    table = next((root / "权属数据").glob("*权属单位代码表.csv"))
    table.write_text(table.read_text("utf-8-sig") + "3715260060019,坏代码,组\n", "utf-8-sig")
    P["unit_code_table"] = ("code.unit_code", "3715260060019")
    allowed.add("3715260060019")
    group = fbfs[-1]
    set_field(root, "ZJQY", "ZJQYDM", group, "ZJQYDM", group[:13])
    P["unit_code_region"] = ("code.unit_code", group[:13])
    allowed |= {group, group[:13]}
    h, bm, dk = take()
    oracle.sql(root, ("UPDATE CBF_JTCY SET YHZGX = '19' WHERE CBFBM = ? AND YHZGX <> '02'", (h,)))
    P["codelist_table"] = ("code.codelist", h)
    h, bm, dk = take()
    set_field(root, "DK", "DKBM", dk, "TDYT", "7")
    P["codelist_dk"] = ("code.codelist", dk)
    oracle.sql(root, ("UPDATE LZHT SET LZFS = '9' WHERE LZHTBM = ?", (moved,)))
    P["codelist_unconfirmed"] = ("code.codelist_unconfirmed", moved)
    h, bm, dk = take()
    set_field(root, "DK", "DKBM", dk, "YSDM", "211012")
    P["ysdm"] = ("code.ysdm", dk)
    h, bm, dk = take()
    sf = []
    oracle.edit_layer(root, "DK", lambda lyr: sf.append(oracle.feature_by(lyr, "DKBM", dk).GetField("SFJBNT")))
    set_field(root, "DK", "DKBM", dk, "SFJBNT", "2" if sf[0] == "1" else "1")
    P["sfjbnt_jbntbhq"] = ("code.sfjbnt_jbntbhq", dk)
    issues = oracle.run(root)
    return issues, P, allowed | {moved}, root


@pytest.mark.parametrize("name", PLANTS)
def test_planted_code_defect_is_found_on_its_record(planted, name):
    issues, P, _allowed, _root = planted
    rule, key = P[name]
    assert oracle.has(issues, rule, key), (name, sorted(oracle.keys_of(issues, rule)))


def test_covers_its_rules(planted):
    issues, _P, _allowed, _root = planted
    assert RULES <= {i.rule for i in issues}


def test_no_error_beyond_the_planted_records(planted):
    issues, _P, allowed, _root = planted
    assert oracle.unexpected_errors(issues, allowed) == []


def test_unconfirmed_code_lists_and_protection_zones_warn(planted):
    issues, _P, _allowed, _root = planted
    assert {i.severity for i in issues if i.rule in ("code.codelist_unconfirmed", "code.sfjbnt_jbntbhq", "code.lzhtbm_format")} == {"warning"}


def test_a_code_list_file_makes_a_value_legal(planted, tmp_path):
    """CODELISTS overrides the bundled lists: with 19 added to 与户主关系 the planted value is no longer reported."""
    from land_contract_bridge.core import codes
    issues, P, _allowed, root = planted
    own = tmp_path / "codes.csv"
    own.write_text(codes.CODELISTS.read_text("utf-8") + "与户主关系,19,测试\n", "utf-8")
    assert oracle.has(issues, *P["codelist_table"])
    assert not oracle.has(oracle.run(root, codelists=str(own)), *P["codelist_table"])
