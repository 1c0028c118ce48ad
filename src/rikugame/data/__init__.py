"""Small bundled sample traces (see PROVENANCE.md)."""
