"""A change package on disk: write it, read it, verify every checksum and the optional signature.

Files (docs/change-package.md):
- ``manifest.json``: format and version, package id, sender, receiver, county, CRS, base and result fingerprints,
  counts, the SHA-256 and size of every other file, and ``manifest_sha256`` (SHA-256 of the manifest's canonical
  JSON without that field: a changed manifest is named as such);
- ``changes.jsonl``: one change record per line;
- ``summary.html``: the changes by village and business kind, for people (names masked);
- ``manifest.sig`` (optional): the Ed25519 signature of the bytes of manifest.json, base64.
Nothing else may be in the folder: an added file is refused by name, like a removed or changed one."""
import base64
import datetime as dt
import hashlib
import json
import os
import uuid
from pathlib import Path

from ..errors import LcbError
from .state import dumps

FORMAT = "lcb-change-package"
FORMAT_VERSION = "1.0"
MANIFEST, CHANGES, SUMMARY, SIGNATURE = "manifest.json", "changes.jsonl", "summary.html", "manifest.sig"
DATA_FILES = (CHANGES, SUMMARY)


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def canonical(obj):
    """The manifest's canonical form: keys sorted, no whitespace, UTF-8 without escapes (its digest's input)."""
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def manifest_digest(manifest):
    return hashlib.sha256(canonical({k: v for k, v in manifest.items() if k != "manifest_sha256"})).hexdigest()


# ------------------------------------------------------------------ signing (optional: python3-cryptography)
def _crypto():
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:
        raise LcbError("签名需要 Python 的 cryptography 库（Debian: apt install python3-cryptography），未安装",
                       "signing needs the Python package cryptography (Debian: apt install python3-cryptography), which is not installed") from None
    return serialization, ed25519


def load_private_key(path):
    serialization, ed25519 = _crypto()
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as e:
        raise LcbError(f"无法读取签名私钥（需要未加密的 PEM 格式 Ed25519 私钥）：{e}",
                       "cannot read the signing key (an unencrypted PEM Ed25519 private key is needed)", path=str(path)) from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise LcbError("签名私钥不是 Ed25519 密钥", "the signing key is not an Ed25519 key", path=str(path))
    return key


def load_public_key(path):
    serialization, ed25519 = _crypto()
    try:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
    except (OSError, ValueError, TypeError) as e:
        raise LcbError(f"无法读取发送方公钥（需要 PEM 格式 Ed25519 公钥）：{e}", "cannot read the sender's public key (a PEM Ed25519 public key is needed)",
                       path=str(path)) from None
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise LcbError("发送方公钥不是 Ed25519 密钥", "the sender's key is not an Ed25519 key", path=str(path))
    return key


def key_id(public_key):
    """SHA-256 (hex) of the raw 32-byte public key: names the signer in the manifest."""
    serialization, _ = _crypto()
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def generate_keypair(private_path, public_path):
    """A new Ed25519 key pair as PEM files (the private key unencrypted, mode 0600)."""
    serialization, ed25519 = _crypto()
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    Path(public_path).write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return key_id(key.public_key())


