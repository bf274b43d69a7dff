-- atlas_groups: every atlas township with the region it rolls up to at $level (atlas_towns), for
-- suppression, which sums the townships' counts into every level above (queries/indicators.py).
-- Grain: one row per atlas township.
-- params: $level ('township' | 'county' | 'city' | 'province' | 'nation')
select township_code, group_code from atlas_towns($level, [''])
