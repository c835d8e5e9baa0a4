"""`harness sweep`: a grid of (VLM, encoder) cells from one TOML file, one VLM load per VLM."""
