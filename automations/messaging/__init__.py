"""Send windows and frequency caps of the communication actions: when a message may go out."""
