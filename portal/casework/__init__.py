"""Casework: what staff see and do on one case (issue 15), below the console that serves it."""
