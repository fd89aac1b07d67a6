"""The registration GeoPackage's layout, declared once: layers, fields with their Chinese titles, indexes, the
class style stored as the parcels' default style, and the schema version.

Everything that creates or reads the registration database takes its names from here."""
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from osgeo import ogr

from .. import schema as delivery_schema
from ..errors import LcbError
from ..paths import resource

# 2: content fingerprint computed set-wise (issue 16); 3: the standard's ZDJBXX, NYDSYQ, QLR (issue 11);
# 4: why a parcel's areas differ (CYYY, CYYYMC, HTZMJ, DBZMJ; issue 17)
SCHEMA_VERSION = "4"
QS_PREFIX = "qs_"  # the delivery's attribute tables, copied as qs_<table>


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # TEXT, REAL, INTEGER, DATE, BLOB
    title: str
    width: int = 0  # TEXT(width); 0: unbounded
    domain: str = None  # a coded-value domain (DOMAINS): codes in the table, names shown by QGIS


@dataclass(frozen=True)
class Layer:
    name: str
    fields: tuple
    geometry: int = None  # an ogr.wkb* type for a spatial layer
    title: str = ""

    @property
    def columns(self):
        return [f.name for f in self.fields]


def _fields(*spec):
    return tuple(Field(*s) for s in spec)


# The working parcel layer: one feature per DKBM (coded fields get their code list as a domain, see _with_domains).
# Delivery-derived fields come first (up to SCMJ's twins and the class); the content fingerprint covers them (HASHED).
CBDK = Layer("cbdk", _fields(
    ("DKBM", "TEXT", "地块编码"), ("BDCDYH", "TEXT", "不动产单元号"), ("FBFBM", "TEXT", "发包方编码"),
    ("XZDM", "TEXT", "乡镇代码"), ("XZMC", "TEXT", "乡镇名称"), ("CJDM", "TEXT", "村级代码"), ("CJMC", "TEXT", "村名称"),
    ("ZJMC", "TEXT", "组名称"), ("DKMC", "TEXT", "地块名称"), ("DKLB", "TEXT", "地块类别"), ("TDLYLX", "TEXT", "土地利用类型"),
    ("DLDJ", "TEXT", "地力等级"), ("TDYT", "TEXT", "土地用途"), ("SYQXZ", "TEXT", "所有权性质"), ("SFJBNT", "TEXT", "是否基本农田"),
    ("ZJRXM", "TEXT", "指界人姓名"), ("CBFBM", "TEXT", "承包方编码"), ("CBFMC", "TEXT", "承包方名称"),
    ("CBHTBM", "TEXT", "承包合同编码"), ("CBJYQZBM", "TEXT", "承包经营权证编码"), ("CBJYQQDFS", "TEXT", "承包经营权取得方式"),
    ("LZHTBM", "TEXT", "流转合同编码"), ("HTMJ", "REAL", "确权（合同）面积（平方米）"), ("DBMJ", "REAL", "登簿面积（平方米）"),
    ("SCMJ", "REAL", "实测面积（平方米）"), ("HTMJM", "REAL", "确权（合同）面积（亩）"), ("DBMJM", "REAL", "登簿面积（亩）"),
    ("SCMJM", "REAL", "实测面积（亩）"), ("HTDBC", "REAL", "合同与登簿面积差（平方米）"), ("HTSCC", "REAL", "合同与实测面积差（平方米）"),
    ("CYLX", "TEXT", "面积差异类型"), ("CYLXMC", "TEXT", "面积差异类型名称"),
    ("CYYY", "TEXT", "面积差异原因"), ("CYYYMC", "TEXT", "面积差异原因说明"),
    ("HTZMJ", "REAL", "所属合同总面积（平方米）"), ("DBZMJ", "REAL", "所属合同内地块登簿面积合计（平方米）"), ("GYFS", "TEXT", "共有方式"),
    ("DKSYT", "TEXT", "地块示意图"), ("QSLYFJ", "TEXT", "权属来源附件"),
    ("DKDZ", "TEXT", "东至"), ("DKNZ", "TEXT", "南至"), ("DKXZ", "TEXT", "西至"), ("DKBZ", "TEXT", "北至"),
    ("FBFMC", "TEXT", "发包方名称"), ("CBQXQ", "TEXT", "承包期限起"), ("CBQXZ", "TEXT", "承包期限止"),
    ("DJJG", "TEXT", "登记机构（发证机关）"), ("DBR", "TEXT", "登簿人"), ("DJSJ", "TEXT", "登记时间"),
    # Not from the delivery: provenance and the consultation record.
    ("PCID", "INTEGER", "入库批次"), ("YJHASH", "TEXT", "成果记录指纹"), ("RKSJ", "TEXT", "入库时间"),
    ("XSZT", "TEXT", "协商状态"), ("XSBZ", "TEXT", "协商备注"), ("XSR", "TEXT", "协商人"), ("XSSJ", "TEXT", "协商时间"),
), ogr.wkbMultiPolygon, "承包地块（工作图层）")
_DELIVERED = CBDK.columns[:CBDK.columns.index("PCID")]
HASHED = [c for c in _DELIVERED if c != "BDCDYH"]  # what the content fingerprint YJHASH covers (plus the geometry)
PROVENANCE = ["PCID", "YJHASH", "RKSJ"]
CONSULTATION = ["XSZT", "XSBZ", "XSR", "XSSJ"]

