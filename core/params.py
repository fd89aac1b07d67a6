"""One definition of every tunable parameter shared by merge and validation, with its default, unit and
titles, plus the one area comparison both use.

The algorithm parameter is the field name in upper case (``area_tolerance`` ↔ ``AREA_TOLERANCE``): the same
name from the Processing dialog through the core call to the rule that reads it."""
from dataclasses import dataclass, fields, replace

import numpy as np

MU = 0.0015  # 亩 per m²: 1 亩 = 10000/15 m²; a 亩 field is round(m² × MU, 2)
EPS = 1e-9  # float noise allowed on top of a tolerance: areas are stored to 2 decimals


def exceeds(a, b, tolerance):
    """|a − b| > tolerance (m²), with float noise ignored. None/NaN on either side never exceeds.
    Works on scalars and elementwise on numpy arrays."""
    if np.ndim(a) == 0 and np.ndim(b) == 0:
        if a is None or b is None or a != a or b != b:
            return False
        return abs(a - b) > tolerance + EPS
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.abs(a - b) > tolerance + EPS


def to_mu(m2):
    """m² → 亩, rounded to 2 decimals (scalars or arrays; None stays None)."""
    if m2 is None:
        return None
    if np.ndim(m2) == 0:
        return round(float(m2) * MU + EPS, 2)
    return np.round(np.asarray(m2, dtype=float) * MU + EPS, 2)


@dataclass(frozen=True)
class ParamSpec:
    name: str  # attribute name; the algorithm parameter is name.upper()
    default: object
    unit: str
    zh: str
    en: str

    @property
    def key(self):
        return self.name.upper()


SPECS = {s.name: s for s in (
    ParamSpec("area_tolerance", 0.01, "m²", "面积容差：合同、登簿、实测面积之差超过此值即视为不一致",
              "Area tolerance: contract, registered and measured areas differing by more than this disagree"),
    ParamSpec("scmj_tolerance", 0.01, "m²", "实测面积 SCMJ 与图形平面面积的容差",
              "Tolerance between SCMJ and the polygon's planar area"),
    ParamSpec("overlap_min_area", 0.01, "m²", "报告地块重叠的最小面积", "Smallest parcel overlap reported"),
    ParamSpec("min_area", 1.0, "m²", "地块最小面积（更小的视为碎片）", "Smallest parcel area (smaller is a sliver)"),
    ParamSpec("gap_tolerance", 0.5, "m", "相邻地块间缝隙的检查宽度：窄于此值的缝隙视为错误",
              "Gaps narrower than this between neighbouring parcels are errors"),
    ParamSpec("codelists", None, "", "代码表 CSV（list,code,label），覆盖内置代码表",
              "Code lists CSV (list,code,label) overriding the bundled ones"),
)}


@dataclass(frozen=True)
class Params:
    """The values in force for one run. Build with Params() for the defaults or Params.of(mapping)."""
    area_tolerance: float = SPECS["area_tolerance"].default
    scmj_tolerance: float = SPECS["scmj_tolerance"].default
    overlap_min_area: float = SPECS["overlap_min_area"].default
    min_area: float = SPECS["min_area"].default
    gap_tolerance: float = SPECS["gap_tolerance"].default
    codelists: str = None

    @classmethod
    def of(cls, mapping=None, **kw):
        """From a mapping and/or keywords; keys in either case (AREA_TOLERANCE or area_tolerance); None = default."""
        names = {f.name for f in fields(cls)}
        vals = {}
        for k, v in {**(mapping or {}), **kw}.items():
            n = str(k).lower()
            if n not in names:
                raise KeyError(f"unknown parameter {k}")
            if v is not None:
                vals[n] = v
        return cls(**vals)

    def with_(self, **kw):
        return replace(self, **{k: v for k, v in kw.items() if v is not None})

    def as_dict(self):
        return {f.name: getattr(self, f.name) for f in fields(self)}
