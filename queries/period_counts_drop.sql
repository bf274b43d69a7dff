-- period_counts_drop: remove the stored counts of the townships in $scope (queries/aggregates.refresh
-- rebuilds them next, in the same transaction).
-- params: $scope (list of region-code prefixes; [''] = every township)
delete from period_counts where rows_in_scope(township_code, $scope)