BATCHES = Layer("batches", _fields(
    ("package", "TEXT", "成果包路径"), ("county", "TEXT", "县级代码"), ("county_name", "TEXT", "县级名称"),
    ("fingerprint", "TEXT", "成果包清单指纹"), ("params", "TEXT", "参数"), ("merged_at", "TEXT", "入库时间"),
    ("user", "TEXT", "操作人"), ("parcels", "INTEGER", "地块数"), ("inserted", "INTEGER", "新增"),
    ("updated", "INTEGER", "更新"), ("unchanged", "INTEGER", "未变"), ("conflicts", "INTEGER", "冲突"),
    ("classes", "TEXT", "分类统计"), ("epsg", "INTEGER", "成果坐标系")))
CONFLICTS = Layer("conflicts", _fields(
    ("PCID", "INTEGER", "批次"), ("DKBM", "TEXT", "地块编码"), ("fields", "TEXT", "不一致字段"),
    ("existing", "TEXT", "库中值"), ("incoming", "TEXT", "新成果值"), ("resolution", "TEXT", "处理方式"), ("at", "TEXT", "时间")))
AUDIT = Layer("audit", _fields(
    ("at", "TEXT", "时间"), ("user", "TEXT", "操作人"), ("action", "TEXT", "操作"), ("DKBM", "TEXT", "地块编码"),
    ("PCID", "INTEGER", "批次"), ("detail", "TEXT", "内容")))
ALLOC = Layer("bdcdyh_alloc", _fields(
    ("DKBM", "TEXT", "地块编码"), ("BDCDYH", "TEXT", "不动产单元号"), ("PCID", "INTEGER", "批次"), ("at", "TEXT", "赋码时间")))
ARCHIVE = Layer("archive", _fields(
    ("PCID", "INTEGER", "批次"), ("rel", "TEXT", "相对路径"), ("stored", "TEXT", "存放路径"),
    ("sha256", "TEXT", "SHA-256"), ("size", "INTEGER", "字节数")))
META = Layer("lcb_meta", _fields(("key", "TEXT", "键"), ("value", "TEXT", "值")))

_AFFINITY = {"T": "TEXT", "M": "TEXT", "D": "TEXT", "N": "REAL", "I": "INTEGER"}
DELIVERY_TABLES = list(delivery_schema.TABLES)  # the 12 standard tables, copied as qs_<name>
QS = [Layer(QS_PREFIX + t.lower(), _fields(*[(f[0], _AFFINITY[f[1]], f[4]) for f in spec], ("PCID", "INTEGER", "入库批次")))
      for t, spec in delivery_schema.TABLES.items()]
