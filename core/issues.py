"""Issue records (the rows of the issue layer), the rule registry and the rule families.

A rule is one small registered check: its id, the issue-layer category it reports under, its severity, its
Chinese message, the family it belongs to (a family is one item of the standard or of 质检 practice, documented
with its clause in docs/rules.md), the clause it implements when more specific than its family's, and the
parameters (core.params.Params fields) it reads."""
from dataclasses import dataclass, field as dc_field

CATEGORIES = ["package", "schema", "code", "reference", "geometry", "area", "member", "date", "encoding"]
CATEGORY_ZH = {
    "package": "成果包", "schema": "数据结构", "code": "编码与代码", "reference": "关联关系",
    "geometry": "图形", "area": "面积", "member": "家庭成员", "date": "日期", "encoding": "字符编码",
}
SEVERITIES = ["error", "warning", "info"]
SEVERITY_ZH = {"error": "错误", "warning": "警告", "info": "提示"}


@dataclass(frozen=True)
class Family:
    key: str
    zh: str
    en: str
    source: str  # the clause of the standard, or the practice, the family implements


FAMILIES = {f.key: f for f in (
    Family("package", "成果包完整性", "Delivery package",
           "农业部《农村土地承包经营权确权登记数据库成果汇交办法（试行）》2015: folder layout, file naming, companions, "
           "metadata, attribute database, unit-code table (as written and read by the vendor exporters, "
           "reference/standards.md §2; the 汇交办法 text itself is UNCONFIRMED); 质检 item 数据完整性."),
    Family("summary", "汇总表格与数据库一致", "Summary tables agree with the database",
           "汇交办法 汇总表格: the six tables 按地块 / 按承包方 / 按权证信息 / 按承包地土地用途 / 按承包地是否基本农田 / "
           "按非承包地地块类别 per 权属单位 (reference/standards.md §2); 质检 item 汇总一致 — every figure recomputed "
           "from the attribute tables and the DK layer for each county, township, village and group row."),
    Family("schema", "数据结构", "Structure of tables and layers",
           "NY/T 2539-2016 §数据库结构 (attribute tables and the DK layer: fields, types, widths, mandatory fields; "
           "reference/standards.md §1.1–1.2, from the vendors' 权属数据.mdb template)."),
    Family("formats", "字段格式", "Field formats",
           "NY/T 2539-2016 field definitions (DateTime, 邮政编码 Text6, 联系电话, 证件号码 by 证件类型); "
           "GB 11643-1999 公民身份号码 (18 digits, check digit); GB 11714-1997 组织机构代码 and GB 32100-2015 "
           "统一社会信用代码 (check characters); GB/T 7408 dates; 质检 item 属性精度."),
    Family("codes", "编码结构与代码表", "Code structures and code lists",
           "NY/T 2538-2014 要素编码规则 (FBFBM 14 = county 6 + township 3 + village 3 + group 2; CBFBM 18 = FBFBM + "
           "serial by 承包方类型; DKBM 19 = FBFBM + 5-digit serial; CBHTBM = CBJYQZBM = CBFBM + J/Q) and the code "
           "lists of NY/T 2539-2016 附录 (resources/codelists.csv; reference/standards.md §1.3–1.4)."),
    Family("keys", "主键与关联关系", "Keys and references",
           "NY/T 2539-2016 table relationships (CBDKXX ↔ DK / CBF / CBHT / CBJYQZDJB, CBF ↔ CBF_JTCY, FBFBM prefix; "
           "reference/standards.md §1.2); 质检 item 逻辑一致性; the work plan's 图、数、档相关联. Keys are compared after "
           "trimming blanks; every issue is keyed by the record that is wrong."),
    Family("spatial", "图形与拓扑", "Geometry and topology",
           "NY/T 2539-2016 DK layer (2-D polygons in the delivery's CGCS2000 3° Gauss–Krüger zone); 质检 items 拓扑 "
           "(no overlaps, no gaps between neighbours, no self-intersections, no spikes or repeated vertices) and "
           "空间与属性一致 (parcels inside their county / township / village / group regions XJXZQ, XJQY, CJQY, ZJQY); "
           "vendor QC thresholds (reference/standards.md §2, last item)."),
    Family("areas", "面积", "Areas",
           "reference/standards.md §5: areas in m² with 2 decimals, 亩 twins = round(m² × 0.0015, 2), SCMJ = planar "
           "area in the delivery's own CRS; CBHT.HTZMJ = Σ CBDKXX.HTMJ, CBDKZS = row count; design.md area rules "
           "(AREA_TOLERANCE); NY/T 2539 requires HTMJ, SCMJ, HTZMJ, LZMJ (and the register's DBMJ) to be positive."),
    Family("persons", "承包方与家庭成员", "Contractors and household members",
           "NY/T 2539-2016 CBF / CBF_JTCY (one household head, 成员数量 = member rows); GB/T 4761-2008 家庭关系代码 "
           "(relations that imply sex and generation); GB 11643-1999 (sex and birth date in the ID number); a person "
           "belongs to one household once."),
    Family("dates", "日期逻辑", "Date logic",
           "NY/T 2539-2016 date fields and the order of the confirmation work: survey ≤ publicity review ≤ contract "
           "signing ≤ registration ≤ certificate issue ≤ receipt; 承包期限起 < 止, the register's period equals the "
           "contract's (vendor repair rules, reference/standards.md §5); 《农村土地承包法》第38条: a transfer "
           "(流转) may not outlast the remaining contract period."),
    Family("encoding", "字符编码", "Character encoding",
           "汇交办法: shapefiles with a .cpg declaring their encoding (GBK in practice); text must decode without loss."),
)}
CATEGORY_FAMILY = {"package": "package", "schema": "schema", "code": "codes", "reference": "keys", "geometry": "spatial",
                   "area": "areas", "member": "persons", "date": "dates", "encoding": "encoding"}


