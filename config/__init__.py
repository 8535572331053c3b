"""The demo project: a small Django billing site that hosts the two apps."""