QS_LEDGER = Layer(QS_PREFIX + "tz", _fields(("DKBM", "TEXT", "地块编码"), ("CBFBM", "TEXT", "承包方编码"),
                                            ("CBJYQZBM", "TEXT", "承包经营权证编码"), ("DBMJ", "REAL", "登簿面积"),
                                            ("PCID", "INTEGER", "入库批次")))

# ------------------------------------------------------------------ the standard's tables (不动产登记数据库标准, 2015 试行版)
# Field names, order, types and widths as in the standard's table-creation script (docs/registration-schema.md has
# the sources); CHAR(n) → TEXT(n), FLOAT → REAL, DATETIME → DATE (the delivery's dates are days), BLOB → BLOB.
ZDJBXX = Layer("ZDJBXX", _fields(
    ("YSDM", "TEXT", "要素代码", 10), ("ZDDM", "TEXT", "宗地代码", 19), ("BDCDYH", "TEXT", "不动产单元号", 28),
    ("ZDTZM", "TEXT", "宗地特征码", 2, "ZDTZMZD"), ("ZL", "TEXT", "坐落", 200), ("ZDMJ", "REAL", "宗地面积"),
    ("MJDW", "TEXT", "面积单位", 2, "MJDWZD"), ("YT", "TEXT", "用途", 4, "TDLYLXZD"), ("DJ", "TEXT", "等级", 2, "TDDJZD"),
    ("JG", "REAL", "价格"), ("QLLX", "TEXT", "权利类型", 2, "QLLXZD"), ("QLXZ", "TEXT", "权利性质", 4, "QLXZZD"),
    ("QLSDFS", "TEXT", "权利设定方式", 2, "QLSDFSZD"), ("RJL", "REAL", "容积率"), ("JZMD", "REAL", "建筑密度"),
    ("JZXG", "REAL", "建筑限高"), ("ZDSZD", "TEXT", "宗地四至东", 200), ("ZDSZN", "TEXT", "宗地四至南", 200),
    ("ZDSZX", "TEXT", "宗地四至西", 200), ("ZDSZB", "TEXT", "宗地四至北", 200), ("ZDT", "BLOB", "宗地图"),
    ("TFH", "TEXT", "图幅号", 50), ("DJH", "TEXT", "地籍号", 20), ("DAH", "TEXT", "档案号"), ("BZ", "TEXT", "备注"),
    ("ZT", "TEXT", "状态", 2, "BDCDYZTZD"),
), ogr.wkbMultiPolygon, "宗地基本信息")
NYDSYQ = Layer("NYDSYQ", _fields(
    ("YSDM", "TEXT", "要素代码", 10), ("BDCDYH", "TEXT", "不动产单元号", 28), ("YWH", "TEXT", "业务号", 20),
    ("QLLX", "TEXT", "权利类型", 2, "QLLXZD"), ("DJLX", "TEXT", "登记类型", 6, "DJLXZD"), ("DJYY", "TEXT", "登记原因"),
    ("ZL", "TEXT", "坐落", 200), ("FBFDM", "TEXT", "发包方代码", 100), ("FBFMC", "TEXT", "发包方名称", 100),
    ("CBMJ", "REAL", "承包（使用权）面积（亩）"), ("CBQSSJ", "DATE", "承包（使用）起始时间"), ("CBJSSJ", "DATE", "承包（使用）结束时间"),
    ("TDSYQXZ", "TEXT", "土地所有权性质", 2, "TDSYQXZZD"), ("SYTTLX", "TEXT", "水域滩涂类型", 2, "SYTTLXZD"),
    ("YZYFS", "TEXT", "养殖业方式", 2, "YZYFSZD"), ("CYZL", "TEXT", "草原质量"), ("SYZCL", "INTEGER", "适宜载畜量"),
    ("BDCQZH", "TEXT", "不动产权证号"), ("QXDM", "TEXT", "区县代码", 6), ("DJJG", "TEXT", "登记机构", 200),
    ("DBR", "TEXT", "登簿人", 50), ("DJSJ", "DATE", "登记时间"), ("FJ", "TEXT", "附记"), ("QSZT", "TEXT", "权属状态", 2, "QSZTZD"),
), None, "土地承包经营权、农用地的其他使用权")
QLR = Layer("QLR", _fields(
    ("YSDM", "TEXT", "要素代码", 10), ("BDCDYH", "TEXT", "不动产单元号", 28), ("SXH", "INTEGER", "顺序号"),
    ("QLRMC", "TEXT", "权利人名称"), ("BDCQZH", "TEXT", "不动产权证号", 50), ("QZYSXLH", "TEXT", "权证印刷序列号", 100),
    ("SFCZR", "TEXT", "是否持证人", 2, "SFZD"), ("ZJZL", "TEXT", "证件种类", 2, "ZJZLZD"), ("ZJH", "TEXT", "证件号", 50),
    ("FZJG", "TEXT", "发证机关", 200), ("SSHY", "TEXT", "所属行业", 6), ("GJ", "TEXT", "国家/地区", 6),
    ("HJSZSS", "TEXT", "户籍所在省市", 6), ("XB", "TEXT", "性别", 2, "XBZD"), ("DH", "TEXT", "电话", 50),
    ("DZ", "TEXT", "地址", 200), ("YB", "TEXT", "邮编", 10), ("GZDW", "TEXT", "工作单位", 100), ("DZYJ", "TEXT", "电子邮件", 50),
    ("QLRLX", "TEXT", "权利人类型", 2, "QLRLXZD"), ("QLBL", "TEXT", "权利比例", 100), ("GYFS", "TEXT", "共有方式", 2, "GYFSZD"),
    ("GYQK", "TEXT", "共有情况"), ("BZ", "TEXT", "备注"),
), None, "权利人")
STANDARD = [ZDJBXX, NYDSYQ, QLR]
YSDM = {"ZDJBXX": "6001010000", "NYDSYQ": "6002020500", "QLR": "6003000000"}  # 要素代码 of the standard's tables

