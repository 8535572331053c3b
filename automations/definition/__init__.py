"""The canonical definition JSON (SPEC section 2): validation and conversion to and from models."""
from automations.definition.validate import validate_definition

__all__ = ["validate_definition"]
