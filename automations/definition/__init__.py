"""The canonical definition JSON of an automation: validation and conversion to and from models."""
from automations.definition.validate import validate_definition

__all__ = ["validate_definition"]
