"""The REST API (DRF): automations, versions, executions, events, catalogues and templates."""
