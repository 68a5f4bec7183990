"""Templates from repositories: importing one, re-importing it, following its tags."""
