"""Hand-overs: terminal tables, JSON, CSV, and the register-shaped export."""
