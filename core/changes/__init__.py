"""Change packages (增量数据共享) between the registration system and the contract-management system.

- ``state``: the content of a registration GeoPackage or of a delivery as one canonical set of records (parcels
  with their geometry, CBDKXX rows, households and members, contracts, registers and certificates, transfer
  contracts, the ledger), with the content fingerprint of the whole and of each village.
- ``diff``: the records that differ between two states, each with its change type (新增/变更/注销) and the
  business kind inferred from it (首次登记, 转让, 互换, 家庭成员变化, 流转, 更正, 注销).
- ``package``: writing and reading a change package (manifest.json, changes.jsonl, summary.html, optional
  manifest.sig); every checksum verified; the optional Ed25519 signature (python3-cryptography); ``summary``
  renders summary.html.
- ``apply``: applying a package to a registration GeoPackage in one transaction with the merge's own parts
  (record building and area classes, 不动产单元号 allocation, right holders, provenance and audit).

docs/change-package.md describes the format for the other bureau's system. The business kinds are defined here, in the
package's light top (no import of its parts): lcb:export_changes names its outputs by them when QGIS loads the plugin."""

KINDS = ["首次登记", "转让", "互换", "家庭成员变化", "流转", "更正", "注销"]
KIND_CODES = {"首次登记": "first_registration", "转让": "transfer", "互换": "exchange", "家庭成员变化": "household_change",
              "流转": "management_transfer", "更正": "correction", "注销": "cancellation"}


def export_changes(*args, **kw):
    from .diff import export_changes as f
    return f(*args, **kw)


def apply_changes(*args, **kw):
    from .apply import apply_changes as f
    return f(*args, **kw)


def fingerprint(*args, **kw):
    from .state import fingerprint as f
    return f(*args, **kw)
