"""The delivery's standard tables and layers (NY/T 2539-2016 as written by vendor templates).

Each field: (name, type, length, required, Chinese title). Types: T text, N numeric(15,2), I integer,
D date, M memo. Source: ../shared/reference/standards.md §1.1–1.2 (the SII 权属数据.mdb template).
"""

T, N, I, D, M = "T", "N", "I", "D", "M"

TABLES = {
    "FBF": [
        ("FBFBM", T, 14, True, "发包方编码"), ("FBFMC", T, 50, True, "发包方全称"),
        ("FBFFZRXM", T, 50, True, "发包方负责人姓名"), ("FZRZJLX", T, 1, True, "负责人证件类型"),
        ("FZRZJHM", T, 30, True, "负责人证件号码"), ("LXDH", T, 15, False, "联系电话"),
        ("FBFDZ", T, 100, True, "发包方地址"), ("YZBM", T, 6, True, "邮政编码"),
        ("FBFDCY", T, 254, True, "发包方调查员"), ("FBFDCRQ", D, 0, True, "发包方调查日期"),
        ("FBFDCJS", M, 0, False, "发包方调查记事"),
    ],
    "CBF": [
        ("CBFBM", T, 18, True, "承包方编码"), ("CBFLX", T, 1, True, "承包方类型"),
        ("CBFMC", T, 50, True, "承包方名称"), ("CBFZJLX", T, 1, True, "承包方证件类型"),
        ("CBFZJHM", T, 20, True, "承包方证件号码"), ("CBFDZ", T, 100, True, "承包方地址"),
        ("YZBM", T, 6, True, "邮政编码"), ("LXDH", T, 20, False, "联系电话"),
        ("CBFCYSL", I, 0, True, "承包方成员数量"), ("CBFDCRQ", D, 0, True, "承包方调查日期"),
        ("CBFDCY", T, 50, True, "承包方调查员"), ("CBFDCJS", M, 0, False, "承包方调查记事"),
        ("GSJS", T, 254, False, "公示记事"), ("GSJSR", T, 50, True, "公示记事人"),
        ("GSSHRQ", D, 0, True, "公示审核日期"), ("GSSHR", T, 50, True, "公示审核人"),
    ],
    "CBF_JTCY": [
        ("CBFBM", T, 18, True, "承包方编码"), ("CYXM", T, 50, True, "成员姓名"),
        ("CYXB", T, 1, True, "成员性别"), ("CYZJLX", T, 1, True, "成员证件类型"),
        ("CYZJHM", T, 20, True, "成员证件号码"), ("YHZGX", T, 2, True, "与户主关系"),
        ("CYBZ", T, 1, False, "成员备注"), ("SFGYR", T, 1, False, "是否共有人"),
        ("CYBZSM", T, 254, False, "成员备注说明"),
    ],
    "CBHT": [
        ("CBHTBM", T, 19, True, "承包合同编码"), ("YCBHTBM", T, 19, False, "原承包合同编码"),
        ("FBFBM", T, 14, True, "发包方编码"), ("CBFBM", T, 18, True, "承包方编码"),
        ("CBFS", T, 3, True, "承包方式"), ("CBQXQ", D, 0, True, "承包期限起"),
        ("CBQXZ", D, 0, True, "承包期限止"), ("HTZMJ", N, 15, True, "确权（合同）总面积"),
        ("CBDKZS", I, 0, True, "承包地块总数"), ("QDSJ", D, 0, True, "签订时间"),
        ("HTZMJM", N, 15, False, "确权（合同）总面积（亩）"), ("YHTZMJ", N, 15, False, "原合同总面积"),
        ("YHTZMJM", N, 15, False, "原合同总面积（亩）"),
    ],
    "CBDKXX": [
        ("DKBM", T, 19, True, "地块编码"), ("FBFBM", T, 14, True, "发包方编码"),
        ("CBFBM", T, 18, True, "承包方编码"), ("CBJYQQDFS", T, 3, True, "承包经营权取得方式"),
        ("HTMJ", N, 15, True, "确权（合同）面积"), ("CBHTBM", T, 19, True, "承包合同编码"),
        ("LZHTBM", T, 18, False, "流转合同编码"), ("CBJYQZBM", T, 19, True, "承包经营权证编码"),
        ("YHTMJ", N, 15, False, "原承包合同面积"), ("HTMJM", N, 15, False, "确权（合同）面积（亩）"),
        ("YHTMJM", N, 15, False, "原合同面积（亩）"), ("SFQQQG", T, 1, False, "是否确权确股"),
    ],
    "CBJYQZDJB": [
        ("CBJYQZBM", T, 19, True, "承包经营权证编码"), ("FBFBM", T, 14, True, "发包方编码"),
        ("CBFBM", T, 18, True, "承包方编码"), ("CBFS", T, 3, True, "承包方式"),
        ("CBQX", T, 30, True, "承包期限"), ("CBQXQ", D, 0, True, "承包期限起"),
        ("CBQXZ", D, 0, True, "承包期限止"), ("DKSYT", T, 254, True, "地块示意图"),
        ("YCBJYQZBH", T, 100, False, "原承包经营权证编号"), ("CBJYQZLSH", T, 254, True, "承包经营权证流水号"),
        ("DJBFJ", T, 254, False, "登记簿附记"), ("DBR", T, 50, True, "登簿人"),
        ("DJSJ", D, 0, True, "登记时间"),
    ],
    "CBJYQZ": [
        ("CBJYQZBM", T, 19, True, "承包经营权证编码"), ("FZJG", T, 50, True, "发证机关"),
        ("FZRQ", D, 0, True, "发证日期"), ("QZSFLQ", T, 1, True, "权证是否领取"),
        ("QZLQRQ", D, 0, False, "权证领取日期"), ("QZLQRXM", T, 50, False, "权证领取人姓名"),
        ("QZLQRZJLX", T, 1, False, "领取人证件类型"), ("QZLQRZJHM", T, 20, False, "领取人证件号码"),
    ],
    "CBJYQZ_QZBF": [
        ("CBJYQZBM", T, 19, True, "承包经营权证编码"), ("QZBFYY", T, 200, True, "权证补发原因"),
        ("BFRQ", D, 0, True, "补发日期"), ("QZBFLQRQ", D, 0, True, "权证补发领取日期"),
        ("QZBFLQRXM", T, 50, True, "权证补发领取人姓名"), ("BFLQRZJLX", T, 1, True, "补发领取人证件类型"),
        ("BFLQRZJHM", T, 20, True, "补发领取人证件号码"),
    ],
    "CBJYQZ_QZHF": [
        ("CBJYQZBM", T, 19, True, "承包经营权证编码"), ("QZHFYY", T, 200, True, "权证换发原因"),
        ("HFRQ", D, 0, True, "换发日期"), ("QZHFLQRQ", D, 0, True, "权证换发领取日期"),
        ("QZHFLQRXM", T, 50, True, "权证换发领取人姓名"), ("HFLQRZJLX", T, 1, True, "换发领取人证件类型"),
        ("HFLQRZJHM", T, 20, True, "换发领取人证件号码"),
    ],
    "CBJYQZ_QZZX": [
        ("CBJYQZBM", T, 19, True, "承包经营权证编码"), ("ZXYY", T, 200, True, "注销原因"),
        ("ZXRQ", D, 0, True, "注销日期"),
    ],
    "LZHT": [
        ("CBHTBM", T, 19, True, "承包合同编码"), ("LZHTBM", T, 18, True, "流转合同编码"),
        ("CBFBM", T, 18, True, "承包方编码"), ("SRFBM", T, 18, True, "受让方编码"),
        ("LZFS", T, 3, True, "流转方式"), ("LZQX", T, 10, True, "流转期限"),
        ("LZQXKSRQ", D, 0, True, "流转期限开始日期"), ("LZQXJSRQ", D, 0, True, "流转期限结束日期"),
        ("LZMJ", N, 15, True, "流转面积"), ("LZDKS", I, 0, True, "流转地块数"),
        ("LZQTDYT", T, 1, False, "流转前土地用途"), ("LZHTDYT", T, 1, False, "流转后土地用途"),
        ("LZJGSM", T, 100, True, "流转费用说明"), ("HTQDRQ", D, 0, True, "合同签订日期"),
        ("LZMJM", N, 15, False, "流转面积（亩）"),
    ],
    "QSLYZLFJ": [
        ("CBJYQZBM", T, 19, True, "承包经营权证编码"), ("ZLFJBH", T, 20, True, "资料附件编号"),
        ("ZLFJMC", T, 100, True, "资料附件名称"), ("ZLFJRQ", D, 0, True, "资料附件日期"),
        ("FJ", T, 254, True, "附件"),
    ],
}

