"""Domain services of the hub: each takes a session first and collaborators by keyword."""