# Code values of the standard (VastGIS.RealEstate.Survey Resources/Dictionary.sql; docs/registration-schema.md).
_OWNERSHIP = {"G": "国家土地所有权", "J": "集体土地所有权", "Z": "土地所有权未确定或有争议"}
_CONTRACT_LAND = {"D": "土地承包经营权宗地（耕地）", "E": "土地承包经营权宗地（林地）", "F": "土地承包经营权宗地（草地）"}
STANDARD_CODES = {
    "ZDTZMZD": ("宗地特征码", {a + b: f"{na}·{nb}" for a, na in _OWNERSHIP.items() for b, nb in _CONTRACT_LAND.items()}),
    "MJDWZD": ("面积单位", {"1": "平方米", "2": "亩", "3": "公顷"}),
    "TDDJZD": ("土地等级", {str(i): f"{'一二三四五六七八九十'[i - 1]}类" for i in range(1, 11)}),
    "QLLXZD": ("权利类型", {
        "1": "集体土地所有权", "2": "国家土地所有权", "3": "国有建设用地使用权", "4": "国有建设用地使用权/房屋（构筑物）所有权",
        "5": "宅基地使用权", "6": "宅基地使用权/房屋（构筑物）所有权", "7": "集体建设用地使用权",
        "8": "集体建设用地使用权/房屋（构筑物）所有权", "9": "土地承包经营权", "10": "土地承包经营权/森林、林木所有权",
        "11": "林地使用权", "12": "林地使用权/森林、林木使用权", "13": "草原使用权", "14": "水域滩涂养殖权", "15": "海域使用权",
        "16": "海域使用权/构（建）筑物所有权", "17": "无居民海岛使用权", "18": "无居民海岛使用权/构（建）筑物所有权",
        "19": "地役权", "20": "取水权", "21": "探矿权", "22": "采矿权", "99": "其它权利"}),
    "QLXZZD": ("权利性质", {
        "100": "国有土地", "101": "划拨", "102": "出让", "103": "作价出资（入股）", "104": "国有土地租赁", "105": "授权经营",
        "106": "家庭承包", "107": "其它方式承包", "200": "集体土地", "201": "家庭承包", "202": "其它方式承包", "203": "批准拨用",
        "204": "入股", "205": "联营"}),
    "QLSDFSZD": ("权利设定方式", {"1": "地上", "2": "地表", "3": "地下"}),
    "BDCDYZTZD": ("不动产单元状态", {"0": "无效", "1": "有效"}),
    "DJLXZD": ("登记类型", {"100": "首次登记", "200": "转移登记", "300": "变更登记", "400": "注销登记", "500": "更正登记",
                            "600": "异议登记", "700": "预告登记", "800": "查封登记", "900": "其它登记"}),
    "QSZTZD": ("权属状态", {"0": "临时", "1": "现势", "2": "历史", "3": "终止"}),
    "TDSYQXZZD": ("土地所有权性质", {"1": "国家所有", "2": "集体所有"}),
    "SYTTLXZD": ("水域滩涂类型", {"1": "淡水水域滩涂", "2": "海水水域滩涂"}),
    "YZYFSZD": ("养殖业方式", {"1": "池塘", "2": "大水面放养", "3": "围栏", "4": "工厂化", "5": "筏吊式", "6": "滩涂底播", "7": "网箱"}),
    "SFZD": ("是否", {"0": "否", "1": "是"}),
    "ZJZLZD": ("证件种类", {"1": "身份证", "2": "港澳台身份证", "3": "护照", "4": "户口簿", "5": "军官证（士兵证）", "6": "组织机构代码",
                            "7": "营业执照", "99": "其它"}),
    "XBZD": ("性别", {"1": "男性", "2": "女性", "3": "不详"}),
    "QLRLXZD": ("权利人类型", {"1": "个人", "2": "企业", "3": "事业单位", "4": "国家机关", "99": "其它"}),
    "GYFSZD": ("共有方式", {"0": "单独所有", "1": "共同共有", "2": "按份共有", "3": "其它共有"}),
}
# The delivery's code lists (resources/codelists.csv) on the working layer's coded fields.
DELIVERY_CODES = {"DKLBZD": "地块类别", "TDLYLXZD": "土地利用类型", "DLDJZD": "地力等级", "TDYTZD": "土地用途", "SYQXZZD": "所有权性质",
                  "SFZD_QQ": "是否", "CBJYQQDFSZD": "承包经营权取得方式"}