# DK layer (shapefile). DBF widths as vendor exporters write them.
DK_FIELDS = [
    ("BSM", I, 9, True, "标识码"), ("YSDM", T, 6, True, "要素代码"), ("DKBM", T, 19, True, "地块编码"),
    ("DKMC", T, 50, True, "地块名称"), ("SYQXZ", T, 2, False, "所有权性质"), ("DKLB", T, 2, True, "地块类别"),
    ("TDLYLX", T, 3, False, "土地利用类型"), ("DLDJ", T, 2, True, "地力等级"), ("TDYT", T, 1, True, "土地用途"),
    ("SFJBNT", T, 1, True, "是否基本农田"), ("SCMJ", N, 16, True, "实测面积"), ("DKDZ", T, 50, False, "地块东至"),
    ("DKXZ", T, 50, False, "地块西至"), ("DKNZ", T, 50, False, "地块南至"), ("DKBZ", T, 50, False, "地块北至"),
    ("DKBZXX", T, 254, False, "地块备注信息"), ("ZJRXM", T, 100, False, "指界人姓名"),
    ("KJZB", T, 254, False, "空间坐标"), ("SCMJM", N, 16, False, "实测面积（亩）"),
]

# Vector layers of a delivery: prefix -> (Chinese name, YSDM, geometry kind).
LAYERS = {
    "DK": ("地块", "211011", "polygon"), "JZD": ("界址点", "211021", "point"),
    "JZX": ("界址线", "211031", "line"), "KZD": ("控制点", "111000", "point"),
    "XJXZQ": ("县级行政区", "162010", "polygon"), "XJQY": ("乡级区域", "162020", "polygon"),
    "CJQY": ("村级区域", "162030", "polygon"), "ZJQY": ("组级区域", "162040", "polygon"),
    "QYJX": ("区域界线", "161051", "line"), "DZDW": ("点状地物", "196011", "point"),
    "XZDW": ("线状地物", "196021", "line"), "MZDW": ("面状地物", "196031", "polygon"),
    "JBNTBHQ": ("基本农田保护区", "251100", "polygon"), "ZJ": ("注记", "211012", "point"),
}

