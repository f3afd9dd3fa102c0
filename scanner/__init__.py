"""appradar: which apps a school's network really uses, and which are missing from its register."""

__version__ = "0.1.0"
