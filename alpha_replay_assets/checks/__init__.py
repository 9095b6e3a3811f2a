"""Asset checks: each one a question whose failure must be loud (domain §5)."""