CBDK_DOMAINS = {"DKLB": "DKLBZD", "TDLYLX": "TDLYLXZD", "DLDJ": "DLDJZD", "TDYT": "TDYTZD", "SYQXZ": "SYQXZZD", "SFJBNT": "SFZD_QQ",
                "CBJYQQDFS": "CBJYQQDFSZD", "GYFS": "GYFSZD", "CYLX": "CYLXZD"}
_CLASSES = {"share_only": "确股不确地", "unmatched": "图数不对应", "contract_register_mismatch": "合同与登簿面积不一致",
            "measured_differs": "实测面积不一致", "consistent": "一致"}  # = classify.CLASSES (not imported: no cycle)


def domains():
    """{domain name: (description, {code: name})} of every coded field of the database."""
    from .. import codes
    lists = codes.load()
    out = dict(STANDARD_CODES)
    for name, lst in DELIVERY_CODES.items():
        out[name] = (lst, {k: v for k, v in lists.get(lst, {}).items() if v})
    out["CYLXZD"] = ("面积差异类型", dict(_CLASSES))
    return out


CBDK = Layer(CBDK.name, tuple(Field(f.name, f.type, f.title, f.width, CBDK_DOMAINS.get(f.name)) for f in CBDK.fields), CBDK.geometry,
             CBDK.title)

LAYERS = [CBDK, ZDJBXX, NYDSYQ, QLR, BATCHES, CONFLICTS, AUDIT, ALLOC, ARCHIVE, META] + QS + [QS_LEDGER]
BY_NAME = {lyr.name: lyr for lyr in LAYERS}