# ------------------------------------------------------------------ writing
def write_package(folder, manifest, records, village_names=None, signing_key=None):
    """Write the package into `folder` (created; an older package there is replaced, anything else refuses).
    The files are built in a hidden temporary folder and moved in together."""
    from ..output import check_writable
    from ..regdb import StagedFolder
    from . import summary
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise LcbError("输出位置是一个文件，请给出文件夹", "the output is a file; give a folder", path=str(folder))
    if folder.is_dir():
        foreign = [p.name for p in folder.iterdir() if not p.name.startswith(".lcb-staged.")
                   and p.name not in (MANIFEST, CHANGES, SUMMARY, SIGNATURE)]
        if foreign:
            raise LcbError(f"输出文件夹不是空的（有 {foreign[0]} 等 {len(foreign)} 个其他文件），请选择一个空文件夹",
                           f"the output folder is not empty ({foreign[0]} and {len(foreign) - 1} more): choose an empty folder", path=str(folder))
    check_writable(folder / MANIFEST)
    key = load_private_key(signing_key) if signing_key else None
    manifest = dict(format=FORMAT, format_version=FORMAT_VERSION, package_id=str(uuid.uuid4()),
                    created_at=dt.datetime.now().astimezone().isoformat(timespec="seconds"), created_by="Land Contract Bridge (确权成果衔接)",
                    **manifest)
    with StagedFolder(folder) as st:
        with open(st.add(CHANGES), "w", encoding="utf-8", newline="\n") as f:
            for r in records:
                f.write(dumps(r) + "\n")
        st.add(SUMMARY).write_text(summary.render(manifest, records, village_names or {}), "utf-8")
        manifest["files"] = [dict(path=name, sha256=_sha256(st.tmp / name), bytes=(st.tmp / name).stat().st_size) for name in DATA_FILES]
        manifest["signature"] = dict(algorithm="Ed25519", file=SIGNATURE, key_id=key_id(key.public_key())) if key else None
        manifest["manifest_sha256"] = manifest_digest(manifest)
        data = json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8") + b"\n"
        st.add(MANIFEST).write_bytes(data)
        if key:
            st.add(SIGNATURE).write_bytes(base64.b64encode(key.sign(data)) + b"\n")
        st.commit()
    if not key and (folder / SIGNATURE).exists():
        (folder / SIGNATURE).unlink()  # left by an older signed package in the same folder
    return dict(package_id=manifest["package_id"], signed=key is not None, files=[str(folder / n) for n in (MANIFEST, *DATA_FILES)],
                manifest=manifest)


# ------------------------------------------------------------------ reading and verifying
def _refuse(zh, en, path):
    raise LcbError(f"变更包校验未通过：{zh}，已拒绝", f"the change package fails verification: {en}; refused", path=str(path))


