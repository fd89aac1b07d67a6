"""Issue records (the rows of the issue layer) and the rule registry."""
from dataclasses import dataclass, field as dc_field

CATEGORIES = ["package", "schema", "code", "reference", "geometry", "area", "member", "date", "encoding"]
CATEGORY_ZH = {
    "package": "成果包", "schema": "数据结构", "code": "编码与代码", "reference": "关联关系",
    "geometry": "图形", "area": "面积", "member": "家庭成员", "date": "日期", "encoding": "字符编码",
}
SEVERITIES = ["error", "warning", "info"]
SEVERITY_ZH = {"error": "错误", "warning": "警告", "info": "提示"}


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
    params: list = dc_field(default_factory=list)
    zh: str = ""  # Chinese summary for the catalogue when the message is built elsewhere


REGISTRY = {}


def rule(id, category, severity, message, description, why="", params=(), zh=""):
    """Register a check. The function takes a ValidationContext and yields Issue rows via ctx.issue()."""
    assert category in CATEGORIES and severity in SEVERITIES, (id, category, severity)

    def deco(func):
        if id in REGISTRY:
            raise ValueError(f"duplicate rule id {id}")
        REGISTRY[id] = Rule(id, category, severity, message, description, func, why, list(params), zh)
        func.rule_id = id
        return func

    return deco