# Tables written in bulk by a merge (their per-row GeoPackage triggers are suspended meanwhile).
BULK_TABLES = [CBDK.name, ZDJBXX.name, NYDSYQ.name, QLR.name, ALLOC.name, BATCHES.name, CONFLICTS.name, AUDIT.name, ARCHIVE.name] + \
              [lyr.name for lyr in QS] + [QS_LEDGER.name]

# What the standard tables are derived from is looked up by code and batch (registration.standard).
STANDARD_SOURCE_INDEXES = [
    f'CREATE INDEX IF NOT EXISTS "ix_{QS_PREFIX}cbdkxx_dkbm" ON "{QS_PREFIX}cbdkxx"(DKBM, PCID)',
    f'CREATE INDEX IF NOT EXISTS "ix_{QS_PREFIX}cbf_cbfbm" ON "{QS_PREFIX}cbf"(CBFBM, PCID)',
    # covering the lookup of a household head's sex (QLR.XB) by ID number: no row read per holder
    f'CREATE INDEX IF NOT EXISTS "ix_{QS_PREFIX}cbf_jtcy_member" ON "{QS_PREFIX}cbf_jtcy"(CBFBM, PCID, CYZJHM, CYXB)',
]
INDEXES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS ux_cbdk_dkbm ON cbdk(DKBM)",
    "CREATE UNIQUE INDEX IF NOT EXISTS ux_cbdk_bdcdyh ON cbdk(BDCDYH)",
    "CREATE INDEX IF NOT EXISTS ix_cbdk_cylx ON cbdk(CYLX)",
    "CREATE INDEX IF NOT EXISTS ix_cbdk_cjdm ON cbdk(CJDM)",
    "CREATE UNIQUE INDEX IF NOT EXISTS ux_zdjbxx_bdcdyh ON ZDJBXX(BDCDYH)",
    "CREATE UNIQUE INDEX IF NOT EXISTS ux_nydsyq_bdcdyh ON NYDSYQ(BDCDYH)",
    "CREATE INDEX IF NOT EXISTS ix_qlr_bdcdyh ON QLR(BDCDYH)",
    "CREATE UNIQUE INDEX IF NOT EXISTS ux_alloc_dkbm ON bdcdyh_alloc(DKBM)",
    "CREATE UNIQUE INDEX IF NOT EXISTS ux_alloc_bdcdyh ON bdcdyh_alloc(BDCDYH)",
] + STANDARD_SOURCE_INDEXES

STYLE_NAME = "面积差异分类"


def styled_qml():
    """resources/styles/cbdk.qml with the Chinese field aliases added (QGIS 3.22 reads aliases from the style)."""
    qml = resource("styles", "cbdk.qml").read_text("utf-8")
    aliases = "".join(f'<alias field={quoteattr(f.name)} index="{i + 1}" name={quoteattr(f.title)}/>' for i, f in enumerate(CBDK.fields))
    return qml.replace("<blendMode>", f"<aliases>{aliases}</aliases>\n  <blendMode>", 1)


def aliases_qml(layer):
    """A style with only the Chinese field titles of a layer (QGIS 3.22 takes aliases from styles, not from
    gpkg_data_columns)."""
    aliases = "".join(f'<alias field={quoteattr(f.name)} index="{i + 1}" name={quoteattr(f.title)}/>' for i, f in enumerate(layer.fields))
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            f'<qgis version="3.22.0" styleCategories="Fields|Forms"><aliases>{aliases}</aliases></qgis>')


def check_version(c, path):
    """Refuse a registration database this version cannot extend (an older layout or a newer one)."""
    try:
        row = c.execute("SELECT value FROM lcb_meta WHERE key = 'schema_version'").fetchone()
    except Exception:  # noqa: BLE001 - no lcb_meta: not ours
        row = None
    version = row[0] if row else None
    if version != SCHEMA_VERSION:
        raise LcbError(f"登记库的结构版本为 {version or '未知'}，本版本插件需要 {SCHEMA_VERSION}：请用本版本重新建立登记库（另选一个 TARGET）",
                       f"the registration database has layout version {version or 'unknown'}, this plugin needs "
                       f"{SCHEMA_VERSION}: build a new one with this version (choose another TARGET)", path=str(path))