def verify_package(folder, sender_key=None):
    """Check the package in `folder`: the manifest's own digest, every listed file's size and SHA-256, no file
    missing or added, and — with `sender_key` (the sender's public key, PEM) — the signature. Returns the manifest."""
    folder = Path(folder)
    if not folder.is_dir():
        raise LcbError("变更包文件夹不存在", "the change package folder does not exist", path=str(folder))
    mpath = folder / MANIFEST
    if not mpath.is_file():
        _refuse("缺少 manifest.json（文件被删除）", "manifest.json is missing (removed)", mpath)
    data = mpath.read_bytes()
    try:
        manifest = json.loads(data.decode("utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError("not an object")
    except (UnicodeDecodeError, ValueError):
        _refuse("manifest.json 已损坏（不是有效的 JSON）", "manifest.json is damaged (not valid JSON)", mpath)
    if manifest.get("format") != FORMAT:
        _refuse("manifest.json 不是变更包清单", "manifest.json is not a change-package manifest", mpath)
    if str(manifest.get("format_version", "")).split(".")[0] != FORMAT_VERSION.split(".")[0]:
        _refuse(f"不支持的格式版本 {manifest.get('format_version')}", f"unsupported format version {manifest.get('format_version')}", mpath)
    if manifest.get("manifest_sha256") != manifest_digest(manifest):
        _refuse("manifest.json 的内容被改动（与其自身校验和不符）", "manifest.json was changed (its own checksum does not match)", mpath)
    listed = {}
    for f in manifest.get("files") or []:
        name = str(f.get("path", ""))
        if not name or "/" in name or "\\" in name or name.startswith("."):
            _refuse(f"清单中的文件名不合法：{name}", f"bad file name in the manifest: {name}", mpath)
        listed[name] = f
    allowed = set(listed) | {MANIFEST} | ({SIGNATURE} if manifest.get("signature") else set())
    for p in sorted(folder.iterdir()):
        if p.name not in allowed and not p.name.startswith(".lcb-staged."):
            _refuse(f"多出了清单中没有的文件 {p.name}", f"{p.name} is not listed in the manifest (a file was added)", p)
    for name, f in listed.items():
        p = folder / name
        if not p.is_file():
            _refuse(f"缺少文件 {name}（文件被删除）", f"{name} is missing (removed)", p)
        if p.stat().st_size != f.get("bytes") or _sha256(p) != f.get("sha256"):
            _refuse(f"文件 {name} 的 SHA-256 校验和不符（文件被改动或损坏）", f"{name} does not match its SHA-256 checksum (changed or damaged)", p)
    sig = manifest.get("signature")
    if sig and not (folder / SIGNATURE).is_file():
        _refuse("清单声明已签名，但缺少 manifest.sig（文件被删除）", "the manifest says it is signed but manifest.sig is missing (removed)", folder / SIGNATURE)
    if sender_key:
        key = load_public_key(sender_key)
        if not sig:
            _refuse("变更包没有签名，无法核验发送方", "the package is not signed, the sender cannot be verified", mpath)
        if sig.get("key_id") != key_id(key):
            _refuse("变更包由另一把密钥签名，不是给定的发送方", "the package was signed by another key than the given sender's", folder / SIGNATURE)
        try:
            key.verify(base64.b64decode((folder / SIGNATURE).read_bytes().strip(), validate=True), data)
        except Exception:  # noqa: BLE001 - InvalidSignature or bad base64: the same refusal
            _refuse("签名无效（manifest.json 或 manifest.sig 被改动，或签名者不是给定的发送方）",
                    "the signature is invalid (manifest.json or manifest.sig changed, or another signer)", folder / SIGNATURE)
    return manifest


def read_package(folder, sender_key=None):
    """(manifest, records) of a verified package."""
    manifest = verify_package(folder, sender_key)
    path = Path(folder) / CHANGES
    records = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
            except ValueError:
                raise LcbError("changes.jsonl 中有一行不是有效的 JSON", "a line of changes.jsonl is not valid JSON", path=str(path),
                               record=f"第 {n} 行 line {n}") from None
            records.append(r)
    normalise(records, path)
    expected = (manifest.get("counts") or {}).get("records")
    if expected is not None and expected != len(records):
        raise LcbError(f"changes.jsonl 有 {len(records)} 条记录，清单写的是 {expected}",
                       f"changes.jsonl holds {len(records)} records, the manifest says {expected}",
                       path=str(path))
    return manifest, records


def normalise(records, path=None):
    """Fill what a package written by another system may leave out (docs/change-package.md, 'optional'):
    seq (line order), fields, parcels, village, kind (diff.infer_kinds) and case (diff._cases). A record that names
    an unknown entity or change, or lacks its key or values, is refused."""
    from . import diff
    from .state import ENTITIES, _village
    for n, r in enumerate(records, 1):
        ent, change = r.get("entity"), r.get("change")
        bad = ent not in ENTITIES or change not in (diff.NEW, diff.CHANGED, diff.REMOVED) or not isinstance(r.get("key"), str) \
            or (change != diff.NEW and not isinstance(r.get("old"), dict)) or (change != diff.REMOVED and not isinstance(r.get("new"), dict))
        if bad:
            raise LcbError("changes.jsonl 中有无法识别的记录（entity、change、key、old、new 不完整或不正确）",
                           "changes.jsonl holds a record this version cannot read (entity, change, key, old or new missing or wrong)",
                           path=str(path) if path else None, record=f"第 {n} 行 line {n}")
        r.setdefault("seq", n)
        if "fields" not in r:
            fields = diff.DK_VALUES if ent == "DK" else ENTITIES[ent].fields
            old, new = r.get("old") or {}, r.get("new") or {}
            r["fields"] = [f for f in fields if change == diff.CHANGED and old.get(f) != new.get(f)]
        obj = r.get("new") or r.get("old")
        if "parcels" not in r:
            r["parcels"] = [str(obj["DKBM"]).strip()] if obj.get("DKBM") else []
        if "village" not in r:
            r["village"] = _village(obj.get(ENTITIES[ent].village) or (r["key"] if ent == "DK" else ""))
    if any("kind" not in r for r in records):
        missing = [r for r in records if "kind" not in r]
        diff.infer_kinds(missing)
    if any("case" not in r for r in records):
        diff._cases(records)  # noqa: SLF001 - the same grouping the exporter writes
    return records
