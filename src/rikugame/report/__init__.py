"""Reports: tables, JSON/YAML/CSV, HTML with plots."""
