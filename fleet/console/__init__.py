"""The operator console: racks and slots, shadows, remote commands, alarms, dead registers."""
