<?xml version='1.0' encoding='utf-8'?>
<TS version="2.1" language="zh_CN">
<context>
    <name>@default</name>
    <message>
        <location filename="../../work/main/ui/menus.py" line="31" />
        <source>Land Contract Bridge</source>
        <translation>确权成果衔接</translation>
    </message>
    <message>
        <location filename="../../work/main/plugin.py" line="105" />
        <source>needs</source>
        <translation>需要</translation>
    </message>
    <message>
        <location filename="../../work/main/plugin.py" line="105" />
        <source>run this command, then restart QGIS:</source>
        <translation>请运行以下命令，然后重启 QGIS：</translation>
    </message>
    <message>
        <location filename="../../work/main/plugin.py" line="116" />
        <source>Copy command</source>
        <translation>复制命令</translation>
    </message>
    <message>
        <location filename="../../work/main/qtcommon.py" line="66" />
        <source>Error</source>
        <translation>错误</translation>
    </message>
    <message>
        <location filename="../../work/main/qtcommon.py" line="66" />
        <source>Warning</source>
        <translation>警告</translation>
    </message>
    <message>
        <location filename="../../work/main/qtcommon.py" line="67" />
        <source>Note</source>
        <translation>提示</translation>
    </message>
    <message>
        <location filename="../../work/main/qtcommon.py" line="68" />
        <source>Package</source>
        <translation>成果包</translation>
    </message>
    <message>
        <location filename="../../work/main/qtcommon.py" line="68" />
        <source>Structure</source>
        <translation>数据结构</translation>
    </message>
    <message>
        <location filename="../../work/main/qtcommon.py" line="69" />
        <source>Codes</source>
        <translation>编码与代码</translation>
    </message>
    <message>
        <location filename="../../work/main/qtcommon.py" line="69" />
        <source>References</source>
        <translation>关联关系</translation>
    </message>
    <message>
        <location filename="../../work/main/qtcommon.py" line="70" />
        <source>Geometry</source>
        <translation>图形</translation>
    </message>
    <message>
        <location filename="../../work/main/qtcommon.py" line="70" />
        <source>Areas</source>
        <translation>面积</translation>
    </message>
    <message>
        <location filename="../../work/main/qtcommon.py" line="71" />
        <source>Household members</source>
        <translation>家庭成员</translation>
    </message>
    <message>
        <location filename="../../work/main/qtcommon.py" line="71" />
        <source>Dates</source>
        <translation>日期</translation>
    </message>
    <message>
        <location filename="../../work/main/qtcommon.py" line="72" />
        <source>Encoding</source>
        <translation>字符编码</translation>
    </message>
    <message>
        <location filename="../../work/main/qtcommon.py" line="73" />
        <source>Share-only (no parcel of its own)</source>
        <translation>确股不确地</translation>
    </message>
    <message>
        <location filename="../../work/main/qtcommon.py" line="74" />
        <source>Map and table do not match</source>
        <translation>图数不对应</translation>
    </message>
    <message>
        <location filename="../../work/main/qtcommon.py" line="75" />
        <source>Contract and registered areas differ</source>
        <translation>合同与登簿面积不一致</translation>
    </message>
    <message>
        <location filename="../../work/main/qtcommon.py" line="76" />
        <source>Measured area differs</source>
        <translation>实测面积不一致</translation>
    </message>
    <message>
        <location filename="../../work/main/qtcommon.py" line="77" />
        <source>Consistent</source>
        <translation>一致</translation>
    </message>
    <message>
        <location filename="../../work/main/qtcommon.py" line="78" />
        <source>To be consulted</source>
        <translation>待协商</translation>
    </message>
    <message>
        <location filename="../../work/main/qtcommon.py" line="78" />
        <source>Contract area prevails</source>
        <translation>以合同面积为准</translation>
    </message>
    <message>
        <location filename="../../work/main/qtcommon.py" line="79" />
        <source>Registered area prevails</source>
        <translation>以登簿面积为准</translation>
    </message>
    <message>
        <location filename="../../work/main/qtcommon.py" line="79" />
        <source>Re-measure</source>
        <translation>重新测量</translation>
    </message>
    <message>
        <location filename="../../work/main/qtcommon.py" line="80" />
        <source>Other</source>
        <translation>其他</translation>
    </message>
    <message>
        <location filename="../../work/main/qtcommon.py" line="80" />
        <source>(not recorded)</source>
        <translation>（未填）</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_apply_changes.py" line="13" />
        <source>Apply change package (应用变更包)</source>
        <translation>应用变更包</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_export_changes.py" line="16" />
        <source>Data sharing (增量共享)</source>
        <translation>增量共享</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="432" />
        <source>Change package folder</source>
        <translation>变更包文件夹</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_apply_changes.py" line="36" />
        <source>Registration database to update (.gpkg or PostgreSQL)</source>
        <translation>要更新的登记库（.gpkg 或 PostgreSQL）</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_apply_changes.py" line="37" />
        <source>Sender's public key (Ed25519, PEM): the signature must verify</source>
        <translation>发送方公钥（Ed25519，PEM）：须通过签名核验</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_apply_changes.py" line="39" />
        <source>When TARGET has changed since the package's base</source>
        <translation>TARGET 在变更包基准状态之后已有改动时</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_apply_changes.py" line="39" />
        <source>refuse, naming what differs</source>
        <translation>拒绝，并列出不一致之处</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_apply_changes.py" line="39" />
        <source>apply what does not conflict, report the conflicts</source>
        <translation>只应用不冲突的变更，报告冲突</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_apply_changes.py" line="42" />
        <source>Area tolerance (m²; empty: the one TARGET was merged with)</source>
        <translation>面积容差（平方米；留空则沿用 TARGET 入库时的容差）</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_merge.py" line="68" />
        <source>Parcels (cbdk)</source>
        <translation>承包地块（cbdk）</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_export_changes.py" line="45" />
        <source>Change records</source>
        <translation>变更记录数</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_apply_changes.py" line="46" />
        <source>Applied</source>
        <translation>已应用</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_merge.py" line="69" />
        <source>Conflicts</source>
        <translation>冲突</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_apply_changes.py" line="46" />
        <source>Already present</source>
        <translation>已存在</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_merge.py" line="69" />
        <source>Inserted</source>
        <translation>新增</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_merge.py" line="69" />
        <source>Updated</source>
        <translation>更新</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_apply_changes.py" line="46" />
        <source>Cancelled parcels</source>
        <translation>注销地块数</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_export_changes.py" line="15" />
        <source>Export change package (导出变更包)</source>
        <translation>导出变更包</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_export_changes.py" line="33" />
        <source>Base state: registration GeoPackage or delivery folder</source>
        <translation>基准状态：登记库（GeoPackage）或成果包文件夹</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_export_changes.py" line="33" />
        <source>Current state: registration GeoPackage or delivery folder</source>
        <translation>当前状态：登记库（GeoPackage）或成果包文件夹</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_export_changes.py" line="36" />
        <source>A registration GeoPackage, a delivery folder, or a registration database in PostgreSQL: postgresql://…, PG:… or the name of a QGIS PostgreSQL connection (its schema SCHEMA).</source>
        <translation>登记库 GeoPackage、成果包文件夹，或 PostgreSQL 中的登记库：postgresql://…、PG:… 或 QGIS 中 PostgreSQL 连接的名称（登记库为其中的模式 SCHEMA）。</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_export_changes.py" line="40" />
        <source>Sender (发送方)</source>
        <translation>发送方</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_export_changes.py" line="41" />
        <source>Receiver (接收方)</source>
        <translation>接收方</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_export_changes.py" line="42" />
        <source>Signing key (Ed25519 private key, PEM; optional)</source>
        <translation>签名私钥（Ed25519，PEM；可选）</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_export_changes.py" line="46" />
        <source>Parcels concerned</source>
        <translation>涉及地块数</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_export_changes.py" line="49" />
        <source>Package id</source>
        <translation>变更包编号</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_farmland_notice.py" line="30" />
        <source>Basic-farmland notices (永久基本农田告知书)</source>
        <translation>永久基本农田告知书</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_report.py" line="17" />
        <source>Registration (登记入库)</source>
        <translation>登记入库</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_report.py" line="39" />
        <source>Registration database (.gpkg or PostgreSQL)</source>
        <translation>登记库（.gpkg 或 PostgreSQL）</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_farmland_notice.py" line="50" />
        <source>Permanent basic farmland (default: the delivery's JBNTBHQ)</source>
        <translation>永久基本农田图层（默认：成果包中的 JBNTBHQ）</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_farmland_notice.py" line="52" />
        <source>Minimum overlap (m²)</source>
        <translation>最小重叠面积（平方米）</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_farmland_notice.py" line="54" />
        <source>Notice template (jinja2), replacing the bundled one</source>
        <translation>告知书模板（jinja2），替换内置模板</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_report.py" line="43" />
        <source>Mask personal data (names, ID numbers)</source>
        <translation>个人信息脱敏（姓名、证件号码）</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_farmland_notice.py" line="57" />
        <source>Parcels on basic farmland (overlaps)</source>
        <translation>位于永久基本农田的地块（重叠部分）</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_farmland_notice.py" line="59" />
        <source>Folder for the notices</source>
        <translation>告知书输出文件夹</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_farmland_notice.py" line="60" />
        <source>Notices written</source>
        <translation>告知书份数</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_farmland_notice.py" line="61" />
        <source>Parcels on basic farmland</source>
        <translation>位于永久基本农田的地块数</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_inventory.py" line="13" />
        <source>Material inventory (资料清单)</source>
        <translation>资料清单</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_validate.py" line="48" />
        <source>Delivery (成果包)</source>
        <translation>成果包</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_validate.py" line="81" />
        <source>Delivery folder (成果包文件夹)</source>
        <translation>成果包文件夹</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_inventory.py" line="39" />
        <source>Earlier inventory XLSX to compare with</source>
        <translation>用于比对的上次资料清单（XLSX）</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_validate.py" line="85" />
        <source>Certificate-issue ledger (台账)</source>
        <translation>确权登记发证台账</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_validate.py" line="86" />
        <source>Only when the package has none in 其他资料: CSV, XLSX, XLS or DBF with DKBM and DBMJ.</source>
        <translation>仅在成果包“其他资料”中没有台账时指定：含 DKBM 与 DBMJ 字段的 CSV、XLSX、XLS 或 DBF 文件。</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_validate.py" line="91" />
        <source>Required vector layers (comma separated)</source>
        <translation>必备矢量图层（逗号分隔）</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_inventory.py" line="44" />
        <source>Inventory (HTML)</source>
        <translation>资料清单（HTML）</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_inventory.py" line="45" />
        <source>Inventory (XLSX)</source>
        <translation>资料清单（XLSX）</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_inventory.py" line="48" />
        <source>Inventory (PDF)</source>
        <translation>资料清单（PDF）</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_inventory.py" line="49" />
        <source>Files</source>
        <translation>文件数</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_inventory.py" line="49" />
        <source>Total bytes</source>
        <translation>总字节数</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_inventory.py" line="49" />
        <source>Required items missing</source>
        <translation>缺失必备项数</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_inventory.py" line="49" />
        <source>Files changed since the previous inventory</source>
        <translation>与上次清单相比内容变化的文件数</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_inventory.py" line="49" />
        <source>Files added</source>
        <translation>新增文件数</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_inventory.py" line="49" />
        <source>Files missing</source>
        <translation>缺失文件数</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_merge.py" line="69" />
        <source>Parcels</source>
        <translation>地块数</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_inventory.py" line="49" />
        <source>Households</source>
        <translation>承包方（户）数</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_inventory.py" line="58" />
        <source>All required items present</source>
        <translation>必备项是否齐全</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_inventory.py" line="59" />
        <source>Inventory fingerprint (SHA-256)</source>
        <translation>清单指纹（SHA-256）</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_merge.py" line="17" />
        <source>Integrate into registration database (整合入库)</source>
        <translation>整合入库</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_merge.py" line="47" />
        <source>An existing registration GeoPackage is updated; a new file name creates one. A PostgreSQL database is named by postgresql://…, PG:… or the name of a QGIS PostgreSQL connection; the registration database is the schema SCHEMA (created if missing).</source>
        <translation>已有的登记库 GeoPackage 将被更新，新的文件名则新建登记库。PostgreSQL 数据库用 postgresql://…、PG:… 或 QGIS 中的 PostgreSQL 连接名指定，登记库即其中的模式 SCHEMA（没有时新建）。</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_merge.py" line="52" />
        <source>CSV, XLSX, XLS or DBF with DKBM and DBMJ. When empty, the ledger in the package's 其他资料 folder is used.</source>
        <translation>含 DKBM 与 DBMJ 字段的 CSV、XLSX、XLS 或 DBF 文件；不指定时使用成果包“其他资料”文件夹中的台账。</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_validate.py" line="21" />
        <source>Area tolerance (m²)</source>
        <translation>面积容差（平方米）</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_merge.py" line="56" />
        <source>When a parcel already in the database differs</source>
        <translation>已入库地块与新成果不一致时</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_merge.py" line="56" />
        <source>keep the existing record (record the conflict)</source>
        <translation>保留原记录（记录冲突）</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_merge.py" line="56" />
        <source>replace it (record the conflict)</source>
        <translation>替换（记录冲突）</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_merge.py" line="59" />
        <source>CRS of a new database</source>
        <translation>新建登记库的坐标系</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_merge.py" line="59" />
        <source>Default: the delivery's own CRS.</source>
        <translation>默认与成果的坐标系相同。</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_merge.py" line="61" />
        <source>CRS of the delivery</source>
        <translation>成果的坐标系</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_merge.py" line="61" />
        <source>Only when its .prj is missing or wrong; it is checked against the coordinates.</source>
        <translation>仅在成果的 .prj 缺失或有误时指定；会按坐标值校核。</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_merge.py" line="63" />
        <source>Cadastral zoning table</source>
        <translation>地籍区划对照表</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_merge.py" line="63" />
        <source>A table with code, DJQ and DJZQ (a 9-digit township or 12-digit village code) that sets 地籍区 and 地籍子区 of the 不动产单元号.</source>
        <translation>含 code、DJQ、DJZQ 三列的表格（code 为 9 位乡镇或 12 位村级代码），用于确定不动产单元号中的地籍区和地籍子区。</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_merge.py" line="65" />
        <source>Copy sketches and attachments beside the database</source>
        <translation>将地块示意图和权属来源附件复制到登记库旁</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/widgets.py" line="57" />
        <source>Registration database</source>
        <translation>不动产登记库</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_merge.py" line="69" />
        <source>Unchanged</source>
        <translation>未变</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_merge.py" line="75" />
        <source>Delivery fingerprint (SHA-256)</source>
        <translation>成果包指纹（SHA-256）</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_merge.py" line="84" />
        <source>The registration database cannot be a temporary file: name a .gpkg that stays.</source>
        <translation>登记库不能是临时文件：请指定一个长期保存的 .gpkg 文件。</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_parcel_dossier.py" line="13" />
        <source>Parcel dossier (地块档案)</source>
        <translation>地块档案</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_parcel_dossier.py" line="35" />
        <source>Parcel codes (DKBM, comma separated)</source>
        <translation>地块编码（DKBM，多个以逗号分隔）</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_parcel_dossier.py" line="37" />
        <source>Draw the parcel map</source>
        <translation>绘制地块位置图</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_parcel_dossier.py" line="38" />
        <source>Folder for the dossiers</source>
        <translation>地块档案输出文件夹</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_parcel_dossier.py" line="39" />
        <source>Dossiers written</source>
        <translation>地块档案份数</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_report.py" line="16" />
        <source>Consultation report (协商清单)</source>
        <translation>协商清单</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_report.py" line="41" />
        <source>Area classes to list</source>
        <translation>列出的面积差异类型</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_report.py" line="44" />
        <source>Consultation list (HTML)</source>
        <translation>协商清单（HTML）</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_report.py" line="46" />
        <source>Consultation list (XLSX)</source>
        <translation>协商清单（XLSX）</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_report.py" line="48" />
        <source>Consultation list (PDF)</source>
        <translation>协商清单（PDF）</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_report.py" line="50" />
        <source>Village consultation atlas (PDF)</source>
        <translation>村级协商图集（PDF）</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_report.py" line="52" />
        <source>Atlas layout template (.qpt)</source>
        <translation>图集版式模板（.qpt）</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_report.py" line="54" />
        <source>A county's own print layout, replacing the bundled resources/layouts/village_atlas.qpt.</source>
        <translation>本县自己的打印版式，替换插件内置的 resources/layouts/village_atlas.qpt。</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_report.py" line="56" />
        <source>Parcels listed</source>
        <translation>列出地块数</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_validate.py" line="22" />
        <source>SCMJ against geometry tolerance (m²)</source>
        <translation>实测面积与图形面积容差（平方米）</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_validate.py" line="23" />
        <source>Minimum overlap area reported (m²)</source>
        <translation>报告的最小重叠面积（平方米）</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_validate.py" line="24" />
        <source>Minimum parcel area (m²)</source>
        <translation>最小地块面积（平方米）</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_validate.py" line="25" />
        <source>Gaps between neighbouring parcels narrower than this are errors (m)</source>
        <translation>相邻地块间窄于此宽度的缝隙视为错误（米）</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_validate.py" line="47" />
        <source>Quality check (成果质检)</source>
        <translation>成果质检</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_validate.py" line="74" />
        <source>Rule catalogue:</source>
        <translation>质检规则目录：</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_validate.py" line="88" />
        <source>Code lists (CSV)</source>
        <translation>代码表（CSV）</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_validate.py" line="89" />
        <source>A CSV with the columns list, code, label that replaces the bundled code lists.</source>
        <translation>含 list、code、label 三列的 CSV，替换插件内置的代码表。</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/menus.py" line="170" />
        <source>Issues (质检问题)</source>
        <translation>质检问题</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_validate.py" line="93" />
        <source>Quality report (HTML)</source>
        <translation>质检报告（HTML）</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/issues_dock.py" line="124" />
        <source>Errors</source>
        <translation>错误</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/issues_dock.py" line="124" />
        <source>Warnings</source>
        <translation>警告</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/issues_dock.py" line="124" />
        <source>Notes</source>
        <translation>提示</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_validate.py" line="98" />
        <source>Delivery folder checked</source>
        <translation>所检查的成果包文件夹</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/alg_validate.py" line="108" />
        <source>Writing the issue layer</source>
        <translation>写出质检问题图层</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/base.py" line="71" />
        <source>Cancelled by the user. 已取消，未写出任何结果。</source>
        <translation>已由用户取消，未写出任何结果。</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/pgsource.py" line="187" />
        <source>A registration GeoPackage, or a PostgreSQL database: postgresql://…, PG:… or the name of a QGIS PostgreSQL connection (the registration database is its schema SCHEMA).</source>
        <translation>登记库 GeoPackage，或 PostgreSQL 数据库：postgresql://…、PG:… 或 QGIS 中的 PostgreSQL 连接名（登记库即其中的模式 SCHEMA）。</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/pgsource.py" line="194" />
        <source>PostgreSQL schema</source>
        <translation>PostgreSQL 模式</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/pgsource.py" line="195" />
        <source>The schema of the registration database in PostgreSQL (created if missing); not used for a GeoPackage.</source>
        <translation>登记库在 PostgreSQL 中所在的模式（没有时新建）；GeoPackage 不使用此项。</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/pgsource.py" line="195" />
        <source>The schema of the registration database in PostgreSQL; not used for a GeoPackage.</source>
        <translation>登记库在 PostgreSQL 中所在的模式；GeoPackage 不使用此项。</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/provider.py" line="14" />
        <source>Land Contract Bridge (确权成果衔接)</source>
        <translation>确权成果衔接</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/widgets.py" line="31" />
        <source>Choose an existing database or name a new .gpkg</source>
        <translation>选择已有登记库，或输入新的 .gpkg 文件名</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/widgets.py" line="37" />
        <source>Choose an existing registration database or name a new one</source>
        <translation>选择已有登记库，或新建一个</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/widgets.py" line="67" />
        <source>Required: the registration database keeps the consultation outcomes.</source>
        <translation>必填：协商结果记录在登记库中。</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/widgets.py" line="69" />
        <source>PostgreSQL database: the delivery goes into the schema SCHEMA (created if missing).</source>
        <translation>PostgreSQL 数据库：成果写入模式 SCHEMA（没有时新建）。</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/widgets.py" line="71" />
        <source>Existing database: the delivery is added to it.</source>
        <translation>已有登记库：成果将整合进该库。</translation>
    </message>
    <message>
        <location filename="../../work/main/processing/widgets.py" line="73" />
        <source>New database: it will be created.</source>
        <translation>新登记库：将新建该文件。</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/common.py" line="76" />
        <source>Parcels by area class (面积差异分类)</source>
        <translation>面积差异分类</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="33" />
        <source>parcel: contract area ≠ registered area</source>
        <translation>地块合同面积≠登簿面积</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="38" />
        <source>contract total</source>
        <translation>合同总面积</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="38" />
        <source>Σ registered</source>
        <translation>登簿合计</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="57" />
        <source>Parcel code (地块编码)</source>
        <translation>地块编码</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="57" />
        <source>Class (差异类型)</source>
        <translation>差异类型</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="58" />
        <source>Why (差异原因)</source>
        <translation>差异原因</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="58" />
        <source>Consultation (协商状态)</source>
        <translation>协商状态</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="59" />
        <source>Note (备注)</source>
        <translation>备注</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="60" />
        <source>Contract − registered m²</source>
        <translation>合同−登簿（㎡）</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="60" />
        <source>Contract − measured m²</source>
        <translation>合同−实测（㎡）</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="61" />
        <source>Contract area m² (合同面积)</source>
        <translation>合同面积（㎡）</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="61" />
        <source>Registered area m² (登簿面积)</source>
        <translation>登簿面积（㎡）</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="62" />
        <source>Measured area m² (实测面积)</source>
        <translation>实测面积（㎡）</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="62" />
        <source>Contract − registered 亩</source>
        <translation>合同−登簿（亩）</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="63" />
        <source>Contract − measured 亩</source>
        <translation>合同−实测（亩）</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="63" />
        <source>Contract − measured %</source>
        <translation>合同−实测（%）</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="64" />
        <source>Contractor (承包方)</source>
        <translation>承包方</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="64" />
        <source>Township (乡镇)</source>
        <translation>乡镇</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="65" />
        <source>Village (村)</source>
        <translation>村</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="65" />
        <source>Group (组)</source>
        <translation>组</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="450" />
        <source>Area discrepancies (面积差异)</source>
        <translation>面积差异</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="157" />
        <source>Registration GeoPackage or loaded cbdk layer</source>
        <translation>不动产登记库或已加载的 cbdk 图层</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="158" />
        <source>Open GeoPackage…</source>
        <translation>打开登记库…</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="294" />
        <source>Open database…</source>
        <translation>打开数据库…</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="161" />
        <source>A registration database in PostgreSQL: a QGIS connection name, postgresql://… or PG:…</source>
        <translation>PostgreSQL 中的登记库：QGIS 连接名、postgresql://… 或 PG:…</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="163" />
        <source>Source:</source>
        <translation>数据源：</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="173" />
        <source>All classes</source>
        <translation>全部类型</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="178" />
        <source>Any status</source>
        <translation>全部状态</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="185" />
        <source>Minimum difference (m²)</source>
        <translation>最小差值（平方米）</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="190" />
        <source>Search code, contractor, note…</source>
        <translation>搜索编码、承包方、备注…</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="191" />
        <source>Show consistent parcels too</source>
        <translation>同时显示面积一致的地块</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="442" />
        <source>Change package: none</source>
        <translation>变更包：未选择</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="207" />
        <source>Change package…</source>
        <translation>变更包…</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="208" />
        <source>Show only the parcels of a change package (folder with manifest.json)</source>
        <translation>只显示某个变更包涉及的地块（含 manifest.json 的文件夹）</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="210" />
        <source>All parcels</source>
        <translation>全部地块</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="235" />
        <source>Consultation note (协商备注)</source>
        <translation>协商备注</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="546" />
        <source>Record outcome</source>
        <translation>记录协商结果</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="239" />
        <source>Outcome:</source>
        <translation>协商结果：</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/issues_dock.py" line="187" />
        <source>— choose —</source>
        <translation>— 请选择 —</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="284" />
        <source>Registration GeoPackage</source>
        <translation>不动产登记库 GeoPackage</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="291" />
        <source>QGIS PostgreSQL connection, postgresql://… or PG:…</source>
        <translation>QGIS 中的 PostgreSQL 连接，或 postgresql://…、PG:…</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="294" />
        <source>Schema:</source>
        <translation>模式：</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="322" />
        <source>Cannot read the registration GeoPackage:</source>
        <translation>无法读取不动产登记库：</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="338" />
        <source>All villages</source>
        <translation>全部村</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/issues_dock.py" line="310" />
        <source>Rows shown:</source>
        <translation>显示行数：</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="466" />
        <source>Change package:</source>
        <translation>变更包：</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/discrepancy_dock.py" line="466" />
        <source>parcels</source>
        <translation>地块</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/menus.py" line="54" />
        <source>Parcel dossier (地块档案)…</source>
        <translation>生成地块档案…</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/issues_dock.py" line="35" />
        <source>Severity (级别)</source>
        <translation>级别</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/issues_dock.py" line="124" />
        <source>Category (类别)</source>
        <translation>类别</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/issues_dock.py" line="35" />
        <source>Rule (规则)</source>
        <translation>规则</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/issues_dock.py" line="35" />
        <source>Table/layer (表/图层)</source>
        <translation>表/图层</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/issues_dock.py" line="36" />
        <source>Key (编码)</source>
        <translation>编码</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/issues_dock.py" line="36" />
        <source>Field (字段)</source>
        <translation>字段</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/issues_dock.py" line="36" />
        <source>Message (说明)</source>
        <translation>说明</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/issues_dock.py" line="36" />
        <source>Value (值)</source>
        <translation>值</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/issues_dock.py" line="98" />
        <source>Quality check results (质检结果)</source>
        <translation>质检结果</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/issues_dock.py" line="108" />
        <source>Issue layer of the project (any layer written by the quality check)</source>
        <translation>工程中的质检问题图层（成果质检生成的任一图层）</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/issues_dock.py" line="113" />
        <source>Open an issue layer from a file (GeoPackage, shapefile)…</source>
        <translation>从文件打开质检问题图层（GeoPackage、Shapefile）…</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/issues_dock.py" line="115" />
        <source>Issue layer:</source>
        <translation>问题图层：</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/issues_dock.py" line="204" />
        <source>Run the quality check (成果质检) to see its results here.</source>
        <translation>运行“成果质检”后在此查看结果。</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/issues_dock.py" line="130" />
        <source>All categories</source>
        <translation>全部类别</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/issues_dock.py" line="134" />
        <source>All severities</source>
        <translation>全部级别</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/issues_dock.py" line="137" />
        <source>Export…</source>
        <translation>导出…</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/issues_dock.py" line="146" />
        <source>Search code, rule, message…</source>
        <translation>搜索编码、规则、说明…</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/issues_dock.py" line="216" />
        <source>Open an issue layer</source>
        <translation>打开质检问题图层</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/issues_dock.py" line="216" />
        <source>All files (*)</source>
        <translation>所有文件 (*)</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/issues_dock.py" line="225" />
        <source>Not an issue layer of the quality check:</source>
        <translation>不是成果质检生成的问题图层：</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/issues_dock.py" line="269" />
        <source>Total (合计)</source>
        <translation>合计</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/issues_dock.py" line="308" />
        <source>This issue has no location on the map.</source>
        <translation>该问题没有图上位置。</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/issues_dock.py" line="344" />
        <source>Export issues</source>
        <translation>导出质检问题</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/issues_dock.py" line="341" />
        <source>Cannot write the file:</source>
        <translation>无法写入文件：</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/issues_dock.py" line="344" />
        <source>{n} issues written to {path}</source>
        <translation>已将 {n} 条问题写入 {path}</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/menus.py" line="35" />
        <source>Material inventory (资料清单)…</source>
        <translation>资料清单…</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/menus.py" line="36" />
        <source>Quality check (成果质检)…</source>
        <translation>成果质检…</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/menus.py" line="37" />
        <source>Integrate into registration database (整合入库)…</source>
        <translation>整合入库…</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/menus.py" line="38" />
        <source>Consultation report (协商清单)…</source>
        <translation>协商清单…</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/menus.py" line="39" />
        <source>Quality check results dock (质检结果)</source>
        <translation>质检结果面板</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/menus.py" line="40" />
        <source>Area discrepancies dock (面积差异)</source>
        <translation>面积差异面板</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/menus.py" line="54" />
        <source>Basic farmland notices (永久基本农田告知书)…</source>
        <translation>生成永久基本农田保护告知书…</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/menus.py" line="54" />
        <source>Export change package (导出变更包)…</source>
        <translation>导出变更包…</translation>
    </message>
    <message>
        <location filename="../../work/main/ui/menus.py" line="54" />
        <source>Apply change package (应用变更包)…</source>
        <translation>应用变更包…</translation>
    </message>
</context>
<context><name>LcbHelp</name><message><location filename="../processing/help/lcb.yaml" /><source>Lists every file of a 汇交 delivery package with its size and SHA-256, counts villages, households, parcels, contracts and certificates, reports what the delivery rules require but is missing, and the village groups without confirmed data. With PREVIOUS (an earlier inventory XLSX) it proves a copy complete and undamaged: CHANGED_FILES counts files whose content changed. The delivery is only read.</source><translation>逐一列出汇交成果包中的每个文件及其大小和 SHA-256，统计村、承包方、地块、合同和权证数量，列出汇交办法要求但缺失的内容以及尚未确权的村组。给出上次清单（PREVIOUS，XLSX）时，可证明复制件完整无损：CHANGED_FILES 为内容发生变化的文件数。成果包只读，不作任何修改。</translation></message><message><location filename="../processing/help/lcb.yaml" /><source>Checks a 汇交 delivery against the delivery rules, NY/T 2538 and NY/T 2539, rule family by rule family: package, summary tables, structure, field formats, codes, keys and references, geometry and topology, areas, contractors and members, dates and encoding. One row per problem in the issue layer, with a Chinese message, the key of the record that is wrong and, where there is one, its location. Defaults: AREA_TOLERANCE 0.01 m², SCMJ_TOLERANCE 0.01 m², OVERLAP_MIN_AREA 0.01 m², MIN_AREA 1 m², GAP_TOLERANCE 0.5 m.</source><translation>按汇交办法、NY/T 2538 和 NY/T 2539 逐类检查成果包：成果包、汇总表格、数据结构、字段格式、编码、主键与关联关系、图形与拓扑、面积、承包方与家庭成员、日期和字符编码。每个问题在问题图层中占一行，给出中文说明、出错记录的编码及其图上位置（如有）。默认值：面积容差 0.01 平方米，实测面积容差 0.01 平方米，重叠面积阈值 0.01 平方米，最小地块面积 1 平方米，缝隙宽度 0.5 米。</translation></message><message><location filename="../processing/help/lcb.yaml" /><source>Integrates a delivery into the county registration GeoPackage (created when missing, updated otherwise). Per parcel: the area class (share_only 确股不确地, unmatched 图数不对应, contract_register_mismatch 合同与登簿面积不一致 → joint consultation, measured_differs 实测面积不一致 → no adjustment, SCMJ recorded, consistent 一致), a 不动产单元号 allocated once and never changed, and the registration database standard's tables ZDJBXX (宗地), NYDSYQ (the contract right, area in 亩) and QLR (right holders, 按份共有 shares for share-only land), kept in step with the parcel layer cbdk; archive links and provenance. Merging the same package again changes nothing; a parcel redefined differently by a later delivery is counted in CONFLICTS and recorded, and the existing record stays unless ON_CONFLICT = replace. One transaction per merge. TARGET may also be a shared PostgreSQL/PostGIS database — a postgresql://user@host:port/dbname URI, a PG: connection string or the name of a QGIS PostgreSQL connection (its credentials stay in QGIS's authentication manager) — with the tables in SCHEMA (default lcb, created if missing); several counties may merge into it at the same time.</source><translation>将成果包整合入县级不动产登记库（GeoPackage，不存在时新建，存在时更新）。逐地块计算面积差异类型（确股不确地；图数不对应；合同与登簿面积不一致→两部门协商；实测面积不一致→不作调整，记载实测面积 SCMJ；一致），赋不动产单元号（一经赋码不再改变），按不动产登记数据库标准生成宗地基本信息 ZDJBXX、土地承包经营权 NYDSYQ（面积单位为亩）和权利人 QLR（确股不确地按份共有），并与地块工作图层 cbdk 保持一致；关联图件档案并记录来源批次。同一成果包重复整合不产生任何变化；后续成果对已入库地块的不同定义计入冲突（CONFLICTS）并记录，除非选择“替换”，否则保留原记录。每次整合为一个事务。TARGET 也可以是共享的 PostgreSQL/PostGIS 数据库——postgresql://用户@主机:端口/库名、PG: 连接串或 QGIS 中 PostgreSQL 连接的名称（其口令保存在 QGIS 认证管理器中）——各表建在 SCHEMA 模式中（默认 lcb，不存在时自动建立）；多个县可同时向其整合入库。</translation></message><message><location filename="../processing/help/lcb.yaml" /><source>The joint-consultation list from a registration database (GeoPackage, or PostgreSQL with SCHEMA): parcels whose contract and registered areas disagree (to be decided jointly by the two bureaus) and those whose measured area differs (SCMJ recorded, no adjustment), grouped by township and village with counts and area totals per class, the three areas side by side, consultation status and notes, and signature lines for both bureaus. Names are masked unless MASK is unticked. OUTPUT_ATLAS adds the village consultation atlas: one page per village with the map of its parcels styled by area class and labelled by DKBM beside its rows, drawn by a QGIS print layout (resources/layouts/village_atlas.qpt, or a county's own .qpt given as ATLAS_TEMPLATE).</source><translation>从不动产登记库（GeoPackage，或 PostgreSQL 数据库及其 SCHEMA 模式）生成两部门联合协商清单：合同面积与登簿面积不一致（由两部门协商确定）以及实测面积不一致（记载实测面积、不作调整）的地块，按乡镇、村分组，列出各类地块数与面积合计、三种面积对照、协商状态与备注，并附两部门签字栏。除非取消“脱敏”，姓名均作脱敏处理。OUTPUT_ATLAS 另生成村级协商图集：每村一页，左侧为按面积差异类型着色、注记地块编码的地块图，右侧为该村清单，由 QGIS 打印版式绘制（resources/layouts/village_atlas.qpt，或以 ATLAS_TEMPLATE 指定本县自己的 .qpt 版式）。</translation></message><message><location filename="../processing/help/lcb.yaml" /><source>Finds the parcels of a registration database (GeoPackage, or PostgreSQL with SCHEMA) whose planar overlap with the permanent basic farmland (永久基本农田) exceeds MIN_OVERLAP m², writes an optional overlap layer (parcel, household, overlap area in m² and 亩) and one notice (告知书) per household in HTML and PDF, listing its parcels and overlap areas, the protection duty and a place to sign, plus index.html. FARMLAND defaults to the JBNTBHQ layer of the deliveries recorded in the database's batches table; with a layer chosen, 'Selected features only' is honoured. TEMPLATE replaces the bundled jinja2 notice (resources/templates/farmland_notice.html.j2). Names and ID numbers are masked unless MASK is unticked.</source><translation>找出登记库（GeoPackage，或 PostgreSQL 数据库及其 SCHEMA 模式）中与永久基本农田的平面重叠面积超过 MIN_OVERLAP 平方米的地块，可输出重叠图层（地块、承包方、重叠面积平方米和亩），并为每户承包方生成一份 HTML 和 PDF 告知书，列出其地块和重叠面积、保护义务和签字栏，另附 index.html 清单。FARMLAND 默认取登记库 batches 表记录的成果包中的 JBNTBHQ 图层；指定图层时支持“仅选中要素”。TEMPLATE 可替换内置的 jinja2 告知书模板（resources/templates/farmland_notice.html.j2）。除非取消 MASK，姓名和证件号码均脱敏。</translation></message><message><location filename="../processing/help/lcb.yaml" /><source>An evidence dossier per parcel (HTML and PDF) from a registration database (GeoPackage, or PostgreSQL with SCHEMA): the values as delivered in each batch that carried the parcel (package path and fingerprint), the current values, the area class and the consultation record, the change history (audit and conflicts), the contractor's household, the archive files (plot sketch, source attachments) with SHA-256 and whether each is present, the neighbouring parcels and a map of the parcel among them drawn by QGIS. DKBM takes one or more parcel codes separated by commas. Names, ID numbers and phones are masked unless MASK is unticked.</source><translation>从登记库（GeoPackage，或 PostgreSQL 数据库及其 SCHEMA 模式）为每个地块生成证据档案（HTML 和 PDF）：各批次移交时的值（成果包路径和清单指纹）、当前值、面积差异类型和协商记录、变更记录（审计表和冲突表）、承包方家庭、档案文件（地块示意图、权属来源资料附件）及其 SHA-256 和是否存在、相邻地块，以及由 QGIS 绘制的地块及其相邻地块位置图。DKBM 可填一个或多个地块编码，以逗号分隔。除非取消 MASK，姓名、证件号码和电话均脱敏。</translation></message><message><location filename="../processing/help/lcb.yaml" /><source>Writes a change package (增量数据) from BASE to CURRENT — each a registration GeoPackage or a delivery folder of the same county: one record per changed parcel, CBDKXX row, household, family member, contract, register, certificate, transfer contract, contracting party or ledger row, with its change (新增, 变更, 注销), the business kind inferred from the whole set (首次登记, 转让, 互换, 家庭成员变化, 流转, 更正, 注销), old and new values, and the geometry where it changed (changes.jsonl); manifest.json with sender, receiver, county, the content fingerprints of both states, counts per kind and the SHA-256 of every file; summary.html by village and kind (no names or ID numbers). With SIGNING_KEY (an Ed25519 private key) the manifest is signed (manifest.sig). The format is in docs/change-package.md. BASE and CURRENT are only read.</source><translation>由 BASE 到 CURRENT（同一县的登记库或成果包文件夹）生成增量数据变更包：每个变化的地块、承包地块信息、承包方、家庭成员、承包合同、登记簿、权证、流转合同、发包方或台账记录各一条，注明变更类型（新增、变更、注销）、根据全部变更推断的业务类型（首次登记、转让、互换、家庭成员变化、流转、更正、注销）、新旧值及变化后的图形（changes.jsonl）；manifest.json 记载发送方、接收方、县、两个状态的内容指纹、各类型数量和每个文件的 SHA-256；summary.html 按村和业务类型汇总（不含姓名和证件号码）。给出 SIGNING_KEY（Ed25519 私钥）时对清单签名（manifest.sig）。格式见 docs/change-package.md。BASE 和 CURRENT 只读。</translation></message><message><location filename="../processing/help/lcb.yaml" /><source>Applies a change package to a registration GeoPackage in one transaction. Every checksum is verified first (a file changed, removed or added is refused by name) and, with SENDER_KEY, the sender's signature. TARGET must be the package's base state (its content fingerprint), else the run is refused naming the villages that differ; ON_DIVERGED = apply applies the changes that do not conflict instead. A record changed in TARGET since the base is a conflict: never overwritten, counted in CONFLICTS and recorded in the conflicts table. Affected area classes are recomputed, new parcels get a 不动产单元号, cancelled parcels move to cbdk_history (their number is never reused), right holders are rebuilt, and the batch is recorded in batches and audit. Applying the same package again changes nothing.</source><translation>在一个事务中将变更包应用到登记库。先核验每个文件的校验和（文件被改动、删除或增加都会被拒绝并指出文件名），给出 SENDER_KEY 时还核验发送方签名。TARGET 必须处于变更包的基准状态（内容指纹一致），否则拒绝并列出不一致的村；ON_DIVERGED = apply 时改为只应用不冲突的变更。自基准状态以来在 TARGET 中已被改动的记录为冲突：绝不覆盖，计入 CONFLICTS 并记入 conflicts 表。重新计算受影响地块的面积差异类型，新地块赋不动产单元号，注销的地块移入 cbdk_history（其不动产单元号不再使用），重建权利人，并在 batches 和 audit 中记录本批次。同一变更包再次应用不作任何修改。</translation></message></context></TS>