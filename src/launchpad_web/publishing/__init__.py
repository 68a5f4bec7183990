"""Publishing a completed generation job to a repository on a linked forge."""
