"""Domain services of the node. Each takes a session first and its collaborators by keyword;
views and CLI commands only parse input, call one of these and render the result."""
