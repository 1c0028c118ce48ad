"""Files a user hands to rikugame: input tables read, normalised and checked; output paths checked first.

Shared by every front end that reads a trace (``sources``, ``sim``'s traffic command) without tying them
to each other. Problems raise :class:`rikugame.errors.InputError` with one line naming the file, the
column, the entity and the row (1 = the first data row).
"""
