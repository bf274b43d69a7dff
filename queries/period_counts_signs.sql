-- period_counts_signs: per township, a signature of every row queries/_macros.sql township_counts_live
-- counts from (screenings, cases, screening and case reports): the sum of a 64-bit hash of each
-- row's counted columns. A write that adds, removes, moves or changes a row changes its
-- township's signature (the sum keeps repeated rows apart; a change that left a sum of 64-bit
-- hashes the same would take odds of about 1 in 2^64). queries/aggregates.py rebuilds
-- period_counts for the townships whose signature changed.
-- Grain: one row per township with any such row.
-- params: none
select township_code, sum(h)::hugeint as sign
from (
    select township_code,
           hash('screening', household_id, screened_date, risk_level, risk_type)::hugeint as h
    from screenings
    union all
    select township_code, hash('case', received_date, closed_date, outcome, source, case_type)::hugeint
    from cases
    union all
    select township_code, hash('screening report', period_start, period_end, households_screened,
                               risk_low, risk_medium, risk_high)::hugeint
    from screening_summaries
    union all
    select township_code, hash('case report', period_start, period_end, case_type, received, resolved,
                               unresolved)::hugeint
    from case_summaries
)
group by township_code
