"""The remitting documents as files: the monthly declaration and the yearly settlement in their
forms' layout (XLSX, PDF, XML), and the accounting journal (CSV, XLSX)."""
