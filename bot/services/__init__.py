"""Domain services: they decide, through repositories, inside the caller's unit of work."""
