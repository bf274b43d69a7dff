-- period_counts_years: the years any dated record falls in (dated_records, _macros.sql): the years
-- whose months, quarters and the year itself period_counts stores.
-- Grain: one row per year. params: none
select distinct year(event_date) as year from dated_records() where event_date is not null order by year
