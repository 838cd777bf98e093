"""The README written next to the ground-truth files."""

README = """# Ground truth of the demo landing zone

Written by `pipelines.demo.generate` together with the landing zone. Everything here is what a correct
pipeline should conclude from the files that landed. Keys are the pipeline's record keys:
registration `主体身份代码`; licensing `许可证编号`; district `<division code of the file>-<记录编号>`;
corrections `<file name>:<row>` (row counted like a spreadsheet: header = 1, first data row = 2).

"Final version" of a key = the latest delivery date wins, then the last row within a delivery. Rows of
quarantined files, bad rows and the byte-identical re-delivery are not records.

## entities.parquet — one row per true market entity
true_entity_id, kind (individual / company / branch / cooperative), entity_type (市场主体类型), uscc (true
code; null for legacy registrations and for licence-only 个体工商户; licence-only companies carry a code of
another city; `is_pilot_code` codes fail the check yet are real), reg_no, name (registered; blank for a 个体工商户 without trade name), district_code (of the
registration authority), status and status_normalised (final; null without a registration record), legal_rep, address (registered),
premises_district, established_on, role (existing = in the first delivery, new = registers on day
`appears_day`, orphan = holds a licence but has no registration record), has_registration,
registration_keys (two for a duplicate registration), is_legacy, is_pilot_code, is_hostile_name,
hard_negative_kind / hard_negative_partner (branch_parent, same_name_other_district,
similar_name_same_district, same_operator), parent_entity_id (branches), last_annual_report_year,
in_abnormal_list, abnormal_reason.

## records.parquet — every good registration / licensing / district record (final version)
source, record_key, true_entity_id, delivery_date and path and row of the final version, uscc_in_record,
has_valid_uscc_in_record (GB 32100 check passes after trimming/upper-casing), uscc_blank, name_in_record,
address_in_record, legal_rep_in_record (as written),
final_status (registration 登记状态 / licence 许可状态 / inspection 检查结果, final value), hard_negative_kind
of the entity, is_orphan_entity.

## issues.parquet — expected entity_issue rows
issue_type, true_entity_id, source, record_key: one row per triggering record, decided by the warehouse
contract's Rule semantics as of the latest delivery date (natural cases included, not only planted ones).
Entity-level comparison: distinct (issue_type, true_entity_id). is_planted marks deliberately planted cases.
Triggering records: deregistered_with_active_licence / orphan_licence / expired_licence.still_operating /
inconsistent.address -> the licence; unreachable -> the registration (无法联系) or the inspection (查无下落);
no_annual_report / duplicate.registration -> the registration record(s); ceased_operating -> the latest
inspection; inconsistent.name / legal_rep -> the licence or inspection; inconsistent.district -> the
inspection; invalid.uscc -> every record carrying a failing code.
Formatting-only differences (width, brackets, spaces, traditional characters, 有限责任公司 = 有限公司, the
administrative prefix in any form (宁波 / 宁波市 / 宁波市海曙区 / none), a branch part in brackets, a 个体工商户's
operator added in brackets, a dropped street or 社区/村 segment, 號) are never issues; a different 字号
(including a one-character sound-alike typo in it) or different industry words are. A licence or inspection
naming only a 个体工商户's operator has no name to compare. A branch licence may carry its parent's USCC: it
still belongs to the branch.

## files.parquet — every file written
source, delivery_date (null for a folder that is not a date), path (relative to the landing dir), format,
encoding (utf-8 / utf-8-sig / gb18030; utf-16, invalid or binary for bad files; null for xlsx), date_style,
header_variant (which synonym set; see pipelines/demo/formats.py), headers (as written), rows_written, good_rows, quarantine_reason (null if loadable; else encoding,
truncated, not_tabular, empty, missing_required_header, unknown_header, unknown_source,
bad_delivery_folder), is_identical_redelivery_of (path of the original), is_late_delivery.

## bad_rows.parquet — rows to quarantine in otherwise good files
source, path, row (header = 1), reason (missing_key, column_count, bad_required_date, vocabulary,
missing_required_value), column (canonical), value.

## judgements.parquet — the corrections delivery's match judgements
record_key (file:row), action, left/right source and key, left/right true_entity_id, agrees_with_truth.

## deliveries.json
dates, as_of, the late delivery (which folder arrives after later ones, which keys a later delivery
updates again), the identical re-delivery (original, copy, keys changed in between), counts.
"""
