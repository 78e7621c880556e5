"""Spreadsheet ETL: read contract workbooks, validate every cell, load them as versioned batches."""