@dataclass
class Issue:
    rule: str
    category: str
    severity: str
    layer: str
    key: str
    field: str
    message: str
    value: str = ""
    wkb: bytes = None  # geometry in the delivery CRS, or None
    village: str = ""  # 12-digit village code, for grouping reports


@dataclass
class Rule:
    id: str
    category: str
    severity: str
    message: str  # Chinese template, str.format(**args)
    description: str  # English
    func: object = None
    why: str = ""  # for warnings: why it is not an error
    params: list = dc_field(default_factory=list)  # core.params.Params fields the rule reads
    zh: str = ""  # Chinese summary for the catalogue when the message is built elsewhere
    family: str = ""
    source: str = ""  # the clause or practice, when more specific than the family's


REGISTRY = {}


def rule(id, category, severity, message, description, why="", params=(), zh="", family=None, source=""):
    """Register a check. The function takes a ValidationContext and yields Issue rows via ctx.issue().
    params: the Params fields the rule reads; family: defaults from the category; source: the specific clause."""
    assert category in CATEGORIES and severity in SEVERITIES, (id, category, severity)
    family = family or CATEGORY_FAMILY[category]
    assert family in FAMILIES, (id, family)

    def deco(func):
        if id in REGISTRY:
            raise ValueError(f"duplicate rule id {id}")
        REGISTRY[id] = Rule(id, category, severity, message, description, func, why, list(params), zh, family, source)
        func.rule_id = id
        return func

    return deco


def spatial(func):
    """Mark a rule function that works on the DK arrays only (numpy/shapely, no SQLite). Like `parallel` rules, it
    may run on the second rule thread."""
    func.parallel = True
    func.spatial = True
    return func


def parallel(func):
    """Mark a rule function that is safe on any rule thread: it reaches SQLite only through ctx.q / ctx.conn (each
    thread has its own connection to the staging database) and writes nothing but temporary tables."""
    func.parallel = True
    return func
