"""Teams: teams, memberships and invitations."""
