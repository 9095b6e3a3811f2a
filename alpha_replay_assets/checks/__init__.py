"""Asset checks: each one a question whose failure must be loud (docs/domain.md §5)."""
