"""The registration GeoPackage's layout, declared once: layers, fields with their Chinese titles, indexes, the
class style stored as the parcels' default style, and the schema version.

Everything that creates or reads the registration database takes its names from here."""
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from osgeo import ogr

from .. import schema as delivery_schema
from ..errors import LcbError
from ..paths import resource

SCHEMA_VERSION = "3"  # 2: content fingerprint computed set-wise (issue 16); 3: why a parcel's areas differ (CYYY…, issue 17)
QS_PREFIX = "qs_"  # the delivery's attribute tables, copied as qs_<table>


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # TEXT, REAL, INTEGER
    title: str


@dataclass(frozen=True)
class Layer:
    name: str
    fields: tuple
    geometry: int = None  # an ogr.wkb* type for a spatial layer

    @property
    def columns(self):
        return [f.name for f in self.fields]


def _fields(*spec):
    return tuple(Field(*s) for s in spec)


# The working parcel layer: one feature per DKBM. Delivery-derived fields come first (up to SCMJ's twins and the
# class); the content fingerprint covers them (HASHED).
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
    # Not from the delivery: provenance and the consultation record.
    ("PCID", "INTEGER", "入库批次"), ("YJHASH", "TEXT", "成果记录指纹"), ("RKSJ", "TEXT", "入库时间"),
    ("XSZT", "TEXT", "协商状态"), ("XSBZ", "TEXT", "协商备注"), ("XSR", "TEXT", "协商人"), ("XSSJ", "TEXT", "协商时间"),
), ogr.wkbMultiPolygon)
_DELIVERED = CBDK.columns[:CBDK.columns.index("PCID")]
HASHED = [c for c in _DELIVERED if c != "BDCDYH"]  # what the content fingerprint YJHASH covers (plus the geometry)
PROVENANCE = ["PCID", "YJHASH", "RKSJ"]
CONSULTATION = ["XSZT", "XSBZ", "XSR", "XSSJ"]

QLR = Layer("qlr", _fields(
    ("BDCDYH", "TEXT", "不动产单元号"), ("DKBM", "TEXT", "地块编码"), ("CBFBM", "TEXT", "承包方编码"),
    ("QLRMC", "TEXT", "权利人名称"), ("ZJZL", "TEXT", "证件种类"), ("ZJH", "TEXT", "证件号"),
    ("QLRLX", "TEXT", "权利人类型"), ("GYFS", "TEXT", "共有方式"), ("QLBL", "REAL", "权利比例"),
    ("FEMJ", "REAL", "份额面积（平方米）"), ("PCID", "INTEGER", "入库批次")))
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

LAYERS = [CBDK, QLR, BATCHES, CONFLICTS, AUDIT, ALLOC, ARCHIVE, META] + QS + [QS_LEDGER]
BY_NAME = {lyr.name: lyr for lyr in LAYERS}

# Tables written in bulk by a merge (their per-row GeoPackage triggers are suspended meanwhile).
BULK_TABLES = [CBDK.name, QLR.name, ALLOC.name, BATCHES.name, CONFLICTS.name, AUDIT.name, ARCHIVE.name] + \
              [lyr.name for lyr in QS] + [QS_LEDGER.name]

INDEXES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS ux_cbdk_dkbm ON cbdk(DKBM)",
    "CREATE UNIQUE INDEX IF NOT EXISTS ux_cbdk_bdcdyh ON cbdk(BDCDYH)",
    "CREATE INDEX IF NOT EXISTS ix_cbdk_cylx ON cbdk(CYLX)",
    "CREATE INDEX IF NOT EXISTS ix_cbdk_cjdm ON cbdk(CJDM)",
    "CREATE INDEX IF NOT EXISTS ix_qlr_bdcdyh ON qlr(BDCDYH)",
    "CREATE INDEX IF NOT EXISTS ix_qlr_dkbm ON qlr(DKBM)",
    "CREATE UNIQUE INDEX IF NOT EXISTS ux_alloc_dkbm ON bdcdyh_alloc(DKBM)",
    "CREATE UNIQUE INDEX IF NOT EXISTS ux_alloc_bdcdyh ON bdcdyh_alloc(BDCDYH)",
] + [f'CREATE INDEX IF NOT EXISTS "ix_{lyr.name}_pcid" ON "{lyr.name}"(PCID)' for lyr in QS + [QS_LEDGER]]

STYLE_NAME = "面积差异分类"


def styled_qml():
    """resources/styles/cbdk.qml with the Chinese field aliases added (QGIS 3.22 reads aliases from the style)."""
    qml = resource("styles", "cbdk.qml").read_text("utf-8")
    aliases = "".join(f'<alias field={quoteattr(f.name)} index="{i + 1}" name={quoteattr(f.title)}/>' for i, f in enumerate(CBDK.fields))
    return qml.replace("<blendMode>", f"<aliases>{aliases}</aliases>\n  <blendMode>", 1)


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
