"""Keys and references: every issue is keyed by the record that is wrong (the CBDKXX row's DKBM, the contract's
CBHTBM, the register's CBJYQZBM …), never by the value that failed the lookup; keys are compared after trimming
blanks and a key with blanks is itself reported; duplicates; the archive files the tables name."""
import csv

import pytest

import oracle

PLANTS = ["blank_cbdkxx_dkbm", "blank_cbf_cbfbm", "cbdkxx_cbfbm", "cbdkxx_cbhtbm", "cbdkxx_cbjyqzbm",
          "cbht_cbfbm", "jtcy_cbfbm", "fbfbm_cbht", "fbfbm_cbdkxx", "fbfbm_djb", "djb_cbfbm", "cbjyqz_without_djb",
          "djb_without_cbjyqz", "cbht_without_cbdkxx", "cbf_without_contract", "qzbf", "qzhf", "qzzx", "fj", "fj_file",
          "lzhtbm", "lzht_cbhtbm", "ledger", "dk_without_cbdkxx", "cbdkxx_without_dk", "fbf_missing_dk", "fbf_missing_cbf",
          "fbf_not_in_code_table", "duplicate_cbht", "duplicate_parcel_holders", "dksyt_file", "duplicate_dkbm"]
RULES = {"code.key_blanks", "reference.cbdkxx_cbfbm_not_in_cbf", "reference.cbdkxx_cbhtbm_not_in_cbht",
         "reference.cbdkxx_cbjyqzbm_not_in_djb", "reference.cbht_cbfbm_not_in_cbf", "reference.jtcy_cbfbm_not_in_cbf",
         "reference.fbfbm_not_in_fbf", "reference.djb_cbfbm_not_in_cbf", "reference.cbjyqz_not_in_djb", "reference.djb_not_in_cbjyqz",
         "reference.cbht_without_cbdkxx", "reference.cbf_without_contract", "reference.qzbf_not_in_cbjyqz",
         "reference.qzhf_not_in_cbjyqz", "reference.qzzx_not_in_cbjyqz", "reference.fj_not_in_djb", "reference.attachment_file_missing",
         "reference.lzhtbm_not_in_lzht", "reference.lzht_cbhtbm_not_in_cbht", "reference.ledger_not_in_cbdkxx",
         "reference.dk_without_cbdkxx", "reference.cbdkxx_dkbm_not_in_dk", "reference.fbf_missing", "reference.fbf_not_in_code_table",
         "reference.duplicate_key", "reference.dksyt_file_missing", "geometry.duplicate_dkbm"}


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    base, _truth = oracle.generated_base(tmp_path_factory)
    root = oracle.copy_delivery(base, tmp_path_factory.mktemp("keys"))
    hh = oracle.farm_households(root)
    before = oracle.related(root, *hh)  # the households' keys as they are before anything is planted
    used, P, extra = [], {}, set()

    def take():
        h = next(x for x in hh if x not in used)
        used.append(h)
        return h, h + "J", oracle.sql(root, ("SELECT DKBM FROM CBDKXX WHERE CBFBM = ? ORDER BY DKBM", (h,)))[0][0]

    def fake(h, serial):
        return h[:14] + serial

    h, bm, dk = take()
    oracle.sql(root, ("UPDATE CBDKXX SET DKBM = DKBM || ' ' WHERE DKBM = ?", (dk,)))
    P["blank_cbdkxx_dkbm"] = ("code.key_blanks", dk)
    P["_blank_still_links"] = dk
    h, bm, dk = take()
    oracle.sql(root, ("UPDATE CBF SET CBFBM = '\u3000' || CBFBM WHERE CBFBM = ?", (h,)))
    P["blank_cbf_cbfbm"] = ("code.key_blanks", h)
    h, bm, dk = take()
    oracle.sql(root, ("UPDATE CBDKXX SET CBFBM = ? WHERE DKBM = ?", (fake(h, "7999"), dk)))
    P["cbdkxx_cbfbm"] = ("reference.cbdkxx_cbfbm_not_in_cbf", dk)
    h, bm, dk = take()
    oracle.sql(root, ("UPDATE CBDKXX SET CBHTBM = ? WHERE DKBM = ?", (fake(h, "7998J"), dk)))
    P["cbdkxx_cbhtbm"] = ("reference.cbdkxx_cbhtbm_not_in_cbht", dk)
    h, bm, dk = take()
    oracle.sql(root, ("UPDATE CBDKXX SET CBJYQZBM = ? WHERE DKBM = ?", (fake(h, "7997J"), dk)))
    P["cbdkxx_cbjyqzbm"] = ("reference.cbdkxx_cbjyqzbm_not_in_djb", dk)
    h, bm, dk = take()
    oracle.sql(root, ("UPDATE CBHT SET CBFBM = ? WHERE CBHTBM = ?", (fake(h, "7996"), bm)))
    P["cbht_cbfbm"] = ("reference.cbht_cbfbm_not_in_cbf", bm)
    h, bm, dk = take()
    orphan = fake(h, "7995")
    oracle.sql(root, ("INSERT INTO CBF_JTCY SELECT ?, CYXM, CYXB, CYZJLX, ?, YHZGX, CYBZ, SFGYR, CYBZSM FROM CBF_JTCY WHERE CBFBM = ? LIMIT 1",
                      (orphan, oracle.resident_id(h[:6], "19700101", True, seq="55"), h)))
    P["jtcy_cbfbm"] = ("reference.jtcy_cbfbm_not_in_cbf", orphan)
    extra.add(orphan)
    h, bm, dk = take()
    oracle.sql(root, ("UPDATE CBHT SET FBFBM = ? WHERE CBHTBM = ?", (h[:9] + "99901", bm)))
    P["fbfbm_cbht"] = ("reference.fbfbm_not_in_fbf", bm)
    h, bm, dk = take()
    oracle.sql(root, ("UPDATE CBDKXX SET FBFBM = ? WHERE DKBM = ?", (h[:9] + "99901", dk)))
    P["fbfbm_cbdkxx"] = ("reference.fbfbm_not_in_fbf", dk)
    h, bm, dk = take()
    oracle.sql(root, ("UPDATE CBJYQZDJB SET FBFBM = ? WHERE CBJYQZBM = ?", (h[:9] + "99901", bm)))
    P["fbfbm_djb"] = ("reference.fbfbm_not_in_fbf", bm)
    h, bm, dk = take()
    oracle.sql(root, ("UPDATE CBJYQZDJB SET CBFBM = ? WHERE CBJYQZBM = ?", (fake(h, "7994"), bm)))
    P["djb_cbfbm"] = ("reference.djb_cbfbm_not_in_cbf", bm)
    h, bm, dk = take()
    oracle.sql(root, ("DELETE FROM CBJYQZDJB WHERE CBJYQZBM = ?", (bm,)))
    P["cbjyqz_without_djb"] = ("reference.cbjyqz_not_in_djb", bm)
    h, bm, dk = take()
    oracle.sql(root, ("DELETE FROM CBJYQZ WHERE CBJYQZBM = ?", (bm,)))
    P["djb_without_cbjyqz"] = ("reference.djb_not_in_cbjyqz", bm)
    h, bm, dk = take()
    oracle.sql(root, ("DELETE FROM CBDKXX WHERE CBFBM = ?", (h,)))
    P["cbht_without_cbdkxx"] = ("reference.cbht_without_cbdkxx", bm)
    h, bm, dk = take()
    oracle.sql(root, ("DELETE FROM CBHT WHERE CBHTBM = ?", (bm,)))
    P["cbf_without_contract"] = ("reference.cbf_without_contract", h)
    gone = fake(h, "7993J")
    oracle.sql(root, ("INSERT INTO CBJYQZ_QZBF VALUES (?, '权证遗失', '2016-03-24', '2016-03-31', '张三', '9', 'X')", (gone,)),
               ("INSERT INTO CBJYQZ_QZHF VALUES (?, '权证破损', '2016-03-24', '2016-03-31', '张三', '9', 'X')", (gone,)),
               ("INSERT INTO CBJYQZ_QZZX VALUES (?, '承包方退出', '2016-03-24')", (gone,)),
               ("INSERT INTO QSLYZLFJ VALUES (?, '01', '户口簿复印件', '2015-06-18', '其他资料\\权属来源\\缺失.pdf')", (gone,)))
    P["qzbf"] = ("reference.qzbf_not_in_cbjyqz", gone)
    P["qzhf"] = ("reference.qzhf_not_in_cbjyqz", gone)
    P["qzzx"] = ("reference.qzzx_not_in_cbjyqz", gone)
    P["fj"] = ("reference.fj_not_in_djb", gone)
    P["fj_file"] = ("reference.attachment_file_missing", "其他资料/权属来源/缺失.pdf")
    extra |= {gone, "其他资料/权属来源/缺失.pdf"}
    h, bm, dk = take()
    oracle.sql(root, ("UPDATE CBDKXX SET LZHTBM = ? WHERE DKBM = ?", (h[:14] + "L999", dk)))
    P["lzhtbm"] = ("reference.lzhtbm_not_in_lzht", dk)
    lz = oracle.sql(root, "SELECT LZHTBM, CBFBM FROM LZHT ORDER BY LZHTBM")[0]
    oracle.sql(root, ("UPDATE LZHT SET CBHTBM = ? WHERE LZHTBM = ?", (fake(lz[1], "7992J"), lz[0])))
    P["lzht_cbhtbm"] = ("reference.lzht_cbhtbm_not_in_cbht", lz[0])
    extra.add(lz[0])
    ledger = next((root / "其他资料").glob("*台账*.csv"))
    ghost = dk[:14] + "99999"
    with open(ledger, "a", encoding="utf-8", newline="") as f:
        csv.writer(f).writerow([ghost, h, bm, "100.00"])
    P["ledger"] = ("reference.ledger_not_in_cbdkxx", ghost)
    extra.add(ghost)
    h, bm, dk = take()
    oracle.sql(root, ("DELETE FROM CBDKXX WHERE DKBM = ?", (dk,)))
    P["dk_without_cbdkxx"] = ("reference.dk_without_cbdkxx", dk)
    h, bm, dk = take()
    oracle.edit_layer(root, "DK", lambda lyr: lyr.DeleteFeature(oracle.feature_by(lyr, "DKBM", dk).GetFID()))
    P["cbdkxx_without_dk"] = ("reference.cbdkxx_dkbm_not_in_dk", dk)
    own = oracle.sql(root, "SELECT FBFBM FROM FBF ORDER BY FBFBM")[0][0]
    nc = []

    def rename_noncontract(lyr):
        lyr.SetAttributeFilter("DKLB <> '10'")
        f = lyr.GetNextFeature()
        lyr.SetAttributeFilter(None)
        nc.append(f.GetField("DKBM"))
        f.SetField("DKBM", own[:12] + "77" + f.GetField("DKBM")[14:])
        lyr.SetFeature(f)
    oracle.edit_layer(root, "DK", rename_noncontract)
    moved = own[:12] + "77" + nc[0][14:]
    P["fbf_missing_dk"] = ("reference.fbf_missing", moved)
    extra |= {moved, own[:12] + "77"}  # also outside its (unknown) group's region
    ghost_cbf = own[:12] + "770001"
    oracle.sql(root, ("INSERT INTO CBF SELECT ?, CBFLX, CBFMC, CBFZJLX, CBFZJHM, CBFDZ, YZBM, LXDH, 0, CBFDCRQ, CBFDCY, CBFDCJS, GSJS, "
                      "GSJSR, GSSHRQ, GSSHR FROM CBF WHERE CBFBM = ?", (ghost_cbf, hh[-1])))
    P["fbf_missing_cbf"] = ("reference.fbf_missing", ghost_cbf)
    extra |= {ghost_cbf, hh[-1]}
    code_table = next((root / "权属数据").glob("*权属单位代码表.csv"))
    last = oracle.sql(root, "SELECT FBFBM FROM FBF ORDER BY FBFBM DESC")[0][0]
    lines = code_table.read_text("utf-8-sig").splitlines()
    code_table.write_text("\n".join(x for x in lines if not x.startswith(last)) + "\n", "utf-8-sig")
    P["fbf_not_in_code_table"] = ("reference.fbf_not_in_code_table", last)
    extra.add(last)
    h, bm, dk = take()
    oracle.sql(root, ("INSERT INTO CBHT SELECT * FROM CBHT WHERE CBHTBM = ?", (bm,)))
    P["duplicate_cbht"] = ("reference.duplicate_key", bm)
    h, bm, dk = take()
    h2, bm2, _dk2 = take()
    oracle.sql(root, ("INSERT INTO CBDKXX SELECT DKBM, FBFBM, ?, CBJYQQDFS, HTMJ, ?, LZHTBM, ?, YHTMJ, HTMJM, YHTMJM, SFQQQG "
                      "FROM CBDKXX WHERE DKBM = ?", (h2, bm2, bm2, dk)))
    P["duplicate_parcel_holders"] = ("reference.duplicate_key", dk)
    h, bm, dk = take()
    pdf = next((root / "图件").rglob(f"DKSYT{bm}.pdf"))
    pdf.unlink()
    P["dksyt_file"] = ("reference.dksyt_file_missing", pdf.relative_to(root).as_posix())
    h, bm, dk = take()
    h2, bm2, dk2 = take()

    def duplicate(lyr):
        f = oracle.feature_by(lyr, "DKBM", dk2)
        f.SetField("DKBM", dk)
        lyr.SetFeature(f)
    oracle.edit_layer(root, "DK", duplicate)
    P["duplicate_dkbm"] = ("geometry.duplicate_dkbm", dk)
    issues = oracle.run(root)
    return issues, P, before | extra | {pdf.relative_to(root).as_posix()}