SUBFOLDERS = ["矢量数据", "权属数据", "汇总表格", "图件", "文字报告", "其他资料", "栅格数据"]
REQUIRED_FOLDERS = ["矢量数据", "权属数据", "汇总表格"]
# The standard's delivery rules name DK, JZD and JZX as required. Many real deliveries (and the
# bundled sample) carry no JZD/JZX, so by default only DK is required: the user can require more
# (parameter REQUIRED_LAYERS) — the rule text is UNCONFIRMED.
DEFAULT_REQUIRED_LAYERS = ["DK"]
RECOMMENDED_LAYERS = ["JZD", "JZX"]

TABLE_TITLES = {
    "FBF": "发包方", "CBF": "承包方", "CBF_JTCY": "承包方家庭成员", "CBHT": "承包合同",
    "CBDKXX": "承包地块信息", "CBJYQZDJB": "承包经营权登记簿", "CBJYQZ": "承包经营权证",
    "CBJYQZ_QZBF": "权证补发", "CBJYQZ_QZHF": "权证换发", "CBJYQZ_QZZX": "权证注销",
    "LZHT": "流转合同", "QSLYZLFJ": "权属来源资料附件",
}


def columns(table):
    return [f[0] for f in TABLES[table]]


def title(table, field):
    for spec in TABLES.get(table, DK_FIELDS if table == "DK" else []):
        if spec[0] == field:
            return spec[4]
    return field
