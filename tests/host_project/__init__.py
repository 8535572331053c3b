"""A host billing project, as a team with its own Django billing models would plug into the apps."""