@pytest.mark.parametrize("name", PLANTS)
def test_planted_key_defect_is_found_on_the_wrong_record(planted, name):
    issues, P, _allowed = planted
    rule, key = P[name]
    assert oracle.has(issues, rule, key), (name, sorted(oracle.keys_of(issues, rule)))


def test_a_key_with_blanks_still_links_after_trimming(planted):
    issues, P, _allowed = planted
    dk = P["_blank_still_links"]
    assert not [i.rule for i in issues if i.key == dk and i.rule != "code.key_blanks"]
    blanks = [i for i in issues if i.rule == "code.key_blanks"]
    assert {i.layer for i in blanks} == {"CBDKXX", "CBF"}  # GDAL itself trims the blanks around DBF strings
    assert not any(i.rule.startswith("reference.") and i.key == P["blank_cbf_cbfbm"][1] for i in issues)


def test_a_missing_lookup_value_is_the_value_not_the_key(planted):
    issues, P, _allowed = planted
    i = next(i for i in issues if i.rule == "reference.cbdkxx_cbfbm_not_in_cbf")
    assert i.key == P["cbdkxx_cbfbm"][1] and i.value.endswith("7999") and i.layer == "CBDKXX"
    i = next(i for i in issues if i.rule == "reference.fbfbm_not_in_fbf" and i.layer == "CBHT")
    assert i.key == P["fbfbm_cbht"][1] and i.value.endswith("99901")


def test_no_error_beyond_the_planted_records(planted):
    issues, _P, allowed = planted
    assert oracle.unexpected_errors(issues, allowed) == []


def test_covers_its_rules(planted):
    assert RULES <= {i.rule for i in planted[0]} | ({"schema.missing_table"} if "schema.missing_table" in RULES else set())
