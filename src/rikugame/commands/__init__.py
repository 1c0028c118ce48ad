"""One module per command: parse options, wire a front end to the core, print. Only ``cli`` imports these."""
