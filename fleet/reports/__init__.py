"""The «Отчёты» section: ready reports over rollups of the fiscal documents, exports, custom
templates and auto-reports (docs/reports.md)."""
