"""Date logic: contract periods, the register against the contract, the order survey → publicity → signing →
registration → issue → receipt, re-issue and cancellation dates, transfer periods."""
import pytest

import oracle

PLANTS = ["cbqx_order", "cbqx_djb", "cbqx_text", "sequence", "register_order", "issue_order", "receipt_order",
          "receipt_order_reissue", "receipt_order_cancel", "lz_order", "lz_beyond_contract"]
RULES = {"date.cbqx_order", "date.cbqx_djb", "date.cbqx_text", "date.sequence", "date.register_order", "date.issue_order",
         "date.receipt_order", "date.lz_order", "date.lz_beyond_contract"}


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    base, _truth = oracle.generated_base(tmp_path_factory)
    root = oracle.copy_delivery(base, tmp_path_factory.mktemp("dates"))
    hh = oracle.farm_households(root)
    lz = oracle.sql(root, "SELECT LZHTBM, CBFBM FROM LZHT ORDER BY LZHTBM")
    used, P = [], {}

    def take():
        h = next(x for x in hh if x not in used)
        used.append(h)
        return h, h + "J"

    h, bm = take()
    oracle.sql(root, ("UPDATE CBHT SET CBQXQ = CBQXZ, CBQXZ = CBQXQ WHERE CBHTBM = ?", (bm,)))
    P["cbqx_order"] = ("date.cbqx_order", bm)
    h, bm = take()
    oracle.sql(root, ("UPDATE CBJYQZDJB SET CBQXQ = '1999-01-01' WHERE CBJYQZBM = ?", (bm,)))
    P["cbqx_djb"] = ("date.cbqx_djb", bm)
    h, bm = take()
    oracle.sql(root, ("UPDATE CBJYQZDJB SET CBQX = '1998年12月1日至2028年12月30日' WHERE CBJYQZBM = ?", (bm,)))
    P["cbqx_text"] = ("date.cbqx_text", bm)
    h, bm = take()  # a period written as a length is not compared
    oracle.sql(root, ("UPDATE CBJYQZDJB SET CBQX = '30年' WHERE CBJYQZBM = ?", (bm,)))
    P["_cbqx_years"] = ("date.cbqx_text", bm)
    h, bm = take()
    oracle.sql(root, ("UPDATE CBF SET CBFDCRQ = date(GSSHRQ, '+3 days') WHERE CBFBM = ?", (h,)))
    P["sequence"] = ("date.sequence", h)
    h, bm = take()
    oracle.sql(root, ("UPDATE CBJYQZDJB SET DJSJ = '2015-01-05' WHERE CBJYQZBM = ?", (bm,)))
    P["register_order"] = ("date.register_order", bm)
    h, bm = take()
    oracle.sql(root, ("UPDATE CBJYQZ SET FZRQ = date((SELECT DJSJ FROM CBJYQZDJB d WHERE d.CBJYQZBM = ?), '-7 days'), "
                      "QZLQRQ = date((SELECT DJSJ FROM CBJYQZDJB d WHERE d.CBJYQZBM = ?), '-1 days') WHERE CBJYQZBM = ?", (bm, bm, bm)))
    P["issue_order"] = ("date.issue_order", bm)
    h, bm = take()
    oracle.sql(root, ("UPDATE CBJYQZ SET QZLQRQ = date(FZRQ, '-2 days') WHERE CBJYQZBM = ?", (bm,)))
    P["receipt_order"] = ("date.receipt_order", bm)
    h, bm = take()
    oracle.sql(root, ("INSERT INTO CBJYQZ_QZBF SELECT CBJYQZBM, '权证遗失', '2016-04-10', '2016-04-01', QZLQRXM, QZLQRZJLX, QZLQRZJHM "
                      "FROM CBJYQZ WHERE CBJYQZBM = ?", (bm,)))
    P["receipt_order_reissue"] = ("date.receipt_order", bm)
    h, bm = take()
    oracle.sql(root, ("INSERT INTO CBJYQZ_QZZX VALUES (?, '承包方退出', '2014-06-01')", (bm,)))
    P["receipt_order_cancel"] = ("date.receipt_order", bm)
    (k1, _h1), (k2, _h2) = lz[0], lz[1]
    oracle.sql(root, ("UPDATE LZHT SET LZQXKSRQ = LZQXJSRQ, LZQXJSRQ = LZQXKSRQ, HTQDRQ = '2016-12-01' WHERE LZHTBM = ?", (k1,)),
               ("UPDATE LZHT SET LZQXJSRQ = '2029-02-28' WHERE LZHTBM = ?", (k2,)))
    P["lz_order"] = ("date.lz_order", k1)
    P["lz_beyond_contract"] = ("date.lz_beyond_contract", k2)
    issues = oracle.run(root)
    return issues, P, oracle.related(root, *used) | {k1, k2}


@pytest.mark.parametrize("name", PLANTS)
def test_planted_date_defect_is_found_on_its_record(planted, name):
    issues, P, _allowed = planted
    rule, key = P[name]
    assert oracle.has(issues, rule, key), (name, sorted(oracle.keys_of(issues, rule)))


def test_a_period_written_as_a_length_is_not_compared(planted):
    issues, P, _allowed = planted
    assert not oracle.has(issues, *P["_cbqx_years"])


def test_no_error_beyond_the_planted_records(planted):
    issues, _P, allowed = planted
    assert oracle.unexpected_errors(issues, allowed) == []


def test_the_transfer_beyond_the_contract_names_the_contract_end(planted):
    issues, P, _allowed = planted
    i = next(i for i in issues if i.rule == "date.lz_beyond_contract")
    assert "2029-02-28" in i.message and "2028-11-30" in i.message


def test_covers_its_rules(planted):
    assert RULES <= {i.rule for i in planted[0]} | ({"schema.missing_table"} if "schema.missing_table" in RULES else set())
