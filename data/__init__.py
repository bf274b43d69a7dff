"""Demo data builder and sample templates."""
