-- region_names: every region of the register with its name, for showing a region-code prefix (an
-- account's regions in the audit log, "320703") as the region it stands for ("连云区").
-- Grain: one row per region of any level.
-- params: none
select region_code, name, level from regions order by region_code
