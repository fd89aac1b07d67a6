"""Summary tables (汇总表格) against the database: each figure of each county / township / village / group row is
recomputed from the tables and the DK layer. The sample's .xls tables agree; the generated delivery writes all six
as CSV in the same layout, and each can be made wrong in a copy."""
import csv

import pytest

import oracle

RULES = {"package.summary_parcels", "package.summary_contractors", "package.summary_certificates", "package.summary_land_use",
         "package.summary_farmland", "package.summary_non_contract", "package.summary_missing", "package.summary_layout",
         "package.summary_units"}
TABLES = {"按地块汇总表": ("package.summary_parcels", "承包地块总数", 1),
          "按承包方汇总表": ("package.summary_contractors", "家庭承包成员数量", 1),
          "按权证信息汇总表": ("package.summary_certificates", "颁发权证面积家庭承包", 0.02),
          "按承包地土地用途汇总表": ("package.summary_land_use", "种植业", 0.05),
          "按承包地是否基本农田汇总表": ("package.summary_farmland", "合计", 0.02),
          "按非承包地地块类别汇总表": ("package.summary_non_contract", "自留地", 0.5)}


def table_path(root, title):
    return next((root / "汇总表格").glob(f"*{title}.*"))


def read(path):
    return list(csv.reader(path.open(encoding="utf-8-sig")))


def write(path, rows):
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows(rows)


def change(path, code, column, delta):
    rows = read(path)
    j = rows[2].index(column)
    for r in rows[3:]:
        if r[0] == code:
            r[j] = str(round(float(r[j]) + delta, 2)) if "." in r[j] or isinstance(delta, float) else str(int(r[j]) + delta)
    write(path, rows)


def group_code(root):
    return oracle.sql(root, "SELECT FBFBM FROM FBF ORDER BY FBFBM")[1][0]


def test_the_samples_xls_tables_agree_with_its_database(demo):
    issues = oracle.run(demo)
    assert not [i for i in issues if i.rule.startswith("package.summary") and i.severity == "error"]
    missing = sorted(i.key for i in issues if i.rule == "package.summary_missing")
    assert len(missing) == 4 and all(k.startswith("汇总表格/371526高唐县") for k in missing)


def test_a_wrong_figure_in_the_samples_table_is_found(demo_copy):
    import xlrd
    xls = table_path(demo_copy, "按地块汇总表")
    sheet = xlrd.open_workbook(str(xls)).sheet_by_index(0)
    rows = [[("%d" % v if isinstance(v, float) and v.is_integer() else str(v)) for v in sheet.row_values(i)] for i in range(sheet.nrows)]
    j = rows[2].index("颁发权证数量")
    rows[7][j] = str(int(rows[7][j]) + 1)  # 37152600100102 马堂村二组: 29 → 30
    xls.unlink()
    write(xls.with_suffix(".csv"), rows)
    bad = [i for i in oracle.run(demo_copy) if i.rule == "package.summary_parcels"]
    assert [(i.key, i.field, i.value) for i in bad] == [("汇总表格/371526高唐县按地块汇总表.csv", "颁发权证数量", "30")]
    assert "37152600100102" in bad[0].message and "29" in bad[0].message and bad[0].village == "371526001001"


@pytest.fixture(scope="module")
def generated_copy(tmp_path_factory):
    base, _truth = oracle.generated_base(tmp_path_factory)
    return base


def test_the_generated_tables_agree(generated_copy):
    assert not [i for i in oracle.run(generated_copy) if i.rule.startswith("package.summary")]


@pytest.mark.parametrize("title", list(TABLES))
def test_a_wrong_figure_in_each_table_is_found_on_its_row(generated_copy, tmp_path, title):
    rule, column, delta = TABLES[title]
    root = oracle.copy_delivery(generated_copy, tmp_path)
    g = group_code(root)
    change(table_path(root, title), g, column, delta)
    bad = [i for i in oracle.run(root) if i.category == "package" and i.severity == "error"]
    assert [(i.rule, i.field) for i in bad] == [(rule, column)]
    assert bad[0].key == table_path(root, title).relative_to(root).as_posix() and g in bad[0].message


def test_areas_within_a_hundredth_of_a_mu_agree(generated_copy, tmp_path):
    root = oracle.copy_delivery(generated_copy, tmp_path)
    change(table_path(root, "按地块汇总表"), group_code(root), "承包地块总面积", 0.01)
    assert not [i for i in oracle.run(root) if i.rule.startswith("package.summary")]


def test_two_row_headers_with_merged_parents_are_read(generated_copy, tmp_path):
    root = oracle.copy_delivery(generated_copy, tmp_path)
    path = table_path(root, "按承包方汇总表")
    rows = read(path)
    head = ["权属单位代码", "权属单位名称", "承包方总数", "家庭承包", "", "其他方式承包", "", ""]
    sub = ["", "", "", "承包农户数量", "家庭成员数量", "合计", "单位承包数量", "个人承包数量"]
    write(path, rows[:2] + [head, sub] + rows[3:])
    assert not [i for i in oracle.run(root) if i.rule.startswith("package.summary")]
    g = group_code(root)
    rows = read(path)
    for r in rows[4:]:
        if r[0] == g:
            r[4] = str(int(r[4]) + 3)
    write(path, rows)
    bad = [i for i in oracle.run(root) if i.rule == "package.summary_contractors"]
    assert [(i.field, g in i.message) for i in bad] == [("家庭承包成员数量", True)]


def test_missing_tables_rows_and_unreadable_layouts(generated_copy, tmp_path):
    root = oracle.copy_delivery(generated_copy, tmp_path)
    table_path(root, "按非承包地地块类别汇总表").unlink()
    path = table_path(root, "按承包地是否基本农田汇总表")
    write(path, [r for r in read(path) if r[0] != group_code(root)])
    layout = table_path(root, "按承包地土地用途汇总表")
    write(layout, [["土地用途"], ["代码", "面积"], ["x", "1"]])
    issues = oracle.run(root)
    by = {i.rule: i for i in issues if i.rule.startswith("package.summary")}
    assert by["package.summary_missing"].key.endswith("按非承包地地块类别汇总表.xls")
    assert by["package.summary_units"].key == path.relative_to(root).as_posix() and group_code(root) in by["package.summary_units"].message
    assert by["package.summary_layout"].key == layout.relative_to(root).as_posix()
    assert {i.severity for i in issues if i.rule in ("package.summary_missing", "package.summary_units", "package.summary_layout")} == {"warning"}


def test_an_unreadable_table_is_one_package_error(demo_copy):
    xls = table_path(demo_copy, "按承包方汇总表")
    xls.write_bytes(b"\xd0\xcf\x11\xe0 not really a workbook")
    bad = [i for i in oracle.run(demo_copy) if i.rule == "package.unreadable" and i.key.endswith("按承包方汇总表.xls")]
    assert len(bad) == 1 and bad[0].severity == "error"
